"""Scheduler overhead per job, against running the same statements directly in the same run.

    python bench/bench_scheduler.py [--jobs 50] [--people 20000]

1. Trivial jobs: N saved `SELECT` queries, all due, run by one `Scheduler.run_due()` on an open
   workspace, against `ws.execute` of the same N statements. The difference per job is what the
   scheduler adds: the lease, the `running` row, the closing transaction, the next occurrence,
   the log line.
2. FIND jobs: a saved FIND run by the scheduler against the same FIND run directly, each on a
   fresh copy of one workspace of generated sample data (medians of interleaved runs). The
   scheduled one also suppresses its earlier deliveries (none on a first run) and records the
   leads it delivered.
3. An idle tick from a path: open the workspace, find nothing due, close it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import leadql  # noqa: E402
from leadql.sample import generate  # noqa: E402
from leadql.scheduling import Scheduler  # noqa: E402
from leadql.scheduling.log import close_loggers  # noqa: E402

FIND = "FIND 200 leads WITH email, fico WHERE fico >= 680 AND state IN ('CA', 'NY', 'TX') BUDGET 80"


def bench_trivial(folder: Path, jobs: int) -> dict[str, float]:
    path = folder / "trivial.leadql"
    with leadql.connect(path) as ws:
        for i in range(jobs):
            ws.execute(f"SAVE QUERY q{i} AS SELECT {i} AS n, sum(range) AS s FROM range(1000)")
            ws.execute(f"SCHEDULE q{i} EVERY 1 MINUTE")
        started = time.perf_counter()
        for i in range(jobs):
            ws.execute(f"SELECT {i} AS n, sum(range) AS s FROM range(1000)")
        direct = (time.perf_counter() - started) / jobs
        scheduler = Scheduler(ws, log_path=folder / "trivial.log")
        started = time.perf_counter()
        outcomes = scheduler.run_due()
        scheduled = (time.perf_counter() - started) / jobs
        assert len(outcomes) == jobs and all(o.status == "ok" for o in outcomes)
    return {"direct_ms": direct * 1e3, "scheduled_ms": scheduled * 1e3}


def bench_find(folder: Path, people: int, repeats: int) -> dict[str, float]:
    data = generate(folder / "data", people=people, seed=7)
    base = folder / "base.leadql"
    with leadql.connect(base) as ws:
        ws.execute(data.catalog_script())
        ws.execute("ANALYZE")
    direct, scheduled = [], []
    for r in range(repeats):
        for mode in ("direct", "scheduled"):
            path = folder / f"{mode}{r}.leadql"
            shutil.copy(base, path)
            with leadql.connect(path) as ws:
                if mode == "direct":
                    started = time.perf_counter()
                    result = ws.execute(FIND + " INTO LIST l")
                    direct.append(time.perf_counter() - started)
                else:
                    ws.execute(f"SAVE QUERY q AS {FIND} INTO LIST l")
                    ws.execute("SCHEDULE q EVERY 1 DAY")
                    scheduler = Scheduler(ws, log_path=folder / "find.log")
                    started = time.perf_counter()
                    (outcome,) = scheduler.run_due()
                    scheduled.append(time.perf_counter() - started)
                    assert outcome.status in ("ok", "partial"), outcome.error
                    result = outcome.result
            assert result is not None and len(result) > 0
    return {"direct_s": statistics.median(direct), "scheduled_s": statistics.median(scheduled)}


def bench_idle_tick(folder: Path, runs: int) -> float:
    path = folder / "trivial.leadql"
    scheduler = Scheduler(path, log_path=folder / "idle.log")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        scheduler.run_due()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadql-bench-sched-") as tmp:
        folder = Path(tmp)
        trivial = bench_trivial(folder, args.jobs)
        overhead = trivial["scheduled_ms"] - trivial["direct_ms"]
        print(f"trivial jobs ({args.jobs}): direct {trivial['direct_ms']:.2f} ms/statement, "
              f"scheduled {trivial['scheduled_ms']:.2f} ms/job -> overhead {overhead:.2f} ms/job "
              f"({trivial['scheduled_ms'] / trivial['direct_ms']:.1f}x)")  # fmt: skip
        find = bench_find(folder, args.people, args.repeats)
        extra = find["scheduled_s"] - find["direct_s"]
        print(f"FIND job ({args.people:,} people): direct {find['direct_s']:.3f} s, scheduled "
              f"{find['scheduled_s']:.3f} s -> overhead {extra * 1e3:+.0f} ms "
              f"({find['scheduled_s'] / find['direct_s']:.2f}x)")  # fmt: skip
        idle = bench_idle_tick(folder, 10)
        print(f"idle tick from a path (open, nothing due, close): {idle * 1e3:.1f} ms")
        close_loggers()


if __name__ == "__main__":
    main()
