"""The run history and the spend ledger: what every FIND asked for, delivered and paid, per
source. A run is recorded whenever money was spent, with or without INTO LIST, even when the
FIND failed afterwards: money spent is history and is never deleted."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from leadql.catalog.migrations import first_row, transaction
from leadql.errors import LeadQLError, LeadQLExecutionError
from leadql.warehouse.schema import LISTS, RUN_LEADS, RUN_SOURCES, RUNS

STATUSES = ("complete", "partial", "failed")


@dataclass
class SourceSpend:
    """What one run paid one source, with the price and quality it was bought at."""

    source: str
    records_bought: int
    queries: int
    amount: Decimal
    price_per_record: Decimal
    price_per_query: Decimal
    quality: float | None


@dataclass
class RunRecord:
    """One execution of a FIND, as the executor reports it."""

    run_id: str
    statement: str
    list_name: str | None
    started_at: datetime
    finished_at: datetime
    status: str  # 'complete' | 'partial' | 'failed'
    requested: int | None
    delivered: int
    budget: Decimal
    spent: Decimal
    spend: list[SourceSpend] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)  # JSON-able
    warnings: list[str] = field(default_factory=list)
    scorer_kind: str | None = None  # 'pattern' | 'model' when a pattern or model scored the leads
    scorer_name: str | None = None
    scorer_version: int | None = None
    query_run_id: str | None = None  # the saved-query run that made this FIND (leadql/scheduling)


def record_run(con: Any, run: RunRecord, *, delivered: Any = None, identities: Any = None) -> None:
    """Store a run and its spend, in a transaction of its own.

    `delivered` (Arrow, with lead_id) and `identities` are given for a saved query's run: the
    leads it delivered are remembered (`run_leads` and the `leads` dimension) in the same
    transaction, so the query's later runs never buy them again."""
    try:
        names = _register(con, delivered, identities)
        try:
            with transaction(con):
                insert_run(con, run, list_id=find_list_id(con, run.list_name))
                if names:
                    from leadql.warehouse.identity import upsert_leads

                    upsert_leads(con, names[0], names, run.finished_at)
                    insert_run_leads(con, run.run_id, names[0])
        finally:
            for name in names:
                con.unregister(name)
    except LeadQLError:
        raise
    except Exception as e:
        raise LeadQLExecutionError(f"cannot record run {run.run_id}: {e}") from None


def insert_run(con: Any, run: RunRecord, *, list_id: str | None) -> None:
    """Write the run's rows (the caller holds the transaction). Recording the same run_id again
    replaces it, so the executor may record a run and then write its list."""
    if run.status not in STATUSES:
        raise LeadQLExecutionError(
            f"run status must be one of {', '.join(STATUSES)}, not {run.status!r}"
        )
    con.execute(f"DELETE FROM {RUN_SOURCES} WHERE run_id = ?", [run.run_id])
    con.execute(f"DELETE FROM {RUNS} WHERE run_id = ?", [run.run_id])
    con.execute(
        f"INSERT INTO {RUNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id, list_id, run.list_name, run.statement, run.started_at,
            run.finished_at, run.status, run.requested, run.delivered, run.budget, run.spent,
            json.dumps(run.plan, default=str), json.dumps(list(run.warnings)),
            run.scorer_kind, run.scorer_name, run.scorer_version, run.query_run_id,
        ],
    )  # fmt: skip
    if run.spend:
        con.executemany(
            f"INSERT INTO {RUN_SOURCES} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [run.run_id, s.source, s.records_bought, s.queries, s.amount,
                 s.price_per_record, s.price_per_query, s.quality]
                for s in run.spend
            ],
        )  # fmt: skip


def insert_run_leads(con: Any, run_id: str, leads_sql: str) -> None:
    """Remember which leads a run delivered (the caller holds the transaction)."""
    con.execute(f"DELETE FROM {RUN_LEADS} WHERE run_id = ?", [run_id])
    con.execute(
        f"INSERT INTO {RUN_LEADS} SELECT DISTINCT ?, CAST(lead_id AS VARCHAR) FROM {leads_sql} "
        "WHERE lead_id IS NOT NULL",
        [run_id],
    )


def _register(con: Any, delivered: Any, identities: Any) -> list[str]:
    if delivered is None or delivered.num_rows == 0:
        return []
    token = uuid.uuid4().hex[:12]
    names = [f"_leadql_run_leads_{token}"]
    con.register(names[0], delivered)
    if identities is not None:
        names.append(f"_leadql_run_ids_{token}")
        con.register(names[1], identities)
    return names


def find_list_id(con: Any, name: str | None) -> str | None:
    """The id of the list called `name` (case-insensitive), or None."""
    if name is None:
        return None
    row = first_row(con.execute(f"SELECT list_id FROM {LISTS} WHERE name_key = lower(?)", [name]))
    return row[0] if row else None
