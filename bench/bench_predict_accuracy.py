"""PREDICT accuracy on repeat-purchase histories vs an RFM logistic regression and BG/NBD.

    python bench/bench_predict_accuracy.py [--people 200000] [--seed 11] [--quick]
                                           [--data DIR] [--models gbm,logistic] [--no-spend]
                                           [--ablation]

The sample CRM (`leadql.sample.generate`) holds `customers` and their `orders`: a BG/NBD-like
repeat-purchase process with income-driven rates and spend, seasonality, returns that raise the
dropout chance, and category affinity (docs/sample-data.md). The cut time t is the day after the
last order minus 90 days, so both a 30-day and a 90-day future window exist after t. Every model
sees only orders at or before t; the labels come from (t, t + w]; every model is scored on the
same customers (those whose first purchase is at or before t, passing the same filter).

Queries:

    repeat  PREDICT COUNT(orders.*, 0, 30, days) > 0 FOR EACH customers.customer_id AT t
    churn   PREDICT COUNT(orders.*, 0, 90, days) = 0 FOR EACH customers.customer_id
              WHERE COUNT(orders.*, -365, 0, days) > 0 AT t
    spend   PREDICT SUM(orders.amount, 0, 90, days) FOR EACH customers.customer_id AT t

Models: LeadQL `USING MODEL gbm` and `USING MODEL logistic`; baselines fitted in the same run on
the same data up to t:

* rfm-logit: scikit-learn logistic regression on the hand-built RFM features (recency, frequency,
  mean amount, tenure, orders in the last 30/90/365 days; log1p then standardised), trained on
  labels from the earlier cut t - w with features from data up to t - w, applied at t.
  rfm-logit-4cuts stacks the cuts t - w, t - 2w, t - 3w, t - 4w (an analyst with more patience).
  For spend: the same features into a linear regression (rfm-linear).
* bg-nbd: BG/NBD (Fader, Hardie & Lee 2005, the `lifetimes` package) fitted on every customer's
  history up to t (x repeat orders, t_x, T in days); P(no order in (t, t + w]) in closed form,
  1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + w))^(r + x). For spend: BG/NBD expected
  orders times the Gamma-Gamma expected order value (bg-nbd+gg).

Metrics: AUC, PR-AUC (average precision), Brier, lift in the top decile (yes/no); Spearman, RMSE
and the share of actual spend captured by the top decile (spend); LeadQL's AUC minus each
baseline's with a paired bootstrap 95% interval. `--ablation` adds gradient boosting on the RFM
features plus candidate features LeadQL does not build (latest order returned, mean gap between
orders, recency / gap, orders per day), trained on LeadQL's anchors, to show what closes the gap
to BG/NBD. JSON goes to bench/results/predict_accuracy.json. Needs `lifetimes` (the bench extra).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import leadql  # noqa: E402
from leadql.sample import generate  # noqa: E402
from leadql.sample.generator import SampleData  # noqa: E402

DAY = np.timedelta64(1, "D")
RFM = ["recency", "frequency", "monetary", "tenure", "n30", "n90", "n365"]
QUERIES = [
    # name, kind, window days, target, entity filter (LeadQL text), filter on RFM features
    ("repeat", "binary", 30, "COUNT(orders.*, 0, 30, days) > 0", "", None),
    ("churn", "binary", 90, "COUNT(orders.*, 0, 90, days) = 0",
     "WHERE COUNT(orders.*, -365, 0, days) > 0", "n365 > 0"),
    ("spend", "regression", 90, "SUM(orders.amount, 0, 90, days)", "", None),
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Data


def load(data: SampleData) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect()
    orders = con.sql(
        f"SELECT customer_id, ordered_at, amount, returned FROM '{data.crm_files['orders']}' "
        "ORDER BY ordered_at"
    ).df()
    customers = con.sql(f"SELECT customer_id, bought_at FROM '{data.crm_files['customers']}'").df()
    return orders, customers


def rfm_features(orders: pd.DataFrame, customers: pd.DataFrame, cut: np.datetime64) -> pd.DataFrame:
    """The analyst's features of every customer existing at `cut`, from orders at or before it."""
    people = customers.loc[customers["bought_at"] <= cut, ["customer_id"]].set_index("customer_id")
    past = orders[orders["ordered_at"] <= cut]
    days_ago = (cut - past["ordered_at"]) / DAY
    g = past.assign(days_ago=days_ago).groupby("customer_id")
    out = pd.DataFrame({
        "recency": g["days_ago"].min(),
        "tenure": g["days_ago"].max(),
        "frequency": g.size(),
        "monetary": g["amount"].mean(),
        "n30": g["days_ago"].apply(lambda d: int((d < 30).sum())),
        "n90": g["days_ago"].apply(lambda d: int((d < 90).sum())),
        "n365": g["days_ago"].apply(lambda d: int((d < 365).sum())),
    })  # fmt: skip
    out = people.join(out, how="left")
    out[["frequency", "n30", "n90", "n365"]] = out[["frequency", "n30", "n90", "n365"]].fillna(0)
    return out.fillna({"recency": 1e4, "tenure": 0.0, "monetary": 0.0})


def future(orders: pd.DataFrame, cut: np.datetime64, days: int) -> pd.DataFrame:
    """Per customer: orders and spend in (cut, cut + days]."""
    end = cut + np.timedelta64(days, "D")
    f = orders[(orders["ordered_at"] > cut) & (orders["ordered_at"] <= end)]
    return f.groupby("customer_id").agg(count=("amount", "size"), spend=("amount", "sum"))


def labelled(orders, customers, cut, days: int, flt: str | None) -> pd.DataFrame:
    x = rfm_features(orders, customers, cut)
    if flt:
        x = x.query(flt)
    y = future(orders, cut, days).reindex(x.index).fillna(0)
    return x.join(y)


# ---------------------------------------------------------------------------------------------
# Baselines


def _design(x: pd.DataFrame) -> np.ndarray:
    return np.log1p(x[RFM].to_numpy(dtype=float).clip(min=0))


def rfm_model(orders, customers, t, days: int, flt, kind: str, target, cuts: int):
    """Fit on `cuts` earlier cuts (t - k·w, labels in (t - k·w, t - (k-1)·w]); score at t."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    start = orders["ordered_at"].min()
    frames = []
    for k in range(1, cuts + 1):
        cut = t - np.timedelta64(days * k, "D")
        if cut <= start + np.timedelta64(days, "D"):
            break
        frames.append(labelled(orders, customers, cut, days, flt))
    train = pd.concat(frames)
    est = LogisticRegression(C=1.0, max_iter=2000) if kind == "binary" else LinearRegression()
    model = make_pipeline(StandardScaler(), est)
    model.fit(_design(train), target(train))
    return model


def bgnbd_summary(
    orders: pd.DataFrame, customers: pd.DataFrame, cut: np.datetime64
) -> pd.DataFrame:
    """lifetimes' (frequency, recency, T, monetary_value) in days, from orders at or before cut."""
    past = orders[orders["ordered_at"] <= cut]
    g = past.groupby("customer_id")
    first, last = g["ordered_at"].min(), g["ordered_at"].max()
    n = g.size()
    total = g["amount"].sum()
    # Gamma-Gamma's monetary value: the mean of the repeat orders (the first one excluded)
    first_amount = past.drop_duplicates("customer_id").set_index("customer_id")["amount"]
    repeat_mean = ((total - first_amount) / (n - 1)).where(n > 1, 0.0)
    s = pd.DataFrame({
        "frequency": (n - 1).astype(float),
        "recency": (last - first) / DAY,
        "T": (cut - first) / DAY,
        "monetary_value": repeat_mean,
    })  # fmt: skip
    ids = customers.loc[customers["bought_at"] <= cut, "customer_id"]
    return s.reindex(ids).dropna()


def bgnbd_fit(summary: pd.DataFrame):
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import ConvergenceError

    for penalizer in (0.0, 0.001, 0.01):  # unpenalised, unless the optimiser fails to converge
        bgf = BetaGeoFitter(penalizer_coef=penalizer)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bgf.fit(summary["frequency"], summary["recency"], summary["T"])
            return bgf
        except ConvergenceError:
            continue
    raise RuntimeError("BG/NBD did not converge")


def bgnbd_p_none(bgf, s: pd.DataFrame, days: float) -> np.ndarray:
    """P(no purchase in (T, T + days] | x, t_x, T): dead, or alive with no Poisson event."""
    r, alpha = bgf.params_["r"], bgf.params_["alpha"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alive = np.asarray(bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"]))
    x, T = s["frequency"].to_numpy(), s["T"].to_numpy()
    quiet = ((alpha + T) / (alpha + T + days)) ** (r + x)
    return 1.0 - alive + alive * quiet


def bgnbd_spend(bgf, s: pd.DataFrame, days: float) -> np.ndarray:
    from lifetimes import GammaGammaFitter

    count = np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(
        days, s["frequency"], s["recency"], s["T"]))  # fmt: skip
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ggf.fit(rep["frequency"], rep["monetary_value"])
        value = np.asarray(
            ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
        )
    return count * value


def check_lifetimes() -> dict:
    """lifetimes on its CDNOW sample against the published BG/NBD estimates."""
    from lifetimes.datasets import load_cdnow_summary

    d = load_cdnow_summary(index_col=[0])
    params = bgnbd_fit(d).params_
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005
    ok = all(abs(params[k] - v) < 0.01 * max(1.0, v) for k, v in published.items())
    return {"cdnow_params": {k: round(float(params[k]), 3) for k in published}, "published": published,
            "matches": bool(ok)}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Ablation: which missing feature kinds would close the gap to BG/NBD

EXTRA = {
    "last_returned": "was the customer's latest order returned (the last value of a column)",
    "gap": "mean days between consecutive orders",
    "recency_over_gap": "days since the last order / mean gap",
    "rate": "orders per day of tenure",
}
ABLATION_SETS = {
    "rfm": [],
    "rfm + last_returned": ["last_returned"],
    "rfm + gap, recency/gap, rate": ["gap", "recency_over_gap", "rate"],
    "rfm + all four": list(EXTRA),
}


def with_extras(orders: pd.DataFrame, x: pd.DataFrame, cut: np.datetime64) -> pd.DataFrame:
    past = orders[orders["ordered_at"] <= cut]
    last = past.groupby("customer_id")["returned"].last().astype(float)
    x = x.assign(last_returned=last.reindex(x.index).fillna(0.0))
    span = x["tenure"] - x["recency"]
    x["gap"] = (span / (x["frequency"] - 1).clip(lower=1)).where(x["frequency"] > 1)
    x["recency_over_gap"] = x["recency"] / x["gap"]
    x["rate"] = x["frequency"] / (x["tenure"] + 1.0)
    return x


def ablation(orders, customers, t, name: str, days: int, flt, label, anchors: int = 12) -> dict:
    """Gradient boosting on RFM plus candidate features, trained on LeadQL's anchors t - k·w."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    start = orders["ordered_at"].min()
    cuts = [t - np.timedelta64(days * k, "D") for k in range(1, anchors + 1)]
    cuts = [c for c in cuts if c > start + np.timedelta64(days, "D")]
    train = pd.concat(
        [with_extras(orders, labelled(orders, customers, c, days, flt), c) for c in cuts]
    )
    test = with_extras(orders, labelled(orders, customers, t, days, flt), t)
    out = {}
    for tag, extra in ABLATION_SETS.items():
        cols = RFM + extra
        gbm = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)
        gbm.fit(train[cols], label(train))
        out[tag] = float(roc_auc_score(label(test), gbm.predict_proba(test[cols])[:, 1]))
        print(f"  ablation {name}: gbm on {tag:<30} AUC {out[tag]:.3f}")
    return out


# ---------------------------------------------------------------------------------------------
# Metrics


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = y.astype(bool)
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "lift_top10": float(y[top].mean() / y.mean()) if y.mean() > 0 else math.nan,
    }


def auc_deltas(y: np.ndarray, preds: dict[str, np.ndarray], rounds: int = 300) -> dict:
    """LeadQL's AUC minus each baseline's, with a paired bootstrap 95% interval (same resamples)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = y.astype(bool)
    samples = [rng.integers(0, len(y), len(y)) for _ in range(rounds)]
    samples = [i for i in samples if 0 < y[i].sum() < len(i)]
    aucs = {m: np.array([roc_auc_score(y[i], p[i]) for i in samples]) for m, p in preds.items()}
    out = {}
    for m in preds:
        if not m.startswith("leadql"):
            continue
        for b in preds:
            if b.startswith("leadql"):
                continue
            d = aucs[m] - aucs[b]
            point = roc_auc_score(y, preds[m]) - roc_auc_score(y, preds[b])
            lo, hi = np.percentile(d, [2.5, 97.5])
            out[f"{m} - {b}"] = {"delta": float(point), "ci95": [float(lo), float(hi)]}
    return out


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from scipy.stats import spearmanr

    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {
        "spearman": float(spearmanr(y, p).statistic),
        "rmse": float(np.sqrt(np.mean((y - p) ** 2))),
        "top10_spend_share": float(y[top].sum() / y.sum()) if y.sum() > 0 else math.nan,
    }


# ---------------------------------------------------------------------------------------------
# LeadQL


def leadql_scores(ws, name: str, kind: str, target: str, flt: str, at: str, algo: str) -> dict:
    model = f"{name}_{algo}"
    text = (f"PREDICT {target} FOR EACH customers.customer_id {flt} AT '{at}' "
            f"USING MODEL {algo} AS MODEL {model}").replace("  ", " ")  # fmt: skip
    started = time.perf_counter()
    result = ws.execute(text)
    seconds = time.perf_counter() - started
    frame = result.to_pandas().set_index("customer_id")
    col = "score" if kind == "binary" else "prediction"
    explain = ws.execute(f"EXPLAIN MODEL {model}").to_pandas().head(12)
    top = [f"{r.feature} {r.importance:.4f}" for r in explain.itertuples()]
    stages = {k: round(float(v), 2) for k, v in ((result.plan or {}).get("seconds") or {}).items()}
    return {"query": text, "scores": frame[col], "seconds": seconds, "stages": stages,
            "message": str(result.message), "top_features": top}  # fmt: skip


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--quick", action="store_true", help="20,000 people (about 800 customers)")
    ap.add_argument(
        "--data", type=Path, help="generate here, or reuse the sample data already here"
    )
    ap.add_argument("--models", default="gbm,logistic", help="LeadQL models to run")
    ap.add_argument("--no-spend", action="store_true", help="skip the spend (regression) query")
    ap.add_argument(
        "--ablation",
        action="store_true",
        help="also fit gradient boosting on RFM plus candidate features LeadQL lacks",
    )
    ap.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "predict_accuracy.json"
    )
    args = ap.parse_args()
    people = 20_000 if args.quick else args.people
    algos = [a.strip() for a in args.models.split(",") if a.strip()]

    tmp = None
    folder = args.data
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="leadql_acc_")
        folder = Path(tmp.name)
    started = time.perf_counter()
    if (folder / "manifest.json").exists():
        data = SampleData.open(folder)
        print(f"reusing {folder} ({data.people:,} people, seed {data.seed})")
    else:
        data = generate(folder, people=people, seed=args.seed)
        print(
            f"generated {people:,} people (seed {args.seed}) in {time.perf_counter() - started:.1f}s"
        )
    orders, customers = load(data)
    last = orders["ordered_at"].max()
    t = (last.normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=90)).to_datetime64()
    at = pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S")
    print(f"{len(customers):,} customers, {len(orders):,} orders up to {last}; cut t = {at}")

    lifetimes_check = check_lifetimes()
    print(f"lifetimes on CDNOW: {lifetimes_check['cdnow_params']} "
          f"(published {lifetimes_check['published']}): "
          f"{'matches' if lifetimes_check['matches'] else 'DOES NOT MATCH'}")  # fmt: skip
    summary = bgnbd_summary(orders, customers, t)
    bgf = bgnbd_fit(summary)
    print("BG/NBD fitted at t:", {k: round(float(v), 4) for k, v in bgf.params_.items()})

    ws = leadql.connect()
    ws.execute(data.catalog_script())

    report: dict = {
        "people": data.people, "seed": data.seed, "customers": len(customers),
        "orders": len(orders), "cut": at, "lifetimes_check": lifetimes_check,
        "bgnbd_params": {k: float(v) for k, v in bgf.params_.items()}, "queries": {},
    }  # fmt: skip
    for name, kind, days, target, flt, rfm_flt in QUERIES:
        if kind == "regression" and args.no_spend:
            continue
        truth = labelled(orders, customers, t, days, rfm_flt)
        if name == "churn":
            y = (truth["count"] == 0).to_numpy()
            label = lambda f: (f["count"] == 0).to_numpy()  # noqa: E731
        elif name == "repeat":
            y = (truth["count"] > 0).to_numpy()
            label = lambda f: (f["count"] > 0).to_numpy()  # noqa: E731
        else:
            y = truth["spend"].to_numpy()
            label = lambda f: f["spend"].to_numpy()  # noqa: E731
        preds: dict[str, np.ndarray] = {}
        info: dict[str, dict] = {}
        for algo in algos:
            out = leadql_scores(ws, name, kind, target, flt, at, algo)
            scores = out.pop("scores")
            missing = int((~truth.index.isin(scores.index)).sum())
            preds[f"leadql-{algo}"] = scores.reindex(truth.index).fillna(scores.median()).to_numpy()
            info[f"leadql-{algo}"] = {**out, "missing": missing, "scored": len(scores)}
            print(f"  {name} leadql-{algo}: {out['seconds']:.1f}s (train stages {out['stages']}), "
                  f"{len(scores):,} scored, "
                  f"{missing} of ours missing — {out['message']}")  # fmt: skip
        for cuts in (1, 4):
            model = rfm_model(orders, customers, t, days, rfm_flt, kind, label, cuts)
            x = _design(truth)
            tag = ("rfm-logit" if kind == "binary" else "rfm-linear") + (
                "" if cuts == 1 else "-4cuts"
            )
            preds[tag] = model.predict_proba(x)[:, 1] if kind == "binary" else model.predict(x)
        s = summary.reindex(truth.index)
        if kind == "binary":
            none = bgnbd_p_none(bgf, s, days)
            preds["bg-nbd"] = none if name == "churn" else 1.0 - none
        else:
            preds["bg-nbd+gg"] = bgnbd_spend(bgf, s, days)
        metrics = {m: (binary_metrics if kind == "binary" else regression_metrics)(y, p)
                   for m, p in preds.items()}  # fmt: skip
        if args.ablation and kind == "binary":
            report.setdefault("ablation", {})[name] = ablation(
                orders, customers, t, name, days, rfm_flt, label
            )
        base = float(y.mean())
        deltas = auc_deltas(y, preds) if kind == "binary" else {}
        report["queries"][name] = {
            "kind": kind, "window_days": days, "entities": len(truth),
            ("positive_rate" if kind == "binary" else "mean_spend"): base,
            "metrics": metrics, "auc_deltas": deltas, "leadql": info,
        }  # fmt: skip
        print_table(name, kind, len(truth), base, metrics, info)
        for pair, d in deltas.items():
            lo, hi = d["ci95"]
            verdict = "better" if lo > 0 else "worse" if hi < 0 else "no significant difference"
            print(f"  AUC {pair}: {d['delta']:+.4f} [{lo:+.4f}, {hi:+.4f}] — {verdict}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwrote {args.out}")
    if tmp is not None:
        tmp.cleanup()


def print_table(name: str, kind: str, n: int, base: float, metrics: dict, info: dict) -> None:
    what = f"positive rate {base:.3f}" if kind == "binary" else f"mean spend {base:.2f}"
    print(f"\n== {name}: {n:,} customers, {what}")
    baselines = [m for m in metrics if not m.startswith("leadql")]
    if kind == "binary":
        print(
            f"{'model':<18}{'AUC':>7}{'PR-AUC':>8}{'Brier':>8}{'lift@10%':>9}{'time s':>8}  AUC ratio"
        )
        for m, v in metrics.items():
            ratio = ""
            if m.startswith("leadql"):
                ratio = "  ".join(f"/{b} {v['auc'] / metrics[b]['auc']:.3f}" for b in baselines)
            secs = f"{info[m]['seconds']:8.1f}" if m in info else " " * 8
            print(f"{m:<18}{v['auc']:7.3f}{v['pr_auc']:8.3f}{v['brier']:8.4f}{v['lift_top10']:9.2f}"
                  f"{secs}  {ratio}")  # fmt: skip
    else:
        print(f"{'model':<18}{'Spearman':>9}{'RMSE':>9}{'top10%':>8}{'time s':>8}  Spearman ratio")
        for m, v in metrics.items():
            ratio = ""
            if m.startswith("leadql"):
                ratio = "  ".join(
                    f"/{b} {v['spearman'] / metrics[b]['spearman']:.3f}" for b in baselines
                )
            secs = f"{info[m]['seconds']:8.1f}" if m in info else " " * 8
            print(
                f"{m:<18}{v['spearman']:9.3f}{v['rmse']:9.1f}{v['top10_spend_share']:8.3f}{secs}  {ratio}"
            )
    for m, i in info.items():
        print(f"  {m} top features: {', '.join(i['top_features'][:6])}")


if __name__ == "__main__":
    main()
