"""Scoring throughput of PREDICT models: `predict` and `reasons`, gbm and logistic.

    python bench/bench_predict_scoring.py [--rows 1000000] [--features 100] [--train 50000]
                                          [--reason-rows 100000] [--threads N] [--repeat 3]

A binary model is trained on `train` synthetic rows (`features` columns: 90 % numeric with 10 %
missing values, 10 % categorical with 20 values; a planted signal in a few of them), then
`predict` scores `rows` rows (text columns as Python strings, and as pandas Categoricals: the way
PREDICT fetches them) and `reasons` explains `reason-rows` rows. Goal: predict ≥ 1M rows/s on 2
cores. With numba installed (leadql[fast]) gbm walks its trees compiled; the same
predict with scikit-learn's walk is timed too, for the ratio. Results go to bench/results/predict_scoring.json.
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from leadql.predict import models, treewalk  # noqa: E402


def anchor_times(rows: int) -> np.ndarray:
    """Five monthly anchors, round robin: the later ones become the validation slice."""
    months = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]
    return np.array(months, dtype="datetime64[D]")[np.arange(rows) % len(months)]


def make_frame(rows: int, features: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    n_cat = max(1, features // 10)
    n_num = features - n_cat
    num = rng.normal(size=(rows, n_num))
    num[rng.random(size=num.shape) < 0.1] = np.nan
    frame = pd.DataFrame(num, columns=[f"num_{i}" for i in range(n_num)])
    cats = []
    for j in range(n_cat):
        name = f"cat_{j}"
        frame[name] = pd.Series(rng.integers(0, 20, rows)).map(lambda v: f"v{v}")
        cats.append(name)
    logit = (
        1.5 * np.nan_to_num(num[:, 0])
        - 1.0 * np.nan_to_num(num[:, 1])
        + 0.5 * np.nan_to_num(num[:, 2])
        + (frame["cat_0"] == "v3").to_numpy() * 1.2
        - 1.5
    )
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y, cats


def best_of(fn, repeat: int) -> float:
    """The best wall time of `repeat` runs (the machine may be shared; CPU time is in cpu_of)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def cpu_of(fn) -> float:
    """Process CPU seconds (all threads) of one run."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--reason-rows", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=None, help="OpenMP/BLAS threads")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    X_train, y_train, cats = make_frame(args.train, args.features, seed=1)
    times = anchor_times(args.train)
    X_score, _, _ = make_frame(args.rows, args.features, seed=2)
    X_reason = X_score.iloc[: args.reason_rows]
    X_categorical = X_score.astype({c: "category" for c in cats})
    print(
        f"{args.rows:,} rows x {args.features} features to score "
        f"({len(cats)} categorical); trained on {args.train:,}; cores: {os.cpu_count()}; "
        f"threads: {args.threads or 'default'}"
    )

    results = []
    with threadpool_limits(args.threads):
        for algorithm in models.ALGORITHMS:
            started = time.perf_counter()
            with threadpool_limits(1):  # fitting is not what this measures
                model = models.train(
                    X_train,
                    y_train,
                    times,
                    task_type="binary_classification",
                    algorithm=algorithm,
                    categorical=cats,
                )
            fit_s = time.perf_counter() - started
            predict_s = best_of(lambda m=model: models.predict(m, X_score), args.repeat)
            # PREDICT fetches text features as pandas Categoricals (leadql.predict.frames)
            predict_cat_s = best_of(lambda m=model: models.predict(m, X_categorical), args.repeat)
            predict_cpu = cpu_of(lambda m=model: models.predict(m, X_score))
            encode_s = best_of(lambda m=model: m.encoder.transform(X_score), args.repeat)
            reasons_s = best_of(lambda m=model: models.reasons(m, X_reason), 2)
            rescore_s = None
            if algorithm == "gbm":  # the baseline: reasons re-scoring every tree per probed feature
                fast, models._fast_deltas = models._fast_deltas, lambda *a: None
                try:
                    rescore_s = best_of(lambda m=model: models.reasons(m, X_reason), 2)
                finally:
                    models._fast_deltas = fast
            sklearn_s = None
            if algorithm == "gbm" and treewalk.AVAILABLE:  # the same predict with scikit-learn's walk
                treewalk.AVAILABLE = False
                try:
                    sklearn_s = best_of(lambda m=model: models.predict(m, X_score), args.repeat)
                finally:
                    treewalk.AVAILABLE = True
            est = model.estimator
            row = {
                "algorithm": algorithm,
                "fast_path": model.fast_path,
                "fit_seconds": round(fit_s, 2),
                "trees": int(est.n_iter_) if algorithm == "gbm" else None,
                "auc": round(model.metrics["auc"], 4),
                "predict_seconds": round(predict_s, 3),
                "predict_rows_per_s": round(args.rows / predict_s),
                "predict_categoricals_rows_per_s": round(args.rows / predict_cat_s),
                "predict_cpu_seconds": round(predict_cpu, 3),
                "predict_rows_per_cpu_s": round(args.rows / predict_cpu),
                "encode_share": round(encode_s / predict_s, 2),
                "reasons_seconds": round(reasons_s, 3),
                "reasons_rows_per_s": round(len(X_reason) / reasons_s),
                "reasons_rescoring_rows_per_s": round(len(X_reason) / rescore_s) if rescore_s else None,
                "walk": "compiled (numba)" if algorithm == "gbm" and treewalk.AVAILABLE else "scikit-learn",
                "sklearn_walk_rows_per_s": round(args.rows / sklearn_s) if sklearn_s else None,
                "compiled_vs_sklearn": round(sklearn_s / predict_s, 2) if sklearn_s else None,
            }
            results.append(row)
    header = (
        "algorithm",
        "trees",
        "auc",
        "predict_rows_per_s",
        "predict_categoricals_rows_per_s",
        "predict_rows_per_cpu_s",
        "encode_share",
        "reasons_rows_per_s",
        "reasons_rescoring_rows_per_s",
        "fit_seconds",
        "sklearn_walk_rows_per_s",
        "compiled_vs_sklearn",
    )
    print(" | ".join(f"{h:>18}" for h in header))
    for row in results:
        print(
            " | ".join(
                f"{'' if row[h] is None else row[h]:>18,}"
                if isinstance(row[h], int)
                else f"{str(row[h]):>18}"
                for h in header
            )
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "args": vars(args),
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "results": results,
    }
    (out / "predict_scoring.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
