"""SAVE QUERY, SCHEDULE, UNSCHEDULE, RUN QUERY, and SHOW/DESCRIBE/DROP of saved queries."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from leadql.catalog.migrations import transaction
from leadql.context import Context
from leadql.errors import (
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLSyntaxError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.result import Result
from leadql.scheduling import store
from leadql.scheduling.timing import (
    MAX_PERIOD_YEARS,
    Timing,
    check_cron,
    check_zone,
    default_zone_name,
    first_run,
    period_years,
    utc_now,
)


def _writable(ctx: Context, stmt: ast.Statement) -> None:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(f"{stmt.keyword} changes the workspace, which is open read-only",
                                   span=stmt.span, text=ctx.text, hint="open the workspace writable")  # fmt: skip


def _require(ctx: Context, name: ast.Ident) -> store.SavedQuery:
    try:
        return store.require_query(ctx.catalog, name.value)
    except LeadQLNameError as e:
        raise ctx.located(e, name) from None


# ------------------------------------------------------------------------ SAVE QUERY


def save_query(ctx: Context, stmt: ast.SaveQuery) -> Result:
    _writable(ctx, stmt)
    name = stmt.name.value
    existing = store.get_query(ctx.catalog, name)
    if existing is not None and not stmt.replace:
        raise ctx.fail(LeadQLNameError, f"saved query `{existing.name}` already exists", stmt.name,
                       hint=f"SAVE OR REPLACE QUERY {name} AS … replaces it")  # fmt: skip
    inner = stmt.query
    kind = "SELECT" if isinstance(inner, ast.Select) else inner.keyword
    _check_query(ctx, inner)
    used = sorted({n.name for n in inner.walk() if isinstance(n, ast.Param)})
    if isinstance(inner, ast.Select):
        from leadql.workspace import _sql_params

        used = _sql_params(inner.sql)
    missing = [p for p in used if p not in ctx.params]
    if missing:  # every run would fail: a saved query keeps the values it was saved with
        import re

        from leadql.errors import Span

        start = stmt.span.start if stmt.span else 0
        found = re.search(rf"\${re.escape(missing[0])}\b", ctx.text[start:])
        span = Span.at(ctx.text, start + found.start(), start + found.end()) if found else stmt.span
        raise LeadQLNameError(
            f"no value for parameter ${missing[0]}: a saved query keeps the values it is saved with",
            span=span, text=ctx.text, hint=f"pass params={{'{missing[0]}': ...}} to the SAVE QUERY",
        )
    try:
        params = store.encode_params({p: ctx.params[p] for p in used if p in ctx.params})
    except LeadQLTypeError as e:
        raise ctx.located(e, stmt) from None
    text = inner.sql if isinstance(inner, ast.Select) else inner.text
    query = store.SavedQuery(name, kind, text, store.decode_params(params))
    with transaction(ctx.con):
        store.put_query(ctx.catalog, query, stmt.text or ctx.text)
    bound = f" with {', '.join('$' + p for p in used)} bound" if used else ""
    verb = "replaced" if existing is not None else "saved"
    schedule = store.get_schedule(ctx.con, name)
    tail = f"; its schedule ({schedule.timing.describe()}) stays" if schedule is not None and existing else ""
    return Result(message=f"{verb} query {name} ({kind}){bound}{tail}")


def _check_query(ctx: Context, inner: ast.Statement) -> None:
    """Catch at SAVE what would fail every run: unknown categories, sources, lists, tables."""
    if isinstance(inner, ast.Find):
        from leadql.planner.binding import bind_find

        bind_find(ctx, inner)
    elif isinstance(inner, ast.Select):
        import duckdb

        from leadql.workspace import _sql_params

        if any(p not in ctx.params for p in _sql_params(inner.sql)):
            return  # reported by the parameter check before the statement ran
        try:  # binding a relation checks names and types without running the query
            params = {p: ctx.params[p] for p in _sql_params(inner.sql)}
            ctx.con.sql(inner.sql, params=params) if params else ctx.con.sql(inner.sql)
        except duckdb.Error as e:
            from leadql.workspace import _duckdb_error

            raise _duckdb_error(e, inner, ctx.text) from None


# ------------------------------------------------------------------------ SCHEDULE / UNSCHEDULE


def schedule(ctx: Context, stmt: ast.Schedule) -> Result:
    _writable(ctx, stmt)
    query = _require(ctx, stmt.query)
    zone = default_zone_name()
    problem = check_zone(zone)
    if problem:
        raise ctx.fail(LeadQLExecutionError, problem, stmt, hint="set LEADQL_TIMEZONE to a zone such as Europe/Berlin")
    timing, max_spend, per = _timing(ctx, stmt, zone)
    warnings = []
    if max_spend is not None and query.kind != "FIND":
        warnings.append(f"{query.name} is a {query.kind}, which spends nothing: MAX SPEND has nothing to cap")
    now = utc_now()
    anchor, next_run = first_run(timing, now)
    old = store.get_schedule(ctx.con, query.name)
    row = store.ScheduleRow(
        name_key=query.key, query_name=query.name, every_amount=timing.every_amount,
        every_unit=timing.every_unit, at_time=timing.at_time, cron=timing.cron, max_spend=max_spend,
        max_spend_per=per, statement=stmt.text or ctx.text, timezone=zone, created_at=now,
        anchor=anchor, next_run=next_run, attempt=0, retry_at=None,
        lease_owner=old.lease_owner if old else None, lease_expires=old.lease_expires if old else None,
        last_run_id=old.last_run_id if old else None,
    )  # fmt: skip
    with transaction(ctx.con):
        store.put_schedule(ctx.con, row)
    cap = f", at most ${max_spend} per {per}" if max_spend is not None else ""
    when = "now" if next_run <= now else f"{next_run.isoformat(sep=' ', timespec='minutes')} UTC"
    verb = "rescheduled" if old is not None else "scheduled"
    return Result(message=f"{verb} {query.name} {timing.describe()} ({zone}){cap}; next run {when}",
                  warnings=warnings)  # fmt: skip


def _timing(ctx: Context, stmt: ast.Schedule, zone: str) -> tuple[Timing, Decimal | None, str | None]:
    max_spend = per = None
    if stmt.max_spend is not None:
        max_spend = ctx.decimal_value(stmt.max_spend, "MAX SPEND")
        where = stmt.max_spend if isinstance(stmt.max_spend, ast.Node) else stmt  # a $param has a place
        if max_spend < 0:
            raise ctx.fail(LeadQLTypeError, "MAX SPEND cannot be negative", where)
        from leadql.planner.binding import MAX_BUDGET

        if max_spend > MAX_BUDGET:
            raise ctx.fail(LeadQLTypeError, f"MAX SPEND is at most {MAX_BUDGET:,} USD", where,
                           hint="no FIND can spend more; write the most a period may spend")  # fmt: skip
        per = stmt.max_spend_per
        if per not in ("hour", "day", "week", "month", "year"):  # calendar periods (not seconds)
            raise ctx.fail(LeadQLSemanticError, f"MAX SPEND cannot be counted PER {per}", stmt,
                           hint="PER HOUR, DAY, WEEK, MONTH or YEAR")  # fmt: skip
    if stmt.cron is not None:
        cron = ctx.text_value(stmt.cron, "CRON")
        problem = check_cron(cron)
        if problem:
            raise ctx.fail(LeadQLSyntaxError, problem, stmt,
                           hint="minute hour day-of-month month day-of-week, e.g. CRON '0 6 * * 1-5'")  # fmt: skip
        return Timing(cron=cron, timezone=zone), max_spend, per
    assert stmt.every is not None
    amount = ctx.decimal_value(stmt.every.amount, "EVERY")
    if amount != amount.to_integral_value() or amount < 1:
        raise ctx.fail(LeadQLTypeError, "EVERY needs a whole number of at least 1", stmt.every)
    if period_years(int(amount), stmt.every.unit) > MAX_PERIOD_YEARS:
        raise ctx.fail(LeadQLTypeError, f"EVERY {amount} {stmt.every.unit.upper()}S is more than "
                       f"{MAX_PERIOD_YEARS} years between runs", stmt.every,
                       hint="schedule it more often, or RUN QUERY it when needed")  # fmt: skip
    at = ctx.text_value(stmt.at_time, "AT") if stmt.at_time is not None else None
    if at is not None:
        parts = at.split(":")
        if not (len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) < 24 and int(parts[1]) < 60):
            where = stmt.at_time if isinstance(stmt.at_time, ast.Node) else stmt
            raise ctx.fail(LeadQLTypeError, f"AT '{at}' is not a time of day", where, hint="e.g. AT '06:00'")
        at = f"{int(parts[0]):02d}:{int(parts[1]):02d}"
        if stmt.every.unit in ("second", "minute"):
            raise ctx.fail(LeadQLSemanticError, f"AT means nothing for a schedule every {stmt.every.unit}",
                           stmt, hint="use AT with HOURS, DAYS, WEEKS, MONTHS or YEARS, or CRON")  # fmt: skip
    return Timing(int(amount), stmt.every.unit, at, None, zone), max_spend, per


def unschedule(ctx: Context, stmt: ast.Unschedule) -> Result:
    _writable(ctx, stmt)
    name = stmt.query.value
    with transaction(ctx.con):
        found = store.delete_schedule(ctx.con, name)
    if not found:
        if store.get_query(ctx.catalog, name) is not None:
            raise ctx.fail(LeadQLNameError, f"saved query `{name}` is not scheduled", stmt.query,
                           hint="SHOW SCHEDULES lists what is")  # fmt: skip
        _require(ctx, stmt.query)
    return Result(message=f"unscheduled {name}; the query and its run history stay")


# ------------------------------------------------------------------------ RUN QUERY


def run_query(ctx: Context, stmt: ast.RunQuery) -> Result:
    _writable(ctx, stmt)
    query = _require(ctx, stmt.query)
    from leadql.scheduling.log import log_outcome
    from leadql.scheduling.runner import run_saved_query

    outcome = run_saved_query(ctx.ws, query, trigger="manual")
    log_outcome(ctx.ws, outcome)
    if outcome.exception is not None:
        error = outcome.exception
        error.message = f"run {outcome.query_run_id} of saved query {query.name} failed: {error.message}"
        raise error
    assert outcome.result is not None
    ignored = sorted(n for n in query.params if n in ctx.params and ctx.params[n] != query.params[n])
    if ignored:  # a saved query runs as saved: say so rather than let a passed value look used
        outcome.result.warnings.append(
            f"{query.name} ran with the values it was saved with ({', '.join('$' + n for n in ignored)}); "
            f"SAVE OR REPLACE QUERY {query.name} … with new values changes them")
    return outcome.result


# ------------------------------------------------------------------------ SHOW / DESCRIBE / DROP


def show_queries(ctx: Context, stmt: ast.Show) -> Result:
    con = ctx.con
    rows = []
    for q in store.all_queries(ctx.catalog):
        sched = store.get_schedule(con, q.name)
        last = con.execute(
            f"SELECT status, started_at FROM {store.QUERY_RUNS} WHERE name_key = ? "
            "ORDER BY started_at DESC, query_run_id DESC LIMIT 1", [q.key],
        ).fetchall()  # fmt: skip
        total = con.execute(
            f"SELECT count(*), coalesce(sum(spent), 0) FROM {store.QUERY_RUNS} WHERE name_key = ?", [q.key]
        ).fetchall()[0]  # fmt: skip
        rows.append((q.name, q.kind, sched.timing.describe() if sched else None,
                     sched.due_at if sched else None, last[0][0] if last else None,
                     last[0][1] if last else None, total[0], float(total[1]), q.text))  # fmt: skip
    n = len(rows)
    return Result.from_rows(["name", "kind", "schedule", "next_run", "last_status", "last_run", "runs",
                             "spent", "query"], rows, message=f"{n} saved quer{'y' if n == 1 else 'ies'}")  # fmt: skip


def show_schedules(ctx: Context, stmt: ast.Show) -> Result:
    from leadql.scheduling.runner import cap_left

    con = ctx.con
    now = utc_now()
    rows = []
    for s in store.all_schedules(con):
        left, _ = cap_left(con, s, now)
        spent = None if left is None else float(Decimal(str(s.max_spend)) - left)
        state = "running" if s.lease_owner else ("retrying" if s.retry_at is not None else "waiting")
        rows.append((s.query_name, s.timing.describe(), s.timezone, s.due_at, state, s.attempt or None,
                     float(s.max_spend) if s.max_spend is not None else None, s.max_spend_per, spent,
                     s.lease_owner, s.last_run_id))  # fmt: skip
    return Result.from_rows(["query", "schedule", "timezone", "next_run", "state", "attempt", "max_spend",
                             "per", "spent_this_period", "lease_owner", "last_run"], rows)  # fmt: skip


def is_query_name(ctx: Context, name: str) -> bool:
    """SHOW RUNS name shows a saved query's runs when `name` is (or was) one."""
    return store.get_query(ctx.catalog, name) is not None or store.query_ever_ran(ctx.con, name)


def show_query_runs(ctx: Context, stmt: ast.Show) -> Result:
    assert stmt.name is not None
    rows = ctx.con.execute(
        f"""SELECT q.query_run_id AS run_id, q.trigger, q.scheduled_for, q.attempt, q.started_at, q.status,
                   q.rows, q.budget, q.spent, round(q.seconds, 3) AS seconds, q.error,
                   (SELECT string_agg(r.run_id, ', ') FROM {store.RUNS} AS r WHERE r.query_run_id = q.query_run_id)
                       AS find_run,
                   json_extract_string(q.plan, '$.driver') AS driver
            FROM {store.QUERY_RUNS} AS q WHERE q.name_key = lower(?)
            ORDER BY q.started_at, q.query_run_id""", [stmt.name.value],
    )  # fmt: skip
    columns = [d[0] for d in rows.description]
    data = rows.fetchall()
    return Result.from_rows(columns, data, message=f"{len(data)} run{'s' if len(data) != 1 else ''} of {stmt.name.value}")


def describe_query(ctx: Context, stmt: ast.Describe) -> Result:
    q = _require(ctx, stmt.name)
    con = ctx.con
    sched = store.get_schedule(con, q.name)
    stats = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE status IN ('ok', 'partial')),
                   count(*) FILTER (WHERE status = 'failed'), coalesce(sum(spent), 0), coalesce(sum(rows), 0)
            FROM {store.QUERY_RUNS} WHERE name_key = ?""", [q.key],
    ).fetchall()[0]  # fmt: skip
    last_error = con.execute(
        f"SELECT error FROM {store.QUERY_RUNS} WHERE name_key = ? AND status = 'failed' "
        "ORDER BY started_at DESC LIMIT 1", [q.key],
    ).fetchall()  # fmt: skip
    rows: list[tuple[str, Any]] = [
        ("name", q.name), ("kind", q.kind), ("query", q.text),
        ("parameters", json.dumps(store.encode_params(q.params)) if q.params else None),
        ("saved", q.created), ("updated", q.updated),
        ("schedule", sched.timing.describe() if sched else None),
        ("timezone", sched.timezone if sched else None),
        ("next_run", sched.due_at if sched else None),
        ("max_spend", f"{sched.max_spend} per {sched.max_spend_per}" if sched and sched.max_spend is not None else None),
        ("runs", stats[0]), ("succeeded", stats[1]), ("failed", stats[2]), ("spent", float(stats[3])),
        ("leads_delivered", int(stats[4])), ("last_error", last_error[0][0] if last_error else None),
    ]  # fmt: skip
    return Result.from_rows(["property", "value"], [(k, None if v is None else str(v)) for k, v in rows],
                            message=f"saved query {q.name} ({q.kind})")  # fmt: skip


def drop_query(ctx: Context, stmt: ast.Drop) -> Result:
    name = stmt.name.value
    found = store.get_query(ctx.catalog, name)
    if found is None:
        if stmt.if_exists:
            return Result(message=f"no saved query {name}; nothing dropped")
        raise ctx.fail(LeadQLNameError, f"no saved query named `{name}`", stmt.name,
                       hint=did_you_mean(name, store.query_names(ctx.catalog)) or "SHOW QUERIES lists them")  # fmt: skip
    _writable(ctx, stmt)
    users = [q.name for q in store.all_queries(ctx.catalog) if q.key != found.key and _excludes(q, found.key)]
    if users:
        raise ctx.fail(LeadQLExecutionError, f"saved quer{'y' if len(users) == 1 else 'ies'} "
                       f"{', '.join(users)} EXCLUDE QUERY {found.name}", stmt.name,
                       hint="replace or drop those first")  # fmt: skip
    with transaction(ctx.con):
        ctx.catalog.delete(store.QUERY, found.name)
        store.delete_schedule(ctx.con, found.name)
    return Result(message=f"dropped query {found.name} and its schedule; its run history stays")


def _excludes(query: store.SavedQuery, key: str) -> bool:
    from leadql.grammar import parse

    try:
        statements = parse(query.text)
    except Exception:  # noqa: BLE001 - a query that no longer parses excludes nothing
        return False
    return any(isinstance(n, ast.Exclusion) and n.kind == "QUERY" and n.name.value.lower() == key
               for s in statements for n in s.walk())  # fmt: skip
