"""Running a saved query once: RUN QUERY and each job of the scheduler go through here.

A run is recorded as `running` (committed) before anything is bought, and closed with its status,
error, rows, money and plan; a process that dies in between leaves a `running` row the scheduler
later marks `abandoned` (what the dead run was writing rolls back with its transaction, so the
warehouse never holds half of it).

A saved FIND is bound with two additions (see `QueryRun.bind`): it excludes every lead an
earlier run of the same query delivered (EXCLUDE QUERY itself), and its budget is lowered to
what the schedule's MAX SPEND leaves in the current period.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from leadql.catalog.migrations import first_row, transaction
from leadql.errors import LeadQLError, LeadQLExecutionError
from leadql.result import Result
from leadql.scheduling import store
from leadql.scheduling.timing import period_start, utc_now

if TYPE_CHECKING:
    from leadql.workspace import Workspace


def process_owner(token: str | None = None) -> str:
    """`host:pid:token`: who holds a lease or runs a query (the pid lets a scheduler on the same
    host see at once that the holder died)."""
    return f"{socket.gethostname()}:{os.getpid()}:{token or uuid.uuid4().hex[:8]}"


def new_run_id() -> str:
    return "q" + uuid.uuid4().hex[:15]


@dataclass
class QueryRun:
    """One run of a saved query, as its FIND sees it (through `Context.query_run`)."""

    query_run_id: str
    query: store.SavedQuery
    trigger: str  # "manual" | "schedule"
    scheduled_for: datetime | None = None
    attempt: int = 1
    owner: str | None = None
    cap_left: Decimal | None = None  # what MAX SPEND leaves in this period; None = no cap
    cap_text: str | None = None  # "MAX SPEND 1000 PER MONTH"
    budget: Decimal | None = None  # the budget the FIND ran with
    notes: list[str] = field(default_factory=list)

    def bind(self, budget: Decimal | None, exclusions: list[tuple[str, str]],
             warnings: list[str]) -> tuple[Decimal | None, list[tuple[str, str]]]:  # fmt: skip
        """The budget and exclusions a saved FIND runs with."""
        if not any(k == "QUERY" and n.lower() == self.query.key for k, n in exclusions):
            exclusions = [*exclusions, ("QUERY", self.query.name)]
        if self.cap_left is not None and budget is not None and budget > self.cap_left:
            note = (f"{self.cap_text} leaves ${self.cap_left} this period: the budget is lowered "
                    f"from ${budget} to ${self.cap_left}")  # fmt: skip
            warnings.append(note)
            self.notes.append(note)
            budget = self.cap_left
        self.budget = budget
        return budget, exclusions


@dataclass
class RunOutcome:
    """What one run of a saved query came to (the scheduler logs and reports this)."""

    query_run_id: str
    query: str
    trigger: str
    status: str
    attempt: int
    rows: int | None = None
    spent: Decimal = Decimal(0)
    seconds: float = 0.0
    error: str | None = None
    scheduled_for: datetime | None = None
    result: Result | None = None
    exception: LeadQLError | None = None
    retry_at: datetime | None = None  # the scheduler tries again then
    gave_up: str | None = None  # why the scheduler stopped trying this occurrence

    def log_line(self) -> str:
        parts = [f"run={self.query_run_id}", f"query={self.query}", f"trigger={self.trigger}",
                 f"status={self.status}", f"attempt={self.attempt}", f"rows={self.rows if self.rows is not None else '-'}",
                 f"spent={self.spent}", f"seconds={self.seconds:.3f}"]  # fmt: skip
        if self.scheduled_for is not None:
            parts.append(f"scheduled_for={self.scheduled_for.isoformat(timespec='seconds')}Z")
        if self.retry_at is not None:
            parts.append(f"retry_at={self.retry_at.isoformat(timespec='seconds')}Z")
        if self.gave_up:
            parts.append(f"gave_up={self.gave_up.replace(' ', '_')}")
        if self.error:
            parts.append("error=" + " ".join(self.error.split())[:500])
        return " ".join(parts)


def cap_left(con: Any, schedule: store.ScheduleRow | None, now: datetime) -> tuple[Decimal | None, str | None]:
    """What the schedule's MAX SPEND leaves in the period containing `now` (None: no cap)."""
    if schedule is None or schedule.max_spend is None or schedule.max_spend_per is None:
        return None, None
    since = period_start(schedule.max_spend_per, now, schedule.timing.zone)
    spent = store.spent_since(con, schedule.name_key, since)
    left = max(Decimal(0), Decimal(str(schedule.max_spend)) - spent)
    return left, f"MAX SPEND {schedule.max_spend} PER {schedule.max_spend_per.upper()}"


def run_saved_query(
    ws: Workspace,
    query: store.SavedQuery,
    *,
    trigger: str,
    scheduled_for: datetime | None = None,
    attempt: int = 1,
    owner: str | None = None,
    now: datetime | None = None,
    on_finish: Any = None,
) -> RunOutcome:
    """Run `query` once and record the run. The caller holds the workspace lock.

    `on_finish(con, outcome)` runs inside the transaction that closes the run (the scheduler
    advances the schedule there, so a run and its schedule's next time commit together).
    Errors of the query itself are returned in the outcome (with `exception` set), not raised.
    """
    from leadql.grammar import parse, validate

    con = ws.con
    started = now or utc_now()
    clock = time.perf_counter()
    schedule = store.get_schedule(con, query.name)
    left, cap_text = cap_left(con, schedule, started) if query.kind == "FIND" else (None, None)
    run = QueryRun(new_run_id(), query, trigger, scheduled_for, attempt, owner or process_owner(),
                   left, cap_text)  # fmt: skip
    outcome = RunOutcome(run.query_run_id, query.name, trigger, "running", attempt, scheduled_for=scheduled_for)
    if left is not None and left <= 0:
        outcome.status, outcome.rows = "capped", 0
        outcome.error = f"{cap_text} is used up for this period: nothing was bought"
        with transaction(con):
            store.insert_query_run(con, query_run_id=run.query_run_id, query=query, trigger=trigger,
                                   scheduled_for=scheduled_for, attempt=attempt, owner=run.owner,
                                   started_at=started, status="capped", budget=Decimal(0),
                                   error=outcome.error, finished_at=started)  # fmt: skip
            if on_finish is not None:
                on_finish(con, outcome)
        outcome.result = Result(message=f"run {run.query_run_id} of {query.name}: {outcome.error}")
        return outcome
    with transaction(con):
        store.insert_query_run(con, query_run_id=run.query_run_id, query=query, trigger=trigger,
                               scheduled_for=scheduled_for, attempt=attempt, owner=run.owner,
                               started_at=started, status="running", budget=None)  # fmt: skip
    result: Result | None = None
    error: LeadQLError | None = None
    try:
        statements = parse(query.text)
        if len(statements) != 1:
            raise LeadQLExecutionError(f"saved query {query.name} holds {len(statements)} statements, not one")
        statement = statements[0]
        validate(statement, query.text)
        result = ws._run(statement, dict(query.params), query.text, rows=False, query_run=run)
    except LeadQLError as e:
        error = e
    except BaseException as e:  # interrupted (Ctrl-C, a stopping scheduler): close the run, then stop
        _close(con, run, outcome, started, clock, None, f"interrupted: {type(e).__name__}", on_finish)
        raise
    outcome.exception = error  # before closing: on_finish decides on retries from it
    _close(con, run, outcome, started, clock, result, error, on_finish)
    return outcome


def _close(con: Any, run: QueryRun, outcome: RunOutcome, started: datetime, clock: float,
           result: Result | None, error: LeadQLError | str | None, on_finish: Any) -> None:  # fmt: skip
    outcome.seconds = time.perf_counter() - clock
    if error is not None:
        outcome.status = "failed"
        outcome.error = error if isinstance(error, str) else error.render()
    else:
        assert result is not None
        outcome.rows = len(result)
        partial = first_row(con.execute(
            f"SELECT count(*) FROM {store.RUNS} WHERE query_run_id = ? AND status = 'partial'",
            [run.query_run_id],
        ))[0]  # fmt: skip
        outcome.status = "partial" if partial else "ok"
        outcome.result = result
        broken = [w for w in result.warnings if w.startswith("source ") and " failed" in w]
        if broken and partial:  # sources failed: say so; with nothing delivered, it is a failure
            outcome.error = "; ".join(broken)
            if outcome.rows == 0:
                outcome.status = "failed"
    plan = getattr(result.plan, "summary", None) if result is not None else None
    with transaction(con):
        outcome.spent = store.finish_query_run(
            con, run.query_run_id, status=outcome.status, finished_at=started_at_plus(started, outcome.seconds),
            seconds=outcome.seconds, rows=outcome.rows, error=outcome.error,
            plan=plan() if callable(plan) else None,
        )  # fmt: skip
        if run.budget is not None:
            con.execute(f"UPDATE {store.QUERY_RUNS} SET budget = ? WHERE query_run_id = ?",
                        [run.budget, run.query_run_id])  # fmt: skip
        if on_finish is not None:
            on_finish(con, outcome)
    if result is not None:
        head = f"run {run.query_run_id} of {run.query.name}"
        result.message = f"{head}: {result.message}" if result.message else head
        result.warnings = list(dict.fromkeys([*result.warnings, *run.notes]))


def started_at_plus(started: datetime, seconds: float) -> datetime:
    from datetime import timedelta

    return started + timedelta(seconds=seconds)
