"""Shell start-up and first-result latency, in a real pseudo-terminal, against baselines measured
in the same run.

    python bench/bench_repl.py [--runs 7]

1. Start-up: spawn `leadql -d FILE` in a pty until its prompt is drawn. Baselines: the time for
   `python -c "import duckdb; duckdb.connect(FILE)"` (the least any DuckDB-based Python shell
   pays), and the start-up of the `duckdb` and `sqlite3` command-line shells when on PATH.
2. First result: from sending `SELECT 42 AS answer;` at the prompt to seeing the result drawn.
   Baselines: the same in the `sqlite3` / `duckdb` shells, and `duckdb.sql("SELECT 42")` in an
   already started Python.
Medians of interleaved runs; figures also go to bench/results/repl.json.
"""

from __future__ import annotations

import argparse
import json
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
    child.delaybeforesend = None  # pexpect waits 50 ms before each send by default
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


def cli_times(binary: str, prompt: str, workspace: Path) -> tuple[float, float]:
    """Start-up to prompt and first result of another SQL shell (`duckdb`, `sqlite3`)."""
    started = time.perf_counter()
    child = pexpect.spawn(binary, [str(workspace)], encoding="utf-8", timeout=30, dimensions=(40, 120),
                          env={**os.environ, "TERM": "xterm"})  # fmt: skip
    child.expect(prompt)
    startup = time.perf_counter() - started
    time.sleep(0.2)
    child.delaybeforesend = None
    sent = time.perf_counter()
    child.send("SELECT 42 AS answer;\r")
    child.expect(r"42\D")
    first = time.perf_counter() - sent
    child.sendline(".quit")
    child.expect(pexpect.EOF)
    child.close()
    return startup, first


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
        others = {name: (path, prompt) for name, prompt in (("duckdb", "D "), ("sqlite3", "sqlite> "))
                  if (path := shutil.which(name))}  # fmt: skip
        starts, firsts, bases = [], [], []
        other: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in others}
        for _ in range(args.runs):
            s, f = shell_times(workspace, folder / "history")
            starts.append(s)
            firsts.append(f)
            bases.append(python_duckdb_startup(plain))
            for name, (binary, prompt) in others.items():
                target = plain if name == "duckdb" else folder / "plain.sqlite"
                s, f = cli_times(binary, prompt, target)
                other[name][0].append(s)
                other[name][1].append(f)
        con = duckdb.connect()
        query = []
        for _ in range(args.runs):
            started = time.perf_counter()
            con.sql("SELECT 42 AS answer").fetchall()
            query.append(time.perf_counter() - started)
    med = statistics.median
    start, base, first = med(starts), med(bases), med(firsts)
    results: dict[str, float] = {
        "runs": args.runs,
        "leadql_startup_to_prompt_ms": round(start * 1e3, 1),
        "python_import_duckdb_connect_ms": round(base * 1e3, 1),
        "startup_ratio_vs_python_duckdb": round(start / base, 2),
        "leadql_first_result_ms": round(first * 1e3, 1),
        "duckdb_in_process_query_ms": round(med(query) * 1e3, 3),
    }
    for name, (s_times, f_times) in other.items():
        results[f"{name}_cli_startup_ms"] = round(med(s_times) * 1e3, 1)
        results[f"{name}_cli_first_result_ms"] = round(med(f_times) * 1e3, 1)
        results[f"startup_ratio_vs_{name}_cli"] = round(start / med(s_times), 1)
        results[f"first_result_ratio_vs_{name}_cli"] = round(first / med(f_times), 1)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "repl.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
