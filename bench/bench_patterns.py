"""Patterns: lift of FIND … MATCHING at equal budget, and pattern scoring throughput.

    python bench/bench_patterns.py [--people 20000] [--leads 300] [--budget 30] [--rows 1000000]

1. On generated data with a planted keyboard-buyer profile (age 25–45 and income 60–150k, more
   in CA/WA/NY), a pattern learned from the keyboard buyers (no labels) drives
   `FIND n leads WITH email MATCHING keyboard_buyers BUDGET b`. Compared at the same budget with
   the same FIND without the pattern (random with respect to the profile) and with explicit
   predicates a marketer might write (`WHERE age BETWEEN 25 AND 45 AND income >= 60000`): the
   share of delivered people in the planted profile and their mean true chance of buying a
   keyboard, from the generator's truth.
2. Scoring throughput on `rows` synthetic prospects: `Pattern.score_arrow` (Arrow batches
   through the calibrated model), `Pattern.score_sql` (the pattern compiled to DuckDB SQL, as
   FIND scores candidates; checked equal to score_arrow) and the linear ranking FIND pushes into
   a driver scan, vs the same sklearn pipeline called directly on a pandas frame (the baseline).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402

import leadql  # noqa: E402
from leadql.predict import registry  # noqa: E402
from leadql.sample import generate  # noqa: E402

STATES = ("CA", "WA", "NY")


def truth_of(data, result) -> tuple[float, float]:
    """(share in the planted profile, mean true keyboard chance) of the delivered people."""
    con = duckdb.connect()
    con.register("links", con.read_parquet(str(data.truth_links())).to_arrow_table())
    con.register("truth", con.read_parquet(str(data.truth_path)).to_arrow_table())
    rows = [(i, rec) for i, recs in enumerate(result.to_arrow().column("records").to_pylist()) for rec in recs]
    con.execute("CREATE TABLE merged (i INT, rec VARCHAR)")
    con.executemany("INSERT INTO merged VALUES (?, ?)", rows)
    share, chance = con.execute(f"""
        WITH people AS (
            SELECT m.i, any_value(t.age) AS age, any_value(t.income) AS income, any_value(t.state) AS state
            FROM merged m JOIN links l ON l.vendor || '/' || l.record_key = m.rec
            JOIN truth t ON t.person_id = l.person_id GROUP BY m.i),
        p AS (SELECT *, (age BETWEEN 25 AND 45 AND income BETWEEN 60000 AND 150000) AS prof FROM people),
        o AS (SELECT *, (CASE WHEN prof THEN 1.0 ELSE 0.07 / 0.93 END)
                        * (CASE WHEN state IN {STATES} THEN 3.5 ELSE 1.0 END) AS odds FROM p)
        SELECT avg(prof::INT), avg(odds / (1 + odds)) FROM o
    """).fetchone()  # fmt: skip
    return float(share), float(chance)


def lift(args: argparse.Namespace, folder: Path) -> None:
    started = time.perf_counter()
    data = generate(folder / "data", people=args.people, seed=7)
    ws = leadql.connect(folder / "bench.leadql")
    ws.execute(data.catalog_script())
    ws.execute("ANALYZE")
    print(f"sample data: {args.people:,} people in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    message = ws.execute("CREATE PATTERN keyboard_buyers FROM customers WHERE product = 'keyboard'").message
    print(f"CREATE PATTERN: {time.perf_counter() - started:.1f}s — {message}")
    requests = {
        "no pattern (random w.r.t. the profile)": f"FIND {args.leads} leads WITH email BUDGET {args.budget}",
        "explicit predicates": (f"FIND {args.leads} leads WITH email WHERE age BETWEEN 25 AND 45 "
                                f"AND income >= 60000 BUDGET {args.budget}"),
        "MATCHING keyboard_buyers": f"FIND {args.leads} leads WITH email MATCHING keyboard_buyers BUDGET {args.budget}",
    }  # fmt: skip
    results = {}
    for label, statement in requests.items():
        started = time.perf_counter()
        result = ws.execute(statement)
        seconds = time.perf_counter() - started
        share, chance = truth_of(data, result)
        results[label] = (share, chance)
        print(f"{label:42s} {len(result):5,} leads, ${result.cost} in {seconds:5.1f}s: "
              f"{share:.1%} in profile, true keyboard chance {chance:.3f}")  # fmt: skip
    base_share, base_chance = results["no pattern (random w.r.t. the profile)"]
    for label, (share, chance) in results.items():
        print(f"  lift of {label}: profile ×{share / base_share:.2f}, buying chance ×{chance / base_chance:.2f}")
    ws.close()


def throughput(args: argparse.Namespace, folder: Path) -> None:
    import pyarrow as pa

    ws = leadql.connect(folder / "bench.leadql")
    pattern = registry.load_version(ws.con, "keyboard_buyers", kind=registry.PATTERN).payload()
    rng = np.random.default_rng(0)
    n = args.rows
    table = pa.table({
        "age": rng.integers(18, 90, n).astype(float), "income": rng.gamma(2.0, 30_000, n),
        "hhi": rng.gamma(2.0, 45_000, n), "fico": rng.integers(300, 851, n).astype(float),
        "homeowner": rng.random(n) < 0.6, "state": rng.choice(["CA", "WA", "NY", "TX", "FL", "OH"], n),
        "gender": rng.choice(["F", "M"], n), "marital_status": rng.choice(["single", "married", "divorced"], n),
    })  # fmt: skip
    started = time.perf_counter()
    scores = pattern.score_arrow(table)
    arrow_s = time.perf_counter() - started
    frame = table.to_pandas()
    started = time.perf_counter()
    model = pattern.model
    raw = model.pipeline.predict_proba(pattern.prepare(frame))[:, 1]
    sklearn_s = time.perf_counter() - started
    con = duckdb.connect()
    con.register("prospects_arrow", table)
    con.execute("CREATE TABLE prospects AS SELECT * FROM prospects_arrow")
    started = time.perf_counter()
    in_sql = pattern.score_sql(con, "prospects")
    score_sql_s = time.perf_counter() - started
    assert in_sql is not None and np.allclose(in_sql, scores, atol=1e-9)
    sql = pattern.order_sql(set(table.column_names))
    started = time.perf_counter()
    con.execute(f"SELECT count(*) FROM (SELECT ({sql}) AS s FROM prospects ORDER BY s DESC LIMIT 1000)").fetchone()
    sql_s = time.perf_counter() - started
    assert len(scores) == len(raw) == n
    print(f"scoring {n:,} prospects ({pattern.algorithm}, {len(pattern.categories)} categories):")
    print(f"  Pattern.score_arrow (calibrated, balanced): {n / arrow_s:,.0f} rows/s ({arrow_s:.2f}s)")
    print(f"  sklearn pipeline directly (uncalibrated baseline): {n / sklearn_s:,.0f} rows/s ({sklearn_s:.2f}s)"
          f" -> ratio {sklearn_s / arrow_s:.2f}x")  # fmt: skip
    print(f"  Pattern.score_sql (compiled to DuckDB SQL, same scores): {n / score_sql_s:,.0f} rows/s "
          f"({score_sql_s:.2f}s) -> {arrow_s / score_sql_s:.2f}x score_arrow")  # fmt: skip
    print(f"  pattern ranking as DuckDB SQL, top 1,000 of {n:,}: {n / sql_s:,.0f} rows/s ({sql_s:.2f}s)")
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lift(args, Path(tmp))
        throughput(args, Path(tmp))


if __name__ == "__main__":
    main()
