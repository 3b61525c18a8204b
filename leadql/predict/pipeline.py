"""Train and score: training table → features → model, and features at T → scores.

`Pipeline` is what a saved model version holds (pickled): the query text, the feature plan and
the fitted model. Scoring needs only the pipeline and the current data, so a saved model scores
new data without retraining, and `AT t` gives the same scores whatever happened after t.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadql.errors import LeadQLCancelledError, LeadQLExecutionError
from leadql.grammar.validate import (
    BINARY_CLASSIFICATION,
    FORECASTING,
    MULTICLASS_CLASSIFICATION,
)
from leadql.predict.binding import TASK_WORDS, BoundPredict
from leadql.predict.frames import fetch_frame
from leadql.predict.labels import PredictSettings, build_examples, prediction_time, training_anchors


@dataclass
class Pipeline:
    """A trained predictive query: everything scoring needs, nothing tied to one connection."""

    query: str
    task_type: str
    algorithm: str
    entity: str
    entity_key: str
    feature_plan: dict[str, Any]  # FeaturePlan.to_json()
    model: Any  # models.TrainedModel
    ranking: dict[str, Any] | None = None  # link prediction / CLASSIFY of items: item column, k
    forecast: dict[str, Any] | None = None  # FORECAST: timeframes, horizons trained, window
    params: dict[str, Any] = field(default_factory=dict)  # the $name values the query was trained with


@dataclass
class Training:
    """What training did, for messages, DESCRIBE MODEL and the registry."""

    prediction_time: datetime
    anchors: list[datetime]
    examples: int
    positives: int | None
    features: int
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def openmp_threads(rows: int, columns: int) -> Any:
    """A context that runs scikit-learn's OpenMP code on one thread for small tables.

    On small data the threads' start-up and spin-waiting cost more than they save, and on a
    busy machine (DuckDB or another process using the cores) they make gradient boosting 5-10x
    slower (measured: 2,600 x 100 training, 23 s with 2 threads under load, 3.3 s with one).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if rows * columns < 20_000_000 else None, user_api="openmp")


def _progress(ws: Any, stage: str) -> Any:
    report = getattr(ws, "progress", None)
    if report is None:
        return None

    def call(label: str, fraction: float) -> None:
        if getattr(ws, "cancel_requested", False):  # Ctrl-C / ws.interrupt() between steps
            raise LeadQLCancelledError(f"{stage} was cancelled")
        report({"stage": stage, "source": label, "fraction": float(fraction)})

    return call


class _Temps:
    """Temp tables of one statement, dropped at the end whatever happens."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.token = uuid.uuid4().hex[:10]
        self.names: list[str] = []

    def __call__(self, what: str) -> str:
        name = f"_leadql_{what}_{self.token}"
        self.names.append(name)
        return name

    def drop(self) -> None:
        for name in self.names:
            for kind in ("VIEW", "TABLE"):
                try:
                    self.con.execute(f"DROP {kind} IF EXISTS {name}")
                except Exception:  # noqa: BLE001 - wrong kind; the other DROP removes it
                    pass


def training_features(ws: Any, bound: BoundPredict, examples: str, temps: _Temps) -> tuple[Any, str]:
    """Plan the entity's features and compute them at every training example's anchor; returns
    (the plan, the name of the features table). A static target's own column is never a feature,
    and the data profile (top category values) sees only rows up to the last anchor."""
    from leadql.predict import features

    exclude = [(bound.entity.name, bound.static_target)] if bound.static_target else []
    anchors = temps("anchors")
    ws.con.execute(f"CREATE OR REPLACE TEMP VIEW {anchors} AS SELECT entity_id, anchor_ts FROM {examples}")
    plan = features.plan_features(ws.con, bound.schema, bound.entity.name, bound.entity_key,
                                  exclude=exclude, anchors=anchors)  # fmt: skip
    feats = temps("features")
    features.compute_features(ws.con, plan, bound.schema, anchors, feats, progress=_progress(ws, "features"))
    return plan, feats


def scoring_features(ws: Any, bound: BoundPredict, pipeline: Pipeline, examples: str, temps: _Temps) -> tuple[Any, str]:
    """The saved plan's features at the scoring anchors; returns (the plan, the features table)."""
    from leadql.predict import features

    plan = features.FeaturePlan.from_json(pipeline.feature_plan)
    feats = temps("features")
    features.compute_features(ws.con, plan, bound.schema, examples, feats, progress=_progress(ws, "features"))
    return plan, feats


def scoring_frame(ws: Any, bound: BoundPredict, pipeline: Pipeline, at: datetime,
                  temps: _Temps) -> tuple[Any, str, str]:  # fmt: skip
    """The entities to score at `at` (those passing WHERE, or the chosen ones) with the saved
    plan's features: (pandas in `features_frame`'s order, the examples table, the features table)."""
    examples = temps("score")
    build_examples(ws.con, bound, [at], examples, training=False, entity_values=bound.entity_values)
    _, feats = scoring_features(ws, bound, pipeline, examples, temps)
    # in rows order only for DuckDB's scoring, which returns its scores in that order; otherwise
    # any order: ranks break ties by `tie_order`, as they would over the ordered rows
    ordered = _sql_scoring(pipeline.model)
    return features_frame(ws.con, feats, examples, label=False, ordered=ordered), examples, feats


def tie_order(frame: Any) -> Any:
    """Each row's position in (anchor_ts, entity_id) order, NULLs last, as DuckDB orders them
    (`features_frame(ordered=True)`): ranks break score ties by it, so they do not depend on the
    order in which the rows were fetched."""
    import numpy as np

    order = frame[["anchor_ts", "entity_id"]].reset_index(drop=True).sort_values(
        ["anchor_ts", "entity_id"], kind="stable", na_position="last").index.to_numpy()
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return position


def rank_descending(values: Any, tie: Any) -> Any:
    """1 for the largest value, ties broken by `tie` (smaller first); int64."""
    import numpy as np

    order = np.lexsort((np.asarray(tie), -np.asarray(values, dtype=np.float64)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def features_frame(con: Any, features_table: str, examples: str, *, label: bool, ordered: bool = True) -> Any:
    """Features joined to the examples as pandas: in (anchor_ts, entity_id) order, or in any
    order (`ordered=False`): DuckDB sorting the wide rows cost 1.8 of 2.6 s for 1M rows × 100
    features."""
    cols = "x.entity_id, x.anchor_ts" + (", x.label" if label else "")
    # compute_features types categorical features VARCHAR (and every other feature a number)
    features = con.sql(f"SELECT * EXCLUDE (entity_id, anchor_ts) FROM {features_table} LIMIT 0")
    text = [c for c, t in zip(features.columns, features.types, strict=True) if str(t) == "VARCHAR"]
    return fetch_frame(con.sql(
        f"SELECT {cols}, f.* EXCLUDE (entity_id, anchor_ts) FROM {examples} AS x "
        f"JOIN {features_table} AS f USING (entity_id, anchor_ts)"
        + (" ORDER BY x.anchor_ts, x.entity_id" if ordered else "")
    ), categorical=text)


def train(ws: Any, bound: BoundPredict, settings: PredictSettings | None = None) -> tuple[Pipeline, Training]:
    from leadql.predict import models

    settings = settings or PredictSettings()
    con = ws.con
    temps = _Temps(con)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        at = prediction_time(con, bound)
        anchors = training_anchors(con, bound, at, settings)
        examples = temps("examples")
        if bound.task_type == FORECASTING:
            from leadql.predict import forecast

            return forecast.train(ws, bound, at, anchors, temps, settings)
        n = build_examples(con, bound, anchors, examples, training=True)
        if bound.item_agg is not None:
            from leadql.predict import ranking

            return ranking.train(ws, bound, at, anchors, examples, temps, settings)
        settle_examples(con, examples, n, anchors, settings, bound)
        seconds["labels"] = time.perf_counter() - started

        started = time.perf_counter()
        plan, feats = training_features(ws, bound, examples, temps)
        frame = features_frame(con, feats, examples, label=True)
        seconds["features"] = time.perf_counter() - started

        started = time.perf_counter()
        names = [f.name for f in plan.features]
        categorical = [f.name for f in plan.features if f.dtype == "categorical"]
        y, positives = typed_labels(frame["label"].to_numpy(), bound.model_task)
        with openmp_threads(len(frame), len(names)):
            model = models.train(
                frame[names], y, frame["anchor_ts"].to_numpy(), task_type=bound.model_task,
                algorithm=bound.algorithm, categorical=categorical, progress=_progress(ws, "training"),
            )  # fmt: skip
        seconds["training"] = time.perf_counter() - started
        pipeline = Pipeline(
            query=bound.stmt.text, task_type=bound.task_type, algorithm=bound.algorithm,
            entity=bound.entity.name, entity_key=bound.entity_key, feature_plan=plan.to_json(),
            model=model,
        )  # fmt: skip
        info = Training(at, anchors, len(frame), positives, len(names), list(plan.skipped), seconds)
        return pipeline, info
    finally:
        temps.drop()


def settle_examples(con: Any, examples: str, n: int, anchors: list[datetime], settings: PredictSettings,
                    bound: BoundPredict) -> None:  # fmt: skip
    """Refuse an empty training table; sample one larger than `settings.max_examples` down."""
    if n == 0:
        from leadql.predict.labels import example_funnel

        funnel = example_funnel(con, bound, anchors)
        stop = next((name for name, count in funnel if count == 0), "target")
        raise LeadQLExecutionError(
            f"no training examples at the {len(anchors)} anchor time{'s' if len(anchors) != 1 else ''} "
            f"{anchors[-1]:%Y-%m-%d} … {anchors[0]:%Y-%m-%d}: {_funnel_words(funnel)}",
            hint=_EMPTY_HINTS[stop],
        )
    if n > settings.max_examples:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {examples} AS SELECT * FROM {examples} "
            f"USING SAMPLE {settings.max_examples} ROWS (reservoir, 7)"
        )


_EMPTY_HINTS = {
    "exist": "check the entity table's time column: its rows must exist by the anchors",
    "WHERE": "loosen WHERE",
    "ASSUMING": "loosen ASSUMING, or leave it out",
    "target": "the target has no value in any window (AVG, MIN, MAX, FIRST and LAST of an empty "
              "window have none): use a longer window, or COUNT / SUM",
}  # fmt: skip


def _funnel_words(funnel: list[tuple[str, int]]) -> str:
    """`labels.example_funnel`'s counts up to the first empty step, in words."""
    words = {"exist": "exist", "WHERE": "pass WHERE", "ASSUMING": "satisfy ASSUMING",
             "target": "have a target value"}  # fmt: skip
    shown = []
    for name, count in funnel:
        shown.append(f"{count:,} {words[name]}")
        if count == 0:
            break
    return "of the (entity, anchor) pairs, " + ", ".join(shown)


def typed_labels(y: Any, model_task: str) -> tuple[Any, int | None]:
    """The label column as the model family wants it; (labels, positives or None)."""
    if model_task == BINARY_CLASSIFICATION:
        y = y.astype(bool)
        return y, int(y.sum())
    if model_task == MULTICLASS_CLASSIFICATION:
        return y.astype(str), None
    return y.astype(float), None


def score(ws: Any, bound: BoundPredict, pipeline: Pipeline, at: datetime | None = None) -> Any:
    """Scores for the entities at the prediction time, as an Arrow table sorted by rank."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from leadql.predict import models

    con = ws.con
    temps = _Temps(con)
    try:
        at = at or prediction_time(con, bound)
        if pipeline.ranking is not None:
            from leadql.predict import ranking

            return ranking.score(ws, bound, pipeline, at, temps)
        if pipeline.forecast is not None:
            from leadql.predict import forecast

            return forecast.score(ws, bound, pipeline, at, temps)
        frame, examples, feats = scoring_frame(ws, bound, pipeline, at, temps)
        key = bound.entity_key
        model = pipeline.model
        classes = model.task_type == MULTICLASS_CLASSIFICATION
        if frame.empty:  # the columns a non-empty result has, typed
            numeric = not classes and pipeline.task_type != BINARY_CLASSIFICATION
            head = {"score": pa.float64()} if not classes and not numeric else \
                {"prediction": pa.float64()} if numeric else {"prediction": pa.string(), "score": pa.float64()}
            return empty_scores(con, bound, **head, rank=pa.int64(), reasons=pa.string())
        X = frame[[f["name"] for f in pipeline.feature_plan["features"]]]
        out = pd.DataFrame({key: frame["entity_id"]})
        with openmp_threads(len(X), X.shape[1]):
            if pipeline.task_type == BINARY_CLASSIFICATION:
                out["score"] = _scores(con, model, X, examples, feats)
                order = out["score"]
            elif classes and pipeline.task_type != MULTICLASS_CLASSIFICATION:
                # RANK TOP k / CLASSIFY [TOP k] of a column or FIRST/LAST: the k likeliest classes
                return top_classes(bound, model, X, frame["entity_id"], bound.top_k or 1, tie_order(frame))
            elif pipeline.task_type == MULTICLASS_CLASSIFICATION:
                proba = np.asarray(models.predict(model, X))
                best = proba.argmax(axis=1)
                out["prediction"] = np.asarray(model.classes, dtype=object)[best]
                out["score"] = proba[np.arange(len(best)), best]
                order = out["score"]
            else:
                out["prediction"] = _scores(con, model, X, examples, feats)
                order = out["prediction"]
            out["rank"] = rank_descending(order.to_numpy(), tie_order(frame))
            out = out.sort_values("rank", kind="stable")
            if bound.limit is not None:
                out = out.head(bound.limit)
            # reasons only for the rows returned: they cost a few predictions per row
            out["reasons"] = models.reasons(model, X.loc[out.index])
        return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)
    finally:
        temps.drop()


def arrow_type(con: Any, duckdb_type: str) -> Any:
    """The Arrow type DuckDB gives a value of `duckdb_type` (for typed empty results)."""
    return con.sql(f"SELECT CAST(NULL AS {duckdb_type}) AS v LIMIT 0").to_arrow_table().schema.field(0).type


def empty_scores(con: Any, bound: BoundPredict, **columns: Any) -> Any:
    """A result without rows: the entity key (typed as the key column) and `columns` (name →
    Arrow type), as a non-empty result of the same query would have them."""
    import pyarrow as pa

    fields = {bound.entity_key: arrow_type(con, bound.entity_key_type), **columns}
    return pa.table({name: pa.array([], type_) for name, type_ in fields.items()})


def top_classes(bound: BoundPredict, model: Any, X: Any, entity_ids: Any, k: int, tie: Any = None) -> Any:
    """One row per entity and class for its k likeliest classes: the key, `prediction` (the
    class), `score` (its probability), `rank` (1 = likeliest) within the entity and `reasons`
    (why the likeliest class, on every row of the entity); entities in the order of their best
    class's probability, LIMIT counting rows (as ranking does)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from leadql.predict import models

    proba = np.asarray(models.predict(model, X))
    classes = np.asarray(model.classes, dtype=object)
    k = max(1, min(k, proba.shape[1]))
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(proba)), k)
    picked = order.reshape(-1)
    out = pd.DataFrame({
        bound.entity_key: np.asarray(entity_ids)[rows], "prediction": classes[picked],
        "score": proba[rows, picked], "rank": np.tile(np.arange(1, k + 1), len(proba)),
    })  # fmt: skip
    best = rank_descending(proba.max(axis=1), np.arange(len(proba)) if tie is None else tie)
    out = out.iloc[np.lexsort((out["rank"].to_numpy(), best[rows]))]
    if bound.limit is not None:
        out = out.head(bound.limit)
    out["reasons"] = entity_reasons(model, X, rows[out.index.to_numpy()])
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)


def entity_reasons(model: Any, X: Any, rows: Any) -> list[str]:
    """`models.reasons` for the rows of X numbered `rows` (repeats allowed: computed once per
    distinct row, only for the rows returned)."""
    import numpy as np

    from leadql.predict import models

    rows = np.asarray(rows)
    if not rows.size:
        return []
    distinct, back = np.unique(rows, return_inverse=True)
    explained = models.reasons(model, X.iloc[distinct])
    return [explained[i] for i in back]


SQL_SCORING_ROWS = 50_000  # below this, DuckDB's planning of the compiled trees costs more


def _sql_scoring(model: Any) -> bool:
    """Whether big batches are scored inside DuckDB: a gbm with one output per row (sqlscore
    compiles no multiclass model) without its compiled walk (numba). The features are fetched
    for reasons and the output anyway, so over the fetched frame the compiled walk beats
    DuckDB's CASE trees, and the folded linear sum DuckDB's (bench_sql_scoring, per 1M rows x
    100 features: gbm 1.2 s vs 4.1 s, logistic 0.36 s vs 1.6 s)."""
    from leadql.predict import sqlscore, treewalk

    if getattr(model, "algorithm", None) != "gbm" or model.task_type not in sqlscore.TASKS:
        return False
    return not (getattr(model, "fast_path", False) and treewalk.AVAILABLE)


def _scores(con: Any, model: Any, X: Any, examples: str, feats: str) -> Any:
    """Scores in X's row order: computed by DuckDB (sqlscore: the trees as CASE expressions) for
    a batch of SQL_SCORING_ROWS or more when `_sql_scoring` says so — X is then in
    `features_frame(ordered=True)` order, the order of DuckDB's scores —, else `models.predict`."""
    from leadql.predict import models, sqlscore

    if len(X) >= SQL_SCORING_ROWS and _sql_scoring(model):
        rows = f"(SELECT f.* FROM {examples} AS x JOIN {feats} AS f USING (entity_id, anchor_ts))"
        scores = sqlscore.score_sql(con, model, rows, order_by="anchor_ts, entity_id")
        if scores is not None:
            return scores
    return models.predict(model, X)


def describe_training(bound: BoundPredict, info: Training, model: Any) -> str:
    """One line: what was learned, from what, and how well it did on the later slice."""
    from leadql.predict.registry import headline

    metric, value = headline(getattr(model, "metrics", {}) or {}, bound.task_type)
    span = (
        f"{len(info.anchors)} anchor{'s' if len(info.anchors) != 1 else ''} "
        f"{min(info.anchors):%Y-%m-%d} … {max(info.anchors):%Y-%m-%d}"
    )
    pos = f", {info.positives:,} positive" if info.positives is not None else ""
    quality = f"; validation {metric} {value:.3f}" if metric and value is not None else ""
    return (
        f"predicts {TASK_WORDS.get(bound.task_type, bound.task_type)}: {bound.algorithm} trained on "
        f"{info.examples:,} examples ({span}{pos}), {info.features} features{quality}"
    )
