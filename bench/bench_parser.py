"""Parser throughput and CLI start-up, each against a baseline measured in the same run.

    python bench/bench_parser.py [--seconds 5] [--runs 15]

1. Statements per second on a realistic mix: every statement of the grammar fixtures, the
   example scripts and the Kumo PQL collection, parsed one at a time (as the REPL and the API
   do) and validated. Baseline: DuckDB parsing SQL statements of similar length
   (`duckdb.extract_statements`), to show where a Python LALR parser stands.
2. Start-up: `leadql -d :memory: -c "SELECT 42"` against `python -c "import duckdb"`, medians of
   interleaved runs. Goal: within 2x.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import leadql  # noqa: E402
from leadql.grammar import validate  # noqa: E402


def statement_mix() -> list[str]:
    texts: list[str] = []
    sources = sorted((ROOT / "tests" / "fixtures" / "grammar").glob("*.lql"))
    sources += sorted((ROOT / "examples").glob("*.lql"))
    for path in sources:
        texts.extend(s.text for s in leadql.parse(path.read_text(encoding="utf-8")))
    kumo = (ROOT / "tests" / "fixtures" / "pql" / "kumo_examples.pql").read_text(encoding="utf-8")
    for block in re.split(r"(?m)^(?=#: title:)", kumo):
        if block.strip() and "#: expect" not in block:
            texts.append(re.sub(r"(?m)^#:.*\n", "", block).strip())
    return texts


def bench_parse(seconds: float) -> dict[str, float]:
    mix = statement_mix()
    for text in mix:  # warm up (and fail loudly on a broken statement)
        for s in leadql.parse(text):
            validate(s)
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for text in mix:
            for s in leadql.parse(text):
                validate(s)
        count += len(mix)
    elapsed = time.perf_counter() - started
    script = ";\n".join(mix) + ";"
    t0 = time.perf_counter()
    leadql.parse(script)
    script_rate = len(mix) / (time.perf_counter() - t0)

    import duckdb

    sql = [
        "SELECT lead_id, email, fico, income FROM leads WHERE fico >= 700 AND income BETWEEN "
        f"50000 AND 120000 AND state IN ('CA', 'NY') AND id > {i} ORDER BY fico DESC LIMIT 5000"
        for i in range(200)
    ]
    n = 0
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds / 2:
        for q in sql:
            duckdb.extract_statements(q)
        n += len(sql)
    duck_rate = n / (time.perf_counter() - t1)
    mean_len = statistics.mean(len(t) for t in mix)
    return {
        "statements_in_mix": len(mix),
        "mean_statement_chars": round(mean_len, 1),
        "leadql_statements_per_s": round(count / elapsed, 1),
        "leadql_script_statements_per_s": round(script_rate, 1),
        "duckdb_extract_statements_per_s": round(duck_rate, 1),
        "ratio_leadql_vs_duckdb_parser": round((count / elapsed) / duck_rate, 3),
    }


def _time_command(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def bench_startup(runs: int) -> dict[str, float]:
    leadql_cmd = [sys.executable, "-m", "leadql", "-d", ":memory:", "-c", "SELECT 42"]
    # A LeadQL statement: loads the LALR parser and opens the catalog.
    leadql_stmt = [sys.executable, "-m", "leadql", "-d", ":memory:", "-c", "SHOW CATEGORIES"]
    duck_cmd = [sys.executable, "-c", "import duckdb"]
    for argv in (leadql_cmd, leadql_stmt, duck_cmd):  # warm the file cache and Lark's cache
        _time_command(argv)
    lq, st, dk = [], [], []
    for _ in range(runs):
        lq.append(_time_command(leadql_cmd))
        st.append(_time_command(leadql_stmt))
        dk.append(_time_command(duck_cmd))
    return {
        "leadql_c_select_median_s": round(statistics.median(lq), 4),
        "leadql_c_show_categories_median_s": round(statistics.median(st), 4),
        "python_import_duckdb_median_s": round(statistics.median(dk), 4),
        "startup_ratio_select": round(statistics.median(lq) / statistics.median(dk), 2),
        "startup_ratio_leadql_statement": round(statistics.median(st) / statistics.median(dk), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    results = {"parse": bench_parse(args.seconds), "startup": bench_startup(args.runs)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "parser.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
