"""Metrics, lift, calibration and plots for PREDICT models.

Every function here returns plain JSON-serialisable values (floats, ints, strings, lists, dicts;
NaN becomes None) so that the registry can store them and `EVALUATE MODEL` can show them.

Definitions (binary; scores sorted descending, ties keep their input order):

    precision@k      positives among the k highest-scored rows / k; k = 1 %, 5 %, 10 % of the
                     rows (at least 1) and the absolute k when given; lift@k = precision@k / base
    lift_by_decile   rows split into 10 near-equal groups by score (decile 1 = highest);
                     rate = positives / rows, lift = rate / base rate, cumulative_gain = share
                     of all positives found in deciles 1…d
    calibration      10 equal-count score bins: mean predicted score vs observed positive rate;
                     ece = Σ rows/n · |mean predicted − observed|

Link prediction (per entity = `groups`; only entities with ≥ 1 positive candidate count):

    precision@k = hits in the top k / k;  recall@k = hits in the top k / positives of the entity
    map@k       = Σ_{i≤k} precision@i · rel_i / min(k, positives)
    ndcg@k      = Σ_{i≤k} rel_i / log2(i + 1)  ÷  the same for the ideal ordering
Positives that are not among the candidates are invisible here, so recall is relative to the
candidate set (candidate generation's own recall is the caller's to report).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadql.errors import LeadQLExecutionError

PLOT_FORMATS = (".png", ".svg", ".pdf")
TOP_FRACTIONS = (0.01, 0.05, 0.10)


def _f(x: Any) -> float | None:
    """A JSON-safe float: NaN / inf → None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def metrics(
    y_true: Any,
    scores: Any,
    *,
    task_type: str,
    groups: Any = None,
    k: int | None = None,
    classes: Sequence | None = None,
    baseline_scores: Any = None,
    brief: bool = False,
) -> dict:
    """Metrics of `scores` against `y_true` for a task type (see the module docstring).

    classes: multiclass only, the labels of the columns of `scores` (default: sorted labels).
    baseline_scores: link prediction only, e.g. popularity scores, evaluated the same way and
    reported under "baseline". brief: binary only, just the scalar metrics.
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if task_type == "binary_classification":
        return _binary(y.astype(np.float64), s, k=k, brief=brief)
    if task_type == "regression":
        return _regression(y.astype(np.float64), s)
    if task_type == "multiclass_classification":
        return _multiclass(y, s, classes)
    if task_type == "link_prediction":
        if groups is None:
            raise LeadQLExecutionError("link prediction metrics need the entity of every row")
        out = _ranking(y.astype(np.float64), s, np.asarray(groups), k or 10)
        if baseline_scores is not None:
            out["baseline"] = _ranking(
                y.astype(np.float64),
                np.asarray(baseline_scores, dtype=np.float64),
                np.asarray(groups),
                k or 10,
            )
        return out
    raise LeadQLExecutionError(f"no metrics for task type `{task_type}`")


def _order(s: np.ndarray) -> np.ndarray:
    """Indices by descending score; ties keep input order."""
    return np.argsort(-s, kind="stable")


def _binary(y: np.ndarray, s: np.ndarray, *, k: int | None, brief: bool) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    n = len(y)
    pos = float(y.sum()) if n else 0.0
    base = pos / n if n else float("nan")
    both = 0 < pos < n
    p = np.clip(s, 1e-15, 1 - 1e-15)
    out: dict[str, Any] = {
        "task_type": "binary_classification",
        "rows": int(n),
        "positives": int(pos),
        "base_rate": _f(base),
        "auc": _f(roc_auc_score(y, s)) if both else None,
        "pr_auc": _f(average_precision_score(y, s)) if both else None,
        "log_loss": _f(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if n else None,
        "brier": _f(np.mean((s - y) ** 2)) if n else None,
    }
    if brief or n == 0:
        return out
    order = _order(s)
    hits = y[order]
    cum = np.cumsum(hits)
    pak = []
    cuts = [(f"{round(fr * 100):g}%", max(1, math.ceil(fr * n))) for fr in TOP_FRACTIONS]
    if k:
        cuts.append((str(int(k)), min(int(k), n)))
    for label, kk in cuts:
        prec = cum[kk - 1] / kk
        pak.append(
            {
                "k": label,
                "rows": int(kk),
                "precision": _f(prec),
                "lift": _f(prec / base) if base > 0 else None,
            }
        )
    out["precision_at_k"] = pak
    deciles = []
    found = 0.0
    for d, idx in enumerate(np.array_split(np.arange(n), 10), start=1):
        if len(idx) == 0:
            continue
        ph = hits[idx]
        found += ph.sum()
        rate = ph.mean()
        deciles.append(
            {
                "decile": d,
                "rows": int(len(idx)),
                "positives": int(ph.sum()),
                "rate": _f(rate),
                "lift": _f(rate / base) if base > 0 else None,
                "cumulative_gain": _f(found / pos) if pos > 0 else None,
                "min_score": _f(s[order[idx[-1]]]),
                "max_score": _f(s[order[idx[0]]]),
            }
        )
    out["lift_by_decile"] = deciles
    bins = []
    ece = 0.0
    asc = np.argsort(s, kind="stable")
    for idx in np.array_split(asc, min(10, n)):
        if len(idx) == 0:
            continue
        mp, ob = float(s[idx].mean()), float(y[idx].mean())
        ece += len(idx) / n * abs(mp - ob)
        bins.append(
            {
                "bin": len(bins) + 1,
                "mean_predicted": _f(mp),
                "observed_rate": _f(ob),
                "rows": int(len(idx)),
            }
        )
    out["calibration"] = bins
    out["ece"] = _f(ece)
    return out


def _regression(y: np.ndarray, s: np.ndarray) -> dict:
    n = len(y)
    out: dict[str, Any] = {"task_type": "regression", "rows": int(n)}
    if n == 0:
        return out
    err = s - y
    var = float(np.var(y))
    rho = pd.Series(s).rank().corr(pd.Series(y).rank()) if n > 1 else float("nan")
    out.update(
        {
            "mae": _f(np.mean(np.abs(err))),
            "rmse": _f(np.sqrt(np.mean(err**2))),
            "r2": _f(1 - np.mean(err**2) / var) if var > 0 else None,
            "spearman": _f(rho),
            "mean_target": _f(y.mean()),
            "mean_predicted": _f(s.mean()),
        }
    )
    deciles = []
    for d, idx in enumerate(np.array_split(_order(s), 10), start=1):
        if len(idx) == 0:
            continue
        deciles.append(
            {
                "decile": d,
                "rows": int(len(idx)),
                "mean_predicted": _f(s[idx].mean()),
                "mean_actual": _f(y[idx].mean()),
            }
        )
    out["deciles"] = deciles
    return out


def _multiclass(y: np.ndarray, s: np.ndarray, classes: Sequence | None) -> dict:
    if classes is None:
        classes = sorted(pd.unique(y).tolist(), key=str)
    classes = list(classes)
    n = len(y)
    out: dict[str, Any] = {
        "task_type": "multiclass_classification",
        "rows": int(n),
        "classes": [_jsonable(c) for c in classes],
    }
    if n == 0:
        return out
    s = s.reshape(n, -1)
    index = {c: i for i, c in enumerate(classes)}
    yi = np.array([index.get(_key(v), -1) for v in y.tolist()])
    pred = s.argmax(axis=1)
    known = yi >= 0
    p_true = np.clip(s[np.flatnonzero(known), yi[known]], 1e-15, 1.0)
    out["accuracy"] = _f(np.mean(pred == yi))
    out["log_loss"] = _f(-np.mean(np.log(p_true))) if known.any() else None
    out["unknown_class_rows"] = int((~known).sum())
    per = []
    f1s = []
    kc = len(classes)
    confusion = np.zeros((kc, kc), dtype=np.int64)
    np.add.at(confusion, (yi[known], pred[known]), 1)
    for i, c in enumerate(classes):
        tp = int(confusion[i, i])
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        prec = tp / predicted if predicted else 0.0
        rec = tp / support if support else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if support or predicted:
            f1s.append(f1)
        per.append(
            {
                "class": _jsonable(c),
                "support": support,
                "predicted": predicted,
                "precision": _f(prec),
                "recall": _f(rec),
                "f1": _f(f1),
            }
        )
    out["macro_f1"] = _f(np.mean(f1s)) if f1s else None
    out["per_class"] = per
    out["confusion"] = confusion.tolist()
    return out


def _key(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _jsonable(v: Any) -> Any:
    v = _key(v)
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def _ranking(y: np.ndarray, s: np.ndarray, groups: np.ndarray, k: int) -> dict:
    df = pd.DataFrame({"g": groups, "s": s, "y": y, "i": np.arange(len(y))})
    df = df.sort_values(["g", "s", "i"], ascending=[True, False, True], kind="stable")
    df["rank"] = df.groupby("g", sort=False).cumcount() + 1
    df["hits"] = df.groupby("g", sort=False)["y"].cumsum()
    npos = df.groupby("g", sort=False)["y"].sum()
    top = df[df["rank"] <= k]
    per = pd.DataFrame({"npos": npos})
    per["hits"] = top.groupby("g", sort=False)["y"].sum()
    ap_terms = (top["hits"] / top["rank"]) * top["y"]
    per["ap"] = ap_terms.groupby(top["g"], sort=False).sum()
    per["dcg"] = (top["y"] / np.log2(top["rank"] + 1)).groupby(top["g"], sort=False).sum()
    discounts = np.concatenate([[0.0], np.cumsum(1 / np.log2(np.arange(2, k + 2)))])
    per = per.fillna(0.0)
    per = per[per["npos"] > 0]
    out: dict[str, Any] = {
        "task_type": "link_prediction",
        "k": int(k),
        "rows": int(len(y)),
        "entities": int(df["g"].nunique()),
        "evaluated_entities": int(len(per)),
    }
    if len(per) == 0:
        out.update(
            {"map_at_k": None, "precision_at_k": None, "recall_at_k": None, "ndcg_at_k": None}
        )
        return out
    ideal = discounts[np.minimum(per["npos"].to_numpy(np.int64), k)]
    out.update(
        {
            "map_at_k": _f((per["ap"] / np.minimum(per["npos"], k)).mean()),
            "precision_at_k": _f((per["hits"] / k).mean()),
            "recall_at_k": _f((per["hits"] / per["npos"]).mean()),
            "ndcg_at_k": _f((per["dcg"].to_numpy() / ideal).mean()),
            "hit_rate_at_k": _f((per["hits"] > 0).mean()),
        }
    )
    return out


# --------------------------------------------------------------------------------------------
# Tables for users


def metrics_rows(m: dict) -> list[dict]:
    """The scalar metrics as (metric, value) rows; lift and calibration have their own tables."""
    rows: list[dict] = []
    skip = {
        "task_type",
        "lift_by_decile",
        "calibration",
        "deciles",
        "per_class",
        "confusion",
        "classes",
        "validation",
        "uncalibrated",
        "baseline",
        "notes",
        "precision_at_k",
    }
    for key, value in m.items():
        if key in skip or isinstance(value, (dict, list)):
            continue
        rows.append({"metric": key, "value": value})
    pak = m.get("precision_at_k")
    if isinstance(pak, list):
        for entry in pak:
            rows.append({"metric": f"precision@{entry['k']}", "value": entry["precision"]})
            rows.append({"metric": f"lift@{entry['k']}", "value": entry["lift"]})
    elif pak is not None:
        rows.append({"metric": "precision_at_k", "value": pak})
    for c in m.get("per_class") or []:
        rows.append({"metric": f"recall[{c['class']}]", "value": c["recall"]})
    base = m.get("baseline")
    if isinstance(base, dict):
        for key in ("map_at_k", "precision_at_k", "recall_at_k", "ndcg_at_k"):
            rows.append({"metric": f"baseline_{key}", "value": base.get(key)})
    unc = m.get("uncalibrated")
    if isinstance(unc, dict):
        for key in ("log_loss", "brier"):
            rows.append({"metric": f"uncalibrated_{key}", "value": unc.get(key)})
    val = m.get("validation")
    if isinstance(val, dict):
        rows.append({"metric": "validation", "value": val.get("scheme")})
        for key in ("valid_from", "train_rows", "valid_rows"):
            if key in val:
                rows.append({"metric": f"validation_{key}", "value": val[key]})
    return rows


def lift_rows(m: dict) -> list[dict]:
    """Lift by decile (binary) or predicted-vs-actual deciles (regression)."""
    return [dict(r) for r in (m.get("lift_by_decile") or m.get("deciles") or [])]


def calibration_rows(m: dict) -> list[dict]:
    return [dict(r) for r in (m.get("calibration") or [])]


def importance_rows(model: Any) -> list[dict]:
    return [
        {"rank": i, "feature": f, "importance": _f(v)}
        for i, (f, v) in enumerate(model.importance, start=1)
    ]


# --------------------------------------------------------------------------------------------
# Plots


def plot(m: dict, path: str | os.PathLike, *, title: str) -> None:
    """Draw the model's evaluation to `path` (.png, .svg or .pdf) with matplotlib (Agg).

    binary: cumulative gains and lift by decile, plus a calibration curve; regression: predicted
    vs actual by decile; multiclass: confusion matrix and per-class recall; link prediction:
    ranking metrics against the baseline when there is one.
    """
    target = Path(path)
    ext = target.suffix.lower()
    if ext not in PLOT_FORMATS:
        raise LeadQLExecutionError(
            f"cannot draw a plot to `{target.name}`: unknown file type `{ext or '(none)'}`",
            hint=f"use one of {', '.join(PLOT_FORMATS)}, e.g. PLOT 'lift.png'",
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise LeadQLExecutionError(
            f"cannot write the plot to `{target}`: the folder `{parent}` does not exist",
            hint="create the folder first or write the plot elsewhere",
        )
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise LeadQLExecutionError(
            "plots need matplotlib, which is not installed",
            hint="pip install 'matplotlib>=3.8,<4'",
        ) from None
    task = m.get("task_type")
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title)
    if task == "binary_classification":
        _plot_binary(fig, m)
    elif task == "regression":
        _plot_regression(fig, m)
    elif task == "multiclass_classification":
        _plot_multiclass(fig, m)
    else:
        _plot_ranking(fig, m)
    try:
        fig.savefig(target, format=ext[1:])
    except OSError as exc:
        raise LeadQLExecutionError(
            f"cannot write the plot to `{target}`: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from None


def _plot_binary(fig, m: dict) -> None:
    ax1, ax2, ax3 = fig.subplots(1, 3)
    dec = m.get("lift_by_decile") or []
    n = sum(d["rows"] for d in dec) or 1
    x = [0.0]
    g = [0.0]
    seen = 0
    for d in dec:
        seen += d["rows"]
        x.append(seen / n)
        g.append(d["cumulative_gain"] or 0.0)
    ax1.plot(x, g, marker="o", label="model")
    ax1.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    ax1.set(
        title="Cumulative gains",
        xlabel="share of rows targeted (by score)",
        ylabel="share of positives found",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax1.legend(loc="lower right")
    ax2.bar([d["decile"] for d in dec], [d["lift"] or 0.0 for d in dec], color="tab:blue")
    ax2.axhline(1.0, linestyle="--", color="grey")
    ax2.set(
        title="Lift by decile",
        xlabel="decile (1 = highest scores)",
        ylabel="lift",
        xticks=list(range(1, 11)),
    )
    cal = m.get("calibration") or []
    mp = [c["mean_predicted"] for c in cal]
    ob = [c["observed_rate"] for c in cal]
    hi = max([0.05, *mp, *ob]) * 1.05
    ax3.plot([0, hi], [0, hi], linestyle="--", color="grey", label="perfect")
    ax3.plot(mp, ob, marker="o", label="model")
    ece = m.get("ece")
    ax3.set(
        title="Calibration" + (f" (ECE {ece:.3f})" if ece is not None else ""),
        xlabel="mean predicted probability",
        ylabel="observed rate",
        xlim=(0, hi),
        ylim=(0, hi),
    )
    ax3.legend(loc="upper left")


def _plot_regression(fig, m: dict) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    dec = m.get("deciles") or []
    xs = [d["decile"] for d in dec]
    ax1.plot(xs, [d["mean_predicted"] for d in dec], marker="o", label="mean predicted")
    ax1.plot(xs, [d["mean_actual"] for d in dec], marker="s", label="mean actual")
    ax1.set(
        title="Predicted vs actual by decile",
        xlabel="decile (1 = highest predictions)",
        ylabel="value",
    )
    ax1.legend()
    mp = [d["mean_predicted"] for d in dec]
    ma = [d["mean_actual"] for d in dec]
    if mp:
        lo, hi = min(mp + ma), max(mp + ma)
        ax2.plot([lo, hi], [lo, hi], linestyle="--", color="grey")
    ax2.scatter(mp, ma)
    ax2.set(
        title=f"R² {m.get('r2') if m.get('r2') is None else round(m['r2'], 3)}",
        xlabel="mean predicted",
        ylabel="mean actual",
    )


def _plot_multiclass(fig, m: dict) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    classes = [str(c) for c in m.get("classes") or []]
    conf = np.asarray(m.get("confusion") or np.zeros((len(classes), len(classes))))
    ax1.imshow(conf, cmap="Blues")
    ax1.set(
        title=f"Confusion (accuracy {m.get('accuracy') or 0:.3f})",
        xlabel="predicted",
        ylabel="actual",
        xticks=range(len(classes)),
        yticks=range(len(classes)),
    )
    ax1.set_xticklabels(classes, rotation=45, ha="right")
    ax1.set_yticklabels(classes)
    if conf.size and conf.size <= 400:
        for (i, j), v in np.ndenumerate(conf):
            ax1.text(j, i, str(int(v)), ha="center", va="center", fontsize=8)
    per = m.get("per_class") or []
    ax2.bar([str(c["class"]) for c in per], [c["recall"] or 0.0 for c in per])
    ax2.set(title="Recall by class", ylim=(0, 1))
    ax2.tick_params(axis="x", labelrotation=45)


def _plot_ranking(fig, m: dict) -> None:
    ax = fig.subplots(1, 1)
    keys = ["precision_at_k", "recall_at_k", "map_at_k", "ndcg_at_k"]
    xs = np.arange(len(keys))
    ax.bar(xs - 0.2, [m.get(k) or 0.0 for k in keys], width=0.4, label="model")
    base = m.get("baseline")
    if isinstance(base, dict):
        ax.bar(xs + 0.2, [base.get(k) or 0.0 for k in keys], width=0.4, label="baseline")
    ax.set_xticks(xs)
    ax.set_xticklabels([k.replace("_at_k", f"@{m.get('k', '')}") for k in keys])
    ax.set(title="Ranking quality", ylim=(0, 1))
    ax.legend()
