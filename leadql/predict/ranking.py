"""`LIST_DISTINCT(t.item, 0, w) RANK TOP k`: which items each entity will have next.

Two stages, as recommenders are built:

1. **Candidates** per (entity, anchor): every item the entity had before the anchor, plus the
   items most popular in the window before the anchor (`POPULAR` of them, at least 4k).
2. **A learned scorer** on (entity, item) pairs: the entity's history with the item (count ever,
   count recently, days since the last one), the item's popularity (recent and ever) and the
   entity's own relational features. The label is whether the item is in the entity's target
   window. Items are ranked per entity by score; the top k are returned.

`LIST_DISTINCT(t.item, 0, w) CLASSIFY [TOP k]` (multi-label classification) is the same scorer
read out as probabilities: each candidate item's chance to be in the window, `prediction` true
at 0.5 or more; the predicted labels per entity, or its k likeliest with TOP k. (With at most
`POPULAR` distinct items, every item is a candidate of every entity: the whole label set.)

Validation reports MAP@k, precision@k, recall@k and NDCG@k on the later slice next to the
popularity baseline (rank every entity's candidates by recent popularity), and the candidate
recall: the share of true items the candidates contain (the ceiling of any scorer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadql.connectors.base import quote_ident
from leadql.errors import LeadQLExecutionError
from leadql.grammar.validate import MULTILABEL_CLASSIFICATION
from leadql.predict.binding import AggSpec, BoundPredict
from leadql.predict.frames import fetch_frame
from leadql.predict.labels import PredictSettings, build_examples

POPULAR = 50
CLASSIFY_K = 10  # CLASSIFY without TOP k: candidates and ranking metrics at this k
PAIR_FEATURES = ("pair_count_all", "pair_count_recent", "pair_days_since_last", "item_pop_recent",
                 "item_pop_all", "item_pop_rank")  # fmt: skip


def _window_micros(agg: AggSpec) -> int:
    assert agg.window is not None
    return int(agg.window.length_seconds() * 1_000_000)


def candidates_sql(agg: AggSpec, examples: str, k: int, *, label: bool) -> str:
    """Candidate (entity, anchor, item) pairs with their pair features[, label]."""
    length = _window_micros(agg)
    popular = max(POPULAR, 4 * k)
    recent = f"to_microseconds({length}::BIGINT)"
    sql = f"""
        WITH r AS (SELECT __eid, __ts, __v FROM ({agg.rows_sql}) WHERE __v IS NOT NULL AND __eid IS NOT NULL),
        hist AS (
            SELECT a.entity_id, a.anchor_ts, r.__v AS item, count(*) AS pair_count_all,
                   count(*) FILTER (WHERE r.__ts > a.anchor_ts - 3 * {recent}) AS pair_count_recent,
                   date_diff('second', max(r.__ts), a.anchor_ts) / 86400.0 AS pair_days_since_last
            FROM {examples} AS a JOIN r ON r.__eid = a.entity_id AND r.__ts <= a.anchor_ts
            GROUP BY a.entity_id, a.anchor_ts, r.__v),
        pop AS (
            SELECT an.anchor_ts, r.__v AS item,
                   count(*) FILTER (WHERE r.__ts > an.anchor_ts - {recent}) AS item_pop_recent,
                   count(*) AS item_pop_all
            FROM (SELECT DISTINCT anchor_ts FROM {examples}) AS an JOIN r ON r.__ts <= an.anchor_ts
            GROUP BY an.anchor_ts, r.__v),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY anchor_ts
                       ORDER BY item_pop_recent DESC, item_pop_all DESC, item) AS item_pop_rank
            FROM pop),
        cand AS (
            SELECT entity_id, anchor_ts, item FROM hist
            UNION
            SELECT a.entity_id, a.anchor_ts, p.item FROM {examples} AS a
            JOIN ranked AS p ON p.anchor_ts = a.anchor_ts AND p.item_pop_rank <= {popular})
        SELECT c.entity_id, c.anchor_ts, c.item,
               coalesce(h.pair_count_all, 0) AS pair_count_all,
               coalesce(h.pair_count_recent, 0) AS pair_count_recent,
               h.pair_days_since_last,
               coalesce(p.item_pop_recent, 0) AS item_pop_recent,
               coalesce(p.item_pop_all, 0) AS item_pop_all,
               coalesce(p.item_pop_rank, 1e9) AS item_pop_rank
               {", coalesce(list_contains(x.label, c.item), false) AS label" if label else ""}
        FROM cand AS c
        LEFT JOIN hist AS h USING (entity_id, anchor_ts, item)
        LEFT JOIN ranked AS p USING (anchor_ts, item)
        {f"JOIN {examples} AS x USING (entity_id, anchor_ts)" if label else ""}
    """
    return sql


def _pairs_frame(con: Any, pairs: str, feats: str, feature_names: list[str], *, label: bool) -> Any:
    entity_cols = "".join(f", f.{quote_ident(n)}" for n in feature_names)
    return fetch_frame(con.sql(
        f"SELECT c.*{entity_cols} FROM {pairs} AS c JOIN {feats} AS f USING (entity_id, anchor_ts) "
        "ORDER BY c.anchor_ts, c.entity_id, c.item"
    ))


def train(ws: Any, bound: BoundPredict, at: datetime, anchors: list[datetime], examples: str,
          temps: Any, settings: PredictSettings) -> tuple[Any, Any]:  # fmt: skip
    import numpy as np

    from leadql.predict import evaluate, models
    from leadql.predict.pipeline import (
        Pipeline,
        Training,
        _progress,
        openmp_threads,
        training_features,
    )

    con = ws.con
    agg = bound.item_agg
    assert agg is not None
    k = bound.top_k or CLASSIFY_K
    n = con.sql(f"SELECT count(*) FROM {examples}").fetchall()[0][0]
    if n == 0:
        raise LeadQLExecutionError(
            f"no training examples: no {bound.entity.name} had any {agg.table.name} in a target window",
            hint="use a longer window or check the data's time range",
        )
    pairs = temps("pairs")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {pairs} AS {candidates_sql(agg, examples, k, label=True)}")
    truth = con.sql(
        f"SELECT sum(len(label)) FROM {examples}"
    ).fetchall()[0][0] or 0
    found = con.sql(f"SELECT count(*) FILTER (WHERE label) FROM {pairs}").fetchall()[0][0]
    plan, feats = training_features(ws, bound, examples, temps)
    entity_names = [f.name for f in plan.features]
    frame = _pairs_frame(con, pairs, feats, entity_names, label=True)
    names = list(PAIR_FEATURES) + entity_names
    categorical = [f.name for f in plan.features if f.dtype == "categorical"]
    groups = frame["entity_id"].astype(str).to_numpy() + "@" + frame["anchor_ts"].astype(str).to_numpy()
    with openmp_threads(len(frame), len(names)):
        model = models.train(
            frame[names], frame["label"].to_numpy().astype(bool), frame["anchor_ts"].to_numpy(),
            task_type="link_prediction", algorithm=bound.algorithm, categorical=categorical,
            groups=groups, progress=_progress(ws, "training"),
        )  # fmt: skip
    # Ranking metrics at the query's k, for the model and for the popularity baseline, on the
    # same later slice the model was validated on.
    valid_from = (model.metrics.get("validation") or {}).get("valid_from")
    times = frame["anchor_ts"]
    later = (times >= np.datetime64(valid_from)) if valid_from else (times == times.max())
    if later.any():
        rows = later.to_numpy()
        y_valid = frame.loc[later, "label"].to_numpy().astype(bool)
        with openmp_threads(int(rows.sum()), len(names)):
            valid_scores = models.predict(model, frame.loc[later, names])
        ranked = evaluate.metrics(
            y_valid, valid_scores, task_type="link_prediction",
            groups=groups[rows], k=k,
            baseline_scores=-frame.loc[later, "item_pop_rank"].to_numpy().astype(float),
        )  # fmt: skip
        for key, value in ranked.items():
            if key not in ("validation", "calibration_method"):
                model.metrics[key] = value
    model.metrics["candidate_recall"] = float(found / truth) if truth else None
    pipeline = Pipeline(
        query=bound.stmt.text, task_type=bound.task_type, algorithm=bound.algorithm,
        entity=bound.entity.name, entity_key=bound.entity_key, feature_plan=plan.to_json(),
        model=model, ranking={"item": agg.node.target.column, "k": k,  # type: ignore[union-attr]
                              "classify": bound.task_type == MULTILABEL_CLASSIFICATION, "top_k": bound.top_k},
    )  # fmt: skip
    info = Training(at, anchors, int(np.unique(groups).size), int(frame["label"].sum()),
                    len(names), list(plan.skipped), {})  # fmt: skip
    return pipeline, info


OUTPUT_COLUMNS = ("score", "rank", "prediction", "reasons")


def item_column(column: str, table: str, entity_key: str) -> str:
    """The name of the items' column in the output: the aggregated column's, or `table_column`
    when that would collide with the entity key or an output column (LIST_DISTINCT of a key)."""
    taken = {entity_key.lower(), *OUTPUT_COLUMNS}
    return f"{table}_{column}" if column.lower() in taken else column


def score(ws: Any, bound: BoundPredict, pipeline: Any, at: datetime, temps: Any) -> Any:
    import pyarrow as pa

    from leadql.predict import models
    from leadql.predict.pipeline import arrow_type, empty_scores, openmp_threads, scoring_features

    con = ws.con
    agg = bound.item_agg
    assert agg is not None and pipeline.ranking is not None
    k = int(pipeline.ranking["k"])
    item = item_column(pipeline.ranking["item"], agg.table.name, bound.entity_key)
    examples = temps("score")
    build_examples(con, bound, [at], examples, training=False, entity_values=bound.entity_values)
    pairs = temps("pairs")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {pairs} AS {candidates_sql(agg, examples, k, label=False)}")
    plan, feats = scoring_features(ws, bound, pipeline, examples, temps)
    entity_names = [f.name for f in plan.features]
    frame = _pairs_frame(con, pairs, feats, entity_names, label=False)
    key = bound.entity_key
    if frame.empty:
        column = agg.table.column(pipeline.ranking["item"]) or pipeline.ranking["item"]
        classify = {"prediction": pa.bool_()} if pipeline.ranking.get("classify") else {}
        return empty_scores(con, bound, **{item: arrow_type(con, agg.table.columns[column])}, **classify,
                            score=pa.float64(), rank=pa.int64(), reasons=pa.string())  # fmt: skip
    with openmp_threads(len(frame), len(PAIR_FEATURES) + len(entity_names)):
        frame["score"] = models.predict(pipeline.model, frame[list(PAIR_FEATURES) + entity_names])
    frame["rank"] = frame.groupby("entity_id")["score"].rank(ascending=False, method="first").astype("int64")
    columns = ["entity_id", "item", "score", "rank"]
    if pipeline.ranking.get("classify"):  # multi-label: which labels apply (score ≥ 0.5)
        frame["prediction"] = frame["score"] >= 0.5
        columns.insert(2, "prediction")
        top_k = pipeline.ranking.get("top_k")
        top = frame[frame["rank"] <= top_k] if top_k else frame[frame["prediction"]]
    else:
        top = frame[frame["rank"] <= k]
    top = top.sort_values(["entity_id", "rank"])
    if bound.limit is not None:
        top = top.head(bound.limit)
    out = top[columns].rename(columns={"entity_id": key, "item": item})
    # why this item for this entity: the pair's history and popularity, the entity's features
    # (only for the rows returned: reasons cost a few predictions per row)
    out["reasons"] = models.reasons(pipeline.model, top[list(PAIR_FEATURES) + entity_names])
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)
