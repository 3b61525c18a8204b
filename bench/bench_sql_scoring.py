"""gbm scoring as generated SQL (`leadql.predict.sqlscore`) vs `models.predict`.

    python bench/bench_sql_scoring.py [--rows 1000000] [--features 100] [--train 50000]
                                      [--threads 2] [--repeat 3]

The model and the data are those of bench_predict_scoring.py (a binary gbm trained on `train`
synthetic rows; `features` columns, 10 % of them categorical text with 20 values, 10 % missing
numerics). The rows to score sit in a DuckDB table, as they do in PREDICT's `score()`:

- sql: `sqlscore.score_sql(con, model, "feats")`: one SQL query computing the raw score, then
  sigmoid + calibrator in numpy;
- sklearn: fetch the features to pandas (`SELECT * ... .df()`) then `models.predict`; the fetch
  is part of the real pipeline's cost, so it is timed too (and reported on its own).

DuckDB runs on `threads` threads; sklearn's tree walk on models.SCORE_THREADS (default 1, its
fastest setting on this machine, see docs/predict-models.md) unless --sklearn-threads is given.
Results go to bench/results/sql_scoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
from bench_predict_scoring import anchor_times, best_of, cpu_of, make_frame  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from leadql.predict import models, sqlscore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (and BLAS)")
    parser.add_argument("--sklearn-threads", type=int, default=None, help="SCORE_THREADS")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    X_train, y_train, cats = make_frame(args.train, args.features, seed=1)
    times = anchor_times(args.train)
    with threadpool_limits(1):
        model = models.train(
            X_train, y_train, times, task_type="binary_classification", categorical=cats
        )
    del X_train
    if args.sklearn_threads:
        models.SCORE_THREADS = args.sklearn_threads

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    X_score, _, _ = make_frame(args.rows, args.features, seed=2)
    X_score.insert(0, "entity_id", np.arange(args.rows, dtype=np.int64))
    con.register("x_score", X_score)
    con.execute("CREATE TABLE feats AS SELECT * FROM x_score")
    con.unregister("x_score")
    del X_score
    print(
        f"{args.rows:,} rows x {args.features} features in DuckDB ({len(cats)} categorical); "
        f"gbm with {model.estimator.n_iter_} trees, calibrator "
        f"{getattr(model.calibrator, 'method', None)}; cores: {os.cpu_count()}; "
        f"DuckDB threads: {args.threads}; sklearn threads: {models._score_threads()}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    started = time.perf_counter()
    expr = sqlscore.compile_gbm(model)
    compile_s = time.perf_counter() - started
    assert expr is not None
    select = sqlscore.score_select(model, "feats") or ""
    started = time.perf_counter()
    con.execute("EXPLAIN " + select).fetchall()
    plan_s = time.perf_counter() - started  # DuckDB's parse + bind + optimise of the query

    def fetch():
        return con.sql("SELECT * FROM feats").df()

    with threadpool_limits(args.threads):
        sql_s = best_of(lambda: sqlscore.score_sql(con, model, "feats"), args.repeat)
        sql_cpu = cpu_of(lambda: sqlscore.score_sql(con, model, "feats"))
        fetch_s = best_of(fetch, args.repeat)
        frame = fetch()
        predict_s = best_of(lambda: models.predict(model, frame), args.repeat)
        sklearn_cpu = cpu_of(lambda: models.predict(model, fetch()))
        ours = sqlscore.score_sql(con, model, "feats")
        ref = models.predict(model, frame)
    max_diff = float(np.max(np.abs(ours - ref)))
    sklearn_s = fetch_s + predict_s
    rows = [
        ("sql (score_sql)", sql_s, sql_cpu),
        ("sklearn (fetch + predict)", sklearn_s, sklearn_cpu),
        ("  fetch to pandas only", fetch_s, None),
        ("  models.predict only", predict_s, None),
    ]
    print(f"{'path':>26} | {'seconds':>8} | {'rows/s':>11} | {'rows/cpu-s':>11}")
    for name, s, cpu in rows:
        per_cpu = f"{args.rows / cpu:>11,.0f}" if cpu else f"{'':>11}"
        print(f"{name:>26} | {s:>8.3f} | {args.rows / s:>11,.0f} | {per_cpu}")
    print(
        f"speed-up sql vs sklearn (fetch + predict): {sklearn_s / sql_s:.2f}x; "
        f"vs predict alone: {predict_s / sql_s:.2f}x; max |score diff| {max_diff:.3g}"
    )
    print(
        f"compile: {compile_s * 1000:.1f} ms, expression {len(expr):,} chars "
        f"(query {len(select):,}), {expr.count('CASE')} CASE nodes; "
        f"DuckDB planning {plan_s:.2f} s"
    )
    result = {
        "trees": int(model.estimator.n_iter_),
        "sql_seconds": round(sql_s, 3),
        "sql_rows_per_s": round(args.rows / sql_s),
        "sql_cpu_seconds": round(sql_cpu, 3),
        "sklearn_seconds": round(sklearn_s, 3),
        "sklearn_rows_per_s": round(args.rows / sklearn_s),
        "sklearn_cpu_seconds": round(sklearn_cpu, 3),
        "fetch_seconds": round(fetch_s, 3),
        "predict_seconds": round(predict_s, 3),
        "predict_rows_per_s": round(args.rows / predict_s),
        "speedup_vs_fetch_predict": round(sklearn_s / sql_s, 2),
        "speedup_vs_predict": round(predict_s / sql_s, 2),
        "max_abs_diff": max_diff,
        "compile_ms": round(compile_s * 1000, 1),
        "expression_chars": len(expr),
        "case_nodes": expr.count("CASE"),
        "duckdb_plan_seconds": round(plan_s, 2),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "args": vars(args),
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "load_average": os.getloadavg(),
        "result": result,
    }
    (out / "sql_scoring.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
