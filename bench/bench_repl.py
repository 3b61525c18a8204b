"""Shell start-up and first-result latency, in a real pseudo-terminal, against baselines measured
in the same run.

    python bench/bench_repl.py [--runs 7]

1. Start-up: spawn `leadql -d FILE` in a pty until its prompt is drawn. Baseline: the time for
   `python -c "import duckdb; duckdb.connect(FILE)"` (the least any DuckDB-based shell pays),
   and the DuckDB CLI's start-up if a `duckdb` binary is on PATH.
2. First result: from sending `SELECT 42 AS answer;` at the prompt to seeing the table. Baseline:
   `duckdb.sql("SELECT 42").fetchall()` in an already started Python.
Medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def shell_times(workspace: Path, history: Path) -> tuple[float, float]:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "LEADQL_HISTORY": str(history),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    started = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "leadql", "-d", str(workspace)], env=env,
                          dimensions=(40, 120), encoding="utf-8", timeout=60)  # fmt: skip
    child.expect("leadql>")
    startup = time.perf_counter() - started
    time.sleep(0.2)  # let the prompt settle before typing
    sent = time.perf_counter()
    child.send("SELECT 42 AS answer;\r")
    child.expect(r"1 row in")
    first = time.perf_counter() - sent
    child.send("\\q\r")
    child.expect(pexpect.EOF)
    child.close()
    return startup, first


def python_duckdb_startup(workspace: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(workspace)!r}).close()"],
                   check=True)  # fmt: skip
    return time.perf_counter() - started


def duckdb_cli_startup(binary: str, workspace: Path) -> float:
    started = time.perf_counter()
    child = pexpect.spawn(binary, [str(workspace)], encoding="utf-8", timeout=30, dimensions=(40, 120))
    child.expect("D ")
    elapsed = time.perf_counter() - started
    child.sendline(".quit")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import duckdb

    import leadql

    with tempfile.TemporaryDirectory(prefix="leadql-bench-repl-") as tmp:
        folder = Path(tmp)
        workspace = folder / "shell.leadql"
        leadql.connect(workspace).close()
        plain = folder / "plain.duckdb"
        duckdb.connect(str(plain)).close()
        cli = shutil.which("duckdb")
        starts, firsts, bases, clis = [], [], [], []
        for _ in range(args.runs):
            s, f = shell_times(workspace, folder / "history")
            starts.append(s)
            firsts.append(f)
            bases.append(python_duckdb_startup(plain))
            if cli:
                clis.append(duckdb_cli_startup(cli, plain))
        con = duckdb.connect()
        query = []
        for _ in range(args.runs):
            started = time.perf_counter()
            con.sql("SELECT 42 AS answer").fetchall()
            query.append(time.perf_counter() - started)
    start, base = statistics.median(starts), statistics.median(bases)
    first, raw = statistics.median(firsts), statistics.median(query)
    print(f"shell start-up to prompt: {start * 1e3:.0f} ms; python + import duckdb + connect: "
          f"{base * 1e3:.0f} ms -> {start / base:.2f}x")  # fmt: skip
    if clis:
        print(f"duckdb CLI start-up: {statistics.median(clis) * 1e3:.0f} ms -> {start / statistics.median(clis):.1f}x")
    print(f"first result (SELECT 42; typed at the prompt to table drawn): {first * 1e3:.0f} ms; "
          f"DuckDB query in-process: {raw * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
