"""Saved queries, their schedules and their run history, in the workspace's catalog.

A saved query is a catalog object of kind `query` (like a template): its definition holds the
query's text, its kind (FIND, PREDICT, SELECT) and the parameter values bound when it was saved.
Schedules and runs live in `_leadql.schedules` and `_leadql.query_runs` (migration 5). Functions
here only read and write rows; the caller holds the workspace lock and, for writes that belong
together, the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from leadql.catalog.migrations import SCHEMA, first_row
from leadql.errors import LeadQLNameError, LeadQLTypeError, did_you_mean
from leadql.scheduling.timing import Timing

QUERY = "query"  # the kind of catalog object a saved query is stored as
SCHEDULES = f"{SCHEMA}.schedules"
QUERY_RUNS = f"{SCHEMA}.query_runs"
RUNS = f"{SCHEMA}.runs"

# A run's status: running → ok | partial | failed | capped | abandoned.
FINAL_STATUSES = ("ok", "partial", "failed", "capped", "abandoned")


# ------------------------------------------------------------------------ saved queries


@dataclass(frozen=True)
class SavedQuery:
    name: str
    kind: str  # "FIND" | "PREDICT" | "SELECT"
    text: str  # the query after AS, exactly as written
    params: dict[str, Any]  # values of its $parameters, bound when it was saved
    created: datetime | None = None
    updated: datetime | None = None

    @property
    def key(self) -> str:
        return self.name.lower()


def get_query(catalog: Any, name: str) -> SavedQuery | None:
    row = first_row(catalog.con.execute(
        f"SELECT name, definition, created_at, updated_at FROM {SCHEMA}.objects "
        "WHERE kind = ? AND lower(name) = lower(?)", [QUERY, name],
    ))  # fmt: skip
    if row is None:
        return None
    definition = json.loads(row[1])
    return SavedQuery(row[0], definition["kind"], definition["text"],
                      decode_params(definition.get("params", {})), row[2], row[3])  # fmt: skip


def query_names(catalog: Any) -> list[str]:
    return catalog.names((QUERY,))  # type: ignore[no-any-return]


def require_query(catalog: Any, name: str) -> SavedQuery:
    found = get_query(catalog, name)
    if found is None:
        raise LeadQLNameError(
            f"no saved query named `{name}`",
            hint=did_you_mean(name, query_names(catalog)) or "SHOW QUERIES lists them",
        )
    return found


def put_query(catalog: Any, query: SavedQuery, statement: str) -> None:
    definition = {"kind": query.kind, "text": query.text, "params": encode_params(query.params)}
    catalog.put(QUERY, query.name, json.dumps(definition), statement)


def all_queries(catalog: Any) -> list[SavedQuery]:
    return [q for q in (get_query(catalog, n) for n in query_names(catalog)) if q is not None]


# Parameters are stored as JSON with their type, so a saved `$since` date comes back a date.
def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    return {name: _encode(name, value) for name, value in params.items()}


def _encode(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return {"t": "plain", "v": value}
    if isinstance(value, int):
        return {"t": "plain", "v": value}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise LeadQLTypeError(f"parameter ${name} is {value}, which a saved query cannot keep")
        return {"t": "plain", "v": value}
    if isinstance(value, Decimal):
        return {"t": "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"t": "date", "v": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return {"t": "list", "v": [_encode(name, v) for v in value]}
    raise LeadQLTypeError(
        f"parameter ${name} is a {type(value).__name__}, which a saved query cannot keep",
        hint="saved queries keep text, numbers, booleans, dates and lists of them",
    )


def decode_params(stored: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode(v) for name, v in stored.items()}


def _decode(item: dict[str, Any]) -> Any:
    kind, value = item["t"], item["v"]
    if kind == "decimal":
        return Decimal(value)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "list":
        return [_decode(v) for v in value]
    return value


# ------------------------------------------------------------------------ schedules


@dataclass
class ScheduleRow:
    name_key: str
    query_name: str
    every_amount: int | None
    every_unit: str | None
    at_time: str | None
    cron: str | None
    max_spend: Decimal | None
    max_spend_per: str | None
    statement: str
    timezone: str
    created_at: datetime
    anchor: datetime
    next_run: datetime
    attempt: int
    retry_at: datetime | None
    lease_owner: str | None
    lease_expires: datetime | None
    last_run_id: str | None

    @property
    def timing(self) -> Timing:
        return Timing(self.every_amount, self.every_unit, self.at_time, self.cron, self.timezone)

    @property
    def due_at(self) -> datetime:
        """When the scheduler should next act on it: a pending retry, else the next run."""
        return self.retry_at if self.retry_at is not None else self.next_run


_SCHEDULE_COLUMNS = [f.name for f in fields(ScheduleRow)]


def get_schedule(con: Any, name: str) -> ScheduleRow | None:
    row = first_row(con.execute(
        f"SELECT {', '.join(_SCHEDULE_COLUMNS)} FROM {SCHEDULES} WHERE name_key = lower(?)", [name]
    ))  # fmt: skip
    return ScheduleRow(*row) if row else None


def all_schedules(con: Any) -> list[ScheduleRow]:
    rows = con.execute(
        f"SELECT {', '.join(_SCHEDULE_COLUMNS)} FROM {SCHEDULES} ORDER BY next_run, name_key"
    ).fetchall()
    return [ScheduleRow(*r) for r in rows]


def put_schedule(con: Any, row: ScheduleRow) -> None:
    con.execute(f"DELETE FROM {SCHEDULES} WHERE name_key = ?", [row.name_key])
    marks = ", ".join("?" for _ in _SCHEDULE_COLUMNS)
    con.execute(f"INSERT INTO {SCHEDULES} ({', '.join(_SCHEDULE_COLUMNS)}) VALUES ({marks})",
                [getattr(row, c) for c in _SCHEDULE_COLUMNS])  # fmt: skip


def update_schedule(con: Any, name_key: str, **values: Any) -> None:
    sets = ", ".join(f"{c} = ?" for c in values)
    con.execute(f"UPDATE {SCHEDULES} SET {sets} WHERE name_key = ?", [*values.values(), name_key])


def delete_schedule(con: Any, name: str) -> bool:
    found = get_schedule(con, name) is not None
    con.execute(f"DELETE FROM {SCHEDULES} WHERE name_key = lower(?)", [name])
    return found


# ------------------------------------------------------------------------ runs


def insert_query_run(con: Any, *, query_run_id: str, query: SavedQuery, trigger: str,
                     scheduled_for: datetime | None, attempt: int, owner: str | None,
                     started_at: datetime, status: str, budget: Decimal | None,
                     error: str | None = None, finished_at: datetime | None = None) -> None:  # fmt: skip
    con.execute(
        f"""INSERT INTO {QUERY_RUNS} (query_run_id, query_name, name_key, trigger, scheduled_for,
            attempt, owner, started_at, finished_at, status, error, rows, budget, spent, seconds,
            plan, statement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, ?, NULL, ?)""",
        [query_run_id, query.name, query.key, trigger, scheduled_for, attempt, owner, started_at,
         finished_at, status, error, budget, 0.0 if finished_at else None, query.text],
    )  # fmt: skip


def finish_query_run(con: Any, query_run_id: str, *, status: str, finished_at: datetime,
                     seconds: float, rows: int | None, error: str | None, plan: Any) -> Decimal:  # fmt: skip
    """Close a run; its spend is what the FIND runs it made recorded. Returns that spend."""
    spent = spent_by_run(con, query_run_id)
    con.execute(
        f"""UPDATE {QUERY_RUNS} SET status = ?, finished_at = ?, seconds = ?, rows = ?, error = ?,
            spent = ?, plan = ? WHERE query_run_id = ?""",
        [status, finished_at, seconds, rows, error, spent,
         json.dumps(plan, default=str) if plan is not None else None, query_run_id],
    )  # fmt: skip
    return spent


def spent_by_run(con: Any, query_run_id: str) -> Decimal:
    row = first_row(con.execute(
        f"SELECT coalesce(sum(spent), 0) FROM {RUNS} WHERE query_run_id = ?", [query_run_id]
    ))  # fmt: skip
    return Decimal(str(row[0]))


def spent_since(con: Any, name_key: str, since: datetime) -> Decimal:
    """What the runs of a query that started since `since` spent (manual and scheduled alike;
    by the run's start, on the scheduler's clock)."""
    row = first_row(con.execute(
        f"""SELECT coalesce(sum(r.spent), 0) FROM {RUNS} AS r
            JOIN {QUERY_RUNS} AS q ON q.query_run_id = r.query_run_id
            WHERE q.name_key = ? AND q.started_at >= ?""", [name_key, since],
    ))  # fmt: skip
    return Decimal(str(row[0]))


def running_runs(con: Any) -> list[tuple[str, str, str | None, datetime]]:
    """(query_run_id, name_key, owner, started_at) of runs not finished."""
    return [tuple(r) for r in con.execute(  # type: ignore[misc]
        f"SELECT query_run_id, name_key, owner, started_at FROM {QUERY_RUNS} WHERE status = 'running'"
    ).fetchall()]  # fmt: skip


def query_ever_ran(con: Any, name: str) -> bool:
    row = first_row(con.execute(f"SELECT count(*) FROM {QUERY_RUNS} WHERE name_key = lower(?)", [name]))
    return bool(row[0])
