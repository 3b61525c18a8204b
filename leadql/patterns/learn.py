"""Learning a pattern: positive-unlabelled learning of "people like these" against the pool.

The positives are the examples, appraised (leadql/patterns/appraisal.py); the background is a
sample of the prospect pool, appraised the same way. The background is unlabelled: some of its
people would be buyers too. A classifier of positives against background still ranks prospects
by P(buyer-like | x) (Elkan & Noto, KDD 2008: the unlabelled classifier is a monotone transform
of the true one), which is what FIND needs.

The score a pattern gives is that classifier's calibrated probability moved to equal priors:
"the probability this prospect is one of your examples rather than a random prospect, if the
two were equally common" (0.5 = no resemblance either way). The learners are PREDICT's
(leadql/predict/models.py): logistic regression (the default: transparent coefficients) or
gradient boosting, validated on a stratified 20% hold-out and calibrated there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadql.catalog.definitions import CategoryDef
from leadql.connectors.base import quote_ident, quote_str
from leadql.errors import LeadQLExecutionError

# Categories that identify a person rather than describe them: never features.
NOT_FEATURES = frozenset({"email", "phone", "first_name", "last_name", "street", "city", "zip", "birth_date",
                          "company_name", "domain"})
DEFAULT_BACKGROUND = 6_000  # background records sampled from the pool
MIN_POSITIVES = 20  # fewer examples than this cannot teach a pattern anything reliable
MIN_KNOWN = 0.5  # a training row needs at least this share of the features known
MIN_FEATURE_FILL = 0.2  # automatic features must be known for this share of the examples
ALGORITHMS = ("logistic", "gbm")
BANDS = 6  # quantile bands per number (of the background), so a logistic pattern can learn "25 to 45"
BAND = "~band"  # suffix of a number's band column
REGULARIZATION = 0.3  # logistic C: examples are few, levels many
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL", "BOOLEAN")


def is_numeric(category: CategoryDef) -> bool:
    t = category.type.upper()
    return t.startswith("DECIMAL") or t in NUMERIC_TYPES


def usable_feature(category: CategoryDef) -> bool:
    """Numbers, booleans and text describe people; dates and identity do not (age does)."""
    if category.name.lower() in NOT_FEATURES:
        return False
    return is_numeric(category) or category.type.upper() == "VARCHAR"


@dataclass
class Pattern:
    """A learned pattern: what is pickled into the registry and scores prospects."""

    name: str
    algorithm: str
    features: list[str]
    categorical: list[str]
    model: Any  # leadql.predict.models.TrainedModel
    linear: Any  # a logistic TrainedModel: the pattern itself, or gbm's surrogate for ordering scans
    prior: float  # share of positives in the training rows
    background_quantiles: list[float]  # scores of held-out background at 0, 1, …, 100 %
    metrics: dict[str, Any] = field(default_factory=dict)
    importance: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bands: dict[str, list[float]] = field(default_factory=dict)  # number → band edges

    @property
    def categories(self) -> list[str]:
        """The canonical categories the pattern reads (its features without derived bands)."""
        return list(dict.fromkeys(f.split(BAND)[0] for f in self.model.features))

    # ------------------------------------------------------------------ scoring
    def prepare(self, frame: Any) -> Any:
        """The model's input frame from canonical columns: numbers as floats, plus band columns."""
        base = [f for f in self.categories]
        X = frame.reindex(columns=base).copy()
        for f in base:
            if f not in self.categorical:
                X[f] = _numbers(X[f])
        for f, edges in self.bands.items():
            X[f + BAND] = band_labels(X[f].to_numpy(dtype=float, na_value=np.nan), edges)
        return X.reindex(columns=self.model.features)

    def score_frame(self, frame: Any) -> np.ndarray:
        """Scores (0…1) for a pandas frame holding the feature columns (missing ones allowed)."""
        from leadql.predict import models

        return self._balanced(models.predict(self.model, self.prepare(frame)))

    def score_arrow(self, table: Any, batch_rows: int = 200_000) -> np.ndarray:
        """Scores for an Arrow table, in batches (vectorised; the frame holds one batch)."""
        out = np.empty(table.num_rows, dtype=np.float64)
        columns = [c for c in self.categories if c in table.column_names]
        for start in range(0, table.num_rows, batch_rows):
            part = table.slice(start, batch_rows).select(columns)
            out[start : start + part.num_rows] = self.score_frame(part.to_pandas())
        return out

    def score_sql(self, con: Any, table: str) -> np.ndarray | None:
        """Scores for the rows of a DuckDB table holding the categories (typed), computed in SQL:
        the linear sum for logistic, the compiled trees for gbm (leadql/predict/sqlscore.py);
        the link, calibrator and prior shift in numpy. None when a column is missing or of a type
        the compiler does not take (score_arrow then)."""
        from scipy.special import expit

        from leadql.predict import sqlscore

        model = self.model
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()}
        if not set(self.categories) <= columns:
            return None
        if self.algorithm == "logistic":
            def column(feature: str) -> str:
                base = feature.split(BAND)[0]
                if feature.endswith(BAND):
                    return band_sql(f"TRY_CAST({quote_ident(base)} AS DOUBLE)", self.bands[base])
                return quote_ident(feature)

            linear = sqlscore.compile_linear(model, column)
            if linear is None:
                return None
            raw = np.asarray(con.execute(f"SELECT {linear} AS raw FROM {table}").fetchnumpy()["raw"], dtype=np.float64)
            p = expit(raw)
            p = model.calibrator(p) if model.calibrator is not None else p
        else:
            p = sqlscore.score_sql(con, model, table)
            if p is None:
                return None
        return self._balanced(np.asarray(p, dtype=np.float64))

    def _balanced(self, p: np.ndarray) -> np.ndarray:
        """P(positive | x) at the training prior → at equal priors (Bayes: odds × (1−π)/π)."""
        pi = min(max(self.prior, 1e-6), 1 - 1e-6)
        p = np.clip(p, 1e-9, 1 - 1e-9)
        odds = p / (1 - p) * (1 - pi) / pi
        return odds / (1 + odds)

    def share_above(self, score: float) -> float:
        """Share of the pool expected to score at least `score` (from the held-out background)."""
        q = np.asarray(self.background_quantiles)
        if len(q) == 0:
            return 1.0
        return float(np.mean(q >= score)) if score > 0 else 1.0

    def coverage(self, categories: set[str]) -> float:
        """Share of the pattern's importance carried by `categories` (0…1)."""
        total = sum(max(0.0, v) for _, v in self.importance)
        if total <= 0:
            return len(set(self.categories) & categories) / max(1, len(self.categories))
        return sum(max(0.0, v) for f, v in self.importance if f.split(BAND)[0] in categories) / total

    def order_sql(self, available: set[str]) -> str | None:
        """The linear score as DuckDB SQL over canonical columns, for ordering a source's records
        best-first before buying; only the features the source knows count. None when the source
        knows none of them."""
        from leadql.predict.sqlscore import compile_linear

        if not set(self.categories) & available:
            return None

        def column(feature: str) -> str:
            base = feature.split(BAND)[0]
            if feature.endswith(BAND):
                return band_sql(f"TRY_CAST({quote_ident(base)} AS DOUBLE)", self.bands[base])
            return quote_ident(feature)

        known = {f for f in self.linear.features if f.split(BAND)[0] in available}
        return compile_linear(self.linear, column, known)


def _edge(v: float) -> str:
    return f"{v:,.6g}"


def band_names(edges: list[float]) -> list[str]:
    """Readable band labels: '< 30', '30 – 45', …, '≥ 90' (bin i holds edges[i-1] ≤ x < edges[i])."""
    if not edges:
        return ["all"]
    names = [f"< {_edge(edges[0])}"]
    names += [f"{_edge(a)} – {_edge(b)}" for a, b in zip(edges[:-1], edges[1:], strict=False)]
    names.append(f"≥ {_edge(edges[-1])}")
    return names


def band_labels(values: np.ndarray, edges: list[float]) -> Any:
    names = np.asarray(band_names(edges), dtype=object)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    out = names[np.minimum(idx, len(names) - 1)]
    out[np.isnan(values)] = None
    return out


def band_sql(expr: str, edges: list[float]) -> str:
    """The band label in SQL, exactly as band_labels gives it."""
    names = band_names(edges)
    whens = " ".join(f"WHEN {expr} < {float(e)!r} THEN {quote_str(n)}" for e, n in zip(edges, names, strict=False))
    return f"(CASE WHEN {expr} IS NULL THEN NULL {whens} ELSE {quote_str(names[-1])} END)"


def _bands(background: Any, features: list[str], categorical: list[str]) -> dict[str, list[float]]:
    out = {}
    for f in features:
        if f in categorical:
            continue
        values = background[f].to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        if len(np.unique(values)) <= BANDS:  # yes/no and small counts need no bands
            continue
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BANDS + 1)[1:-1]))
        out[f] = [float(e) for e in edges]
    return out


def _numbers(column: Any) -> Any:
    import pandas as pd

    if column.dtype == bool or str(column.dtype) == "boolean":
        return column.astype("float64")
    return pd.to_numeric(column, errors="coerce").astype("float64")


def _by_category(importance: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Importance per category: a number's band column counts towards the number."""
    total: dict[str, float] = {}
    for f, v in importance:
        base = f.split(BAND)[0]
        total[base] = total.get(base, 0.0) + max(0.0, float(v))
    return sorted(((f, round(v, 6)) for f, v in total.items()), key=lambda t: -t[1])


def fit(name: str, positives: Any, background: Any, features: list[str], categorical: list[str], *,
        algorithm: str = "logistic", seed: int = 0, progress: Any = None, chosen: bool = False) -> Pattern:  # fmt: skip
    """Train on appraised positives and background (pandas frames with the feature columns).
    `chosen`: the user named the features (WITH); otherwise features the sources rarely know
    for the examples are left out (a B2B column on a consumer list would only add noise)."""
    import pandas as pd

    from leadql.predict import models

    notes: list[str] = []
    if not chosen and len(positives):
        fill = positives.reindex(columns=features).notna().mean()
        sparse = [f for f in features if fill[f] < MIN_FEATURE_FILL]
        if sparse and len(sparse) < len(features):
            notes.append(f"left out {', '.join(sparse)}: the sources know "
                         f"{'them' if len(sparse) > 1 else 'it'} for under {MIN_FEATURE_FILL:.0%} of the examples")
            features = [f for f in features if f not in sparse]
            categorical = [c for c in categorical if c in features]
    elif chosen and len(positives):
        fill = positives.reindex(columns=features).notna().mean()
        for f in features:
            if fill[f] < MIN_FEATURE_FILL:
                notes.append(f"{f} is known for only {fill[f]:.0%} of the examples")
    frames = []
    for frame, label in ((positives, 1), (background, 0)):
        X = frame.reindex(columns=features).copy()
        for f in features:
            if f not in categorical:
                X[f] = _numbers(X[f])
        known = X.notna().mean(axis=1) if features else pd.Series(dtype=float)
        keep = known >= MIN_KNOWN
        dropped = int((~keep).sum())
        if dropped:
            who = "examples" if label else "background records"
            notes.append(f"{dropped:,} {who} left out: the sources know under {MIN_KNOWN:.0%} of the features for them")
        X = X[keep.to_numpy()]
        X["__y"] = label
        frames.append(X)
    data = pd.concat(frames, ignore_index=True)
    n_pos = int((data["__y"] == 1).sum())
    if n_pos < MIN_POSITIVES:
        raise LeadQLExecutionError(
            f"only {n_pos} example(s) could be described by the sources (at least {MIN_POSITIVES} needed)",
            hint="check that the examples carry email, phone or name and address the vendors can match, "
                 "or give more examples",
        )  # fmt: skip
    if int((data["__y"] == 0).sum()) < MIN_POSITIVES:
        raise LeadQLExecutionError("the source pool gave too few background records to compare against",
                                   hint="ANALYZE the sources; check FROM SOURCES")  # fmt: skip
    y = data.pop("__y").to_numpy()
    report = progress or (lambda stage, fraction: None)
    bands = _bands(data[y == 0], features, categorical)
    banded = data.copy()
    for f, edges in bands.items():
        banded[f + BAND] = band_labels(banded[f].to_numpy(dtype=float, na_value=np.nan), edges)
    band_columns = [f + BAND for f in bands]

    def train(algo: str) -> Any:
        frame, cats = (banded, categorical + band_columns) if algo == "logistic" else (data, categorical)
        return models.train(frame, y, None, task_type="binary_classification", algorithm=algo,
                            categorical=cats, seed=seed, progress=report, regularization=REGULARIZATION)  # fmt: skip

    model = train(algorithm)
    linear = model if algorithm == "logistic" else train("logistic")
    prior = float(y.mean())
    pattern = Pattern(name, algorithm, list(model.features), [c for c in categorical if c in model.features],
                      model, linear, prior, [], dict(model.metrics), _by_category(model.importance),
                      notes + list(model.notes), bands)  # fmt: skip
    # The pool's score distribution (held-out rows are not separable here, so all background:
    # what MIN SCORE costs in supply is estimated from it).
    scores = pattern.score_frame(data[y == 0])
    pattern.background_quantiles = [float(v) for v in np.quantile(scores, np.linspace(0, 1, 101))]
    positives_scores = pattern.score_frame(data[y == 1])
    pattern.metrics["median_score_examples"] = float(np.median(positives_scores))
    pattern.metrics["median_score_background"] = float(np.median(scores))
    pattern.metrics["examples"] = n_pos
    pattern.metrics["background"] = int((y == 0).sum())
    return pattern
