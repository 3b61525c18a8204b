"""FIND end to end vs hand-written DuckDB SQL doing the same scans and joins, and parallel vs
serial scans.

    python bench/bench_find.py [--rows 1000000] [--leads 50000] [--repeat 3]

Four Parquet vendors of `rows` records each, drawn from one population with exact keys (the
same normalised email for the same person everywhere), so resolution is all deterministic:

    driver   : email, first/last name, fico, state      (filters pushed down here)
    incomes  : email, income
    phones   : email, phone
    homes    : email, hhi

1. FIND n leads WITH email, fico, income, phone, hhi WHERE fico >= 700 AND state IN (…) vs one
   DuckDB query over the same files: filter the driver, left-join the three others on email,
   keep complete rows, LIMIT n. Goal: FIND ≤ 1.5× the SQL.
2. The same FIND with scans on one thread vs one per core (`ws.scan_threads`), with DuckDB's
   own threads and with one DuckDB thread per query (a source whose read is single-threaded),
   and the default against a serial single-threaded executor. Goal: ≥ 1.6×.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import leadql  # noqa: E402

STATES = ["CA", "NY", "TX", "WA", "FL", "IL", "MA"]


def make_data(folder: Path, rows: int) -> dict[str, Path]:
    """Four vendors over a population 1.25× their size; each holds a different random 80%."""
    population = int(rows * 1.25)
    con = duckdb.connect()
    paths = {}
    specs = {
        "driver": "first_name, last_name, email, fico, state",
        "incomes": "email, income",
        "phones": "email, phone",
        "homes": "email, hhi",
    }
    con.execute(f"""
        CREATE TABLE people AS SELECT range AS pid,
          'First' || (range % 5000) AS first_name, 'Last' || (range % 7919) AS last_name,
          'user' || range || '@example.com' AS email,
          '+1' || (4155550000 + range)::VARCHAR AS phone,
          300 + (hash(range) % 551)::INT AS fico,
          (20000 + hash(range * 7) % 180000)::DOUBLE AS income,
          (30000 + hash(range * 11) % 250000)::DOUBLE AS hhi,
          {STATES}[1 + (range % {len(STATES)})] AS state
        FROM range({population})
    """)  # fmt: skip
    for i, (name, columns) in enumerate(specs.items()):
        path = folder / f"{name}.parquet"
        con.execute(f"""
            COPY (SELECT '{name[:1].upper()}' || pid AS rid, {columns} FROM people
                  WHERE hash(pid + {i * 1_000_003}) % 100 < 80 ORDER BY hash(pid * {i + 3}) LIMIT {rows})
            TO '{path}' (FORMAT parquet)
        """)  # fmt: skip
        paths[name] = path
    return paths


def catalog(paths: dict[str, Path]) -> str:
    return f"""
    CREATE SOURCE driver FROM '{paths['driver']}' KEY rid
      MAP (first_name = first_name, last_name = last_name, email = email, fico = fico, state = state)
      PRICE 0.001 PER RECORD QUALITY 0.95 UPDATED '2026-11-01';
    CREATE SOURCE incomes FROM '{paths['incomes']}' KEY rid MAP (email = email, income = income)
      PRICE 0.001 PER RECORD QUALITY 0.95 UPDATED '2026-11-01';
    CREATE SOURCE phones FROM '{paths['phones']}' KEY rid MAP (email = email, phone = phone)
      PRICE 0.001 PER RECORD QUALITY 0.95 UPDATED '2026-11-01';
    CREATE SOURCE homes FROM '{paths['homes']}' KEY rid MAP (email = email, hhi = hhi)
      PRICE 0.001 PER RECORD QUALITY 0.95 UPDATED '2026-11-01';
    ANALYZE;
    """


def baseline_sql(paths: dict[str, Path], leads: int) -> str:
    return f"""
        SELECT d.email, d.fico, i.income, p.phone, h.hhi
        FROM read_parquet('{paths['driver']}') d
        JOIN read_parquet('{paths['incomes']}') i ON i.email = d.email
        JOIN read_parquet('{paths['phones']}') p ON p.email = d.email
        JOIN read_parquet('{paths['homes']}') h ON h.email = d.email
        WHERE d.fico >= 700 AND d.state IN ('CA', 'NY')
        LIMIT {leads}
    """


def normalised_sql(paths: dict[str, Path], leads: int) -> str:
    """The same joins, with the values normalised as LeadQL reads them (its normaliser macros):
    what a careful hand-written pipeline over raw vendor files has to do too."""
    def src(name: str, columns: dict[str, str]) -> str:
        cols = ", ".join(f"{fn}({col}) AS {col}" for col, fn in columns.items())
        return f"(SELECT rid, {cols} FROM read_parquet('{paths[name]}'))"

    return f"""
        SELECT d.email, d.fico, i.income, p.phone, h.hhi
        FROM {src('driver', {'email': 'leadql_norm_email', 'fico': 'leadql_norm_fico', 'state': 'leadql_norm_us_state'})} d
        JOIN {src('incomes', {'email': 'leadql_norm_email', 'income': 'leadql_norm_money'})} i ON i.email = d.email
        JOIN {src('phones', {'email': 'leadql_norm_email', 'phone': 'leadql_norm_phone'})} p ON p.email = d.email
        JOIN {src('homes', {'email': 'leadql_norm_email', 'hhi': 'leadql_norm_money'})} h ON h.email = d.email
        WHERE d.fico >= 700 AND d.state IN ('CA', 'NY')
        LIMIT {leads}
    """


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = make_data(folder, args.rows)
        print(f"data: 4 vendors x {args.rows:,} rows in {time.perf_counter() - started:.1f}s")
        ws = leadql.connect(folder / "bench.leadql")
        started = time.perf_counter()
        ws.execute(catalog(paths))
        print(f"catalog + ANALYZE: {time.perf_counter() - started:.1f}s")
        budget = args.leads  # $1 per lead: never binding
        find = (f"FIND {args.leads} leads WITH email, fico, income, phone, hhi "
                f"WHERE fico >= 700 AND state IN ('CA', 'NY') BUDGET {budget}")  # fmt: skip

        con = duckdb.connect()
        from leadql.normalizers import install

        install(con)
        sql_time, rows = timed(lambda: len(con.sql(baseline_sql(paths, args.leads)).to_arrow_table()), args.repeat)
        print(f"hand-written DuckDB SQL (raw values): {sql_time:.2f}s for {rows:,} rows")
        norm_time, rows = timed(lambda: len(con.sql(normalised_sql(paths, args.leads)).to_arrow_table()), args.repeat)
        print(f"hand-written DuckDB SQL (values normalised as LeadQL does): {norm_time:.2f}s for {rows:,} rows")

        results = {}
        for threads in (1, 0):
            ws.scan_threads = threads
            label = "serial scans" if threads == 1 else "parallel scans"
            seconds, result = timed(lambda: ws.execute(find), args.repeat)
            results[label] = seconds
            print(f"FIND ({label}): {seconds:.2f}s for {len(result):,} leads, spent ${result.cost}"
                  f"  -> {seconds / sql_time:.1f}x the raw SQL, {seconds / norm_time:.2f}x the normalised SQL")  # fmt: skip
        print(f"parallel vs serial scans: {results['serial scans'] / results['parallel scans']:.2f}x faster "
              "(DuckDB already spreads each Parquet scan over every core)")
        # Sources whose reads are single-threaded (SQLite, remote files, vendor APIs) are where the
        # scan pool pays: simulate with DuckDB limited to one thread per query.
        ws.con.execute("SET threads = 1")
        single = {}
        for threads in (1, 0):
            ws.scan_threads = threads
            single[threads] = timed(lambda: ws.execute(find), args.repeat)[0]
        ws.con.execute("RESET threads")
        print(f"with one thread per scan: serial {single[1]:.2f}s, parallel {single[0]:.2f}s "
              f"-> {single[1] / single[0]:.2f}x faster")
        print(f"parallel scans (default) vs a serial single-threaded executor: "
              f"{single[1] / results['parallel scans']:.2f}x faster")
        analyzed = ws.execute("EXPLAIN ANALYZE " + find)
        print("\n".join(r[0] for r in analyzed.rows if "actual" in r[0] or r[0].startswith("Actual")))
        ws.close()


if __name__ == "__main__":
    main()
