"""Saved queries and the scheduler: SAVE/RUN/SCHEDULE/UNSCHEDULE, run history, MAX SPEND caps,
retries with backoff, a scheduled FIND never re-buying what an earlier run delivered, two
schedulers in two processes, and a run killed mid-way losing or double-buying nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import leadql
from leadql.scheduling import RetryPolicy, Scheduler
from leadql.scheduling.log import close_loggers
from leadql.scheduling.timing import (
    Timing,
    first_run,
    next_run,
    occurrence,
    period_start,
    zone_named,
)

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 400


def _write_vendor(folder: Path, name: str = "prospects", rows: int = PEOPLE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    states = ["CA", "NY", "TX", "WA"]
    lines = ["id,email,first,last,state,fico"]
    for i in range(rows):
        lines.append(f"{i},person{i}@example.com,First{i},Last{i},{states[i % 4]},{600 + (i * 7) % 250}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CATALOG = """
CREATE SOURCE prospects FROM '{path}' KEY id
  MAP (email = email, first_name = first, last_name = last, state = state, fico = fico)
  PRICE 0.10 PER RECORD QUALITY 0.9;
ANALYZE;
"""
DAILY = "FIND 20 leads WITH email, fico WHERE fico >= 650 BUDGET 5 INTO LIST daily_list"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scheduling")
    vendor = _write_vendor(folder / "vendors")
    path = folder / "base.leadql"
    with leadql.connect(path) as ws:
        ws.execute(CATALOG.format(path=vendor))
    return path, vendor


@pytest.fixture
def path(base, tmp_path):
    target = tmp_path / "ws.leadql"
    shutil.copy(base[0], target)
    yield target
    close_loggers()


@pytest.fixture
def ws(path):
    with leadql.connect(path) as workspace:
        yield workspace


def _ids(result) -> set[str]:
    return set(result.to_arrow().column("lead_id").to_pylist())


T0 = datetime(2027, 3, 1, 9, 0)  # a Monday, UTC


# ------------------------------------------------------------------------ timing


def test_every_day_at_a_time_of_day_in_the_schedules_zone() -> None:
    timing = Timing(1, "day", "06:00", None, "America/New_York")
    anchor, first = first_run(timing, datetime(2027, 3, 6, 12, 0))  # 07:00 in New York: 06:00 has passed
    assert first == datetime(2027, 3, 7, 11, 0)  # 06:00 EST = 11:00 UTC, the next day
    # Daylight saving starts on 14 March 2027: 06:00 stays 06:00 on the wall clock.
    assert occurrence(timing, anchor, 7) == datetime(2027, 3, 14, 10, 0)
    assert next_run(timing, anchor, datetime(2027, 3, 14, 10, 0)) == datetime(2027, 3, 15, 10, 0)


def test_every_without_at_runs_now_then_at_a_fixed_rate_and_coalesces_missed_runs() -> None:
    timing = Timing(15, "minute", None, None, "UTC")
    anchor, first = first_run(timing, T0)
    assert anchor == first == T0
    assert next_run(timing, anchor, T0) == T0 + timedelta(minutes=15)
    # The scheduler was down for 5 hours: the next run is the next slot, not 20 missed ones.
    assert next_run(timing, anchor, T0 + timedelta(hours=5, minutes=1)) == T0 + timedelta(hours=5, minutes=15)


def test_every_month_keeps_the_day_clamped_to_short_months() -> None:
    timing = Timing(1, "month", "08:00", None, "UTC")
    anchor, first = first_run(timing, datetime(2027, 1, 31, 7, 0))
    assert first == datetime(2027, 1, 31, 8, 0)
    assert occurrence(timing, anchor, 1) == datetime(2027, 2, 28, 8, 0)
    assert occurrence(timing, anchor, 2) == datetime(2027, 3, 31, 8, 0)
    assert next_run(timing, anchor, datetime(2027, 3, 1)) == datetime(2027, 3, 31, 8, 0)


def test_cron_on_weekdays_and_spend_periods() -> None:
    timing = Timing(cron="0 6 * * 1-5", timezone="UTC")
    friday_noon = datetime(2027, 3, 5, 12, 0)
    assert next_run(timing, friday_noon, friday_noon) == datetime(2027, 3, 8, 6, 0)  # Monday
    utc = zone_named("UTC")
    assert period_start("month", datetime(2027, 3, 17, 15, 30), utc) == datetime(2027, 3, 1)
    assert period_start("week", datetime(2027, 3, 17, 15, 30), utc) == datetime(2027, 3, 15)
    assert period_start("day", datetime(2027, 3, 17, 15, 30), utc) == datetime(2027, 3, 17)


# ------------------------------------------------------------------------ statements


def test_save_show_describe_drop_and_their_errors(ws) -> None:
    assert ws.execute(f"SAVE QUERY daily AS {DAILY}").message == "saved query daily (FIND)"
    with pytest.raises(leadql.LeadQLNameError, match="saved query `daily` already exists") as caught:
        ws.execute(f"SAVE QUERY Daily AS {DAILY}")
    assert "OR REPLACE" in caught.value.hint
    ws.execute("SAVE QUERY ca AS FIND 5 leads WITH email WHERE state = $s BUDGET 2", {"s": "CA"})
    ws.execute("SAVE QUERY report AS SELECT count(*) AS n FROM range(3)")
    # Saving checks what every run would need: an unknown category fails now, not at 06:00.
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute("SAVE QUERY bad AS FIND 5 leads WITH emial BUDGET 2")
    assert caught.value.column == 37 and "email" in (caught.value.hint or "")
    with pytest.raises(leadql.LeadQLNameError):
        ws.execute("SAVE QUERY bad AS SELECT * FROM no_such_table")

    shown = ws.execute("SHOW QUERIES")
    assert [r[:2] for r in shown.rows] == [("ca", "FIND"), ("daily", "FIND"), ("report", "SELECT")]
    described = dict(ws.execute("DESCRIBE QUERY ca").rows)
    assert described["query"] == "FIND 5 leads WITH email WHERE state = $s BUDGET 2"
    assert '"CA"' in described["parameters"] and described["runs"] == "0"

    with pytest.raises(leadql.LeadQLNameError, match="no saved query named `dialy`") as caught:
        ws.execute("RUN QUERY dialy")
    assert caught.value.hint == "did you mean `daily`?" and caught.value.column == 11
    with pytest.raises(leadql.LeadQLNameError, match="not scheduled"):
        ws.execute("UNSCHEDULE daily")
    with pytest.raises(leadql.LeadQLSyntaxError, match="not a valid cron expression"):
        ws.execute("SCHEDULE daily CRON '61 * * * *'")
    with pytest.raises(leadql.LeadQLSemanticError, match="AT means nothing"):
        ws.execute("SCHEDULE daily EVERY 5 MINUTES AT '06:00'")
    # schedules no calendar or scheduler can hold are refused when made, not when they run
    with pytest.raises(leadql.LeadQLSyntaxError, match="'0 0 30 2 \\*' never fires"):
        ws.execute("SCHEDULE daily CRON '0 0 30 2 *'")
    for every in ("9000 YEARS", "99999999999999 YEARS", "1300 MONTHS"):
        with pytest.raises(leadql.LeadQLTypeError, match="more than 100 years between runs") as caught:
            ws.execute(f"SCHEDULE daily EVERY {every}")
        assert caught.value.column == 16
    with pytest.raises(leadql.LeadQLSemanticError, match="MAX SPEND cannot be counted PER minute"):
        ws.execute("SCHEDULE daily EVERY DAY MAX SPEND 5 PER MINUTE")
    with pytest.raises(leadql.LeadQLTypeError, match="MAX SPEND is at most 1,000,000,000 USD"):
        ws.execute("SCHEDULE daily EVERY DAY MAX SPEND 1e400 PER DAY")
    assert ws.execute("SHOW SCHEDULES").rows == []
    warned = ws.execute("SCHEDULE report EVERY DAY MAX SPEND 10 PER MONTH")
    assert any("spends nothing" in w for w in warned.warnings)

    ws.execute("SAVE QUERY more AS FIND 5 leads WITH email EXCLUDE QUERY daily BUDGET 2")
    with pytest.raises(leadql.LeadQLExecutionError, match="more EXCLUDE QUERY daily"):
        ws.execute("DROP QUERY daily")
    assert ws.execute("DROP QUERY more").message.startswith("dropped query more")
    assert ws.execute("DROP QUERY IF EXISTS more").message == "no saved query more; nothing dropped"
    ws.execute("DROP QUERY report")
    assert ws.execute("SHOW SCHEDULES").rows == []  # the schedule went with the query


def test_parameters_are_kept_as_values_not_text(ws) -> None:
    hostile = "CA' OR 1=1 --"
    ws.execute("SAVE QUERY q AS FIND 5 leads WITH email WHERE last_name = $s BUDGET 2", {"s": hostile})
    result = ws.execute("RUN QUERY q")
    assert len(result) == 0  # nobody lives in that "state"
    with pytest.raises(leadql.LeadQLTypeError, match="cannot be used in a FIND condition"):
        ws.execute("SAVE QUERY q2 AS FIND 5 leads WITH email WHERE state = $s BUDGET 2", {"s": object()})


def test_runs_of_a_saved_find_never_buy_the_same_lead_twice(ws) -> None:
    ws.execute(f"SAVE QUERY daily AS {DAILY}")
    first, second = ws.execute("RUN QUERY daily"), ws.execute("RUN QUERY daily")
    assert len(first) == len(second) == 20
    assert not _ids(first) & _ids(second)
    assert first.message.startswith("run q") and " of daily: found 20 of 20 leads" in first.message
    # Without INTO LIST too: the query remembers what each run delivered.
    ws.execute("SAVE QUERY ny AS FIND 10 leads WITH email WHERE state = 'NY' BUDGET 5")
    a, b = ws.execute("RUN QUERY ny"), ws.execute("RUN QUERY ny")
    assert len(a) == len(b) == 10 and not _ids(a) & _ids(b)
    # EXCLUDE QUERY in any FIND: nobody either run of ny delivered.
    other = ws.execute("FIND 100 leads WITH email WHERE state = 'NY' EXCLUDE QUERY ny BUDGET 20")
    assert len(other) == PEOPLE // 4 - 20 and not _ids(other) & (_ids(a) | _ids(b))

    runs = ws.execute("SHOW RUNS daily")
    assert runs.columns[:6] == ["run_id", "trigger", "scheduled_for", "attempt", "started_at", "status"]
    assert [(r[1], r[5], r[6]) for r in runs.rows] == [("manual", "ok", 20), ("manual", "ok", 20)]
    assert all(Decimal("2") <= r[8] <= Decimal("5") for r in runs.rows)  # 20+ records at $0.10, ≤ BUDGET
    # The warehouse's own run history names the saved query that made each FIND.
    assert {r[-1] for r in ws.execute("SHOW RUNS").rows} == {"daily", "ny", None}


def test_a_failed_run_is_recorded_and_raised(ws, base) -> None:
    ws.execute("SAVE QUERY q AS FIND 5 leads WITH email QUALITY >= 0.99 BUDGET 2")
    with pytest.raises(leadql.LeadQLError, match=r"run q\w+ of saved query q failed") as caught:
        ws.execute("RUN QUERY q")
    assert caught.value.text and "QUALITY >= 0.99" in caught.value.text  # the caret points into q
    (row,) = ws.execute("SHOW RUNS q").rows
    assert row[5] == "failed" and "QUALITY" in row[10]


# ------------------------------------------------------------------------ the scheduler


def test_scheduler_runs_due_jobs_once_and_moves_them_on(ws, path) -> None:
    ws.execute(f"SAVE QUERY daily AS {DAILY}")
    ws.execute("SCHEDULE daily EVERY 1 DAY")
    lines: list[str] = []
    scheduler = Scheduler(ws, echo=lines.append)
    (outcome,) = scheduler.run_due()
    assert outcome.status == "ok" and outcome.rows == 20 and outcome.trigger == "schedule"
    assert scheduler.run_due() == []  # not due again until tomorrow
    (row,) = ws.execute("SHOW SCHEDULES").rows
    assert row[4] == "waiting" and row[10] == outcome.query_run_id
    tomorrow = row[3]
    (again,) = scheduler.run_due(now=tomorrow + timedelta(seconds=1))
    assert again.status == "ok" and again.scheduled_for == tomorrow
    log = Path(str(path) + ".log").read_text(encoding="utf-8").splitlines()
    assert len(log) == 2 and all("INFO" in line for line in log)
    assert f"run={outcome.query_run_id} query=daily trigger=schedule status=ok attempt=1 rows=20" in log[0]
    assert lines == [outcome.log_line(), again.log_line()]


def test_max_spend_lowers_the_budget_then_caps_the_runs(ws) -> None:
    ws.execute("SAVE QUERY daily AS FIND 20 leads WITH email BUDGET 5 INTO LIST daily_list")
    ws.execute("SCHEDULE daily EVERY 1 DAY MAX SPEND 7 PER MONTH")
    scheduler = Scheduler(ws)
    now = datetime(2027, 3, 1, 9, 0)  # the scheduler's clock; the cap counts March from the 1st
    ws.con.execute("UPDATE _leadql.schedules SET next_run = ?, anchor = ?", [now, now])
    outcomes = []
    for day in range(6):
        (outcome,) = scheduler.run_due(now=now + timedelta(days=day, seconds=1))
        outcomes.append(outcome)
        if outcome.status == "capped":
            break
    assert outcomes[0].status == "ok" and outcomes[-1].status == "capped"
    assert "MAX SPEND 7.000000 PER MONTH is used up" in outcomes[-1].error
    assert sum(o.spent for o in outcomes) <= Decimal("7")  # never more than the cap
    rows = ws.execute("SHOW RUNS daily").rows
    spent_before = Decimal(0)
    for row in rows[:-1]:  # each ran with what the cap left, at most its own BUDGET
        assert row[7] == min(Decimal(5), Decimal(7) - spent_before)
        assert row[8] <= row[7]
        spent_before += row[8]
    assert any("the budget is lowered" in w for o in outcomes if o.result for w in o.result.warnings)
    # April is a new period: the cap is fresh again.
    (april,) = scheduler.run_due(now=datetime(2027, 4, 1, 9, 0, 1))
    assert april.status == "ok" and april.rows == 20
    delivered = ws.execute("SELECT count(*), count(DISTINCT lead_id) FROM daily_list").rows[0]
    assert delivered[0] == delivered[1]  # no lead bought twice


def test_a_failing_job_is_retried_with_backoff_then_reported(ws, path, base) -> None:
    vendor = _write_vendor(path.parent / "flaky", "flaky", rows=50)
    ws.execute(f"CREATE SOURCE flaky FROM '{vendor}' KEY id MAP (email = email) PRICE 0.01 PER RECORD QUALITY 0.9")
    ws.execute("ANALYZE flaky")
    ws.execute("SAVE QUERY q AS FIND 5 leads WITH email FROM SOURCES flaky BUDGET 1")
    ws.execute("SCHEDULE q EVERY 1 DAY")
    moved = vendor.with_suffix(".gone")
    vendor.rename(moved)
    scheduler = Scheduler(ws, retry=RetryPolicy(attempts=3, delay=60))
    start = datetime.now().replace(microsecond=0) + timedelta(seconds=1)
    (first,) = scheduler.run_due(now=start)
    assert first.status == "failed" and first.retry_at == start + timedelta(seconds=60)
    assert scheduler.run_due(now=start + timedelta(seconds=30)) == []  # backing off
    (second,) = scheduler.run_due(now=start + timedelta(seconds=61))
    assert second.attempt == 2 and second.retry_at == start + timedelta(seconds=61 + 120)
    (third,) = scheduler.run_due(now=start + timedelta(seconds=200))
    assert third.attempt == 3 and third.retry_at is None and third.gave_up == "gave up after 3 attempts"
    log = Path(str(path) + ".log").read_text(encoding="utf-8").splitlines()
    assert [("WARNING" in x, "ERROR" in x) for x in log] == [(True, False), (True, False), (False, True)]
    assert all(f"run={o.query_run_id}" in x for o, x in zip((first, second, third), log, strict=True))
    # The next occurrence is tomorrow; the file is back by then, and the job works again.
    moved.rename(vendor)
    (ok,) = scheduler.run_due(now=start + timedelta(days=1, seconds=1))
    assert ok.status == "ok" and ok.attempt == 1 and ok.rows == 5


def test_a_query_that_is_wrong_is_not_retried(ws) -> None:
    ws.execute("SAVE QUERY q AS FIND 5 leads WITH email QUALITY >= 0.99 BUDGET 2")
    ws.execute("SCHEDULE q EVERY 1 HOUR")
    (outcome,) = Scheduler(ws).run_due()
    assert outcome.status == "failed" and outcome.retry_at is None
    assert outcome.gave_up == "not retried: the query itself is wrong"


def test_two_schedulers_in_threads_share_one_workspace_without_running_a_job_twice(ws) -> None:
    for name in ("a", "b", "c"):
        ws.execute(f"SAVE QUERY {name} AS FIND 5 leads WITH email WHERE state = 'TX' BUDGET 1")
        ws.execute(f"SCHEDULE {name} EVERY 1 DAY")
    schedulers = [Scheduler(ws), Scheduler(ws)]
    results: list[list] = [[], []]
    threads = [threading.Thread(target=lambda i=i: results[i].extend(schedulers[i].run_due())) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ran = sorted(o.query for r in results for o in r)
    assert ran == ["a", "b", "c"]


def _scheduler_process(path: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "leadql", "-d", str(path), "scheduler", "--once", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


def test_two_scheduler_processes_never_run_a_job_twice(ws, path) -> None:
    names = ["a", "b", "c", "d"]
    for name in names:
        ws.execute(f"SAVE QUERY {name} AS FIND 5 leads WITH email WHERE state = 'WA' BUDGET 1 INTO LIST wa")
        ws.execute(f"SCHEDULE {name} EVERY 1 DAY")
    ws.close()
    procs = [_scheduler_process(path, "--wait", "120") for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    printed = "".join(out for out, _ in outputs)
    assert sorted(line.split()[1] for line in printed.splitlines() if line.startswith("run=")) == [
        f"query={n}" for n in names]  # fmt: skip
    with leadql.connect(path) as again:
        runs = again.execute("SELECT name_key, count(*) FROM _leadql.query_runs GROUP BY 1 ORDER BY 1").rows
        assert runs == [(n, 1) for n in names]
        # Each query delivered 5 people; each excludes only its own earlier runs.
        assert again.execute("SELECT count(*) FROM wa").rows == [(20,)]
    log = Path(str(path) + ".log").read_text(encoding="utf-8").splitlines()
    assert len(log) == 4 and len({line.split("pid=")[1].split()[0] for line in log}) in (1, 2)


KILLED_CHILD = textwrap.dedent("""
    import sys, time
    from leadql.warehouse import lists
    from leadql.scheduling import Scheduler

    path, marker = sys.argv[1], sys.argv[2]
    insert_rows = lists._insert_rows

    def slow(*args, **kwargs):  # stop inside the list's transaction, after buying
        insert_rows(*args, **kwargs)
        open(marker, "w").write("inside")
        time.sleep(120)

    lists._insert_rows = slow
    Scheduler(path).run_due()
""")


def test_a_run_killed_mid_way_loses_nothing_and_buys_nothing_twice(ws, path) -> None:
    ws.execute(f"SAVE QUERY daily AS {DAILY}")
    ws.execute("SCHEDULE daily EVERY 1 DAY")
    (first,) = Scheduler(ws).run_due()  # one good run: 20 leads in the list
    before = ws.execute("SELECT lead_id FROM daily_list ORDER BY 1").rows
    spent_before = ws.execute("SELECT sum(spent) FROM _leadql.runs").rows
    # Make it due again, as tomorrow would, and let a scheduler process die inside the write.
    ws.con.execute("UPDATE _leadql.schedules SET next_run = next_run - INTERVAL 2 DAY")
    ws.close()
    marker = path.parent / "inside"
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(path), str(marker)],
                             env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None and time.monotonic() < deadline, "the child never reached the write"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(30)

    with leadql.connect(path) as after:
        assert after.execute("SELECT lead_id FROM daily_list ORDER BY 1").rows == before  # nothing half-written
        assert after.execute("SELECT sum(spent) FROM _leadql.runs").rows == spent_before  # nothing paid
        assert [r[5] for r in after.execute("SHOW RUNS daily").rows] == ["ok", "running"]
        # The next scheduler sees the dead process's run, marks it abandoned and retries it.
        outcomes = Scheduler(after, retry=RetryPolicy(delay=0)).run_due()
        assert [o.status for o in outcomes] == ["abandoned", "ok"]
        assert "stopped before it finished" in outcomes[0].error
        statuses = [r[5] for r in after.execute("SHOW RUNS daily").rows]
        assert statuses == ["ok", "abandoned", "ok"]
        ids = after.execute("SELECT count(*), count(DISTINCT lead_id) FROM daily_list").rows
        assert ids == [(40, 40)]  # the retry bought 20 new people, none of the first run's
        assert first.query_run_id in {r[0] for r in after.execute("SHOW RUNS daily").rows}


def test_cli_scheduler_once(path, capsys) -> None:
    from leadql.cli import main

    with leadql.connect(path) as ws:
        ws.execute("SAVE QUERY r AS SELECT 42 AS answer")
        ws.execute("SCHEDULE r EVERY 1 HOUR")
    assert main(["-d", str(path), "scheduler", "--once"]) == 0
    out = capsys.readouterr().out
    assert "query=r trigger=schedule status=ok attempt=1 rows=1" in out
    assert main(["-d", str(path), "scheduler", "--once"]) == 0
    assert capsys.readouterr().out.strip() == "nothing due"
    assert main(["-d", str(path.parent / "missing.leadql"), "scheduler", "--once"]) == 2
    assert main(["-d", ":memory:", "scheduler", "--once"]) == 2
    assert main(["-d", str(path), "scheduler", "--once", "--poll", "0"]) == 2


def test_a_time_zone_asked_for_by_name_must_exist(ws, monkeypatch) -> None:
    ws.execute("SAVE QUERY q AS SELECT 1 AS a")
    monkeypatch.setenv("LEADQL_TIMEZONE", "Mars/Olympus")
    with pytest.raises(leadql.LeadQLExecutionError, match="unknown time zone 'Mars/Olympus'") as caught:
        ws.execute("SCHEDULE q EVERY DAY AT '06:00'")
    assert "LEADQL_TIMEZONE" in caught.value.hint
    monkeypatch.setenv("LEADQL_TIMEZONE", "Europe/Berlin")
    assert "(Europe/Berlin)" in ws.execute("SCHEDULE q EVERY DAY AT '06:00'").message


def test_a_saved_query_must_bind_every_parameter_when_saved(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError, match=r"no value for parameter \$x: a saved query keeps") as caught:
        ws.execute("SAVE QUERY q AS SELECT $x AS a")
    assert caught.value.column == 24 and "params={'x': ...}" in caught.value.hint
    for value, words in ((object(), "it is an object"), (10**40, "beyond 128 bits")):
        with pytest.raises(leadql.LeadQLTypeError, match=words):
            ws.execute("SAVE QUERY q AS SELECT $x AS a", {"x": value})
    assert ws.execute("SHOW QUERIES").rows == []
    ws.execute("SAVE QUERY q AS SELECT $x AS a", {"x": 7})
    assert ws.execute("RUN QUERY q").rows == [(7,)]


def test_errors_in_parameters_point_at_the_parameter(ws) -> None:
    ws.execute("SAVE QUERY q AS SELECT 1 AS a")
    with pytest.raises(leadql.LeadQLTypeError, match="MAX SPEND cannot be negative") as caught:
        ws.execute("SCHEDULE q EVERY DAY MAX SPEND $m PER DAY", {"m": -1})
    assert caught.value.column == 32
    with pytest.raises(leadql.LeadQLTypeError, match="AT '25:00' is not a time of day") as caught:
        ws.execute("SCHEDULE q EVERY DAY AT $a", {"a": "25:00"})
    assert caught.value.column == 25


def test_run_query_says_when_passed_values_are_not_the_saved_ones(ws) -> None:
    ws.execute("SAVE QUERY q AS SELECT $x AS a", {"x": 7})
    result = ws.execute("RUN QUERY q", {"x": 8})
    assert result.rows == [(7,)]
    assert result.warnings == ["q ran with the values it was saved with ($x); "
                               "SAVE OR REPLACE QUERY q … with new values changes them"]  # fmt: skip
    assert ws.execute("RUN QUERY q", {"x": 7}).warnings == []
