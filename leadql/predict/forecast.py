"""`PREDICT AGG(t.col, s, e, unit) FORECAST n TIMEFRAMES`: the aggregation over each of the next
n windows of the target's length, `(T + s + i·L, T + e + i·L]` for i = 0 … n-1 (L = e - s).

One regression model answers every timeframe: its training examples are (entity, anchor,
timeframe i) with the label the aggregation over the window shifted by i·L, kept only when that
window closed by the prediction time T (so timeframe i trains on the anchors at least i steps
back), and features computed once per (entity, anchor) at the anchor, plus the timeframe number
itself. Validation is on the examples whose windows start latest (anchor + i·L), a later time
slice as for every PREDICT. At most `MAX_TRAINED` timeframes are learned, and no more than half
the anchors (each needs history); later timeframes repeat the furthest one learned, so the output
says how many were (`trained_timeframes` in the model's metrics).

Output: one row per entity and timeframe: the key, `timeframe` (1 = next), `window_start`,
`window_end`, `prediction`, `rank`: the entity's place by its forecast summed over the
timeframes (1 = largest), and `reasons` (for the next timeframe's forecast, on each of the
entity's rows). LIMIT counts entities (each keeps its n rows).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from typing import Any

from leadql.errors import LeadQLExecutionError
from leadql.grammar.validate import REGRESSION, UNIT_SECONDS
from leadql.predict.binding import BoundPredict, Window
from leadql.predict.frames import fetch_frame
from leadql.predict.labels import PredictSettings, _literal, build_examples

MAX_TRAINED = 12  # timeframes with their own training examples
MAX_ROWS = 5_000_000  # entities × timeframes one PREDICT may return
TIMEFRAME = "forecast_timeframe"  # the model's timeframe column (0 = the next window)


def _shifted(window: Window, i: int) -> Window:
    length = window.end - window.start
    return Window(window.start + i * length, window.end + i * length, window.unit)


def _offset_sql(anchor: str, amount: str, unit: str) -> str:
    """`anchor + amount units` where `amount` is SQL (Window.offset_sql takes a number)."""
    if unit == "months":
        return f"({anchor} + to_months(CAST({amount} AS INTEGER)))"
    return f"({anchor} + to_microseconds(CAST(({amount}) * {UNIT_SECONDS[unit] * 1_000_000} AS BIGINT)))"


def build_forecast_examples(con: Any, bound: BoundPredict, at: datetime, anchors: list[datetime],
                            out: str, temps: Any) -> int:  # fmt: skip
    """Create temp table `out` (entity_id, anchor_ts, label, forecast_timeframe, split_ts): per
    timeframe i the examples whose shifted window closed by `at`; returns the timeframes made."""
    window = bound.window
    assert window is not None and bound.forecast is not None
    wanted = max(1, min(bound.forecast, MAX_TRAINED, len(anchors) // 2))
    parts = []
    for i in range(wanted):
        shifted = _shifted(window, i)
        values = ", ".join(f"({_literal(a)})" for a in anchors)
        closes = [r[0] for r in con.sql(
            f"SELECT a FROM (VALUES {values}) AS t(a) WHERE {shifted.offset_sql('a', shifted.end)} <= {_literal(at)} "
            "ORDER BY a DESC").fetchall()]  # fmt: skip
        if not closes:
            break
        aggs = [dataclasses.replace(a, window=_shifted(a.window, i)) if a.window else a for a in bound.target_aggs]
        table = temps(f"forecast_{i}")
        build_examples(con, dataclasses.replace(bound, target_aggs=aggs, window=shifted), closes, table,
                       training=True)  # fmt: skip
        parts.append(f"SELECT entity_id, anchor_ts, label, {i} AS {TIMEFRAME}, "
                     f"{window.offset_sql('anchor_ts', i * (window.end - window.start))} AS split_ts FROM {table}")  # fmt: skip
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS {' UNION ALL '.join(parts)}")
    return len(parts)


def _check_size(con: Any, bound: BoundPredict) -> None:
    """Refuse before training what scoring could not return."""
    assert bound.forecast is not None
    if bound.limit is not None:
        entities = bound.limit
    elif bound.entity_values is not None:
        entities = len(bound.entity_values)
    else:
        entities = con.sql(f"SELECT count(*) FROM {bound.entity.relation}").fetchall()[0][0]
    if entities * bound.forecast > MAX_ROWS:
        raise LeadQLExecutionError(
            f"FORECAST {bound.forecast:,} TIMEFRAMES for {entities:,} {bound.entity.name} would return "
            f"{entities * bound.forecast:,} rows (at most {MAX_ROWS:,})",
            hint="add LIMIT n (entities), score chosen ones with FOR ... IN (...), or forecast fewer timeframes",
        )  # fmt: skip


def train(ws: Any, bound: BoundPredict, at: datetime, anchors: list[datetime], temps: Any,
          settings: PredictSettings) -> tuple[Any, Any]:  # fmt: skip
    from leadql.predict import models
    from leadql.predict.pipeline import (
        Pipeline,
        Training,
        _progress,
        openmp_threads,
        settle_examples,
        training_features,
        typed_labels,
    )

    con = ws.con
    window = bound.window
    assert window is not None and bound.forecast is not None
    _check_size(con, bound)
    started = time.perf_counter()
    examples = temps("forecast_examples")
    trained = build_forecast_examples(con, bound, at, anchors, examples, temps)
    settle_examples(con, examples, con.sql(f"SELECT count(*) FROM {examples}").fetchall()[0][0], anchors, settings, bound)
    points = temps("forecast_points")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {points} AS SELECT DISTINCT entity_id, anchor_ts FROM {examples}")
    seconds = {"labels": time.perf_counter() - started}

    started = time.perf_counter()
    plan, feats = training_features(ws, bound, points, temps)
    frame = fetch_frame(con.sql(
        f"SELECT x.entity_id, x.anchor_ts, x.split_ts, x.label, x.{TIMEFRAME}, f.* EXCLUDE (entity_id, anchor_ts) "
        f"FROM {examples} AS x JOIN {feats} AS f USING (entity_id, anchor_ts) "
        f"ORDER BY x.split_ts, x.entity_id, x.{TIMEFRAME}"
    ))  # fmt: skip
    seconds["features"] = time.perf_counter() - started

    started = time.perf_counter()
    names = [f.name for f in plan.features] + [TIMEFRAME]
    categorical = [f.name for f in plan.features if f.dtype == "categorical"]
    y, _ = typed_labels(frame["label"].to_numpy(), REGRESSION)
    with openmp_threads(len(frame), len(names)):
        model = models.train(frame[names], y, frame["split_ts"].to_numpy(), task_type=REGRESSION,
                             algorithm=bound.algorithm, categorical=categorical,
                             progress=_progress(ws, "training"))  # fmt: skip
    model.metrics["trained_timeframes"] = trained
    seconds["training"] = time.perf_counter() - started
    pipeline = Pipeline(
        query=bound.stmt.text, task_type=bound.task_type, algorithm=bound.algorithm,
        entity=bound.entity.name, entity_key=bound.entity_key, feature_plan=plan.to_json(), model=model,
        forecast={"timeframes": bound.forecast, "trained": trained, "start": window.start,
                  "end": window.end, "unit": window.unit},
    )  # fmt: skip
    info = Training(at, anchors, len(frame), None, len(names), list(plan.skipped), seconds)
    return pipeline, info


def score(ws: Any, bound: BoundPredict, pipeline: Any, at: datetime, temps: Any) -> Any:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from leadql.predict import models
    from leadql.predict.pipeline import (
        empty_scores,
        entity_reasons,
        openmp_threads,
        rank_descending,
        scoring_frame,
        tie_order,
    )

    con = ws.con
    spec = pipeline.forecast
    timeframes, trained = int(spec["timeframes"]), int(spec["trained"])
    frame, _, _ = scoring_frame(ws, bound, pipeline, at, temps)
    key = bound.entity_key
    if frame.empty:
        return empty_scores(con, bound, timeframe=pa.int64(), window_start=pa.timestamp("us"),
                            window_end=pa.timestamp("us"), prediction=pa.float64(), rank=pa.int64(),
                            reasons=pa.string())  # fmt: skip
    entities = len(frame)
    X = frame[[f["name"] for f in pipeline.feature_plan["features"]]].copy()
    learned = np.empty((entities, trained))
    with openmp_threads(entities * trained, X.shape[1] + 1):
        for i in range(trained):  # later timeframes repeat the furthest one learned
            X[TIMEFRAME] = i
            learned[:, i] = np.asarray(models.predict(pipeline.model, X), dtype=float)
    per_frame = learned[:, np.minimum(np.arange(timeframes), trained - 1)]
    total = per_frame.sum(axis=1)
    rank = rank_descending(total, tie_order(frame))
    keep = np.argsort(rank, kind="stable")
    if bound.limit is not None:
        keep = keep[: bound.limit]
    length = spec["end"] - spec["start"]
    first = _offset_sql(_literal(at), f"{spec['start']!r} + k * {length!r}", spec["unit"])
    last = _offset_sql(_literal(at), f"{spec['end']!r} + k * {length!r}", spec["unit"])
    bounds = con.sql(f"SELECT {first} AS s, {last} AS e FROM range({timeframes}) AS r(k) ORDER BY k").fetchnumpy()
    starts, ends = bounds["s"], bounds["e"]
    rows = np.repeat(keep, timeframes)
    tf = np.tile(np.arange(timeframes), len(keep))
    out = pd.DataFrame({
        key: frame["entity_id"].to_numpy()[rows], "timeframe": tf + 1,
        "window_start": np.asarray(starts)[tf], "window_end": np.asarray(ends)[tf],
        "prediction": per_frame[rows, tf], "rank": rank[rows],
    })  # fmt: skip
    X[TIMEFRAME] = 0  # reasons explain the next timeframe's forecast, on every row of the entity
    out["reasons"] = entity_reasons(pipeline.model, X, rows)
    return pa.Table.from_pandas(out, preserve_index=False)
