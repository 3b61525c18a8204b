"""What changed between two versions of a model or pattern: window, features, metrics, drift.

Every saved version carries an *input summary* of the matrix it was trained on
(`info["inputs"]`, made by `input_summary`). A summary is self-contained, so any two versions can
be compared later without their data:

* a numeric feature keeps its decile edges with the share of rows in each bin, the missing share,
  the mean, and a *CDF sketch*: the exact share of rows ≤ each of its distinct percentiles
  (at most 101 points). Binning another version's data on these edges reads that version's CDF
  sketch at the edges (linear between sketch points), so the error per bin is at most the mass
  between two neighbouring percentiles (1%);
* a categorical or boolean feature keeps the shares of its 20 commonest values, `other` and the
  missing share. Values outside the reference's top 20 count as `other`; values that are in the
  new top 20 but not in the old one are reported as new values.

`drift` is the population stability index (PSI) of the newer version's inputs binned on the
older version's bins (deciles or top values, plus `other` and missing):
PSI = Σ (new − old) · ln(new / old), with shares floored at 0.0001. Below 0.1 is no drift,
0.1–0.25 moderate, 0.25 and more major.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

SAMPLE_ROWS = 200_000  # an input summary reads at most this many rows (fixed seed)
TOP_VALUES = 20
SKETCH_POINTS = 101  # percentiles 0, 1, …, 100
FLOOR = 1e-4  # shares are floored at this in PSI so an empty bin does not make it infinite
MODERATE, MAJOR = 0.1, 0.25
SUMMARY_VERSION = 1


# ------------------------------------------------------------------------ summaries


def _frame(table: Any, columns: list[str] | None) -> Any:
    """A pandas frame of the wanted columns, sampled down to SAMPLE_ROWS rows."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):  # a pyarrow Table
        names = columns or list(table.column_names)
        rows = table.num_rows
        if rows > SAMPLE_ROWS:
            keep = np.sort(np.random.default_rng(0).choice(rows, SAMPLE_ROWS, replace=False))
            table = table.take(keep)
        return table.select(names).to_pandas()
    frame = table if columns is None else table[list(columns)]
    if len(frame) > SAMPLE_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(frame), SAMPLE_ROWS, replace=False))
        frame = frame.iloc[keep]
    return frame


def _is_numeric(series: Any) -> bool:
    from pandas.api import types

    return bool(types.is_numeric_dtype(series.dtype) and not types.is_bool_dtype(series.dtype))


def _numeric(series: Any) -> dict[str, Any]:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    rows = len(values)
    finite = values[np.isfinite(values)]
    missing = 1.0 - finite.size / rows if rows else 0.0
    out: dict[str, Any] = {"type": "numeric", "rows": rows, "missing": missing, "mean": None,
                           "edges": [], "shares": [], "sketch": []}  # fmt: skip
    if finite.size == 0:
        return out
    finite.sort()
    last = finite.size - 1  # percentiles as data values (integer positions: edges ⊂ sketch)
    points = np.unique(finite[np.arange(SKETCH_POINTS) * last // (SKETCH_POINTS - 1)])
    below = np.searchsorted(finite, points, side="right") / finite.size  # exact P(X <= point)
    edges = np.unique(finite[np.arange(10, 100, 10) * last // 100])
    edges = edges[edges < finite[-1]]  # the last bin always holds the maximum
    counts = np.diff(np.concatenate([[0], np.searchsorted(finite, edges, side="right"), [finite.size]]))
    share = 1.0 - missing
    out.update(
        mean=float(finite.mean()), edges=[float(e) for e in edges],
        shares=[float(c) / finite.size * share for c in counts],
        sketch=[[float(p), float(b)] for p, b in zip(points, below, strict=True)],
    )  # fmt: skip
    return out


def _categorical(series: Any) -> dict[str, Any]:
    rows = len(series)
    present = series.dropna()
    missing = 1.0 - len(present) / rows if rows else 0.0
    counts = present.astype(str).value_counts(sort=True)
    top = counts.head(TOP_VALUES)
    values = {str(k): float(v) / rows for k, v in top.items()}
    return {"type": "categorical", "rows": rows, "missing": missing, "values": values,
            "other": float(counts.iloc[TOP_VALUES:].sum()) / rows if rows else 0.0,
            "distinct": int(len(counts))}  # fmt: skip


def input_summary(table: Any, columns: list[str] | None = None) -> dict[str, Any]:
    """The distribution of every column of a training input matrix (pyarrow Table or pandas
    DataFrame), JSON-able: see the module docstring. Reads a fixed-seed sample of at most
    SAMPLE_ROWS rows."""
    frame = _frame(table, columns)
    features: dict[str, Any] = {}
    for name in frame.columns:
        series = frame[name]
        features[str(name)] = _numeric(series) if _is_numeric(series) else _categorical(series)
    return {"version": SUMMARY_VERSION, "rows": int(len(table)), "sampled": int(len(frame)),
            "features": features}  # fmt: skip


# ------------------------------------------------------------------------ drift


def _cdf(summary: dict[str, Any], at: np.ndarray) -> np.ndarray:
    """P(X <= at | X present), read from a numeric summary's CDF sketch."""
    sketch = summary.get("sketch") or []
    if not sketch:
        return np.zeros(len(at))
    points = np.array([p for p, _ in sketch])
    below = np.array([b for _, b in sketch])
    return np.interp(at, points, below, left=0.0, right=1.0)


def _numeric_bins(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Old and new shares on the old summary's bins (its deciles, then missing)."""
    old_present, new_present = 1.0 - old["missing"], 1.0 - new["missing"]
    if not old.get("sketch"):  # the old data had no values at all: one bin for "present"
        return [old_present, old["missing"]], [new_present, new["missing"]]
    edges = np.array(old["edges"], dtype=float)
    cdf = np.concatenate([[0.0], _cdf(new, edges), [1.0]]) if new.get("sketch") else None
    new_shares = list(np.diff(cdf) * new_present) if cdf is not None else [0.0] * (len(edges) + 1)
    return list(old["shares"]) + [old["missing"]], [float(s) for s in new_shares] + [new["missing"]]


def _categorical_bins(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[float], list[float], list[str]]:
    """Old and new shares on the old top values, `other` and missing; and the new values."""
    keys = list(old["values"])
    old_shares = [old["values"][k] for k in keys]
    new_shares = [new["values"].get(k, 0.0) for k in keys]
    new_other = max(0.0, 1.0 - new["missing"] - sum(new_shares))
    fresh = [k for k in new["values"] if k not in old["values"]]
    return (old_shares + [old["other"], old["missing"]], new_shares + [new_other, new["missing"]],
            fresh)  # fmt: skip


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def status(value: float | None) -> str:
    if value is None:
        return "not recorded"
    return "major" if value >= MAJOR else "moderate" if value >= MODERATE else "none"


def drift(old_summary: dict[str, Any] | None, new_summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """PSI per feature present in both summaries (same kind), largest first; [] when either
    summary is missing. Each row: feature, psi, status, and for categories the new values."""
    if not old_summary or not new_summary:
        return []
    old_features, new_features = old_summary.get("features", {}), new_summary.get("features", {})
    out = []
    for name, old in old_features.items():
        new = new_features.get(name)
        if new is None or new.get("type") != old.get("type"):
            continue
        fresh: list[str] = []
        if old["type"] == "numeric":
            before, after = _numeric_bins(old, new)
        else:
            before, after, fresh = _categorical_bins(old, new)
        value = round(psi(before, after), 4)
        row = {"feature": name, "psi": value, "status": status(value)}
        if fresh:
            row["new_values"] = fresh
        out.append(row)
    out.sort(key=lambda r: (-r["psi"], r["feature"]))
    return out


# ------------------------------------------------------------------------ changes


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _days(before: Any, after: Any) -> float | None:
    a, b = _time(before), _time(after)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 86400, 2)


def _feature_names(row: Any) -> list[str]:
    features = _get(row, "features") or {}
    return [f["name"] if isinstance(f, dict) else str(f) for f in features.get("features", [])]


def _scalars(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}  # fmt: skip


def changes(previous_row: Any, this_row: Any) -> dict[str, Any]:
    """What changed from one version to the next (ModelVersion objects or dicts with the same
    keys): training window and prediction time shifts in days, training rows, features added and
    removed, every shared scalar metric's delta, the algorithm, and the drift of the inputs."""
    out: dict[str, Any] = {
        "window": {"from_days": _days(_get(previous_row, "train_from"), _get(this_row, "train_from")),
                   "to_days": _days(_get(previous_row, "train_to"), _get(this_row, "train_to"))},
        "prediction_time_days": _days(_get(previous_row, "prediction_time"), _get(this_row, "prediction_time")),
    }  # fmt: skip
    before_rows, after_rows = _get(previous_row, "train_rows"), _get(this_row, "train_rows")
    out["rows"] = {"before": before_rows, "after": after_rows,
                   "delta": None if before_rows is None or after_rows is None else after_rows - before_rows}  # fmt: skip
    old_names, new_names = _feature_names(previous_row), _feature_names(this_row)
    out["features_added"] = [n for n in new_names if n not in set(old_names)]
    out["features_removed"] = [n for n in old_names if n not in set(new_names)]
    old_metrics, new_metrics = _scalars(_get(previous_row, "metrics")), _scalars(_get(this_row, "metrics"))
    out["metrics"] = {k: {"before": old_metrics[k], "after": new_metrics[k],
                          "delta": round(new_metrics[k] - old_metrics[k], 6)}
                      for k in old_metrics if k in new_metrics}  # fmt: skip
    before_algo, after_algo = _get(previous_row, "algorithm"), _get(this_row, "algorithm")
    out["algorithm"] = None if before_algo == after_algo else {"before": before_algo, "after": after_algo}
    old_inputs = (_get(previous_row, "info") or {}).get("inputs")
    new_inputs = (_get(this_row, "info") or {}).get("inputs")
    if not old_inputs or not new_inputs:
        out["drift"] = {"recorded": False}
    else:
        rows = drift(old_inputs, new_inputs)
        out["drift"] = {
            "recorded": True, "features": len(rows),
            "moderate": sum(r["status"] == "moderate" for r in rows),
            "major": sum(r["status"] == "major" for r in rows),
            "max_psi": rows[0]["psi"] if rows else 0.0,
            "top": [r for r in rows[:3] if r["status"] != "none"],
            "new_values": {r["feature"]: r["new_values"] for r in rows if r.get("new_values")},
        }  # fmt: skip
    out["text"] = describe(out, headline=_headline(this_row))
    return out


def _headline(row: Any) -> str | None:
    from leadql.predict.registry import headline

    return headline(_scalars(_get(row, "metrics")), _get(row, "task_type") or "")[0]


_LABELS = {"auc": "AUC", "pr_auc": "PR-AUC", "map_at_k": "MAP@k", "r2": "R²", "rmse": "RMSE",
           "mae": "MAE", "brier": "Brier", "log_loss": "log loss", "macro_f1": "macro F1"}  # fmt: skip


def _shift(days: float) -> str:
    days = round(days, 1)
    return f"{days:+g} day{'s' if abs(days) != 1 else ''}"


def _names(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f", … {len(names) - limit} more" if len(names) > limit else "")


def describe(change: dict[str, Any], *, headline: str | None = None) -> str:
    """`changes` as one short line, e.g. "window +30 days; +2 features (a, b); AUC +0.012;
    3 features drifted (income PSI 0.31 major, …)"."""
    parts = []
    w = change.get("window") or {}
    start, end = w.get("from_days"), w.get("to_days")
    if start is not None and end is not None:
        if start == end:
            parts.append(f"window {_shift(end)}" if end else "same window")
        else:
            parts.append(f"window start {_shift(start)}, end {_shift(end)}")
    rows = change.get("rows") or {}
    if rows.get("delta"):
        parts.append(f"rows {rows['delta']:+,}")
    if change.get("algorithm"):
        parts.append(f"algorithm {change['algorithm']['before']} → {change['algorithm']['after']}")
    added, removed = change.get("features_added") or [], change.get("features_removed") or []
    if added:
        parts.append(f"+{len(added)} feature{'s' if len(added) != 1 else ''} ({_names(added)})")
    if removed:
        parts.append(f"-{len(removed)} feature{'s' if len(removed) != 1 else ''} ({_names(removed)})")
    metrics = change.get("metrics") or {}
    order = ([headline] if headline in metrics else []) + [k for k in _LABELS if k in metrics and k != headline]
    moved = [k for k in order if round(metrics[k]["delta"], 3) != 0]
    shown = [f"{_LABELS.get(k, k)} {metrics[k]['delta']:+.3f}" for k in moved[:3]]
    if shown:
        parts.append(", ".join(shown))
    elif order:
        parts.append(f"{_LABELS.get(order[0], order[0])} unchanged")
    d = change.get("drift") or {}
    if not d.get("recorded"):
        parts.append("drift not recorded")
    else:
        drifted = d["moderate"] + d["major"]
        if drifted:
            top = ", ".join(f"{r['feature']} PSI {r['psi']:.2f} {r['status']}" for r in d["top"])
            major = f", {d['major']} major" if d["major"] and d["moderate"] else ""
            parts.append(f"{drifted} feature{'s' if drifted != 1 else ''} drifted{major} ({top}"
                         + (", …" if drifted > len(d["top"]) else "") + ")")  # fmt: skip
        else:
            parts.append(f"no drift (max PSI {d['max_psi']:.2f})")
        fresh = d.get("new_values") or {}
        if fresh:
            parts.append("new values in " + ", ".join(f"{k} ({len(v)})" for k, v in list(fresh.items())[:3]))
    return "; ".join(parts)


# ------------------------------------------------------------------------ training inputs


INPUT_SAMPLE = 20_000  # training examples whose features are summarised when a version is saved


def training_inputs(ws: Any, bound: Any, pipeline: Any, anchors: list[datetime]) -> Any | None:
    """The trained pipeline's feature matrix on a fixed-seed sample of at most INPUT_SAMPLE of
    its training examples (the same anchors), as pandas; None for link prediction, whose inputs
    are (entity, item) pairs. Used when training did not hand over a summary itself."""
    from leadql.grammar.validate import LINK_PREDICTION
    from leadql.predict.labels import build_examples
    from leadql.predict.pipeline import _Temps, features_frame, scoring_features

    # pairs (ranking, CLASSIFY of items) or a timeframe column (FORECAST): not the entity's features alone
    if pipeline.task_type == LINK_PREDICTION or getattr(pipeline, "ranking", None) is not None \
            or getattr(pipeline, "forecast", None) is not None or not anchors:
        return None
    con = ws.con
    temps = _Temps(con)
    try:
        examples = temps("inputs")
        n = build_examples(con, bound, list(anchors), examples, training=True)
        if n > INPUT_SAMPLE:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {examples} AS SELECT entity_id, anchor_ts FROM "
                        f"{examples} USING SAMPLE {INPUT_SAMPLE} ROWS (reservoir, 11)")  # fmt: skip
        _, feats = scoring_features(ws, bound, pipeline, examples, temps)
        frame = features_frame(con, feats, examples, label=False)
        return frame[[f["name"] for f in pipeline.feature_plan.get("features", [])]]
    finally:
        temps.drop()


def score_version(ws: Any, name: str, version: int | None = None, *, at: datetime | None = None) -> Any:
    """Scores of a saved model version (the one in use by default) on the current data, at `at`
    or at its query's prediction time, as `PREDICT` returns them (Arrow, in rank order)."""
    from leadql.context import Context
    from leadql.grammar.parser import parse
    from leadql.predict import registry
    from leadql.predict.binding import bind_predict
    from leadql.predict.pipeline import score

    saved = registry.load_version(ws.con, name, version)
    bound = bind_predict(Context(ws, {}, saved.statement), parse(saved.statement)[0])
    return score(ws, bound, saved.payload(), at=at)
