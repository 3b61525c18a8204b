"""ANALYZE: the statistics the planner uses, measured on a source's canonical projection.

Per source: row count; per category: fill rate, distinct count, values normalisation rejected,
range, mean, quantiles (numeric and dates), most common values (text); bottom-k sketches of the
identity keys (email, phone, name+zip) for overlap estimates; for own tables with a time column,
rows per month. The source is read once into a temporary table; each statistic is then one
vectorised DuckDB aggregate.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from leadql.catalog import canonical
from leadql.catalog.definitions import SOURCE, TABLE, CategoryDef, DataDef
from leadql.catalog.migrations import first_row, transaction
from leadql.catalog.sketches import K, Sketch
from leadql.connectors.base import quote_ident
from leadql.context import Context
from leadql.grammar import ast
from leadql.result import Result

QUANTILES = [round(i / 20, 2) for i in range(21)]
TOP_VALUES = 10
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT", "UINTEGER")
IDENTITY_KEYS = {
    "email": "email",
    "phone": "phone",
    "name_zip": "lower(first_name) || '|' || lower(last_name) || '|' || zip",
}


def is_numeric(type_sql: str) -> bool:
    return type_sql.upper().startswith(NUMERIC)


def analyze(ctx: Context, stmt: ast.Analyze) -> Result:
    catalog = ctx.catalog
    if stmt.name is not None:
        kinds = {"SOURCE": (SOURCE,), "TABLE": (TABLE,)}.get(stmt.kind or "", (SOURCE, TABLE))
        targets = [catalog.require_data(stmt.name.value, kinds, span=stmt.name.span, text=ctx.text)]
    else:
        targets = catalog.data_defs(SOURCE) + catalog.data_defs(TABLE)
    measured = [(defn, collect(ctx, defn)) for defn in targets]  # all or nothing is saved
    rows = []
    with transaction(ctx.con):
        for defn, stats in measured:
            taken = catalog.save_statistics(defn.name, stats["row_count"], stats)
            rows.append((defn.name, defn.kind, stats["row_count"], len(stats["categories"]),
                         round(stats["seconds"], 3), taken.isoformat(sep=" ", timespec="seconds")))  # fmt: skip
        # the person-linkage model FIND resolves with, saved with the statistics or not at all
        from leadql.executor.linkage import train_after_analyze

        linkage = train_after_analyze(ctx, [d for d, _ in measured], {d.name: s["row_count"] for d, s in measured})
    warnings = [w for _, stats in measured for w in stats.get("warnings", [])]
    message = None
    if linkage and "skipped" in linkage:
        warnings.append(f"the linkage model was not retrained: {linkage['skipped']}")
    elif linkage:
        message = (f"linkage model trained on {linkage['records']:,} records of {linkage['sources']} "
                   f"sources in {linkage['seconds']:.1f} s")  # fmt: skip
    names = ["name", "kind", "rows", "categories", "seconds", "analyzed_at"]
    if not rows:
        return Result(message="nothing to analyze: no sources or tables", warnings=warnings)
    return Result.from_rows(names, rows, warnings=warnings, message=message)


def collect(ctx: Context, defn: DataDef) -> dict[str, Any]:
    """Measure one source or table."""
    from leadql.catalog.ddl import connector_for
    from leadql.catalog.drift import check_schema

    started = time.perf_counter()
    con = ctx.con
    categories = ctx.catalog.categories()
    connector = connector_for(ctx, defn)
    from_sql, warnings = check_schema(ctx, defn, connector)
    scratch = f"_leadql_analyze_{uuid.uuid4().hex[:10]}"
    select = canonical.canonical_select(
        defn, categories, from_sql, with_raw=True, keep_columns=defn.kind == TABLE,
        extra_columns=canonical.structural_columns(defn),
    )
    connector.run_read(con, lambda: con.execute(f"CREATE TEMP TABLE {scratch} AS {select}"))
    try:
        stats = _measure(con, scratch, defn, categories)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {scratch}")
    stats["seconds"] = time.perf_counter() - started
    stats["warnings"] = warnings
    return stats


def _measure(con: Any, scratch: str, defn: DataDef, categories: dict[str, CategoryDef]) -> dict[str, Any]:
    mapped = {name: categories[name.lower()] for name in defn.mappings}
    own_columns = [c for c in defn.columns if defn.kind == TABLE and c.lower() not in {m.lower() for m in mapped}]
    aggregates = ["count(*)"]
    plan: list[tuple[str, str, str]] = []  # (group, name, what)
    for name, category in mapped.items():
        q, raw = quote_ident(name), quote_ident(canonical.RAW_PREFIX + name)
        aggregates += [f"count({q})", f"approx_count_distinct({q})", f"count({raw}) - count({q})"]
        plan += [("categories", name, "count"), ("categories", name, "distinct"), ("categories", name, "failed")]
        if is_numeric(category.type) or category.type.upper() in ("DATE", "TIMESTAMP"):
            aggregates += [f"min({q})", f"max({q})"]
            plan += [("categories", name, "min"), ("categories", name, "max")]
        if is_numeric(category.type):
            aggregates += [f"avg({q})", f"stddev_samp({q})", f"approx_quantile({q}, {QUANTILES})"]
            plan += [("categories", name, "mean"), ("categories", name, "stddev"), ("categories", name, "quantiles")]
    for column in own_columns:
        q = quote_ident(column)
        aggregates += [f"count({q})", f"approx_count_distinct({q})"]
        plan += [("columns", column, "count"), ("columns", column, "distinct")]
        if is_numeric(defn.columns[column]):
            aggregates += [f"min({q})", f"max({q})", f"avg({q})"]
            plan += [("columns", column, "min"), ("columns", column, "max"), ("columns", column, "mean")]
    values = first_row(con.execute(f"SELECT {', '.join(aggregates)} FROM {scratch}"))
    row_count = int(values[0])
    stats: dict[str, Any] = {"row_count": row_count, "categories": {}, "columns": {}}
    for (group, name, what), value in zip(plan, values[1:], strict=True):
        entry = stats[group].setdefault(name, {})
        entry[what] = value
    for group in ("categories", "columns"):
        for name, entry in stats[group].items():
            count = entry.get("count") or 0
            if entry.get("distinct") is not None:  # HyperLogLog may overshoot a little
                entry["distinct"] = min(int(entry["distinct"]), count)
            entry["fill_rate"] = round(count / row_count, 6) if row_count else 0.0
            if group == "categories":
                entry["type"] = mapped[name].type
            for key in ("min", "max", "mean", "stddev"):
                if key in entry and entry[key] is not None and not isinstance(entry[key], (int, float)):
                    entry[key] = str(entry[key])
    for name, category in mapped.items():
        if not is_numeric(category.type):
            q = quote_ident(name)
            top = con.execute(
                f"SELECT CAST({q} AS VARCHAR), count(*) FROM {scratch} WHERE {q} IS NOT NULL "
                f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_VALUES}"
            ).fetchall()
            stats["categories"][name]["top"] = [[v, int(n)] for v, n in top]
    stats["sketches"] = _sketches(con, scratch, mapped)
    if defn.time_column:
        t = quote_ident(defn.time_column)
        by_month = con.execute(
            f"SELECT strftime(date_trunc('month', TRY_CAST({t} AS TIMESTAMP)), '%Y-%m'), count(*) "
            f"FROM {scratch} WHERE TRY_CAST({t} AS TIMESTAMP) IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        stats["rows_by_month"] = [[m, int(n)] for m, n in by_month]
    return stats


def _sketches(con: Any, scratch: str, mapped: dict[str, CategoryDef]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    present = {n.lower() for n in mapped}
    for key, expr in IDENTITY_KEYS.items():
        needed = {"first_name", "last_name", "zip"} if key == "name_zip" else {key}
        if not needed <= present:
            continue
        rows = con.execute(
            f"SELECT hash(v) AS h FROM (SELECT {expr} AS v FROM {scratch}) WHERE v IS NOT NULL "
            f"GROUP BY h ORDER BY h LIMIT {K}"
        ).fetchall()
        sketch = Sketch.from_hashes([int(r[0]) for r in rows])
        if len(sketch.hashes) < K:
            exact = con.execute(f"SELECT count(DISTINCT {expr}) FROM {scratch}").fetchall()[0][0]
            sketch = Sketch(sketch.hashes, int(exact))
        out[key] = sketch.to_json()
    return out
