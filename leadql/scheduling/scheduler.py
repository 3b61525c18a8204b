"""`leadql scheduler`: run the saved queries whose time has come.

One tick: open the workspace (waiting while another process has it: DuckDB lets one process
write a database file at a time), mark runs whose process died as `abandoned`, then for each
due schedule take its lease, run the query, and in the transaction that closes the run, move
the schedule on (next occurrence, or a retry with backoff) and give the lease back; then close
the workspace, so that the REPL and other processes can use it between ticks.

Exactly once: a job is only run under its lease, the lease is taken in a committed UPDATE, and
the run and the schedule's next time commit together; so two schedulers (processes or threads)
never run one occurrence twice. A lease whose holder died is taken over at once when the holder
was a process on this host (its pid is gone), otherwise when the lease expires.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadql.catalog.migrations import transaction
from leadql.errors import (
    LeadQLConstraintError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLSyntaxError,
    LeadQLTypeError,
)
from leadql.scheduling import store
from leadql.scheduling.log import default_log_path, logger_for
from leadql.scheduling.runner import RunOutcome, process_owner, run_saved_query
from leadql.scheduling.timing import next_run, utc_now

if TYPE_CHECKING:
    from leadql.workspace import Workspace

# The query itself is wrong: running it again will not help, so it is reported at once.
NOT_RETRIED = (LeadQLSyntaxError, LeadQLNameError, LeadQLTypeError, LeadQLSemanticError, LeadQLConstraintError)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries per occurrence, the first one included
    delay: float = 60.0  # seconds before the first retry; doubled for each further one
    max_delay: float = 3600.0

    def wait(self, attempt: int) -> timedelta:
        """How long after failed attempt number `attempt` (1-based) the next one starts."""
        return timedelta(seconds=min(self.max_delay, self.delay * 2 ** max(0, attempt - 1)))


class Scheduler:
    """Runs due saved queries of one workspace: `run_due()` once, or `run_forever()`.

    `workspace` is a path (opened for each tick and closed after) or an open Workspace (used as
    is; e.g. from Python, or tests). `clock` returns naive UTC now."""

    def __init__(
        self,
        workspace: str | Path | Workspace,
        *,
        retry: RetryPolicy | None = None,
        lease_seconds: float = 3600.0,
        log_path: str | Path | None = None,
        busy_wait: float = 30.0,
        clock: Any = utc_now,
        echo: Any = None,
    ) -> None:
        from leadql.workspace import Workspace

        if isinstance(workspace, Workspace):
            self.ws: Workspace | None = workspace
            self.path = workspace.path
        else:
            self.ws, self.path = None, str(workspace)
        self.retry = retry or RetryPolicy()
        self.lease = timedelta(seconds=lease_seconds)
        self.busy_wait = busy_wait
        self.clock = clock
        self.echo = echo  # callable(line) for each run, e.g. print
        self.owner = process_owner()
        self.log_file = Path(log_path) if log_path is not None else default_log_path(self.path)
        self.log = logger_for(self.log_file)
        self.next_due: datetime | None = None

    # ------------------------------------------------------------------ one tick
    def run_due(self, now: datetime | None = None) -> list[RunOutcome]:
        """Run every job due at `now` (default: the clock); return what each run came to."""
        if self.ws is not None:
            return self._tick(self.ws, now)
        ws = self._open()
        try:
            return self._tick(ws, now)
        finally:
            ws.close()

    def _tick(self, ws: Workspace, now: datetime | None) -> list[RunOutcome]:
        fixed = now
        outcomes: list[RunOutcome] = []
        with ws._lock:
            outcomes += self._reap(ws, fixed or self.clock())
            start = fixed or self.clock()
            due = [s.name_key for s in store.all_schedules(ws.con) if s.due_at <= start]
        for key in due:
            with ws._lock:
                outcome = self._run_one(ws, key, fixed)
            if outcome is not None:
                outcomes.append(outcome)
        with ws._lock:
            pending = [s.due_at for s in store.all_schedules(ws.con)]
        self.next_due = min(pending) if pending else None
        for outcome in outcomes:
            self._report(ws, outcome)
        return outcomes

    def _run_one(self, ws: Workspace, key: str, fixed: datetime | None) -> RunOutcome | None:
        now = fixed or self.clock()
        if not self._claim(ws, key, now):
            return None
        row = store.get_schedule(ws.con, key)
        assert row is not None
        query = store.get_query(ws.catalog, row.query_name)
        if query is None:  # dropped under us: DROP QUERY removes the schedule too, so only by hand
            with transaction(ws.con):
                store.delete_schedule(ws.con, key)
            return None

        def advance(con: Any, outcome: RunOutcome) -> None:
            self._advance(con, row, outcome, fixed or self.clock())

        return run_saved_query(ws, query, trigger="schedule", scheduled_for=row.next_run,
                               attempt=row.attempt + 1, owner=self.owner, now=now, on_finish=advance)  # fmt: skip

    def _claim(self, ws: Workspace, key: str, now: datetime) -> bool:
        """Take the job's lease if it is still due and free (or its lease expired)."""
        con = ws.con
        with transaction(con):
            row = store.get_schedule(con, key)
            if row is None or row.due_at > now:
                return False  # unscheduled, or another scheduler ran it meanwhile
            if row.lease_owner is not None and row.lease_owner != self.owner:
                if row.lease_expires is not None and row.lease_expires > now and not _dead(row.lease_owner):
                    return False
            store.update_schedule(con, key, lease_owner=self.owner, lease_expires=now + self.lease)
        return True

    def _advance(self, con: Any, row: store.ScheduleRow, outcome: RunOutcome, now: datetime) -> None:
        """Move the schedule on after a run (inside the run's closing transaction)."""
        error = outcome.exception
        retryable = outcome.status in ("failed", "abandoned") and not isinstance(error, NOT_RETRIED)
        attempt = row.attempt + 1
        if retryable and attempt < self.retry.attempts:
            retry_at = now + self.retry.wait(attempt)
            outcome.retry_at = retry_at
            store.update_schedule(con, row.name_key, attempt=attempt, retry_at=retry_at, lease_owner=None,
                                  lease_expires=None, last_run_id=outcome.query_run_id)  # fmt: skip
            return
        if outcome.status in ("failed", "abandoned"):
            why = "not retried: the query itself is wrong" if not retryable else f"gave up after {attempt} attempts"
            outcome.gave_up = why
        upcoming = next_run(row.timing, row.anchor, max(now, row.next_run))
        store.update_schedule(con, row.name_key, attempt=0, retry_at=None, next_run=upcoming, lease_owner=None,
                              lease_expires=None, last_run_id=outcome.query_run_id)  # fmt: skip

    # ------------------------------------------------------------------ crashed runs
    def _reap(self, ws: Workspace, now: datetime) -> list[RunOutcome]:
        """Runs left `running` by a process that died become `abandoned`; their schedules retry."""
        con = ws.con
        outcomes = []
        schedules = {s.name_key: s for s in store.all_schedules(con)}
        for run_id, key, owner, started in store.running_runs(con):
            sched = schedules.get(key)
            held = sched is not None and sched.lease_owner == owner
            expired = (sched.lease_expires <= now if held and sched.lease_expires else started + self.lease <= now)
            if owner == self.owner or not (_dead(owner) or expired):
                continue
            outcome = RunOutcome(run_id, sched.query_name if sched else key, "schedule" if held else "manual",
                                 "abandoned", (sched.attempt + 1) if held else 1)  # fmt: skip
            outcome.error = (f"abandoned: the process running it ({owner}) stopped before it finished; "
                             "what it was buying was rolled back with it")  # fmt: skip
            with transaction(con):
                con.execute(
                    f"UPDATE {store.QUERY_RUNS} SET status = 'abandoned', finished_at = ?, error = ?, "
                    f"spent = (SELECT coalesce(sum(spent), 0) FROM {store.RUNS} WHERE query_run_id = ?) "
                    "WHERE query_run_id = ? AND status = 'running'", [now, outcome.error, run_id, run_id],
                )  # fmt: skip
                if held:
                    self._advance(con, sched, outcome, now)
            outcomes.append(outcome)
        for key, sched in schedules.items():  # a lease taken by a process that died before running
            if sched.lease_owner and sched.lease_owner != self.owner and (
                _dead(sched.lease_owner) or (sched.lease_expires and sched.lease_expires <= now)
            ):
                with transaction(con):
                    store.update_schedule(con, key, lease_owner=None, lease_expires=None)
        return outcomes

    # ------------------------------------------------------------------ reporting
    def _report(self, ws: Workspace, outcome: RunOutcome) -> None:
        """One log line per run: ERROR when it failed for good, WARNING when it will be retried
        or was capped by MAX SPEND, INFO when it worked."""
        import logging

        line = outcome.log_line()
        if self.log is not None:
            failed = outcome.status in ("failed", "abandoned")
            level = logging.INFO
            if failed or outcome.status == "capped":
                level = logging.WARNING if outcome.retry_at is not None or not failed else logging.ERROR
            try:
                self.log.log(level, line)
            except Exception:  # noqa: BLE001 - logging must never lose a finished run
                pass
        if self.echo is not None:
            self.echo(line)

    # ------------------------------------------------------------------ the loop
    def run_forever(self, *, poll: float = 30.0, stop: threading.Event | None = None) -> None:
        """Tick until `stop` is set (SIGTERM and SIGINT set it for `leadql scheduler`)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.run_due()
            except LeadQLExecutionError as e:
                if "busy" not in e.message:
                    raise
                if self.log is not None:
                    self.log.warning(f"workspace busy: {e.message}")
                self.next_due = None
            wait = poll
            if self.next_due is not None:
                wait = min(poll, max(0.2, (self.next_due - self.clock()).total_seconds()))
            stop.wait(wait)

    def _open(self) -> Workspace:
        from leadql.workspace import Workspace

        deadline = time.monotonic() + self.busy_wait
        pause = 0.05
        while True:
            try:
                return Workspace(self.path)
            except LeadQLExecutionError as e:
                if "lock" not in e.message.lower():
                    raise
                if time.monotonic() >= deadline:
                    raise LeadQLExecutionError(
                        f"workspace {self.path} is busy: another process has had it open for "
                        f"{self.busy_wait:g} s", hint="the scheduler runs jobs when the workspace is free; "
                        "close the REPL or application holding it, or raise --wait",
                    ) from None  # fmt: skip
                time.sleep(pause)
                pause = min(1.0, pause * 2)


def _dead(owner: str | None) -> bool:
    """True when `owner` ("host:pid:token") was a process on this host that no longer exists."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed child not yet reaped by its parent still has a pid; /proc says it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
