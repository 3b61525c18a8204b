"""SEGMENT LIST: split a list's leads into k segments with k-means, store each row's segment,
and describe every segment.

The path: resolve the BY columns against the list (`_resolve`) → read every row of every run
(`_read`) → encode them as numbers (`SegmentModel.fit_encoding`: numbers and booleans as they
are, a date as its age in days, text one-hot over its most frequent values; missing values
imputed) → standardise → k-means, with k given or chosen by silhouette (`_choose_k`) → number
the segments 1..k by decreasing size → profile them (`_profile`) → store everything in one
transaction (`_store`). The fitted encoder, scaler and k-means travel pickled with the
segmentation, so rows a later run appends to the list join their nearest segment
(`assign_appended`, called by the list writer inside its own transaction).
"""

from __future__ import annotations

import json
import math
import pickle
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from leadql.catalog.migrations import first_row, transaction
from leadql.connectors.base import quote_ident
from leadql.context import Context
from leadql.errors import (
    LeadQLConstraintError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.result import Result
from leadql.warehouse.lists import ListInfo, create_view, list_names, require_list
from leadql.warehouse.schema import LIST_LEADS, SEGMENTATIONS, data_table, now

if TYPE_CHECKING:
    import numpy as np

MAX_LEVELS = 20  # a text column is one-hot over its 20 most frequent values; the rest are "other"
OTHER = "(other)"
MAX_AUTO_K = 10  # without INTO k SEGMENTS, k = 2 … 10 are tried
SEARCH_ROWS = 20_000  # k is chosen on a fixed sample of at most this many rows
SILHOUETTE_ROWS = 5_000  # silhouettes are measured on a fixed sample of at most this many rows
SEED = 0
N_INIT = 8

_MEASURES = {"score": "DOUBLE", "quality": "DOUBLE", "cost": "DECIMAL(18,6)"}
_NOT_BY = ("lead_id", "run_id", "provenance", "records", "segment", "row_id")
_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE")  # fmt: skip


# ------------------------------------------------------------------------ the model


@dataclass
class Feature:
    """One BY column as the model sees it."""

    name: str  # as stored in the list
    measure: bool  # score / quality / cost (from the fact table) rather than an attribute
    kind: str  # 'number' | 'boolean' | 'date' | 'text'
    fill: Any = None  # what a missing value becomes: the median, or the most frequent text
    levels: list[str] = field(default_factory=list)  # text: the one-hot levels, OTHER last if used
    scale: float = 1.0  # numbers are multiplied by it first: a power of two that keeps 1e200s finite

    def sql(self) -> str:
        """The expression reading this column from the fact row `f` and its attribute row `d`."""
        column = f"{'f' if self.measure else 'd'}.{quote_ident(self.name)}"
        if self.kind == "text":
            return f"CAST({column} AS VARCHAR)"
        if self.kind == "date":
            return f"epoch({column}) / 86400.0"  # days since 1970; the model turns it into an age
        return f"CAST({column} AS DOUBLE)"

    @property
    def width(self) -> int:
        return len(self.levels) if self.kind == "text" else 1


@dataclass
class SegmentModel:
    """The encoder, scaler and k-means of one segmentation, pickled with it."""

    features: list[Feature]
    today: float  # days since 1970 when segmented: a date's age is measured from here
    scaler: Any = None  # sklearn StandardScaler
    kmeans: Any = None  # sklearn KMeans
    numbering: list[int] = field(default_factory=list)  # k-means label → segment number 1..k

    def fit_encoding(self, raw: dict[str, Any]) -> dict[str, int]:
        """Learn each feature's fill value and text levels; → missing values per column."""
        import numpy as np

        missing = {}
        for feature in self.features:
            values = raw[feature.name]
            if feature.kind == "text":
                known = [v for v in values if v is not None]
                missing[feature.name] = len(values) - len(known)
                if not known:
                    continue
                counts: dict[str, int] = {}
                for v in known:
                    counts[v] = counts.get(v, 0) + 1
                ranked = sorted(counts, key=lambda v: (-counts[v], v))
                feature.fill = ranked[0]
                feature.levels = ranked[:MAX_LEVELS] + ([OTHER] if len(ranked) > MAX_LEVELS else [])
            else:
                values = self._numbers(feature, values)
                known = values[~np.isnan(values)]
                missing[feature.name] = int(len(values) - len(known))
                if len(known):
                    # standardising squares the values: past ~1e150 the variance overflows, so
                    # such a column is scaled down by a power of two first (exact, and the
                    # standardised values are the same)
                    top = float(np.abs(known).max())
                    feature.scale = float(2.0 ** -np.frexp(top)[1]) if top > 1e100 else 1.0
                    feature.fill = float(np.median(known))
        return missing

    def _numbers(self, feature: Feature, values: Any) -> np.ndarray:
        import numpy as np

        numbers = np.array(values, dtype=np.float64)
        numbers[np.isinf(numbers)] = np.nan  # an infinite value counts as missing
        return self.today - numbers if feature.kind == "date" else numbers

    def encode(self, raw: dict[str, Any]) -> np.ndarray:
        """The rows as an unscaled matrix: one column per number, one per text level."""
        import numpy as np

        return np.hstack([self.encode_one(feature, raw[feature.name]) for feature in self.features])

    def encode_one(self, feature: Feature, values: Any) -> np.ndarray:
        """One feature's columns: its number with missing values imputed, or its text one-hot."""
        import numpy as np

        if feature.kind != "text":
            numbers = self._numbers(feature, values)
            filled = np.where(np.isnan(numbers), feature.fill, numbers)
            return (filled * getattr(feature, "scale", 1.0)).reshape(-1, 1)
        index = {level: i for i, level in enumerate(feature.levels)}
        other = index.get(OTHER)
        block = np.zeros((len(values), feature.width))
        for row, value in enumerate(values):
            column = index.get(feature.fill if value is None else value, other)
            if column is not None:
                block[row, column] = 1.0
        return block

    def weights(self) -> np.ndarray:
        """What each standardised column is multiplied by so that every BY column counts the
        same: 1 for a number; for a text column's 0/1 levels, sd / sqrt(the levels' summed
        variance), so its levels keep their 0/1 shape (a rare value is no outlier) and the column's
        total variance is 1."""
        import numpy as np

        parts, offset = [], 0
        sd = np.sqrt(self.scaler.var_)
        for feature in self.features:
            block = sd[offset : offset + feature.width]
            offset += feature.width
            total = float(np.sqrt((block**2).sum()))
            parts.append(np.ones(1) if feature.kind != "text" else block / (total or 1.0))
        return np.concatenate(parts)

    def scaled(self, matrix: np.ndarray) -> np.ndarray:
        """Standardised (each encoded column to mean 0, sd 1), before the text weights."""
        return self.scaler.transform(matrix)

    def assign(self, raw: dict[str, Any]) -> np.ndarray:
        """The segment number (1..k) of each row."""
        import numpy as np

        points = self.scaled(self.encode(raw)) * self.weights()
        with _threads(points):
            labels = self.kmeans.predict(points)
        return np.asarray(self.numbering)[labels]


# ------------------------------------------------------------------------ the statement


def segment_list(ctx: Context, stmt: ast.SegmentList) -> Result:
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    if ctx.ws.read_only:
        raise ctx.fail(
            LeadQLExecutionError, "SEGMENT LIST writes to the workspace, which is open read-only",
            stmt, hint="open the workspace writable to segment a list",
        )  # fmt: skip
    con = ctx.con
    info = _require(ctx, stmt.list_name)
    features = _resolve(ctx, info, stmt.by)
    row_ids, raw = _read(con, info, features)
    n = len(row_ids)
    k = stmt.segments
    if k is not None and n < k:
        raise ctx.fail(
            LeadQLConstraintError,
            f"list `{info.name}` has {n} row{'s' if n != 1 else ''}, too few for {k} segments",
            stmt, hint=f"ask for at most {n} segments" if n >= 2 else "deliver more leads first",
        )  # fmt: skip
    if n < 2:
        raise ctx.fail(
            LeadQLConstraintError, f"list `{info.name}` has {n} row{'s' if n != 1 else ''}, "
            "too few to segment", stmt, hint="deliver more leads first",
        )  # fmt: skip
    model = SegmentModel(features, today=_days(now().date()))
    missing = model.fit_encoding(raw)
    for feature, ident in zip(features, stmt.by, strict=True):
        if feature.fill is None:
            raise ctx.fail(
                LeadQLConstraintError, f"column `{feature.name}` of list `{info.name}` has no "
                "value in any row, so it cannot separate segments", ident,
                hint="leave it out of BY",
            )  # fmt: skip
    matrix = model.encode(raw)
    model.scaler = StandardScaler().fit(matrix)
    points = model.scaled(matrix) * model.weights()
    distinct = len(np.unique(points, axis=0))
    if distinct < 2:
        raise ctx.fail(
            LeadQLConstraintError, f"all {n} rows of list `{info.name}` have the same "
            f"{_names(features)}, so there is nothing to segment", stmt,
            hint="segment by columns whose values differ",
        )  # fmt: skip
    if k is not None and distinct < k:
        raise ctx.fail(
            LeadQLConstraintError, f"list `{info.name}` has only {distinct} distinct combinations "
            f"of {_names(features)}, too few for {k} segments", stmt,
            hint=f"ask for at most {distinct} segments, or add BY columns",
        )  # fmt: skip
    tried: dict[int, float | None] = {}
    with _threads(points):
        if k is None:
            k, tried, fitted = _choose_k(points, min(MAX_AUTO_K, n - 1, distinct))
        else:
            fitted = None
        kmeans = fitted if fitted is not None else _kmeans(points, k)
        silhouette = _silhouette(points, kmeans.labels_)
    labels = kmeans.labels_
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda label: (-sizes[label], label))
    model.kmeans = kmeans
    model.numbering = [0] * k
    for number, label in enumerate(order, start=1):
        model.numbering[label] = number
    segments = np.asarray(model.numbering)[labels]
    table, profile = _profile(model, raw, model.scaled(matrix), segments, k)
    profile["silhouettes"] = {str(kk): s for kk, s in tried.items()}
    _store(con, info, model, row_ids, segments, profile, silhouette)
    message = f"{k} segments by {', '.join(f.name for f in features)}"
    if tried:
        scores = ", ".join(f"k={kk} {_silhouette_text(s)}" for kk, s in tried.items())
        message += f" (k chosen by silhouette: {scores})"
    message += f", silhouette {_silhouette_text(silhouette)}"
    infinite = {f.name: int(np.isinf(np.asarray(raw[f.name], dtype=np.float64)).sum())
                for f in features if f.kind != "text"}  # fmt: skip
    warnings = [
        f"{count:,} {_missing_words(count, infinite.get(feature.name, 0))} of `{feature.name}` imputed "
        f"with its {_imputed_text(feature)}"
        for feature in features if (count := missing[feature.name])
    ]  # fmt: skip
    return Result.from_rows(table[0], table[1], message=message, warnings=warnings)


def _require(ctx: Context, ident: ast.Ident) -> ListInfo:
    try:
        return require_list(ctx.con, ident.value)
    except LeadQLNameError as e:
        e.hint = did_you_mean(ident.value, list_names(ctx.con)) or "SHOW LISTS lists them"
        raise ctx.located(e, ident) from None


def _resolve(ctx: Context, info: ListInfo, by: tuple[ast.Ident, ...]) -> list[Feature]:
    """Each BY column as a Feature; unknown, unusable or repeated columns are errors at them."""
    available: dict[str, tuple[str, str, bool]] = {
        c["name"].lower(): (c["name"], c["type"], False) for c in info.columns
    }
    for measure, type_ in _MEASURES.items():
        if measure != "score" or info.scored:
            available[measure] = (measure, type_, True)
    features: list[Feature] = []
    seen: set[str] = set()
    for ident in by:
        key = ident.value.lower()
        if key in seen:
            raise ctx.fail(LeadQLSemanticError, f"`{ident.value}` is named twice in BY", ident,
                           hint="name each column once")  # fmt: skip
        seen.add(key)
        if key in _NOT_BY:
            raise ctx.fail(
                LeadQLTypeError, f"cannot segment by `{ident.value}`", ident,
                hint="BY takes the list's delivered attributes and score, quality, cost",
            )  # fmt: skip
        if key not in available:
            hint = did_you_mean(ident.value, [v[0] for v in available.values()])
            if key == "score" and not hint:
                hint = "no run scored this list"
            raise ctx.fail(
                LeadQLNameError, f"list `{info.name}` has no column `{ident.value}`", ident,
                hint=hint or f"its columns: {', '.join(v[0] for v in available.values())}",
            )  # fmt: skip
        name, type_, measure = available[key]
        kind = _kind(type_)
        if kind is None:
            raise ctx.fail(
                LeadQLTypeError, f"cannot segment by `{name}` of type {type_}", ident,
                hint="BY takes numbers, booleans, dates and text",
            )  # fmt: skip
        features.append(Feature(name, measure, kind))
    return features


def _kind(type_: str) -> str | None:
    upper = type_.upper()
    if upper in _NUMBER_TYPES or upper.startswith("DECIMAL"):
        return "number"
    if upper == "BOOLEAN":
        return "boolean"
    if upper == "DATE" or upper.startswith("TIMESTAMP"):
        return "date"
    if upper == "VARCHAR" or upper.startswith("ENUM"):
        return "text"
    return None


def _read(
    con: Any, info: ListInfo, features: list[Feature], run_id: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """row_ids and each feature's raw values (floats with NaN, or text with None), in delivery
    order; only the rows of `run_id` when given."""
    import numpy as np

    columns = "".join(f", {f.sql()} AS c{i}" for i, f in enumerate(features))
    where, params = "f.list_id = ?", [info.list_id]
    if run_id is not None:
        where, params = where + " AND f.run_id = ?", [*params, run_id]
    table = con.sql(
        f"SELECT f.row_id{columns} FROM {LIST_LEADS} AS f "
        f"JOIN {data_table(info.list_id)} AS d ON d.row_id = f.row_id WHERE {where} ORDER BY f.row_id",
        params=params,
    ).to_arrow_table()  # fmt: skip
    raw = {}
    for i, feature in enumerate(features):
        column = table.column(f"c{i}")
        if feature.kind == "text":
            raw[feature.name] = column.to_pylist()
        else:
            raw[feature.name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return table.column("row_id").to_numpy(zero_copy_only=False), raw


# ------------------------------------------------------------------------ clustering


def _threads(points: np.ndarray) -> Any:
    """scikit-learn's OpenMP code on one thread unless the data is large: on small data (and on
    a busy machine) the threads' spin-waiting costs far more than they save (measured: nine
    k-means fits of 600 rows, 16 s with 2 threads under load, 0.25 s with one)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if points.size < 20_000_000 else None, user_api="openmp")


def _kmeans(points: np.ndarray, k: int) -> Any:
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # duplicates: fewer distinct centres
        return KMeans(n_clusters=k, n_init=N_INIT, random_state=SEED).fit(points)


def _sample(n: int, size: int) -> np.ndarray:
    import numpy as np

    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, size=size, replace=False))


def _silhouette(points: np.ndarray, labels: np.ndarray) -> float | None:
    """The silhouette on a fixed sample of at most SILHOUETTE_ROWS rows; None if undefined."""
    import numpy as np
    from sklearn.metrics import silhouette_score

    rows = _sample(len(points), SILHOUETTE_ROWS)
    found = len(np.unique(labels[rows]))
    if not 2 <= found <= len(rows) - 1:
        return None
    return round(float(silhouette_score(points[rows], labels[rows])), 4)


def _choose_k(points: np.ndarray, largest: int) -> tuple[int, dict[int, float | None], Any]:
    """k = 2 … largest, each fitted on a fixed sample of the rows; the best silhouette wins
    (the smaller k on a tie). → k, every silhouette, and the fit to reuse when it saw every row."""
    rows = _sample(len(points), SEARCH_ROWS)
    sample = points[rows]
    tried: dict[int, float | None] = {}
    fits = {}
    for k in range(2, max(2, largest) + 1):
        fits[k] = _kmeans(sample, k)
        tried[k] = _silhouette(sample, fits[k].labels_)
    best = max(tried, key=lambda kk: (tried[kk] if tried[kk] is not None else -2.0, -kk))
    return best, tried, fits[best] if len(rows) == len(points) else None


# ------------------------------------------------------------------------ the profile


def _profile(
    model: SegmentModel, raw: dict[str, Any], scaled: np.ndarray, segments: np.ndarray, k: int
) -> tuple[tuple[list[str], list[tuple[Any, ...]]], dict[str, Any]]:
    """One row per segment: segment, size, share, each BY column's centre in its own units, and
    the features that most set the segment apart. → (columns, rows) and the profile JSON."""
    n = len(segments)
    fixed = {"segment", "size", "share", "distinguishing"}
    headers = [f.name + ("_centre" if f.name.lower() in fixed else "") for f in model.features]
    columns = ["segment", "size", "share", *headers, "distinguishing"]
    rows, stored = [], []
    for number in range(1, k + 1):
        members = segments == number
        size = int(members.sum())
        centres = [_centre(model, f, raw[f.name], members) for f in model.features]
        distinguishing = _distinguishing(model, raw, scaled, members)
        share = round(size / n, 4)
        rows.append((number, size, share, *centres, distinguishing))
        stored.append({
            "segment": number, "size": size, "share": share,
            "centres": {f.name: (c.isoformat() if isinstance(c, date) else c)
                        for f, c in zip(model.features, centres, strict=True)},
            "distinguishing": distinguishing,
        })  # fmt: skip
    return (columns, rows), {"segments": stored}


def _centre(model: SegmentModel, feature: Feature, values: Any, members: np.ndarray) -> Any:
    """Mean for numbers (share true for booleans, mean date for dates); for text the most
    frequent value and its share, as 'CA 62%'. Missing values do not count."""
    import numpy as np

    if feature.kind == "text":
        known = [v for v, m in zip(values, members, strict=True) if m and v is not None]
        if not known:
            return None
        counts: dict[str, int] = {}
        for v in known:
            counts[v] = counts.get(v, 0) + 1
        top = min(counts, key=lambda v: (-counts[v], v))
        return f"{top} {counts[top] / len(known):.0%}"
    numbers = np.asarray(values, dtype=np.float64)[members]
    numbers = numbers[np.isfinite(numbers)]
    if not len(numbers):
        return None
    mean = float(numbers.mean())
    if feature.kind == "date":
        return date(1970, 1, 1) + timedelta(days=math.floor(mean))
    return round(mean, 4 if abs(mean) < 10 else 2)


def _distinguishing(
    model: SegmentModel, raw: dict[str, Any], scaled: np.ndarray, members: np.ndarray
) -> str:
    """The 2–3 BY features whose segment mean is furthest, in standard deviations, from the
    whole list's (a text column counts once, by its most different value)."""
    import numpy as np

    found: list[tuple[float, str]] = []
    offset = 0
    for feature in model.features:
        block = scaled[:, offset : offset + feature.width]
        offset += feature.width
        gaps = block[members].mean(axis=0)  # the whole list's mean is 0 after scaling
        best = int(np.argmax(np.abs(gaps)))
        gap = float(gaps[best])
        if abs(gap) < 0.25:
            continue
        if feature.kind == "text":
            encoded = model.encode_one(feature, raw[feature.name])
            level = feature.levels[best]
            inside, overall = encoded[members, best].mean(), encoded[:, best].mean()
            found.append(
                (abs(gap), f"{feature.name}={level} {gap:+.1f} sd ({inside:.0%} vs {overall:.0%})")
            )
            continue
        numbers = model._numbers(feature, raw[feature.name])
        known = ~np.isnan(numbers)
        inside, overall = numbers[members & known].mean(), numbers[known].mean()
        if feature.kind == "boolean":
            detail = f"{inside:.0%} vs {overall:.0%} true"
        elif feature.kind == "date":
            detail = f"mean age {_number(inside)} vs {_number(overall)} days"
        else:
            detail = f"mean {_number(inside)} vs {_number(overall)}"
        found.append((abs(gap), f"{feature.name} {gap:+.1f} sd ({detail})"))
    found.sort(key=lambda item: -item[0])
    return "; ".join(text for _, text in found[:3]) or "close to the list's average"


def _number(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3g}"


def _missing_words(count: int, infinite: int) -> str:
    """"missing values", or "missing or infinite values (2 infinite)": an infinity counts as missing."""
    plural = "s" if count != 1 else ""
    if not infinite:
        return f"missing value{plural}"
    return f"missing or infinite value{plural} ({infinite:,} infinite)"


def _imputed_text(feature: Feature) -> str:
    """What missing values of `feature` became, for the warning."""
    if feature.kind == "text":
        return f"most frequent value '{feature.fill}'"
    if feature.kind == "boolean":
        return f"most frequent value {'true' if feature.fill >= 0.5 else 'false'}"
    if feature.kind == "date":
        return f"median age of {_number(feature.fill)} days"
    return f"median {_number(feature.fill)}"


def _silhouette_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _names(features: list[Feature]) -> str:
    return ", ".join(f"`{f.name}`" for f in features)


def _days(day: date) -> float:
    return float((day - date(1970, 1, 1)).days)


# ------------------------------------------------------------------------ storing


def _store(
    con: Any, info: ListInfo, model: SegmentModel, row_ids: Any, segments: Any,
    profile: dict[str, Any], silhouette: float | None,
) -> None:  # fmt: skip
    """Every row's segment, the segmentation (replacing an earlier one) and the view with its
    `segment` column, in one transaction."""
    import pyarrow as pa

    name = f"_leadql_segments_{uuid.uuid4().hex[:12]}"
    con.register(name, pa.table({"row_id": row_ids, "segment": pa.array(segments, pa.int32())}))
    try:
        with transaction(con):
            _set_segments(con, name)
            con.execute(f"DELETE FROM {SEGMENTATIONS} WHERE list_id = ?", [info.list_id])
            con.execute(
                f"INSERT INTO {SEGMENTATIONS} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [info.list_id, now(), len(model.numbering),
                 json.dumps([f.name for f in model.features]), silhouette,
                 json.dumps(profile), pickle.dumps(model)],
            )  # fmt: skip
            create_view(con, info)
    finally:
        con.unregister(name)


def _set_segments(con: Any, registered: str) -> None:
    con.execute(
        f"UPDATE {LIST_LEADS} AS f SET segment = s.segment FROM {registered} AS s "
        "WHERE f.row_id = s.row_id"
    )


def assign_appended(con: Any, info: ListInfo, run_id: str) -> None:
    """Give the rows `run_id` just appended to a segmented list the segment of their nearest
    centre. Runs inside the list writer's transaction; a list never segmented is untouched."""
    row = first_row(
        con.execute(f"SELECT model FROM {SEGMENTATIONS} WHERE list_id = ?", [info.list_id])
    )
    if row is None or row[0] is None:
        return
    import pyarrow as pa

    try:
        model = pickle.loads(row[0])
    except Exception:  # a model pickled by another version: the rows stay unassigned (NULL)
        return
    row_ids, raw = _read(con, info, model.features, run_id)
    if not len(row_ids):
        return
    name = f"_leadql_segments_{uuid.uuid4().hex[:12]}"
    con.register(
        name, pa.table({"row_id": row_ids, "segment": pa.array(model.assign(raw), pa.int32())})
    )
    try:
        _set_segments(con, name)
    finally:
        con.unregister(name)
