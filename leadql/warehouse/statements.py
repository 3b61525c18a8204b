"""The warehouse's statements: SHOW LISTS, SHOW RUNS [name], DESCRIBE LIST, DROP LIST.
(leadql/catalog/ddl.py dispatches SHOW, DESCRIBE and DROP here for lists and runs.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadql.connectors.base import quote_ident
from leadql.context import Context
from leadql.errors import LeadQLNameError, did_you_mean
from leadql.grammar import ast
from leadql.result import Result
from leadql.warehouse.lists import drop_list, get_list, list_names, require_list
from leadql.warehouse.schema import LIST_LEADS, LISTS, QUERY_RUNS, RUN_SOURCES, RUNS, view_name

RUN_COLUMNS = ["run_id", "list", "started_at", "status", "requested", "delivered", "budget",
               "spent", "seconds", "query"]  # fmt: skip


def _rows(con: Any, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(sql, params or [])
    rows = cursor.fetchall()
    return [d[0] for d in cursor.description], rows


def show_lists(ctx: Context, stmt: ast.Show) -> Result:
    columns, rows = _rows(ctx.con, f"""
        SELECT l.name, coalesce(r.runs, 0) AS runs, coalesce(f.leads, 0) AS leads,
               coalesce(f.distinct_leads, 0) AS distinct_leads,
               coalesce(r.spent, 0)::DECIMAL(18,6) AS spent, l.created_at, l.updated_at
        FROM {LISTS} AS l
        LEFT JOIN (SELECT list_id, count(*) AS runs, sum(spent) AS spent FROM {RUNS}
                   GROUP BY list_id) AS r USING (list_id)
        LEFT JOIN (SELECT list_id, count(*) AS leads, count(DISTINCT lead_id) AS distinct_leads
                   FROM {LIST_LEADS} GROUP BY list_id) AS f USING (list_id)
        ORDER BY l.name_key""")  # fmt: skip
    return Result.from_rows(columns, rows)


def show_runs(ctx: Context, stmt: ast.Show) -> Result:
    """Every run, or the runs of one list (also of a dropped list: its history stays)."""
    con = ctx.con
    where, params = "", []
    if stmt.name is not None:
        name = stmt.name.value
        historic = [r[0] for r in con.execute(
            f"SELECT DISTINCT list_name FROM {RUNS} WHERE list_name IS NOT NULL"
        ).fetchall()]  # fmt: skip
        known = {n.lower() for n in [*list_names(con), *historic]}
        if name.lower() not in known:
            from leadql.scheduling.store import query_names

            raise ctx.fail(
                LeadQLNameError, f"no list or saved query named `{name}`", stmt.name,
                hint=did_you_mean(name, [*list_names(con), *historic, *query_names(ctx.catalog)])
                or "SHOW LISTS and SHOW QUERIES list them",
            )  # fmt: skip
        where, params = "WHERE lower(list_name) = lower(?)", [name]
    columns, rows = _rows(con, f"""
        SELECT r.run_id, r.list_name AS list, r.started_at, r.status, r.requested, r.delivered, r.budget,
               r.spent, round(epoch(r.finished_at - r.started_at), 3) AS seconds, q.query_name AS query
        FROM {RUNS} AS r LEFT JOIN {QUERY_RUNS} AS q ON q.query_run_id = r.query_run_id
        {where.replace('list_name', 'r.list_name')} ORDER BY r.started_at, r.run_id""", params)  # fmt: skip
    return Result.from_rows(columns, rows)


def describe_list(ctx: Context, stmt: ast.Describe) -> Result:
    """One table in three sections: `column` (each view column and its type, with how many
    rows hold a value), `run` (each run: status, delivered, spent) and `source` (what the
    list's runs paid each source)."""
    con = ctx.con
    try:
        info = require_list(con, stmt.name.value)
    except LeadQLNameError as e:
        raise ctx.located(e, stmt.name) from None
    added_by = {c["name"].lower(): c["run_id"] for c in info.columns}
    described = con.execute(f"DESCRIBE {view_name(info.name)}").fetchall()
    counts = con.execute(
        f"SELECT {', '.join(f'count({quote_ident(r[0])})' for r in described)} FROM {view_name(info.name)}"
    ).fetchall()[0]
    rows: list[tuple[Any, ...]] = []
    for (name, type_, *_), count in zip(described, counts, strict=True):
        detail = f"added by run {added_by[name.lower()]}" if name.lower() in added_by else None
        rows.append(("column", name, type_, count, None, detail))
    runs = con.execute(f"""
        SELECT run_id, status, delivered, spent, requested, budget, started_at
        FROM {RUNS} WHERE list_id = ? ORDER BY started_at, run_id""", [info.list_id]).fetchall()  # fmt: skip
    for run_id, status, delivered, spent, requested, budget, started in runs:
        wanted = f"{requested} requested" if requested is not None else "no count requested"
        rows.append(("run", run_id, status, delivered, spent,
                     f"{started:%Y-%m-%d %H:%M:%S}; {wanted}; budget ${budget:,.2f}"))  # fmt: skip
    spend = con.execute(f"""
        SELECT s.source, sum(s.records_bought), sum(s.amount), count(*), sum(s.queries)
        FROM {RUN_SOURCES} AS s JOIN {RUNS} AS r USING (run_id)
        WHERE r.list_id = ? GROUP BY s.source ORDER BY s.source""", [info.list_id]).fetchall()  # fmt: skip
    for source, records, amount, n_runs, queries in spend:
        rows.append(("source", source, None, records, amount,
                     f"{n_runs} run{'s' if n_runs != 1 else ''}, {queries} "
                     f"quer{'ies' if queries != 1 else 'y'}"))  # fmt: skip
    total = sum((r[3] for r in runs), Decimal(0))
    result = Result.from_rows(["section", "name", "type", "rows", "amount", "detail"], rows)
    result.message = f"list {info.name}: {len(runs)} run{'s' if len(runs) != 1 else ''}, spent ${total:,.2f}"
    return result


def drop_list_statement(ctx: Context, stmt: ast.Drop) -> Result:
    name = stmt.name.value
    if get_list(ctx.con, name) is None:
        if stmt.if_exists:
            return Result(message=f"no list {name}; nothing dropped")
        raise ctx.fail(
            LeadQLNameError, f"no list named `{name}`", stmt.name,
            hint=did_you_mean(name, list_names(ctx.con)) or "SHOW LISTS lists them",
        )  # fmt: skip
    drop_list(ctx.con, name)
    return Result(message=f"dropped list {name} (its runs and spend stay in SHOW RUNS)")
