"""Lists: create-or-append a delivered list atomically, and read or drop what is stored.

A list's rows live in two places joined by `row_id`: the fact `list_leads` (lead, run, cost,
quality, score, provenance, records) and the list's typed attribute table `list_<list_id>`
(one typed column per delivered attribute; a later run asking for new attributes adds columns,
older rows read NULL). The view `main.<name>` joins them so `SELECT * FROM name` shows every
lead of every run in delivery order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadql.catalog.migrations import SCHEMA, first_row, transaction
from leadql.connectors.base import duckdb_detail, quote_ident, quote_str
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.warehouse.identity import upsert_leads
from leadql.warehouse.runs import RunRecord, insert_run, insert_run_leads
from leadql.warehouse.schema import (
    IDENTITY_TYPES,
    LIST_LEADS,
    LISTS,
    MEASURES,
    RESERVED,
    SEGMENTATIONS,
    data_table,
    now,
    view_name,
)

if TYPE_CHECKING:
    import pyarrow as pa

# What each measure column is stored as (see migration 2).
MEASURE_TYPES = {
    "score": "DOUBLE",
    "quality": "DOUBLE",
    "cost": "DECIMAL(18,6)",
    "provenance": "MAP(VARCHAR, VARCHAR)",
    "records": "VARCHAR[]",
}
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_NUMBERS = (*_INTEGERS, "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE")


@dataclass
class ListInfo:
    """One row of the `lists` dimension."""

    list_id: str
    name: str
    columns: list[dict[str, str]]  # [{"name", "type", "run_id"}] in view order
    scored: bool


# ------------------------------------------------------------------------ reading


def list_names(con: Any) -> list[str]:
    """Every list's name, alphabetically."""
    return [r[0] for r in con.execute(f"SELECT name FROM {LISTS} ORDER BY name_key").fetchall()]


def list_exists(con: Any, name: str) -> bool:
    return get_list(con, name) is not None


def get_list(con: Any, name: str) -> ListInfo | None:
    row = first_row(con.execute(
        f"SELECT list_id, name, columns, scored FROM {LISTS} WHERE name_key = lower(?)", [name]
    ))  # fmt: skip
    return ListInfo(row[0], row[1], json.loads(row[2]), bool(row[3])) if row else None


def require_list(con: Any, name: str) -> ListInfo:
    """The list called `name`, or a LeadQLNameError suggesting the nearest one."""
    found = get_list(con, name)
    if found is None:
        raise LeadQLNameError(
            f"no list named `{name}`",
            hint=did_you_mean(name, list_names(con)) or "SHOW LISTS lists them",
        )
    return found


# ------------------------------------------------------------------------ writing


def check_list(con: Any, list_name: str, attributes: dict[str, str]) -> None:
    """Raise now, before any money is spent, what `write_list` would raise for a run delivering
    `attributes` (name → DuckDB type) into `list_name`: a name clash or a column type conflict."""
    _check_name(con, list_name)
    existing = get_list(con, list_name)
    if existing is not None:
        _plan_columns(con, existing, attributes, run_id="", exists=True)


def write_list(
    con: Any,
    list_name: str,
    run: RunRecord,
    leads: pa.Table,
    *,
    identities: pa.Table | None = None,
) -> None:
    """Store a delivered list in ONE transaction: the run and its spend, the list (created or
    appended to), the `leads` dimension, the fact rows, the typed values and the view.

    `leads`: lead_id, the attribute columns (typed), [score], quality, cost, provenance,
    records. `identities`: lead_id + any identity columns (email, phone, first_name,
    last_name, birth_date, zip) to remember each lead by, besides the identity columns among
    the delivered attributes. Any error leaves the warehouse as it was.
    """
    import numpy as np
    import pyarrow as pa

    if "lead_id" not in leads.column_names:
        raise LeadQLExecutionError(f"cannot write list `{list_name}`: the leads have no lead_id")
    token = uuid.uuid4().hex[:12]
    arrow_name = f"_leadql_deliver_{token}"
    ids_name = f"_leadql_identities_{token}"
    table = leads.append_column("_leadql_ord", pa.array(np.arange(leads.num_rows, dtype=np.int64)))
    con.register(arrow_name, table)
    if identities is not None:
        con.register(ids_name, identities)
    try:
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {arrow_name}").fetchall()}
        attributes = {c: t for c, t in types.items() if c.lower() not in RESERVED and c != "_leadql_ord"}
        nulls = first_row(con.execute(f"SELECT count(*) FROM {arrow_name} WHERE lead_id IS NULL"))[0]
        if nulls:
            raise LeadQLExecutionError(f"cannot write list `{list_name}`: {nulls} leads have no lead_id")
        _check_name(con, list_name)
        identity_sql = [ids_name] if identities is not None else []
        if any(c.lower() in IDENTITY_TYPES for c in attributes):
            identity_sql.append(arrow_name)
        with transaction(con):
            info = _save_list(con, list_name, attributes, types, run)
            insert_run(con, run, list_id=info.list_id)
            _insert_rows(con, info, arrow_name, types, run)
            _assign_segments(con, info, run)
            upsert_leads(con, arrow_name, identity_sql, run.finished_at)
            if run.query_run_id is not None:  # a saved query remembers what each run delivered
                insert_run_leads(con, run.run_id, arrow_name)
            create_view(con, info)
    except LeadQLError:
        raise
    except Exception as e:
        raise LeadQLExecutionError(
            f"cannot write list `{list_name}`: {duckdb_detail(e)}",
            hint="nothing was written; the warehouse is as it was before this statement",
        ) from e
    finally:
        con.unregister(arrow_name)
        if identities is not None:
            con.unregister(ids_name)


def _check_name(con: Any, name: str) -> None:
    """A list's view shares the namespace of sources, tables and other views."""
    row = first_row(con.execute(
        f"SELECT kind, name FROM {SCHEMA}.objects "
        "WHERE kind IN ('source', 'table') AND lower(name) = lower(?)", [name]
    ))  # fmt: skip
    if row:
        raise LeadQLNameError(
            f"a {row[0]} named `{row[1]}` already exists, so a list cannot be called `{name}`",
            hint=f"choose another list name, e.g. INTO LIST {name}_leads",
        )
    if get_list(con, name) is not None:
        return
    row = first_row(con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog IN (current_database(), 'temp') AND lower(table_name) = lower(?)",
        [name],
    ))  # fmt: skip
    if row:
        raise LeadQLNameError(
            f"`{row[0]}` already names a table or view of this workspace, so a list cannot be "
            f"called `{name}`",
            hint=f"choose another list name, e.g. INTO LIST {name}_leads",
        )


def _save_list(
    con: Any, name: str, attributes: dict[str, str], types: dict[str, str], run: RunRecord
) -> ListInfo:
    """Create the list (row and typed table) or extend it with this run's new columns."""
    scored = "score" in {c.lower() for c in types}
    existing = get_list(con, name)
    if existing is None:
        info = ListInfo(uuid.uuid4().hex[:12], name, [], scored)
        columns, _ = _plan_columns(con, info, attributes, run.run_id, exists=False)
        info.columns = columns
        defs = ", ".join(f"{quote_ident(c['name'])} {c['type']}" for c in columns)
        con.execute(f"CREATE TABLE {data_table(info.list_id)} (row_id BIGINT NOT NULL{', ' + defs if defs else ''})")
        stamp = now()
        con.execute(
            f"INSERT INTO {LISTS} VALUES (?, ?, lower(?), ?, ?, ?, ?)",
            [info.list_id, name, name, stamp, stamp, json.dumps(columns), scored],
        )
        return info
    columns, alters = _plan_columns(con, existing, attributes, run.run_id, exists=True)
    for sql in alters:
        con.execute(sql)
    existing.columns = columns
    existing.scored = existing.scored or scored
    con.execute(
        f"UPDATE {LISTS} SET updated_at = ?, columns = ?, scored = ? WHERE list_id = ?",
        [now(), json.dumps(columns), existing.scored, existing.list_id],
    )
    return existing


def _plan_columns(
    con: Any, info: ListInfo, attributes: dict[str, str], run_id: str, *, exists: bool
) -> tuple[list[dict[str, str]], list[str]]:
    """The list's columns after this run, and the ALTER statements that get its table there.

    Columns keep the order of the run that added them. A type conflict is a LeadQLTypeError
    naming the column, unless the new type only widens the old (a bigger integer, integer to
    DOUBLE) or the old column holds no value yet.
    """
    table = data_table(info.list_id)
    columns = [dict(c) for c in info.columns]
    by_lower = {c["name"].lower(): c for c in columns}
    alters = []
    for name, new_type in attributes.items():
        column = by_lower.get(name.lower())
        if column is None:
            stored = "VARCHAR" if new_type == '"NULL"' else new_type
            column = {"name": name, "type": stored, "run_id": run_id}
            columns.append(column)
            by_lower[name.lower()] = column
            if exists:
                alters.append(f"ALTER TABLE {table} ADD COLUMN {quote_ident(name)} {stored}")
            continue
        merged = merge_type(column["type"], new_type)
        if merged is None and _all_null(con, table, column["name"]):
            merged = new_type
        if merged is None:
            raise LeadQLTypeError(
                f"list `{info.name}` has column `{column['name']}` of type {column['type']}, "
                f"but this run delivers it as {new_type}",
                hint=f"deliver into another list, or DROP LIST {info.name} first",
            )
        if merged != column["type"]:
            alters.append(f"ALTER TABLE {table} ALTER COLUMN {quote_ident(column['name'])} TYPE {merged}")
            column["type"] = merged
    return columns, alters


def merge_type(old: str, new: str) -> str | None:
    """The column type that holds both, when that is a safe widening; else None."""
    if old == new or new == '"NULL"':
        return old
    if old in _INTEGERS and new in _INTEGERS:
        return max(old, new, key=_INTEGERS.index)
    if old in _NUMBERS and new in _NUMBERS and ("DOUBLE" in (old, new) or "FLOAT" in (old, new)):
        return "DOUBLE"
    return None


def _all_null(con: Any, table: str, column: str) -> bool:
    return first_row(con.execute(f"SELECT count({quote_ident(column)}) FROM {table}"))[0] == 0


def _insert_rows(con: Any, info: ListInfo, arrow_name: str, types: dict[str, str], run: RunRecord) -> None:
    """The typed attribute values and the fact rows, numbered after every row already stored."""
    base = first_row(con.execute(f"SELECT coalesce(max(row_id), 0) FROM {LIST_LEADS}"))[0]
    row_id = f"{int(base) + 1} + _leadql_ord"
    by_lower = {c.lower(): c for c in types}
    stored = {c["name"].lower(): c for c in info.columns}
    names = [stored[c.lower()]["name"] for c in types if c.lower() in stored]
    values = [f"CAST({quote_ident(by_lower[n.lower()])} AS {stored[n.lower()]['type']})" for n in names]
    con.execute(
        f"INSERT INTO {data_table(info.list_id)} (row_id{''.join(', ' + quote_ident(n) for n in names)}) "
        f"SELECT {row_id}{''.join(', ' + v for v in values)} FROM {arrow_name}"
    )
    measures = []
    for measure in MEASURES:
        column = by_lower.get(measure)
        target = MEASURE_TYPES[measure]
        if column is None:
            measures.append(f"CAST(NULL AS {target})")
        elif measure == "provenance" and types[column] in ("VARCHAR", "JSON"):
            measures.append(f"CAST(CAST({quote_ident(column)} AS JSON) AS {target})")
        else:
            measures.append(f"CAST({quote_ident(column)} AS {target})")
    con.execute(
        f"INSERT INTO {LIST_LEADS} (row_id, list_id, run_id, lead_id, {', '.join(MEASURES)}) "
        f"SELECT {row_id}, {quote_str(info.list_id)}, {quote_str(run.run_id)}, "
        f"CAST(lead_id AS VARCHAR), {', '.join(measures)} FROM {arrow_name}"
    )


def _assign_segments(con: Any, info: ListInfo, run: RunRecord) -> None:
    """A segmented list's new rows join their nearest segment (see leadql/segments.py)."""
    from leadql.segments import assign_appended

    assign_appended(con, info, run.run_id)


def create_view(con: Any, info: ListInfo) -> None:
    """(Re)create `main.<name>`: lead_id, the attributes, [score], quality, cost, provenance,
    records, run_id, and [segment] once SEGMENT LIST has segmented it; rows in delivery order."""
    attributes = "".join(f"d.{quote_ident(c['name'])}, " for c in info.columns)
    score = "f.score, " if info.scored else ""
    segmented = first_row(con.execute(f"SELECT 1 FROM {SEGMENTATIONS} WHERE list_id = ?", [info.list_id]))
    segment = ", f.segment" if segmented else ""
    con.execute(
        f"CREATE OR REPLACE VIEW {view_name(info.name)} AS "
        f"SELECT f.lead_id, {attributes}{score}f.quality, f.cost, f.provenance, f.records, f.run_id{segment} "
        f"FROM {LIST_LEADS} AS f JOIN {data_table(info.list_id)} AS d ON d.row_id = f.row_id "
        f"WHERE f.list_id = {quote_str(info.list_id)} ORDER BY f.row_id"
    )


def drop_list(con: Any, name: str) -> bool:
    """Remove a list's view, typed values and fact rows in one transaction; its runs and their
    spend stay (money spent is history). False when there is no such list."""
    info = get_list(con, name)
    if info is None:
        return False
    with transaction(con):
        con.execute(f"DROP VIEW IF EXISTS {view_name(info.name)}")
        con.execute(f"DROP TABLE IF EXISTS {data_table(info.list_id)}")
        con.execute(f"DELETE FROM {LIST_LEADS} WHERE list_id = ?", [info.list_id])
        con.execute(f"DELETE FROM {SEGMENTATIONS} WHERE list_id = ?", [info.list_id])
        con.execute(f"DELETE FROM {LISTS} WHERE list_id = ?", [info.list_id])
    return True
