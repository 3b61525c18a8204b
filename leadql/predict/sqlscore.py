"""Score a gbm PREDICT model as generated SQL over the DuckDB table that holds its features.

`models.predict` fetches the features to pandas, encodes them (strings → category codes) and
walks sklearn's trees; here every fitted HistGradientBoosting tree becomes one nested CASE
expression over the feature columns, their sum (plus the baseline) is the model's raw score, and
only that one column leaves DuckDB. The link function (sigmoid) and the calibrator are applied
in numpy to the raw scores, exactly as `models.predict` applies them, so the scores agree with
`models.predict` to rounding (the raw sum is added in the same order as sklearn adds it).

How one tree node becomes SQL (the rules of sklearn's `_predict_one_from_raw_data`):

- numeric: missing (NULL or NaN) goes to the node's missing side, else `x <= threshold` goes
  left. The query projects every numeric feature as `NULLIF(CAST(x AS DOUBLE), 'NaN')`, so
  missing is always NULL and a node is one comparison: `CASE WHEN x <= t THEN l ELSE r END`
  when missing goes right (NULL fails the test) and `CASE WHEN x > t THEN r ELSE l END` when it
  goes left.
- categorical: the query projects the text once per row to a group g (0…k-1 the encoder's kept
  values, k any other text, k+1 NULL) with `list_position`. The encoder's mapping (kept values
  0…k-1, "other" k for rare and unseen values when there was an "other", else NaN; NULL → NaN)
  and the node's bitsets (left categories, known categories; unknown ones follow the missing
  side) fold into one side per group, so a node is a bit test on a constant:
  `CASE WHEN ((mask >> g) & 1) = 1 THEN l ELSE r END` (`get_bit` on a bit string past 61
  groups, `g = c` for a single group). Not `g IN (…)`: DuckDB rewrites IN lists into mark
  joins, one per node, which made scoring orders of magnitude slower.

Speed (bench/bench_sql_scoring.py): DuckDB spends about as much CPU per row and tree on these
CASE trees as sklearn's tree walk does (~150–200 ns), and planning the query costs ~1–2 s for
~80 trees; what it saves is the fetch to pandas and the string encoding, and it runs on all of
DuckDB's threads.

Anything else (multiclass, logistic, losses other than log loss / squared error, encoders this
does not know) compiles to None and the caller scores with `models.predict`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from leadql.connectors.base import quote_ident, quote_str
from leadql.predict import models

TASKS = ("binary_classification", "link_prediction", "regression")  # one output per row
_NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN",
)  # fmt: skip
_INTEGER_TYPES = _NUMERIC_TYPES[:10]


def compile_gbm(model: Any) -> str | None:
    """The model's raw score (baseline + the trees' leaf values: log-odds for binary, the value
    for regression) as one DuckDB expression over the feature columns by name, or None when the
    model is not a gbm this compiler supports.

    The expression expects numeric features as DOUBLE with missing values as NULL (not NaN) and
    categorical features as their group codes (BIGINT): `score_select` and `score_sql` wrap it
    over a projection of the table that makes them so."""
    parts = _compile(model)
    return None if parts is None else " + ".join(parts[0])


def compile_linear(model: Any, column_sql: Any = None, available: set[str] | None = None) -> str | None:
    """A logistic model's log-odds (or a ridge model's value) as one DuckDB expression over the
    feature columns: the encoder's median imputation and standardisation for numbers, its one-hot
    groups (kept values, "(missing)", "other") for text, times the coefficients. None for any
    other model.

    `column_sql(feature)` gives the SQL of a feature's column (default: the quoted name);
    `available` limits the expression to those features (the others add nothing, which keeps
    the order of rows scored on what one source knows)."""
    try:
        return _linear(model, column_sql or quote_ident, available)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None


def _linear(model: Any, column_sql: Any, available: set[str] | None) -> str | None:
    if getattr(model, "algorithm", None) != "logistic" or model.task_type not in TASKS:
        return None
    enc, est = model.encoder, model.estimator
    if enc.mode != "onehot":
        return None
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    terms = [repr(float(np.asarray(est.intercept_, dtype=np.float64).ravel()[0]))]
    for i, f in enumerate(enc.numeric_):
        start, _ = enc.slices_[f]
        w = float(coef[start])
        if w == 0.0 or (available is not None and f not in available):
            continue
        x = f"COALESCE(NULLIF(CAST({column_sql(f)} AS DOUBLE), 'NaN'::DOUBLE), {float(enc.median_[i])!r})"
        terms.append(f"{w!r} * (({x} - {float(enc.mean_[i])!r}) / {float(enc.scale_[i])!r})")
    for f in enc.categorical_:
        if available is not None and f not in available:
            continue
        start, stop = enc.slices_[f]
        cats = enc.categories_[f]
        weights = [float(w) for w in coef[start:stop]]
        other = weights[len(cats)] if enc.has_other_[f] else 0.0
        missing = weights[cats.index("(missing)")] if "(missing)" in cats else other
        col = column_sql(f)
        whens = " ".join(f"WHEN {quote_str(c)} THEN {w!r}" for c, w in zip(cats, weights, strict=False)
                         if c != "(missing)")  # fmt: skip
        value = f"CASE CAST({col} AS VARCHAR) {whens} ELSE {other!r} END" if whens else repr(other)
        terms.append(f"(CASE WHEN ({col}) IS NULL THEN {missing!r} ELSE {value} END)")
    return " + ".join(terms)


def score_select(model: Any, table: str) -> str | None:
    """`SELECT <raw score> AS raw FROM (<table's feature columns, normalised>)`, or None."""
    parts = _compile(model)
    return None if parts is None else _select(model, *parts, table)


def score_sql(con: Any, model: Any, table: str, order_by: str | None = None) -> np.ndarray | None:
    """The model's scores for the rows of `table` (a DuckDB table or view holding the feature
    columns), exactly as `models.predict` would return them for those rows fetched to pandas;
    None when the model or the columns' types are not supported (score with `models.predict`).

    Rows come in the table's scan order, or sorted by `order_by` (SQL over the table's columns,
    e.g. "anchor_ts, entity_id")."""
    if getattr(model, "algorithm", None) == "logistic":
        linear = compile_linear(model)
        if linear is None or not _types_ok(con, model, table):
            return None
        sql = f"SELECT {linear} AS raw FROM {table}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        raw = np.asarray(con.execute(sql).fetchnumpy()["raw"], dtype=np.float64)
        if model.task_type != "regression":
            from scipy.special import expit

            raw = expit(raw)  # LogisticRegression.predict_proba's link
        return model.calibrator(raw) if model.calibrator is not None else raw
    parts = _compile(model)
    if parts is None or not _types_ok(con, model, table):
        return None
    sql = _select(model, *parts, table)
    if order_by:
        sql += f" ORDER BY {order_by}"
    raw = con.execute(sql).fetchnumpy()["raw"]
    raw = np.asarray(raw, dtype=np.float64)
    return _finish(model, raw)


# --------------------------------------------------------------------------------------------


def _finish(model: Any, raw: np.ndarray) -> np.ndarray:
    """Link function and calibrator, as `models._scores_from_encoded` applies them."""
    if model.task_type != "regression":
        if getattr(model, "fast_path", False):
            raw = models._sigmoid(raw)
        else:
            from scipy.special import expit

            raw = expit(raw)  # HistGradientBoostingClassifier.predict_proba's link
    if model.calibrator is not None:
        return model.calibrator(raw)
    return raw


def _select(model: Any, terms: list[str], used: list[str], table: str) -> str:
    """Every tree a column of a subquery, summed outside: the same sum in the same order as one
    expression, but DuckDB plans it in half the time (binding a long chain of `+` over deep
    CASE expressions is superlinear). Other columns pass through (for ORDER BY)."""
    baseline, trees = terms[0], terms[1:]
    cols = "".join(f", {t} AS __leadql_t{i}" for i, t in enumerate(trees))
    total = " + ".join([baseline] + [f"__leadql_t{i}" for i in range(len(trees))])
    inner = f"SELECT *{cols} FROM ({_projection(model, used, table)})"
    return f"SELECT {total} AS raw FROM ({inner})"


def _projection(model: Any, used: list[str], table: str) -> str:
    """The table with the features the trees read normalised: numerics DOUBLE with NaN as NULL;
    categoricals as their group (BIGINT): 0…k-1 the encoder's known values in order, k any other
    text, k+1 NULL (every other column unchanged, for ORDER BY)."""
    enc = model.encoder
    cols = []
    for f in used:
        q = quote_ident(f)
        if f in enc.categories_:
            k = len(enc.categories_[f])
            text = f"CAST({q} AS VARCHAR)"
            if k:
                values = ", ".join(quote_str(v) for v in enc.categories_[f])
                known = f"COALESCE(list_position([{values}], {text}) - 1, {k})"
            else:
                known = "0"
            cols.append(
                f"CAST(CASE WHEN {q} IS NULL THEN {k + 1} ELSE {known} END AS BIGINT) AS {q}"
            )
        else:
            cols.append(f"NULLIF(CAST({q} AS DOUBLE), 'NaN'::DOUBLE) AS {q}")
    replace = f" REPLACE ({', '.join(cols)})" if cols else ""
    return f"SELECT *{replace} FROM {table}"


def _types_ok(con: Any, model: Any, table: str) -> bool:
    """Categoricals must be text (or integers: pandas would see the same strings), numerics a
    number or boolean; anything else (dates, floats as categories) → None."""
    described = con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()
    types = {r[0]: str(r[1]).upper() for r in described}
    cats = set(model.encoder.categorical_)
    for f in model.features:
        t = types.get(f)
        if t is None:
            return False  # models.predict would raise; let it
        if f in cats:
            if t != "VARCHAR" and t not in _INTEGER_TYPES:
                return False
        elif t not in _NUMERIC_TYPES and not t.startswith("DECIMAL"):
            return False  # (pandas gets DECIMAL as the same doubles as CAST AS DOUBLE)
    return True


def _compile(model: Any) -> tuple[list[str], list[str]] | None:
    """([baseline, tree expressions…], the features they read) or None."""
    try:
        return _compile_unchecked(model)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None  # sklearn internals not as expected: the caller uses models.predict


def _compile_unchecked(model: Any) -> tuple[list[str], list[str]] | None:
    if getattr(model, "algorithm", None) != "gbm" or model.task_type not in TASKS:
        return None
    enc = model.encoder
    est = model.estimator
    if not isinstance(enc, models.TabularEncoder) or enc.mode != "ordinal":
        return None
    if getattr(est, "n_trees_per_iteration_", 1) != 1:
        return None
    loss = getattr(est, "loss", None)
    if model.task_type == "regression":
        if loss != "squared_error":
            return None
    elif loss != "log_loss":
        return None
    columns = _encoded_columns(enc)
    if columns is None:
        return None
    internal = _internal_columns(est, columns)
    if internal is None:
        return None
    known_bitsets, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    used: set[str] = set()
    trees = []
    for predictors in est._predictors:
        (pred,) = predictors
        compiler = _Tree(pred, internal, enc, known_bitsets, f_idx_map)
        trees.append(compiler.node(0))
        used |= compiler.used
    baseline = float(np.ravel(est._baseline_prediction)[0])
    # sklearn: raw = 0 + baseline, then raw += tree for each tree in order; the same sum
    order = [f for f in model.features if f in used]
    return [_num(baseline)] + trees, order


def _encoded_columns(enc: Any) -> list[str] | None:
    """The feature behind each encoded column (ordinal mode: one column per feature)."""
    out: list[str | None] = [None] * enc.n_out_
    for f, (a, b) in enc.slices_.items():
        if b != a + 1:
            return None
        out[a] = f
    return None if any(f is None for f in out) else out  # type: ignore[return-value]


class _Internal:
    """One of HistGradientBoosting's internal feature columns: which of our features it is and,
    for categoricals, the map from our code to its internal category (unknown → absent)."""

    def __init__(self, feature: str, categorical: bool, codes: dict[int, int] | None = None):
        self.feature = feature
        self.categorical = categorical
        self.codes = codes or {}


def _internal_columns(est: Any, columns: list[str]) -> list[_Internal] | None:
    pre = getattr(est, "_preprocessor", None)
    n = len(columns)
    if pre is None:
        return [_Internal(f, False) for f in columns]
    is_cat = np.asarray(est.is_categorical_, dtype=bool)
    if len(is_cat) != n:
        return None
    cat_idx = list(np.flatnonzero(is_cat))
    num_idx = list(np.flatnonzero(~is_cat))
    if list(pre.output_indices_["encoder"].indices(n)) != [0, len(cat_idx), 1]:
        return None
    encoder = pre.named_transformers_["encoder"]
    out = []
    for j, src in enumerate(cat_idx):
        cats = np.asarray(encoder.categories_[j], dtype=np.float64)
        codes = {}
        for pos, c in enumerate(cats):
            if np.isnan(c):
                continue
            if not float(c).is_integer():
                return None
            codes[int(c)] = pos
        out.append(_Internal(columns[src], True, codes))
    out.extend(_Internal(columns[src], False) for src in num_idx)
    return out


def _in_bitset(bitsets: np.ndarray, row: int, value: int) -> bool:
    return bool((int(bitsets[row, value // 32]) >> (value % 32)) & 1)


class _Tree:
    def __init__(self, pred, internal, enc, known_bitsets, f_idx_map) -> None:
        self.nodes = pred.nodes
        self.left_bitsets = pred.raw_left_cat_bitsets
        self.internal = internal
        self.enc = enc
        self.known = known_bitsets
        self.f_idx_map = f_idx_map
        self.used: set[str] = set()

    def node(self, i: int) -> str:
        n = self.nodes[i]
        if n["is_leaf"]:
            return _num(float(n["value"]))
        col = self.internal[int(n["feature_idx"])]
        self.used.add(col.feature)
        left = self.node(int(n["left"]))
        right = self.node(int(n["right"]))
        x = quote_ident(col.feature)
        miss_left = bool(n["missing_go_to_left"])
        if not col.categorical:
            if n["is_categorical"]:
                raise ValueError("categorical node on a numeric column")
            t = _num(float(n["num_threshold"]))
            if miss_left:
                return f"CASE WHEN {x} > {t} THEN {right} ELSE {left} END"
            return f"CASE WHEN {x} <= {t} THEN {left} ELSE {right} END"
        if not n["is_categorical"]:
            raise ValueError("numeric node on a categorical column")
        return self._categorical(n, col, x, miss_left, left, right)

    def _side(self, n, col: _Internal, code: float, miss_left: bool) -> bool:
        """True: left. Our encoded value (a code, or NaN) through sklearn's node rule."""
        if np.isnan(code):
            return miss_left
        internal = col.codes.get(int(code))
        if internal is None:  # the internal encoder's unknown value: NaN
            return miss_left
        if _in_bitset(self.left_bitsets, int(n["bitset_idx"]), internal):
            return True
        if _in_bitset(self.known, int(self.f_idx_map[int(n["feature_idx"])]), internal):
            return False
        return miss_left

    def _categorical(self, n, col, x, miss_left, left, right) -> str:
        f = col.feature
        k = len(self.enc.categories_[f])
        other = float(k) if self.enc.has_other_[f] else np.nan
        # the projected group g: 0…k-1 known values, k any other text, k+1 NULL (see _projection)
        sides = [self._side(n, col, float(c), miss_left) for c in range(k)]
        sides += [self._side(n, col, other, miss_left), miss_left]
        if all(sides) or not any(sides):
            return left if sides[0] else right
        goes_left = [g for g, s in enumerate(sides) if s]
        if len(goes_left) == 1:
            return f"CASE WHEN {x} = {goes_left[0]} THEN {left} ELSE {right} END"
        goes_right = [g for g, s in enumerate(sides) if not s]
        if len(goes_right) == 1:
            return f"CASE WHEN {x} = {goes_right[0]} THEN {right} ELSE {left} END"
        if len(sides) <= 63:
            mask = sum(1 << g for g in goes_left)
            test = f"(({mask} >> {x}) & 1) = 1"
        else:  # a bit string literal: get_bit counts from the left
            bits = "".join("1" if s else "0" for s in sides)
            test = f"get_bit('{bits}'::BIT, CAST({x} AS INTEGER)) = 1"
        return f"CASE WHEN {test} THEN {left} ELSE {right} END"


def _num(v: float) -> str:
    """A DOUBLE literal that parses back to exactly v: exponent notation (a plain 0.1 would be a
    DECIMAL; a string cast costs planning time)."""
    if np.isnan(v):
        return "'NaN'::DOUBLE"
    if np.isinf(v):
        return "'inf'::DOUBLE" if v > 0 else "'-inf'::DOUBLE"
    r = repr(float(v))
    return r if "e" in r else r + "e0"
