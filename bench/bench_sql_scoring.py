"""PREDICT's scoring step, features in DuckDB → scores: as generated SQL
(`leadql.predict.sqlscore`) vs fetching the features to pandas and `models.predict`, for gbm
and logistic.

    python bench/bench_sql_scoring.py [--rows 1000000] [--features 100] [--train 50000]
                                      [--threads 2] [--repeat 3]

The models and the data are those of bench_predict_scoring.py (binary models trained on `train`
synthetic rows; `features` columns, 10 % of them categorical text with 20 values, 10 % missing
numerics). The rows to score sit in a DuckDB table, as they do in PREDICT:

- sql: `sqlscore.score_sql(con, model, "feats")`: one SQL query computing the raw score (the
  trees as CASE expressions, or the linear sum), then sigmoid + calibrator in numpy;
- fetch + predict: the features to pandas as PREDICT fetches them (`pipeline.features_frame`:
  joined to the examples, unsorted, through Arrow with text features as Categoricals), then
  `models.predict`; the same fetch sorted by (anchor, entity) in DuckDB and DuckDB's own `.df()`
  are timed too.

PREDICT fetches the frame in any case (for reasons and the output), so its scoring cost is the
fetch plus the cheaper of the two; `pipeline._scores` picks predict for a gbm when numba is
installed and for logistic, SQL for a gbm without it. DuckDB runs on `threads` threads.
Results go to bench/results/sql_scoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
from bench_predict_scoring import anchor_times, best_of, make_frame  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from leadql.predict import models, sqlscore  # noqa: E402
from leadql.predict.pipeline import features_frame  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (and BLAS)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    X_train, y_train, cats = make_frame(args.train, args.features, seed=1)
    times = anchor_times(args.train)
    trained = {}
    with threadpool_limits(1):  # fitting is not what this measures
        for algorithm in models.ALGORITHMS:
            trained[algorithm] = models.train(
                X_train, y_train, times, task_type="binary_classification",
                algorithm=algorithm, categorical=cats,
            )  # fmt: skip
    del X_train

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    X_score, _, _ = make_frame(args.rows, args.features, seed=2)
    X_score.insert(0, "entity_id", np.arange(args.rows, dtype=np.int64))
    X_score.insert(1, "anchor_ts", np.datetime64("2026-11-01", "us"))
    con.register("x_score", X_score)
    con.execute("CREATE TABLE feats AS SELECT * FROM x_score")
    con.execute("CREATE TABLE examples AS SELECT entity_id, anchor_ts FROM feats ORDER BY random()")
    con.unregister("x_score")
    del X_score
    print(
        f"{args.rows:,} rows x {args.features} features in DuckDB ({len(cats)} categorical); "
        f"cores: {os.cpu_count()}; DuckDB threads: {args.threads}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    def fetch():  # as PREDICT fetches its rows to score: joined to the examples, unsorted
        return features_frame(con, "feats", "examples", label=False, ordered=False)

    with threadpool_limits(args.threads):
        fetch_s = best_of(fetch, args.repeat)
        df_s = best_of(lambda: con.sql("SELECT * FROM feats").df(), 1)
        sorted_s = best_of(lambda: features_frame(con, "feats", "examples", label=False), 1)
        frame = fetch()
        ordered = features_frame(con, "feats", "examples", label=False)  # DuckDB's scores' order
        results = {}
        for algorithm, model in trained.items():
            sql_s = best_of(lambda m=model: sqlscore.score_sql(con, m, "feats"), args.repeat)
            predict_s = best_of(lambda m=model: models.predict(m, frame), args.repeat)
            in_sql = sqlscore.score_sql(con, model, "feats", order_by="anchor_ts, entity_id")
            diff = float(np.max(np.abs(in_sql - models.predict(model, ordered))))
            results[algorithm] = {
                "sql_seconds": round(sql_s, 3),
                "sql_rows_per_s": round(args.rows / sql_s),
                "predict_seconds": round(predict_s, 3),
                "predict_rows_per_s": round(args.rows / predict_s),
                "fetch_plus_best_seconds": round(fetch_s + min(sql_s, predict_s), 3),
                "fetch_plus_best_rows_per_s": round(args.rows / (fetch_s + min(sql_s, predict_s))),
                "max_abs_diff": diff,
            }
    print(f"fetch to pandas as PREDICT does (Arrow, text as Categoricals, unsorted): {fetch_s:.3f} s; "
          f"sorted by (anchor, entity) in DuckDB: {sorted_s:.3f} s; DuckDB .df() of the table: {df_s:.3f} s")
    header = ("sql_rows_per_s", "predict_rows_per_s", "fetch_plus_best_rows_per_s", "max_abs_diff")
    print(f"{'model':>9} | " + " | ".join(f"{h:>26}" for h in header))
    for algorithm, r in results.items():
        print(f"{algorithm:>9} | " + " | ".join(
            f"{r[h]:>26,}" if isinstance(r[h], int) else f"{r[h]:>26.3g}" for h in header))  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "args": vars(args),
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "load_average": os.getloadavg(),
        "fetch_seconds": round(fetch_s, 3),
        "duckdb_df_seconds": round(df_s, 3),
        "sorted_fetch_seconds": round(sorted_s, 3),
        "results": results,
    }
    (out / "sql_scoring.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
