"""The training table: anchor times, the entities at each anchor, and their labels.

Semantics (spec §3.4, Kumo PQL):

* The prediction time T is `AT`, or the latest timestamp in the tables the query uses.
* Training anchors step back from T by the target window's length: the first anchor is the
  latest one whose target window `(anchor + start, anchor + end]` has closed by T, so a label
  exists only once its window is over. Anchors stop at the start of the history.
* At each anchor, the entities are the rows of the entity table that existed (its time column
  ≤ anchor) and pass the entity filter `WHERE`, whose windows look back from the anchor.
* The label is the target evaluated over its window. COUNT/SUM of an empty window are 0;
  AVG/MIN/MAX/FIRST/LAST of an empty window have no value, and the example is dropped.
* `ASSUMING` keeps only the training examples where the assumption held; scoring does not
  evaluate it (the score is "if it holds").

Everything is one set-based DuckDB query over all anchors at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadql.connectors.base import quote_ident, quote_str, sql_literal
from leadql.errors import LeadQLExecutionError
from leadql.predict.binding import AggSpec, BoundPredict, Window


@dataclass
class PredictSettings:
    """Knobs for training-table generation (`ws.predict_settings`)."""

    max_anchors: int = 12  # training anchors per query (the newest ones)
    step: timedelta | None = None  # between anchors; None: the target window's length
    max_examples: int = 2_000_000  # a larger training table is sampled down (newest anchors kept)


FIRST_TIMESTAMP = "TIMESTAMP '0001-01-01 00:00:00'"  # the earliest a Python datetime can hold


def prediction_time(con: Any, bound: BoundPredict) -> datetime:
    """`AT`, or the latest timestamp in the tables the query uses."""
    if bound.at is not None:
        return bound.at
    parts = [
        f"SELECT max(CAST({quote_ident(t.time_column)} AS TIMESTAMP)) AS ts FROM {t.relation}"
        for t in bound.tables_used()
        if t.time_column is not None
    ]
    latest = None
    if parts:
        latest = con.sql(f"SELECT max(ts) FROM ({' UNION ALL '.join(parts)})").fetchall()[0][0]
    if isinstance(latest, datetime) and latest > datetime.now() + timedelta(days=365):  # a stray far-future row
        warning = (f"the latest timestamp in the data, {latest:%Y-%m-%d %H:%M}, is more than a year ahead, and it is "
                   "the prediction time: give AT '...' to predict from another time")  # fmt: skip
        if warning not in bound.warnings:
            bound.warnings.append(warning)
    if latest is None:
        if bound.task.temporal:
            raise LeadQLExecutionError(
                "there is no history to learn from: the tables have no timestamps",
                hint="check the TIME COLUMN of the tables, or give AT '...'",
            )
        return datetime.now().replace(microsecond=0)
    return latest


def history_span(con: Any, bound: BoundPredict) -> tuple[datetime | None, datetime | None]:
    """The earliest and latest timestamps of the target's tables: no anchor earlier than the
    first is useful, and no target window opening after the last holds anything."""
    parts = [
        f"SELECT min(CAST({quote_ident(a.table.time_column)} AS TIMESTAMP)) AS lo, "
        f"max(CAST({quote_ident(a.table.time_column)} AS TIMESTAMP)) AS hi FROM {a.table.relation}"
        for a in bound.target_aggs
        if a.table.time_column is not None
    ]
    if not parts:
        return None, None
    # clamped to year 1: DuckDB hands a BC timestamp to Python as text
    row = con.sql(f"SELECT greatest(min(lo), {FIRST_TIMESTAMP}), greatest(max(hi), {FIRST_TIMESTAMP}) "
                  f"FROM ({' UNION ALL '.join(parts)})").fetchall()[0]  # fmt: skip
    return row[0], row[1]


def training_anchors(
    con: Any, bound: BoundPredict, at: datetime, settings: PredictSettings
) -> list[datetime]:
    """Newest first. A static target has one anchor, T itself."""
    window = bound.window
    if window is None:
        return [at]
    start, end = history_span(con, bound)
    ts = _literal(at)
    last_close = window.offset_sql(ts, -window.end)  # the newest anchor whose window has closed
    if settings.step is not None:
        step_sql = f"to_microseconds({int(settings.step.total_seconds() * 1e6)}::BIGINT)"
        sql = f"SELECT {last_close} - k * {step_sql} FROM range({settings.max_anchors}) r(k)"
    elif window.unit == "months":
        length = int(window.end - window.start)
        sql = f"SELECT {last_close} - to_months(k * {length}) FROM range({settings.max_anchors}) r(k)"
    else:
        micros = int(window.length_seconds() * 1e6)
        sql = f"SELECT {last_close} - to_microseconds(k * {micros}::BIGINT) FROM range({settings.max_anchors}) r(k)"
    anchors = [row[0] for row in con.sql(f"SELECT a FROM ({sql}) AS t(a) WHERE a > {FIRST_TIMESTAMP}").fetchall()]
    if start is not None:
        anchors = [a for a in anchors if a > start]
    if not anchors:
        raise LeadQLExecutionError(
            f"the history is too short for a {window.end - window.start:g}-{window.unit} target window: "
            f"no anchor before {at:%Y-%m-%d %H:%M} has a closed window after the data starts"
            + (f" ({start:%Y-%m-%d})" if start else ""),
            hint="use a shorter window, or a later AT",
        )
    if end is not None and end <= min(anchors):  # target windows open at anchor + start ≥ anchor
        raise LeadQLExecutionError(
            f"AT {at:%Y-%m-%d %H:%M} is after the data: the target's latest row ({end:%Y-%m-%d %H:%M}) "
            f"comes before every training window opens (the earliest at {min(anchors):%Y-%m-%d %H:%M})",
            hint="give an AT within the data, or leave AT out to predict from the latest timestamp",
        )
    return anchors


def _literal(value: datetime) -> str:
    return f"TIMESTAMP {quote_str(value.isoformat(sep=' '))}"


def examples_sql(
    bound: BoundPredict,
    anchors: list[datetime],
    *,
    training: bool,
    entity_values: list[Any] | None = None,
) -> str:
    """SELECT entity_id, anchor_ts[, label] — one row per kept (entity, anchor)."""
    base, conditions = _examples_parts(bound, anchors, training=training, entity_values=entity_values)
    select = "x.entity_id, x.anchor_ts" + (f", ({bound.target_sql}) AS label" if training else "")
    sql = f"{base[0]} SELECT {select} {base[1]}"
    if conditions:
        sql += " WHERE " + " AND ".join(f"({c})" for _, c in conditions)
    return sql


def example_funnel(con: Any, bound: BoundPredict, anchors: list[datetime]) -> list[tuple[str, int]]:
    """How many (entity, anchor) pairs exist, and how many are left after each condition of a
    training example in turn (WHERE, ASSUMING, a label): why a training table is empty."""
    base, conditions = _examples_parts(bound, anchors, training=True)
    counts = ["count(*)"]
    for i in range(len(conditions)):
        counts.append("count(*) FILTER (WHERE " + " AND ".join(f"({c})" for _, c in conditions[: i + 1]) + ")")
    row = con.sql(f"{base[0]} SELECT {', '.join(counts)} {base[1]}").fetchall()[0]
    return list(zip(["exist"] + [name for name, _ in conditions], row, strict=True))


def _examples_parts(
    bound: BoundPredict, anchors: list[datetime], *, training: bool, entity_values: list[Any] | None = None,
) -> tuple[tuple[str, str], list[tuple[str, str]]]:  # fmt: skip
    """(the WITH clause, the FROM clause) of the examples query, and its conditions by name."""
    e = bound.entity
    key = quote_ident(bound.entity_key)
    values = ", ".join(f"({_literal(a)})" for a in anchors)
    conditions = [f"e.{key} IS NOT NULL"]
    if e.time_column is not None:
        conditions.append(f"CAST(e.{quote_ident(e.time_column)} AS TIMESTAMP) <= anchors.anchor_ts")
    if entity_values:
        conditions.append(f"e.{key} IN ({', '.join(sql_literal(v) for v in entity_values)})")
    entity_rel = e.relation  # one row per key value (binding made it so)
    ctes = [
        f"anchors(anchor_ts) AS (VALUES {values})",
        f"a AS (SELECT DISTINCT e.{key} AS entity_id, anchors.anchor_ts FROM {entity_rel} AS e, anchors "
        f"WHERE {' AND '.join(conditions)})",
    ]
    aggs: list[AggSpec] = list(bound.where_aggs)
    if training:
        aggs += bound.target_aggs + bound.assuming_aggs
    joins = []
    for agg in aggs:
        ctes.append(f"{agg.alias} AS ({aggregate_sql(agg)})")
        joins.append(f"LEFT JOIN {agg.alias} USING (entity_id, anchor_ts)")
    agg_cols = "".join(f", {agg.alias}.{agg.alias}" for agg in aggs)
    ctes.append(f"x AS (SELECT a.entity_id, a.anchor_ts{agg_cols} FROM a {' '.join(joins)})")
    where: list[tuple[str, str]] = []
    if bound.where_sql:
        where.append(("WHERE", bound.where_sql))
    if training:
        if bound.assuming_sql:
            where.append(("ASSUMING", bound.assuming_sql))
        where.append(("target", f"({bound.target_sql}) IS NOT NULL"))
    return (f"WITH {', '.join(ctes)}", f"FROM x JOIN {entity_rel} AS e ON e.{key} = x.entity_id"), where


def aggregate_sql(agg: AggSpec) -> str:
    """One aggregation for every (entity, anchor) of `a`, set-based: a range join on time."""
    window = agg.window or Window(float("-inf"), 0.0, "days")
    on = "r.__eid = a.entity_id AND " + window.condition("r.__ts", "a.anchor_ts")
    return (
        f"SELECT a.entity_id, a.anchor_ts, {agg.value_sql()} AS {agg.alias} "
        f"FROM a LEFT JOIN ({agg.rows_sql}) AS r ON {on} GROUP BY a.entity_id, a.anchor_ts"
    )


def build_examples(
    con: Any,
    bound: BoundPredict,
    anchors: list[datetime],
    out: str,
    *,
    training: bool,
    entity_values: list[Any] | None = None,
) -> int:
    """Create temp table `out` (entity_id, anchor_ts[, label]); return its row count."""
    sql = examples_sql(bound, anchors, training=training, entity_values=entity_values)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS {sql}")
    return con.sql(f"SELECT count(*) FROM {out}").fetchall()[0][0]
