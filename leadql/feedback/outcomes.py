"""RECORD OUTCOMES: closed deals read from a file and linked to the delivery that produced each
lead.

Each outcome row names a lead — by its warehouse `lead_id`, or by an email or phone matched
(after normalisation) against the warehouse's `leads` dimension — says whether it was won, and
optionally when. It is linked to the latest delivery of that lead (the `list_leads` fact row)
whose run started at or before the outcome, and the row's list, run, score, records and the
run's scorer are snapshotted with it. The outcomes table is append only; a batch is written in
one transaction, and outcomes already recorded (same lead, outcome and time) are skipped, so
recording a file twice does not count it twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from leadql.catalog.migrations import first_row, transaction
from leadql.connectors import open_connector
from leadql.connectors.base import duckdb_detail, quote_ident, quote_str
from leadql.context import Context
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLSourceError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.result import Result
from leadql.warehouse.identity import new_lead_id_sql
from leadql.warehouse.schema import LEADS, LIST_LEADS, OUTCOMES, RUNS, now

WON = ("won", "win", "yes", "y", "true", "t", "1", "1.0")
LOST = ("lost", "lose", "no", "n", "false", "f", "0", "0.0")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL")  # fmt: skip
COLUMNS = ["recorded", "skipped", "matched", "unmatched", "won", "conversion_rate"]


def record_outcomes(ctx: Context, stmt: ast.RecordOutcomes) -> Result:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(
            "RECORD OUTCOMES writes to the workspace, which is open read-only",
            span=stmt.span, text=ctx.text, hint="open the workspace writable",
        )  # fmt: skip
    con = ctx.con
    location = ctx.text_value(stmt.location, "FROM")
    token = uuid.uuid4().hex[:12]
    staged = f"temp.{quote_ident('_leadql_outcomes_' + token)}"
    try:
        _stage(ctx, stmt, location, staged)
        key_kind = _key_kind(ctx, stmt.key.value)
        parsed = f"temp.{quote_ident('_leadql_parsed_' + token)}"
        _parse(ctx, stmt, staged, parsed, key_kind)
        batch_id = "B" + token
        try:
            with transaction(con):
                _insert(con, parsed, batch_id, location)
                summary = _summarise(con, parsed, batch_id)
        except LeadQLError:
            raise
        except Exception as e:
            raise LeadQLExecutionError(
                f"cannot record outcomes: {duckdb_detail(e)}",
                span=stmt.span, text=ctx.text,
                hint="nothing was recorded; the workspace is as it was before this statement",
            ) from e
    finally:
        con.execute(f"DROP TABLE IF EXISTS {staged}")
        con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident('_leadql_parsed_' + token)}")
    recorded, skipped, matched, unmatched, won = summary
    rate = won / recorded if recorded else None
    warnings = []
    if unmatched:
        warnings.append(
            f"{unmatched} of {recorded} recorded outcomes match no delivered lead"
            + (" at or before their AT time" if stmt.at is not None else "")
            + "; they are kept but count for no list, run or source"
        )  # fmt: skip
    if recorded:
        message = f"recorded {recorded} outcomes as batch {batch_id}; {matched} linked to a delivery"
    else:
        message = "nothing new to record"
    if skipped:
        message += f"; skipped {skipped} already recorded"
    result = Result.from_rows(COLUMNS, [(recorded, skipped, matched, unmatched, won, rate)], message=message)
    result.warnings.extend(warnings)
    return result


# ------------------------------------------------------------------------ reading


def _stage(ctx: Context, stmt: ast.RecordOutcomes, location: str, staged: str) -> None:
    """Read the KEY, OUTCOME and AT columns of the file into a temp table (with row numbers)."""
    from leadql.catalog.ddl import _at_location

    con = ctx.con
    options = {o.name.value: ctx.value(o.value) for o in stmt.options}
    fmt = stmt.format.value.lower() if stmt.format else None
    try:
        connector = open_connector(location, fmt, options, ctx.ws.base_dir)
        columns = connector.schema(con)
        from_sql = connector.relation(con)
    except LeadQLError as e:
        raise _at_location(e, stmt, ctx) from None
    by_lower = {c.lower(): c for c in columns}
    if stmt.key.value.lower() == stmt.outcome.value.lower():
        raise ctx.fail(LeadQLSemanticError, f"KEY and OUTCOME are both column `{stmt.key.value}`", stmt.outcome,
                       hint="KEY names the lead (lead_id, email or phone), OUTCOME whether it was won")  # fmt: skip
    picks = []
    for alias, ident in (("k", stmt.key), ("o", stmt.outcome), ("a", stmt.at)):
        if ident is None:
            picks.append(f"CAST(NULL AS TIMESTAMP) AS {alias}")
            continue
        column = by_lower.get(ident.value.lower())
        if column is None:
            clause = {"k": "KEY", "o": "OUTCOME", "a": "AT"}[alias]
            raise ctx.fail(
                LeadQLNameError, f"{clause} column `{ident.value}` is not in {location}", ident,
                hint=did_you_mean(ident.value, columns) or "its columns: " + ", ".join(columns),
            )  # fmt: skip
        picks.append(f"{quote_ident(column)} AS {alias}")
    sql = f"CREATE TEMP TABLE {staged} AS SELECT row_number() OVER () AS _row, {', '.join(picks)} FROM {from_sql}"
    try:
        connector.run_read(con, lambda: con.execute(sql))
    except LeadQLError as e:
        raise _at_location(e, stmt, ctx) from None
    rows = first_row(con.execute(f"SELECT count(*) FROM {staged}"))[0]
    if rows == 0:
        raise ctx.fail(LeadQLSourceError, f"{location} holds no outcomes (no rows)", stmt,
                       hint="export the closed deals with their lead and outcome columns")


def _key_kind(ctx: Context, key: str) -> str:
    """'email' or 'phone' when the KEY column holds those (by name or category), else 'lead_id'."""
    name = key.lower()
    if name in ("email", "phone"):
        return name
    category = ctx.catalog.categories().get(name)
    if category is not None and (category.normalizer or "").lower() in ("email", "phone"):
        return category.normalizer.lower()
    return "lead_id"


def _types(con: Any, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()}


def _outcome_sql(type_: str) -> str:
    if type_ == "BOOLEAN":
        return "CASE WHEN o THEN 1.0 WHEN NOT o THEN 0.0 END"
    if type_ in NUMERIC or type_.startswith("DECIMAL"):
        return "CASE WHEN o = 1 THEN 1.0 WHEN o = 0 THEN 0.0 END"
    text = "lower(trim(CAST(o AS VARCHAR)))"
    won = ", ".join(quote_str(w) for w in WON)
    lost = ", ".join(quote_str(w) for w in LOST)
    return f"CASE WHEN {text} IN ({won}) THEN 1.0 WHEN {text} IN ({lost}) THEN 0.0 END"


def _at_sql(type_: str) -> tuple[str, str]:
    """(timestamp, whole-day flag) SQL for the AT column `a`."""
    if type_ == "DATE":
        return "CAST(a AS TIMESTAMP)", "a IS NOT NULL"
    if type_ in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "timezone('UTC', a)", "false"  # times are kept in UTC
    if type_.startswith("TIMESTAMP"):
        return "CAST(a AS TIMESTAMP)", "false"
    if type_ == "VARCHAR":
        text = "nullif(trim(a), '')"
        # a time with an offset or a zone name is moved to UTC (an unknown zone: not a time);
        # one without is taken as UTC already
        zoned = (f"regexp_matches(coalesce({text}, ''), "
                 r"'\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?|[A-Za-z_]+(/[A-Za-z_+-]+)+|UTC|GMT)$')")
        at = (f"CASE WHEN {zoned} THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) "
              f"ELSE TRY_CAST({text} AS TIMESTAMP) END")
        return at, f"regexp_matches(coalesce({text}, ''), '^\\d{{4}}-\\d{{2}}-\\d{{2}}$')"
    return "", ""


def _samples(con: Any, sql: str) -> str:
    values = [repr(r[0]) for r in con.execute(sql).fetchall()]
    return ", ".join(values)


def _parse(ctx: Context, stmt: ast.RecordOutcomes, staged: str, parsed: str, key_kind: str) -> None:
    """Check and convert the staged rows: outcome → 1.0/0.0, AT → timestamp, KEY → lead_id."""
    con = ctx.con
    types = _types(con, staged)
    outcome = _outcome_sql(types["o"])
    bad = first_row(con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE o IS NULL) FROM {staged} WHERE ({outcome}) IS NULL"
    ))  # fmt: skip
    if bad[0]:
        if bad[0] > bad[1]:
            values = _samples(con, f"SELECT DISTINCT CAST(o AS VARCHAR) FROM {staged} "
                                   f"WHERE o IS NOT NULL AND ({outcome}) IS NULL ORDER BY 1 LIMIT 3")  # fmt: skip
            raise ctx.fail(
                LeadQLTypeError,
                f"OUTCOME column `{stmt.outcome.value}` has {bad[0] - bad[1]} rows that are not an "
                f"outcome, e.g. {values}", stmt.outcome,
                hint="an outcome is true/false, 1/0, or won/lost, yes/no (any case)",
            )  # fmt: skip
        raise ctx.fail(
            LeadQLTypeError, f"OUTCOME column `{stmt.outcome.value}` is empty in {bad[1]} rows", stmt.outcome,
            hint="every row needs an outcome: leave open deals out of the file",
        )  # fmt: skip
    at, whole_day = "CAST(NULL AS TIMESTAMP)", "false"
    if stmt.at is not None:
        at, whole_day = _at_sql(types["a"])
        if not at:
            raise ctx.fail(LeadQLTypeError, f"AT column `{stmt.at.value}` is {types['a']}, not a date or time",
                           stmt.at, hint="AT names a date or timestamp column")  # fmt: skip
        if types["a"] == "VARCHAR":
            count = first_row(con.execute(
                f"SELECT count(*) FROM {staged} WHERE nullif(trim(a), '') IS NOT NULL AND ({at}) IS NULL"))[0]
            if count:
                values = _samples(con, f"SELECT DISTINCT a FROM {staged} WHERE nullif(trim(a), '') IS NOT NULL "
                                       f"AND ({at}) IS NULL ORDER BY 1 LIMIT 3")  # fmt: skip
                raise ctx.fail(LeadQLTypeError,
                               f"AT column `{stmt.at.value}` has {count} rows that are not a date or time, "
                               f"e.g. {values}", stmt.at, hint="write dates as YYYY-MM-DD [HH:MM:SS]")  # fmt: skip
    if types["k"].endswith("]") or types["k"].startswith(("STRUCT", "MAP", "UNION")):
        raise ctx.fail(LeadQLTypeError, f"KEY column `{stmt.key.value}` is {types['k']}, not one value per row",
                       stmt.key, hint="KEY names a column of lead ids, e-mails or phone numbers")  # fmt: skip
    key_text = "nullif(trim(CAST(k AS VARCHAR)), '')"
    if key_kind == "lead_id":
        lead = key_text
        match = "NULL"
    else:
        from leadql.normalizers import call_sql

        norm = call_sql(key_kind, key_text)
        lead = f"coalesce(m.lead_id, {new_lead_id_sql(norm)})"
        match = norm
    missing = first_row(con.execute(
        f"SELECT count(*) FROM (SELECT {match if key_kind != 'lead_id' else key_text} AS v FROM {staged}) "
        "WHERE v IS NULL"))[0]  # fmt: skip
    if missing:
        what = "an empty" if key_kind == "lead_id" else f"no valid {key_kind} in its"
        raise ctx.fail(
            LeadQLTypeError, f"{missing} rows have {what} KEY column `{stmt.key.value}`", stmt.key,
            hint="every outcome needs the lead it belongs to",
        )  # fmt: skip
    join = ""
    if key_kind != "lead_id":
        from leadql.normalizers import call_sql

        join = (f"LEFT JOIN (SELECT {call_sql(key_kind, key_kind)} AS v, min(lead_id) AS lead_id FROM {LEADS} "
                f"WHERE {key_kind} IS NOT NULL GROUP BY 1) AS m ON m.v = {match}")  # fmt: skip
    con.execute(
        f"CREATE TEMP TABLE {parsed} AS SELECT _row, CAST({lead} AS VARCHAR) AS lead_id, "
        f"CAST({outcome} AS DOUBLE) AS outcome, {at} AS happened_at, ({whole_day}) AS whole_day "
        f"FROM {staged} {join}"
    )


# ------------------------------------------------------------------------ writing


def _insert(con: Any, parsed: str, batch_id: str, location: str) -> None:
    """Append the batch: new outcomes only, each linked to its delivery (caller holds the
    transaction)."""
    con.execute(
        f"""
        INSERT INTO {OUTCOMES}
        WITH f AS (
            SELECT * FROM {parsed} AS p
            WHERE NOT EXISTS (
                SELECT 1 FROM {OUTCOMES} AS o WHERE o.lead_id = p.lead_id AND o.outcome = p.outcome
                  AND o.happened_at IS NOT DISTINCT FROM p.happened_at)
            QUALIFY row_number() OVER (PARTITION BY lead_id, outcome, happened_at ORDER BY _row) = 1),
        d AS (
            SELECT f._row, ll.list_id, ll.run_id, ll.row_id, ll.score, ll.records,
                   r.scorer_kind, r.scorer_name, r.scorer_version
            FROM f JOIN {LIST_LEADS} AS ll ON ll.lead_id = f.lead_id
            JOIN {RUNS} AS r ON r.run_id = ll.run_id
            WHERE f.happened_at IS NULL
               OR r.started_at <= CASE WHEN f.whole_day THEN f.happened_at + INTERVAL 1 DAY
                                       ELSE f.happened_at END
            QUALIFY row_number() OVER (PARTITION BY f._row ORDER BY r.started_at DESC, ll.row_id DESC) = 1)
        SELECT (SELECT coalesce(max(outcome_id), 0) FROM {OUTCOMES}) + row_number() OVER (ORDER BY f._row),
               ?, ?, f.lead_id, f.outcome, f.happened_at, d.list_id, d.run_id, d.row_id, d.score,
               d.scorer_kind, d.scorer_name, d.scorer_version, d.records, ?
        FROM f LEFT JOIN d ON d._row = f._row
        ORDER BY f._row""",
        [batch_id, now(), location],
    )


def _summarise(con: Any, parsed: str, batch_id: str) -> tuple[int, int, int, int, int]:
    """(recorded, skipped, matched, unmatched, won) of the batch just written."""
    total = first_row(con.execute(f"SELECT count(*) FROM {parsed}"))[0]
    recorded, matched, won = first_row(con.execute(
        f"SELECT count(*), count(run_id), coalesce(sum(outcome), 0) FROM {OUTCOMES} WHERE batch_id = ?",
        [batch_id],
    ))  # fmt: skip
    return int(recorded), int(total - recorded), int(matched), int(recorded - matched), int(won)

