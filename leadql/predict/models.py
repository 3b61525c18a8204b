"""Models for PREDICT: scikit-learn pipelines per task type, calibration and per-row reasons.

Pure Python / numpy / pandas / scikit-learn: no SQL, no catalog. The caller (labels.py and
features.py) hands over the training table as a feature frame `X`, labels `y` and the anchor
time of every row; `train` returns a picklable `TrainedModel` that `predict`, `predict_label`
and `reasons` score new frames with. See docs/predict-models.md for the reasoning.

Validation and calibration scheme (one sentence each, the details are in `train`):

- The latest anchor time(s) holding about 15–25 % of the rows are the validation slice; the model
  is fitted on the earlier rows only (a random 20 % split when there is a single anchor time).
- Binary scores are calibrated on the validation slice (isotonic when it holds at least
  `ISOTONIC_MIN_CLASS` positives and negatives, else sigmoid/Platt); the reported validation
  metrics use calibrators cross-fitted on that slice (5 folds), so no row is scored by a
  calibrator that saw it.
- The model that is kept is the one fitted on the earlier rows: it is exactly the model the
  validation metrics describe, and its calibrator was fitted on data it never saw. We do not
  refit on all rows, because a refitted model's scores drift from what the calibrator learnt.

Preprocessing lives inside the saved pipeline as a `TabularEncoder` (first pipeline step):
ordinal codes for gbm (HistGradientBoosting handles categories natively, at most 255 of them,
so rare values share an "other" code and unseen values count as missing), and median-imputed,
standardised numerics plus one-hot categoricals (min frequency, unknown values → all zeros) for
logistic. It replaces sklearn's ColumnTransformer because it is several times faster at scoring
time, caps categorical cardinality, and knows which encoded columns belong to which feature
(which `reasons` needs).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from leadql.errors import LeadQLExecutionError, did_you_mean
from leadql.predict import evaluate, scoring

ALGORITHMS = ("gbm", "logistic")
TASK_TYPES = (
    "binary_classification",
    "regression",
    "multiclass_classification",
    "link_prediction",
)

MIN_ROWS = 20  # fewer training rows than this cannot give a meaningful model
MIN_CLASS_ROWS = 10  # binary / link prediction: positives and negatives needed, each
ISOTONIC_MIN_CLASS = 200  # validation positives (and negatives) needed for isotonic calibration
VALID_LOW, VALID_HIGH = 0.15, 0.25  # the validation slice's target share of the rows
IMPORTANCE_ROWS = 20_000  # permutation importance runs on at most this many validation rows
SCORE_CHUNK_CELLS = 1 << 20  # predict encodes and scores ~1M cells (8 MB) at a time
SCORE_THREADS: int | None = None  # gbm scoring: OpenMP threads for the tree walk (None: 1)
REASON_FEATURES = 12  # gbm reasons: how many globally important features are probed
MAX_CLASSES = 100  # a multiclass target's distinct values at most
MAX_GBM_CATEGORIES = 254  # HistGradientBoosting: < max_bins (255) categories per feature
MAX_ONEHOT_CATEGORIES = 50  # logistic: one-hot columns per categorical feature at most
ONEHOT_MIN_FREQUENCY = 5  # logistic: rarer categories share one "other" column

Progress = Callable[[str, float], None]


# --------------------------------------------------------------------------------------------
# Preprocessing


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Feature frame → float64 matrix, fitted on the training rows.

    mode="ordinal" (gbm): numerics as they are (NaN stays NaN), then one column of category codes
    per categorical (the `MAX_GBM_CATEGORIES` most frequent values get codes 0…k-1, rarer values
    share code k, missing and unseen values are NaN).

    mode="onehot" (logistic): numerics imputed with the training median and standardised, then
    one-hot columns per categorical for values seen at least `ONEHOT_MIN_FREQUENCY` times (at
    most `MAX_ONEHOT_CATEGORIES`), one "other" column for rarer values (if any were seen); a value
    never seen in training encodes as all zeros. Missing is a category of its own ("(missing)").
    """

    def __init__(self, features=(), categorical=(), mode="ordinal"):
        self.features = features
        self.categorical = categorical
        self.mode = mode

    def fit(self, X: pd.DataFrame, y=None):
        cats = set(self.categorical)
        self.numeric_ = [f for f in self.features if f not in cats]
        self.categorical_ = [f for f in self.features if f in cats]
        self.categories_: dict[str, list[str]] = {}
        self.has_other_: dict[str, bool] = {}
        self.median_ = np.zeros(len(self.numeric_))
        self.mean_ = np.zeros(len(self.numeric_))
        self.scale_ = np.ones(len(self.numeric_))
        if self.numeric_:
            num = _numeric_matrix(X, self.numeric_)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                med = np.nanmedian(num, axis=0)
            self.median_ = np.where(np.isnan(med), 0.0, med)
            filled = np.where(np.isnan(num), self.median_, num)
            self.mean_ = filled.mean(axis=0)
            std = filled.std(axis=0)
            self.scale_ = np.where(std > 1e-12, std, 1.0)
        for f in self.categorical_:
            counts = _category_strings(X[f], self.mode == "onehot").value_counts(sort=True)
            if self.mode == "ordinal":
                keep = list(counts.index[:MAX_GBM_CATEGORIES])
            else:
                frequent = counts[counts >= ONEHOT_MIN_FREQUENCY]
                keep = list(frequent.index[:MAX_ONEHOT_CATEGORIES])
            self.categories_[f] = [str(v) for v in keep]
            self.has_other_[f] = len(keep) < len(counts)
        # Output layout: every feature's encoded columns, in `slices_` (start, stop). Ordinal
        # mode puts the categoricals first: that is the order HistGradientBoosting keeps them in
        # internally, which lets `_hgb_raw` skip its own (identity) re-encoding.
        self.slices_: dict[str, tuple[int, int]] = {}
        pos = 0
        if self.mode == "ordinal":
            for f in self.categorical_:
                self.slices_[f] = (pos, pos + 1)
                pos += 1
        self.num_start_ = pos
        for f in self.numeric_:
            self.slices_[f] = (pos, pos + 1)
            pos += 1
        if self.mode == "onehot":
            for f in self.categorical_:
                width = len(self.categories_[f]) + int(self.has_other_[f])
                self.slices_[f] = (pos, pos + width)
                pos += width
        self.n_out_ = pos
        return self

    @property
    def categorical_mask_(self) -> list[bool]:
        """Which output columns hold category codes (ordinal mode)."""
        mask = [False] * self.n_out_
        if self.mode == "ordinal":
            for f in self.categorical_:
                mask[self.slices_[f][0]] = True
        return mask

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        self._check_columns(X)
        out = np.empty((len(X), self.n_out_), dtype=np.float64)
        n_num = len(self.numeric_)
        if n_num:
            num = _numeric_matrix(X, self.numeric_)
            if self.mode == "onehot":
                num = np.where(np.isnan(num), self.median_, num)
                num -= self.mean_
                num /= self.scale_
            out[:, self.num_start_ : self.num_start_ + n_num] = num
        for f in self.categorical_:
            start, stop = self.slices_[f]
            codes = self._codes(X[f], f)
            if self.mode == "ordinal":
                col = codes.astype(np.float64)
                col[codes == -1] = np.nan
                out[:, start] = col
            else:
                block = out[:, start:stop]
                block[:] = 0.0
                hit = codes >= 0
                block[np.flatnonzero(hit), codes[hit]] = 1.0
        return out

    def columns(self, X: pd.DataFrame) -> list[np.ndarray]:
        """The frame's inputs to `fill`, each a full-length 1-D array, computed once per frame.

        Ordinal mode: every output column as float64 (views of X's own float64 columns, which
        cost nothing). Onehot mode: the raw numeric columns (float64, NaN for missing), then
        each categorical's codes (int64, as `_codes`). Scoring fills row chunks from these
        rather than slicing the frame per chunk, which copies every column, strings included.
        """
        self._check_columns(X)
        cols: list[np.ndarray] = [_numeric_column(X[f]) for f in self.numeric_]
        codes = {f: self._codes(X[f], f) for f in self.categorical_}
        if self.mode == "onehot":
            return cols + [codes[f] for f in self.categorical_]
        out: list[np.ndarray] = [np.empty(0)] * self.n_out_
        for f in self.categorical_:
            col = codes[f].astype(np.float64)
            col[codes[f] == -1] = np.nan
            out[self.slices_[f][0]] = col
        for i, col in enumerate(cols):
            out[self.num_start_ + i] = col
        return out

    def fill(self, cols: list[np.ndarray], start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows start…stop of `transform(X)` written into `out` (stop − start rows × n_out_, any
        memory order: a Fortran-ordered `out` makes every column write one contiguous copy) from
        `columns(X)`."""
        if self.mode == "ordinal":
            for j, col in enumerate(cols):
                out[:, j] = col[start:stop]
            return out
        n_num = len(self.numeric_)
        for i in range(n_num):
            o = out[:, self.num_start_ + i]
            o[:] = cols[i][start:stop]
            o[np.isnan(o)] = self.median_[i]
            o -= self.mean_[i]
            o /= self.scale_[i]
        for f, codes in zip(self.categorical_, cols[n_num:], strict=True):
            a, b = self.slices_[f]
            block = out[:, a:b]
            block[:] = 0.0
            part = codes[start:stop]
            hit = np.flatnonzero(part >= 0)
            block[hit, part[hit]] = 1.0
        return out

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise LeadQLExecutionError(
                f"the frame to score lacks feature column(s) {', '.join(missing[:5])}",
                hint="score with the same features the model was trained on",
            )

    def _codes(self, column: pd.Series, f: str) -> np.ndarray:
        """Codes 0…k-1 for known values, k for "other" (rare in training, or unseen: they share
        it), -1 for missing (ordinal) or unseen without an "other" (onehot: all zeros)."""
        cats = self.categories_[f]
        k = len(cats)
        if isinstance(column.dtype, pd.CategoricalDtype):
            # pandas categoricals: map the (few) categories, then take by the row codes
            lookup = self._lookup(pd.Series(column.cat.categories), f)
            raw = column.cat.codes.to_numpy()
            codes = np.where(raw >= 0, lookup[np.maximum(raw, 0)] if len(lookup) else -1, -2)
        else:
            codes = self._lookup(column, f)
        codes = np.asarray(codes, dtype=np.int64)
        missing = codes == -2
        codes[missing] = -1
        if self.mode == "onehot" and missing.any():
            # missing is a category of its own, "(missing)", when it was frequent enough
            code = (
                cats.index("(missing)")
                if "(missing)" in cats
                else (k if self.has_other_[f] else -1)
            )
            codes[missing] = code
        return codes

    def _lookup(self, column: pd.Series, f: str) -> np.ndarray:
        """Codes of the values: 0…k-1 known, k "other", -1 unseen without "other", -2 missing."""
        cats = self.categories_[f]
        k = len(cats)
        if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
            values = column.to_numpy(dtype=object)  # fast path: strings already
        else:
            values = _category_strings(column, False).to_numpy(dtype=object)
        if k:
            codes = pd.Categorical(values, categories=cats).codes.astype(np.int64)
        else:
            codes = np.full(len(values), -1, dtype=np.int64)
        unknown = codes == -1
        if unknown.any():
            missing = unknown & pd.isna(values)
            if self.has_other_[f]:
                codes[unknown] = k
            codes[missing] = -2
        return codes

    def encode_values(self, values: dict) -> np.ndarray:
        """One row of reference values (a feature → value dict) encoded like `transform`."""
        row = pd.DataFrame({f: [values.get(f)] for f in self.features})
        for f in self.numeric_:
            row[f] = pd.to_numeric(row[f], errors="coerce").astype(np.float64)
        return self.transform(row)[0]


def _numeric_matrix(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The numeric columns as one float64 matrix, NaN for missing (booleans → 0/1)."""
    frame = X[columns]
    try:
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        out = np.empty((len(frame), len(columns)), dtype=np.float64)
        for i, c in enumerate(columns):
            out[:, i] = _numeric_column(frame[c])
        return out


def _numeric_column(column: pd.Series) -> np.ndarray:
    """One numeric column as float64, NaN for missing (booleans → 0/1), like `_numeric_matrix`;
    a float64 column is returned as it is stored (no copy)."""
    if column.dtype == np.float64:
        return column.to_numpy()
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _category_strings(column: pd.Series, missing_as_category: bool) -> pd.Series:
    """A categorical column as strings (missing stays missing, or becomes "(missing)")."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # map the few categories, take by code
        names = _category_strings(pd.Series(column.cat.categories), False).to_numpy(dtype=object)
        codes = column.cat.codes.to_numpy()
        picked = names[np.maximum(codes, 0)] if len(names) else np.full(len(codes), None, dtype=object)
        picked[codes < 0] = "(missing)" if missing_as_category else None
        return pd.Series(picked, index=column.index, dtype=object)
    kind = pd.api.types.infer_dtype(column, skipna=True)
    values = column.astype("object").where(column.notna(), None)
    if kind == "string" or kind == "empty":
        strings = values
    elif kind == "integer":
        strings = values.where(values.isna(), column.astype(str))
    else:
        strings = values.map(_category_str, na_action="ignore")
    if missing_as_category:
        strings = strings.where(strings.notna(), "(missing)")
    return strings


def _category_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))  # 3.0 and 3 are the same category
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # 3.0 and 3 are the same category
    return str(v)


# --------------------------------------------------------------------------------------------
# Calibration


class IsotonicCalibrator:
    """Isotonic regression of outcome on raw score, as a piecewise-linear lookup.

    A tiny share (1e-6) of the raw score is mixed in so that the calibrated scores keep the raw
    ordering inside isotonic plateaus (ranks and precision@k stay well defined); this moves any
    probability by at most 1e-6.
    """

    def __init__(self) -> None:
        self.x: np.ndarray = np.array([0.0, 1.0])
        self.y: np.ndarray = np.array([0.0, 1.0])

    def fit(self, raw: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        self.x = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return np.interp(raw, self.x, self.y) * (1 - 1e-6) + raw * 1e-6

    method = "isotonic"


class SigmoidCalibrator:
    """Platt scaling: P = sigmoid(a · logit(raw) + b), fitted by logistic regression."""

    method = "sigmoid"

    def __init__(self) -> None:
        self.a, self.b = 1.0, 0.0

    def fit(self, raw: np.ndarray, y: np.ndarray) -> SigmoidCalibrator:
        from sklearn.linear_model import LogisticRegression

        z = _logit(raw).reshape(-1, 1)
        lr = LogisticRegression(C=1e4, max_iter=1000).fit(z, y)
        self.a, self.b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return _sigmoid(self.a * _logit(raw) + self.b)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def calibrator_class(y_valid: np.ndarray) -> type:
    """Isotonic when the validation slice holds enough of both classes, else sigmoid (Platt):
    isotonic regression is free-form and overfits small samples, Platt has two parameters."""
    pos = int(np.sum(y_valid))
    neg = len(y_valid) - pos
    return IsotonicCalibrator if min(pos, neg) >= ISOTONIC_MIN_CLASS else SigmoidCalibrator


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _cross_fitted(raw: np.ndarray, y: np.ndarray, make, folds: int = 5, seed: int = 0):
    """Calibrated scores for every row from calibrators fitted on the other folds."""
    out = np.empty(len(raw))
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(raw)) % folds
    for k in range(folds):
        test, fit = fold == k, fold != k
        if not test.any():
            continue
        if len(np.unique(y[fit])) < 2:
            out[test] = raw[test]
            continue
        out[test] = make().fit(raw[fit], y[fit])(raw[test])
    return out


# --------------------------------------------------------------------------------------------
# The model


@dataclass
class TrainedModel:
    task_type: str
    algorithm: str
    features: list[str]
    categorical: list[str]
    pipeline: Any  # Pipeline([("encode", TabularEncoder), ("model", estimator)])
    calibrator: Any | None  # binary: IsotonicCalibrator | SigmoidCalibrator, fitted on validation
    classes: list | None  # multiclass labels, in the order of predict()'s columns
    metrics: dict  # validation metrics (evaluate.metrics) + "validation", "calibration_method"
    importance: list[tuple[str, float]]  # global importance, sorted descending
    train_rows: int
    valid_rows: int
    baseline: dict  # feature → reference value (median / mode) used for reasons
    notes: list[str] = field(default_factory=list)  # anything a user should know about training
    fast_path: bool = False  # gbm: score through `_hgb_raw` (checked equal to sklearn's path)

    @property
    def encoder(self) -> TabularEncoder:
        return self.pipeline.named_steps["encode"]

    @property
    def estimator(self) -> Any:
        return self.pipeline.named_steps["model"]


def train(
    X: pd.DataFrame,
    y: Any,
    times: Any,
    *,
    task_type: str,
    algorithm: str = "gbm",
    categorical: Sequence[str] = (),
    groups: Any = None,
    seed: int = 0,
    progress: Progress | None = None,
    k: int | None = None,
    baseline_feature: str | None = None,
    regularization: float = 1.0,
) -> TrainedModel:
    """Fit a model on the training table, validate it on a later time slice, calibrate it.

    X: one column per feature (NaN for missing); y: the labels; times: each row's anchor time.
    groups (link prediction): the entity of each row, for per-entity ranking metrics; k: the
    metrics' cut-off (RANK TOP k; also an absolute precision@k for binary); baseline_feature
    (link prediction): a feature column, e.g. item popularity, whose ranking is reported as the
    baseline. Raises LeadQLExecutionError (with a hint) when no sound model can be trained.
    """
    report = progress or (lambda stage, fraction: None)
    algorithm = (algorithm or "gbm").lower()
    if algorithm not in ALGORITHMS:
        raise LeadQLExecutionError(
            f"unknown model algorithm `{algorithm}`",
            hint=did_you_mean(algorithm, ALGORITHMS) or f"use one of: {', '.join(ALGORITHMS)}",
        )
    if task_type not in TASK_TYPES:
        raise LeadQLExecutionError(
            f"cannot train a model for task type `{task_type}`",
            hint=f"supported: {', '.join(TASK_TYPES)}",
        )
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X)
    X = X.reset_index(drop=True)
    features = [str(c) for c in X.columns]
    X.columns = features
    categorical = [c for c in categorical if c in set(features)]
    y = _check_labels(np.asarray(y), task_type, len(X))
    if groups is not None:
        groups = np.asarray(groups)

    report("splitting", 0.05)
    train_idx, valid_idx, split_info = _split(times, y, task_type, len(X), seed)
    notes: list[str] = []
    # A column with no value in the training rows carries nothing (and breaks HGB's binning).
    empty = [f for f in features if not X[f].iloc[train_idx].notna().any()]
    if empty:
        features = [f for f in features if f not in set(empty)]
        categorical = [c for c in categorical if c not in set(empty)]
        X = X[features]
        notes.append(f"{len(empty)} features have no value in the training rows and were left out: "
                     + ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""))  # fmt: skip
    if not features:
        raise LeadQLExecutionError(
            "no feature has any value in the training rows",
            hint="the linked tables have no rows before the anchors; check their time columns",
        )
    X_tr, y_tr = X.iloc[train_idx], y[train_idx]
    X_va, y_va = X.iloc[valid_idx], y[valid_idx]
    if split_info["scheme"] != "time":
        notes.append(split_info["reason"])

    report("fitting", 0.1)
    pipeline, fit_notes = _fit_pipeline(
        X_tr, y_tr, task_type, algorithm, features, categorical, seed, regularization
    )
    notes.extend(fit_notes)
    estimator = pipeline.named_steps["model"]
    classes = (
        [_plain(c) for c in estimator.classes_]
        if task_type == "multiclass_classification"
        else None
    )

    report("calibrating", 0.7)
    encoder: TabularEncoder = pipeline.named_steps["encode"]
    E_va = encoder.transform(X_va)
    if algorithm == "gbm":
        check = E_va if len(E_va) >= 200 else encoder.transform(X_tr.iloc[:2000])
        fast_path = _fast_path_ok(estimator, check, task_type)
    else:
        fast_path = False
    raw_va = _raw_scores(estimator, E_va, task_type)
    calibrator = None
    valid_scores = raw_va
    calibration_method = None
    if task_type == "binary_classification" and len(np.unique(y_va)) == 2:
        make = calibrator_class(y_va)
        crossed = _cross_fitted(raw_va, y_va, make, seed=seed)
        if _log_loss(y_va, crossed) < _log_loss(y_va, raw_va):
            calibrator = make().fit(raw_va, y_va)
            calibration_method = calibrator.method
            valid_scores = crossed
        else:
            notes.append(
                f"{make.method} calibration did not improve the validation log loss "
                "(cross-fitted): the model's own probabilities are kept"
            )
    elif task_type == "binary_classification":
        notes.append("the validation slice holds a single class: scores are not calibrated")

    m = evaluate.metrics(
        y_va,
        valid_scores,
        task_type=task_type,
        groups=groups[valid_idx] if groups is not None else None,
        classes=classes,
        k=k,
        baseline_scores=(
            pd.to_numeric(X_va[baseline_feature], errors="coerce").fillna(0).to_numpy()
            if task_type == "link_prediction" and baseline_feature in features
            else None
        ),
    )
    if valid_scores is not raw_va:
        # Cross-fitted calibration fits a calibrator per fold, so its scores are only comparable
        # within a fold: ranking metrics (AUC, precision@k, lift) come from the model's own
        # scores, which the final (monotone) calibrator orders the same way.
        ranked = evaluate.metrics(y_va, raw_va, task_type=task_type, classes=classes, k=k)
        for key in ("auc", "pr_auc", "precision_at_k", "lift_by_decile"):
            if key in ranked:
                m[key] = ranked[key]
    m["validation"] = split_info
    m["calibration_method"] = calibration_method
    if task_type == "binary_classification":
        m["uncalibrated"] = evaluate.metrics(y_va, raw_va, task_type=task_type, brief=True)

    model = TrainedModel(
        task_type=task_type,
        algorithm=algorithm,
        features=features,
        categorical=categorical,
        pipeline=pipeline,
        calibrator=calibrator,
        classes=classes,
        metrics=m,
        importance=[],
        train_rows=len(train_idx),
        valid_rows=len(valid_idx),
        baseline=_baseline(X_tr, features, categorical),
        notes=notes,
        fast_path=fast_path,
    )
    report("importance", 0.8)
    model.importance = _importance(
        model, X_va if len(X_va) >= 50 else X_tr, y_va if len(X_va) >= 50 else y_tr, seed
    )
    m["notes"] = list(notes)
    report("done", 1.0)
    return model


def _check_labels(y: np.ndarray, task_type: str, n: int) -> np.ndarray:
    if n == 0 or len(y) == 0:
        raise LeadQLExecutionError(
            "there are no training examples",
            hint="widen the entity filter or move the prediction time later so that labels exist",
        )
    if len(y) != n:
        raise LeadQLExecutionError(f"{len(y)} labels for {n} feature rows")
    if n < MIN_ROWS:
        raise LeadQLExecutionError(
            f"only {n} training examples; at least {MIN_ROWS} are needed",
            hint="widen the entity filter or use more history",
        )
    if task_type in ("binary_classification", "link_prediction"):
        if y.dtype == bool:
            y = y.astype(np.int64)
        try:
            yf = y.astype(np.float64)
        except (TypeError, ValueError):
            raise LeadQLExecutionError("binary labels must be 0/1 or true/false") from None
        if np.isnan(yf).any() or not np.isin(yf, (0.0, 1.0)).all():
            raise LeadQLExecutionError("binary labels must be 0/1 or true/false")
        y = yf.astype(np.int64)
        pos = int(y.sum())
        if pos == 0 or pos == n:
            which = "positive" if pos == n else "negative"
            raise LeadQLExecutionError(
                f"every one of the {n} training examples is {which}: there is nothing to learn",
                hint="check the target condition, or use a longer history",
            )
        few = min(pos, n - pos)
        if few < MIN_CLASS_ROWS:
            which = "positive" if pos < n - pos else "negative"
            raise LeadQLExecutionError(
                f"only {few} {which} training example(s) of {n}; "
                f"at least {MIN_CLASS_ROWS} are needed",
                hint="use more history, a wider target window or a broader entity filter",
            )
        return y
    if task_type == "regression":
        try:
            yf = pd.to_numeric(pd.Series(y), errors="raise").to_numpy(np.float64)
        except (TypeError, ValueError):
            raise LeadQLExecutionError("a regression target must be numeric") from None
        bad = ~np.isfinite(yf)
        if bad.any():
            example = yf[bad][0]
            raise LeadQLExecutionError(
                f"the regression target is {'missing' if np.isnan(example) else f'{example:g}'} in "
                f"{int(bad.sum()):,} of {n:,} training examples",
                hint="the aggregated column holds infinite or NaN values: filter them out inside the "
                "aggregation, e.g. SUM(t.x WHERE t.x BETWEEN -1e300 AND 1e300, 0, 30, days)",
            )
        if yf.min() == yf.max():
            raise LeadQLExecutionError(
                f"every one of the {n:,} training examples has the target value {yf[0]:g}: there is nothing to learn",
                hint="check the target, or use a longer history or a wider window",
            )
        return yf
    # multiclass
    s = pd.Series(y)
    if s.isna().any():
        raise LeadQLExecutionError("the class target has missing values")
    counts = s.value_counts()
    if len(counts) < 2:
        raise LeadQLExecutionError(
            f"every one of the {n} training examples has class `{counts.index[0]}`: "
            "there is nothing to learn",
            hint="check the target column",
        )
    if len(counts) > MAX_CLASSES:  # one model output (and tree per iteration) per class
        raise LeadQLExecutionError(
            f"the class target has {len(counts):,} distinct values; a class target takes at most "
            f"{MAX_CLASSES} (e.g. `{counts.index[0]}`, `{counts.index[1]}`, …)",
            hint="predict a number (a numeric aggregation) for numeric values, rank items with "
            "LIST_DISTINCT(...) RANK TOP k, or group the values into fewer categories",
        )
    return s.to_numpy()


def _split(times: Any, y: np.ndarray, task_type: str, n: int, seed: int):
    """Indices of the training and validation rows and a description of the split."""
    info: dict[str, Any]
    if times is not None:
        t = pd.to_datetime(pd.Series(np.asarray(times))).to_numpy()
        if len(t) != n:
            raise LeadQLExecutionError(f"{len(t)} anchor times for {n} feature rows")
        uniq, counts = np.unique(t[~pd.isna(t)], return_counts=True)
    else:
        uniq, counts = np.array([]), np.array([])
    reason = None
    if len(uniq) >= 2:
        # Walk back from the latest anchor; stop at the first cut holding ≥ VALID_LOW of the
        # rows, or at the one closest to 20 % if stepping further would pass VALID_HIGH.
        share = np.cumsum(counts[::-1]) / n
        k = int(np.searchsorted(share, VALID_LOW)) + 1  # anchors in validation
        k = min(k, len(uniq) - 1)  # at least one anchor for training
        if (
            k > 1
            and share[k - 1] > VALID_HIGH
            and abs(share[k - 2] - 0.2) < abs(share[k - 1] - 0.2)
        ):
            k -= 1
        cutoff = uniq[len(uniq) - k]
        valid = t >= cutoff
        train_idx, valid_idx = np.flatnonzero(~valid), np.flatnonzero(valid)
        ok, why = _usable(y[train_idx], y[valid_idx], task_type)
        if ok:
            return (
                train_idx,
                valid_idx,
                {
                    "scheme": "time",
                    "train_until": str(uniq[len(uniq) - k - 1])[:19],
                    "valid_from": str(cutoff)[:19],
                    "valid_anchor_times": int(k),
                    "train_rows": int(len(train_idx)),
                    "valid_rows": int(len(valid_idx)),
                    "valid_share": round(len(valid_idx) / n, 4),
                },
            )
        reason = f"the latest anchor times could not serve as validation ({why}): random 20% split"
    else:
        reason = "a single anchor time: validation is a random 20% split, not a later time slice"
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if task_type in ("binary_classification", "link_prediction", "multiclass_classification"):
        # stratified: every class gets ~20 % of its rows into validation
        valid_mask = np.zeros(n, dtype=bool)
        for cls in np.unique(y):
            idx = order[y[order] == cls]
            valid_mask[idx[: int(round(len(idx) * 0.2))]] = True
    else:
        valid_mask = np.zeros(n, dtype=bool)
        valid_mask[order[: int(round(n * 0.2))]] = True
    train_idx, valid_idx = np.flatnonzero(~valid_mask), np.flatnonzero(valid_mask)
    info = {
        "scheme": "random",
        "reason": reason,
        "train_rows": int(len(train_idx)),
        "valid_rows": int(len(valid_idx)),
        "valid_share": round(len(valid_idx) / n, 4),
    }
    return train_idx, valid_idx, info


def _usable(y_tr: np.ndarray, y_va: np.ndarray, task_type: str) -> tuple[bool, str]:
    if len(y_tr) < MIN_ROWS // 2:
        return False, f"only {len(y_tr)} earlier rows to train on"
    if task_type in ("binary_classification", "link_prediction"):
        pos = int(y_tr.sum())
        if min(pos, len(y_tr) - pos) < MIN_CLASS_ROWS // 2:
            return False, f"the earlier rows hold {pos} positives of {len(y_tr)}"
        if len(np.unique(y_va)) < 2:
            return False, "the validation slice holds a single class"
    if task_type == "multiclass_classification" and len(np.unique(y_tr)) < 2:
        return False, "the earlier rows hold a single class"
    return True, ""


def _fit_pipeline(X, y, task_type, algorithm, features, categorical, seed, regularization=1.0):
    """`regularization`: the logistic regression's C (smaller = stronger; patterns learning from
    few examples use less than PREDICT's 1.0)."""
    notes: list[str] = []
    classification = task_type != "regression"
    mode = "ordinal" if algorithm == "gbm" else "onehot"
    encoder = TabularEncoder(features=features, categorical=categorical, mode=mode).fit(X)
    E = encoder.transform(X)
    if algorithm == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        mask = encoder.categorical_mask_
        min_class = int(pd.Series(y).value_counts().min()) if classification else len(y)
        early = len(y) >= 1000 and min_class >= 20
        params = dict(
            learning_rate=0.1,
            max_iter=200,
            max_leaf_nodes=31,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=early,
            validation_fraction=0.1 if early else None,
            n_iter_no_change=15,
            categorical_features=mask if any(mask) else None,
            random_state=seed,
        )
        if not early:
            params["max_iter"] = 100
            params["min_samples_leaf"] = max(2, min(20, len(y) // 20))
        cls = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
        est = cls(**params)
    elif classification:
        from sklearn.linear_model import LogisticRegression

        est = LogisticRegression(C=regularization, max_iter=2000)
    else:
        # "logistic" for a numeric target means the linear counterpart: ridge regression.
        from sklearn.linear_model import Ridge

        est = Ridge(alpha=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(E, y)
    for w in caught:
        if "converge" in str(w.message).lower():
            notes.append("the logistic regression did not fully converge")
    return Pipeline([("encode", encoder), ("model", est)]), notes


def _raw_scores(estimator, E: np.ndarray, task_type: str) -> np.ndarray:
    """Uncalibrated scores from the encoded matrix."""
    if task_type in ("binary_classification", "link_prediction"):
        return estimator.predict_proba(E)[:, 1]
    if task_type == "regression":
        return np.asarray(estimator.predict(E), dtype=np.float64)
    return estimator.predict_proba(E)


def _baseline(X: pd.DataFrame, features: list[str], categorical: list[str]) -> dict:
    cats = set(categorical)
    out: dict[str, Any] = {}
    for f in features:
        col = X[f]
        if f in cats:
            counts = _category_strings(col, False).value_counts()
            out[f] = str(counts.index[0]) if len(counts) else None
        else:
            num = pd.to_numeric(col, errors="coerce").astype(np.float64)
            med = num.median()
            out[f] = None if pd.isna(med) else float(med)
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# Scoring


def _frame(model: TrainedModel, X: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X, columns=model.features)
    return X


def _scores_from_encoded(
    model: TrainedModel, E: np.ndarray, n_threads: int | None = None
) -> np.ndarray:
    if getattr(model, "fast_path", False):
        from leadql.predict import treewalk

        raw = treewalk.raw_scores(model.estimator, E, SCORE_THREADS)  # numba, when installed
        if raw is None:
            raw = _hgb_raw(model.estimator, E, n_threads)
        return _finish(model, raw)
    raw = _raw_scores(model.estimator, E, model.task_type)
    if model.calibrator is not None:
        return model.calibrator(raw)
    return raw


def _finish(model: TrainedModel, raw: np.ndarray) -> np.ndarray:
    """The fast path's scores from the raw predictions: probabilities (calibrated) or values."""
    raw = _sigmoid(raw) if model.task_type != "regression" else raw
    return model.calibrator(raw) if model.calibrator is not None else raw


def _hgb_raw(est: Any, E: np.ndarray, n_threads: int | None = None) -> np.ndarray:
    """HistGradientBoosting's raw prediction (log-odds, or the value) without its own input
    re-encoding: our encoder already emits the category codes 0…k in the order HGB keeps them,
    so its internal OrdinalEncoder and column shuffle are the identity and only cost time (a
    third of scoring). Uses sklearn internals, so `_fast_path_ok` checks it against the public
    path at training time and the model falls back to the public path when they differ."""
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    raw = np.zeros((E.shape[0], 1), dtype=np.float64, order="F")
    raw += est._baseline_prediction
    E = np.ascontiguousarray(E, dtype=np.float64)
    est._predict_iterations(E, est._predictors, raw, False, _openmp_effective_n_threads(n_threads))
    return raw[:, 0]


def _fast_path_ok(est: Any, E: np.ndarray, task_type: str) -> bool:
    if task_type not in ("binary_classification", "link_prediction", "regression"):
        return False
    if getattr(est, "n_trees_per_iteration_", 1) != 1:
        return False
    sample = E[: min(len(E), 2000)]
    try:
        pre = getattr(est, "_preprocessor", None)
        if pre is not None:
            # the internal encoder must be the identity on our codes
            cats = pre.named_transformers_["encoder"].categories_
            if not all(
                np.array_equal(c[~np.isnan(c)], np.arange((~np.isnan(c)).sum())) for c in cats
            ):
                return False
            if not np.array_equal(pre.transform(sample), sample, equal_nan=True):
                return False
        raw = _hgb_raw(est, sample)
        fast = _sigmoid(raw) if task_type != "regression" else raw
        public = _raw_scores(est, sample, task_type)
    except Exception:  # noqa: BLE001 - any change in sklearn's internals: use the public path
        return False
    return bool(np.allclose(fast, public, rtol=1e-9, atol=1e-12))


def predict(model: TrainedModel, X: pd.DataFrame) -> np.ndarray:
    """binary: calibrated P(positive); regression: the value; multiclass: (n, k) probabilities
    over `model.classes`; link_prediction: the pair score (higher ranks first)."""
    X = _frame(model, X)
    n = len(X)
    if n and scoring.linear_supported(model):  # no one-hot matrix: a dot product and lookups
        z = scoring.linear_scores(model, X)
        raw = z if model.task_type == "regression" else _sigmoid(z)
        return model.calibrator(raw) if model.calibrator is not None else raw
    if n and getattr(model, "fast_path", False) and getattr(model.encoder, "mode", None) == "ordinal":
        from leadql.predict import treewalk

        # the compiled walk reads the frame's own columns: no encoded chunks to fill
        raw = treewalk.raw_scores_of_columns(model.estimator, model.encoder.columns(X), SCORE_THREADS)
        if raw is not None:
            return _finish(model, raw)
    if model.task_type == "multiclass_classification":
        out = np.empty((n, len(model.classes or [])))
    else:
        out = np.empty(n)

    def score(start: int, E: np.ndarray, n_threads: int) -> None:
        out[start : start + len(E)] = _scores_from_encoded(model, E, n_threads=n_threads)

    _by_chunks(model, X, score)
    return out


def _by_chunks(model: TrainedModel, X: pd.DataFrame, fn: Callable) -> None:
    """Encode X in row chunks and call fn(start, encoded_chunk, n_threads) on each (the chunk is
    a reused buffer, see `scoring.encoded_chunks`).

    Chunks keep the encoded rows in cache while every tree walks them (HGB scores tree by tree
    over all rows, so one 1M-row matrix would be streamed from memory once per tree). The tree
    walk runs on `_score_threads()` OpenMP threads: 1 unless SCORE_THREADS says otherwise. On the
    shared 2-vCPU machine we measured, 2 OpenMP threads made the walk ~6x *slower* (per-tree
    barriers stall when a vCPU is busy elsewhere), and Python threads over chunks gave nothing
    (the walk holds the GIL); see docs/predict-models.md.
    """
    from leadql.predict import treewalk

    width = model.encoder.n_out_
    cells = SCORE_CHUNK_CELLS if model.algorithm == "gbm" else 16 * SCORE_CHUNK_CELLS
    rows = scoring.chunk_rows(width, cells)
    compiled = getattr(model, "fast_path", False) and treewalk.AVAILABLE and len(X) >= treewalk.MIN_ROWS
    if compiled:
        # the compiled walk goes row by row (no cache to keep per tree) and pays per call: larger chunks
        rows = max(rows, 2 * treewalk.MIN_ROWS, (4 * cells) // max(1, width))
    # scikit-learn's walk wants C order; the compiled walk and linear models take the buffer as is
    contiguous = model.algorithm == "gbm" and not compiled
    threads = _score_threads()
    for start, E in scoring.encoded_chunks(model.encoder, X, rows, contiguous=contiguous):
        fn(start, E, threads)


def _score_threads() -> int:
    """OpenMP threads for the gbm tree walk when scoring (SCORE_THREADS, default 1)."""
    return max(1, int(SCORE_THREADS or 1))


def predict_label(model: TrainedModel, X: pd.DataFrame) -> np.ndarray:
    """multiclass: the most likely class; binary / link: score ≥ 0.5; regression: the value."""
    scores = predict(model, X)
    if model.task_type == "multiclass_classification":
        if not len(scores):
            return np.empty(0, dtype=object)
        return np.asarray(model.classes, dtype=object)[scores.argmax(axis=1)]
    if model.task_type == "regression":
        return scores
    return scores >= 0.5


def reasons(model: TrainedModel, X: pd.DataFrame, k: int = 3) -> list[str]:
    """Per row, the k features pushing this row's score furthest from the baseline row's.

    The contribution of feature f to row i is score(row i) − score(row i with f set to its
    baseline value: the training median, or mode for categoricals). For logistic every feature is
    probed; for gbm the `REASON_FEATURES` most important ones (one batch predict each, on the
    already-encoded matrix). Scores are calibrated probabilities (binary), values (regression) or
    the probability of the predicted class (multiclass).
    """
    X = _frame(model, X)
    n = len(X)
    if n == 0:
        return []
    enc = model.encoder
    base_enc = enc.encode_values(model.baseline)
    if model.algorithm == "logistic":
        probe = list(model.features)
    else:
        ranked = [f for f, _ in model.importance] or list(model.features)
        probe = ranked[:REASON_FEATURES]
    k = max(0, min(k, len(probe)))
    if k == 0:
        return [""] * n
    deltas = np.zeros((n, len(probe)))

    def explain(start: int, E: np.ndarray, n_threads: int) -> None:
        deltas[start : start + len(E)] = _deltas(model, E, base_enc, probe, n_threads)

    _by_chunks(model, X, explain)
    top = np.argsort(-np.abs(deltas), axis=1, kind="stable")[:, :k]
    return _reason_strings(X, probe, top, np.take_along_axis(deltas, top, axis=1))


def _reason_strings(X: pd.DataFrame, probe: list[str], top: np.ndarray, d: np.ndarray) -> list[str]:
    """"feature=value (+delta); …" per row, from each row's top probe indexes and their deltas
    (deltas under 1e-6 left out). Built a probe feature at a time over the rows naming it, with
    each distinct value formatted once: a per-row loop took as long as the 12 walks of a gbm."""
    n, k = top.shape
    parts = np.full((n, k), "", dtype=object)
    shown = np.abs(d) >= 1e-6
    for j, f in enumerate(probe):
        rows, slots = np.nonzero((top == j) & shown)
        if not len(rows):
            continue
        values = X[f].to_numpy()[rows] if len(rows) < n else X[f].to_numpy()
        if values.dtype == np.float64:
            texts = _fmt_numbers(values)
        else:  # text, integers, booleans: few distinct values, each formatted once
            seen: dict = {}
            texts = [seen.get(v) or seen.setdefault(v, _fmt_value(v)) if _hashable(v) else _fmt_value(v)
                     for v in values]  # fmt: skip
        dj = d[rows, slots]
        deltas = [("+" if x >= 0 else "-") + _fmt_delta(abs(x)) for x in dj.tolist()]
        parts[rows, slots] = [f"{f}={t} ({x})" for t, x in zip(texts, deltas, strict=True)]
    return ["; ".join(p for p in row if p) for row in parts.tolist()]


def _fmt_numbers(values: np.ndarray) -> list[str]:
    """`_fmt_value` of each float64, in one loop over Python floats."""
    return ["missing" if v != v else _fmt_float(v) for v in values.tolist()]


def _hashable(v: Any) -> bool:
    return not (isinstance(v, float) and v != v)  # NaN != NaN: a dict cannot find it again


def _deltas(model, E: np.ndarray, base_enc: np.ndarray, probe: list[str], n_threads: int):
    """score(row) − score(row with feature f at its baseline), for each probed f (columns)."""
    if model.algorithm == "logistic" and model.task_type != "multiclass_classification":
        return _linear_deltas(model, E, base_enc, probe)
    fast = _fast_deltas(model, E, base_enc, probe)
    if fast is not None:
        return fast
    rows = np.arange(len(E))
    own = _scores_from_encoded(model, E, n_threads)
    chosen = None
    if model.task_type == "multiclass_classification":
        chosen = own.argmax(axis=1)
        own = own[rows, chosen]
    out = np.empty((len(E), len(probe)))
    for j, f in enumerate(probe):
        start, stop = model.encoder.slices_[f]
        saved = E[:, start:stop].copy()
        E[:, start:stop] = base_enc[start:stop]
        s = _scores_from_encoded(model, E, n_threads)
        out[:, j] = own - (s[rows, chosen] if chosen is not None else s)
        E[:, start:stop] = saved
    return out


def _fast_deltas(model, E: np.ndarray, base_enc: np.ndarray, probe: list[str]) -> np.ndarray | None:
    """`_deltas` from the compiled walk (treewalk.raw_deltas): the raw score with each probed
    feature at its baseline in one walk, then the same link and calibration as scoring. None
    when the walk cannot take the model (numba missing, multiclass, few rows, a feature of
    several encoded columns)."""
    if not getattr(model, "fast_path", False) or model.task_type == "multiclass_classification":
        return None
    slices = [model.encoder.slices_[f] for f in probe]
    if any(stop - start != 1 for start, stop in slices):
        return None
    from leadql.predict import treewalk

    columns = np.array([start for start, _ in slices], np.int64)
    walked = treewalk.raw_deltas(model.estimator, E, columns, base_enc[columns], SCORE_THREADS)
    if walked is None:
        return None
    raw, deltas = walked
    probed = (raw[:, None] + deltas).reshape(-1)

    def finish(r: np.ndarray) -> np.ndarray:
        r = _sigmoid(r) if model.task_type != "regression" else r
        return model.calibrator(r) if model.calibrator is not None else r

    return finish(raw)[:, None] - finish(probed).reshape(deltas.shape)


def _linear_deltas(model, E: np.ndarray, base_enc: np.ndarray, probe: list[str]):
    """The same deltas for a linear model in one pass: a feature's share of the linear score is
    coef · (encoded − baseline encoded) over its columns, so dropping it is a subtraction."""
    est = model.estimator
    coef = np.ravel(est.coef_)
    z = E @ coef + float(np.ravel(est.intercept_)[0])
    shares = np.empty((len(E), len(probe)))
    for j, f in enumerate(probe):
        a, b = model.encoder.slices_[f]
        shares[:, j] = (E[:, a:b] - base_enc[a:b]) @ coef[a:b]
    if model.task_type == "regression":
        return shares
    own = _sigmoid(z)
    without = _sigmoid(z[:, None] - shares)
    if model.calibrator is not None:
        own, without = model.calibrator(own), model.calibrator(without)
    return own[:, None] - without


def _fmt_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "missing"
    if isinstance(v, (float, np.floating)):
        return _fmt_float(float(v))
    return str(v)


def _fmt_float(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def _fmt_delta(d: float) -> str:
    return f"{d:.2f}" if d >= 0.005 else f"{d:.2g}"


# --------------------------------------------------------------------------------------------
# Global importance


def _importance(model: TrainedModel, X: pd.DataFrame, y: np.ndarray, seed: int):
    enc = model.encoder
    est = model.estimator
    if model.algorithm == "logistic":
        # |coefficient| × standard deviation of its encoded column, summed over the feature's
        # columns (numerics are standardised, so that is |coef|; one-hot columns weigh by spread).
        coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
        weight = np.abs(coef).mean(axis=0)
        std = enc.transform(X).std(axis=0) if len(X) else np.ones(enc.n_out_)
        vals = {f: float((weight[a:b] * std[a:b]).sum()) for f, (a, b) in enc.slices_.items()}
    else:
        rng = np.random.default_rng(seed)
        if len(X) > IMPORTANCE_ROWS:
            pick = rng.choice(len(X), IMPORTANCE_ROWS, replace=False)
            X, y = X.iloc[pick], y[pick]
        E = enc.transform(X)
        fast = _tree_permutation_importance(model, E, y, rng)
        if fast is not None:
            return sorted(((f, round(v, 6)) for f, v in fast.items()), key=lambda t: (-t[1], t[0]))
        base = _score_quality(model, E, y)
        vals = {}
        for f in model.features:
            a, b = enc.slices_[f]
            saved = E[:, a:b].copy()
            E[:, a:b] = saved[rng.permutation(len(E))]
            vals[f] = float(base - _score_quality(model, E, y))
            E[:, a:b] = saved
    return sorted(((f, round(v, 6)) for f, v in vals.items()), key=lambda t: (-t[1], t[0]))


def _tree_permutation_importance(model: TrainedModel, E: np.ndarray, y: np.ndarray, rng) -> dict | None:
    """The same permutation importance for a one-tree-per-iteration gbm, with the same random
    permutations, walking only the trees that split on the permuted feature: every tree's
    contribution is kept from the unpermuted walk, and a feature no tree uses scores exactly as
    before (importance 0) without a walk. The scores are summed tree after tree onto the
    baseline as scikit-learn sums them, so they equal its `predict` bit for bit; that is checked
    first, and None (walk everything) is returned if it does not hold."""
    est = model.estimator
    if not getattr(model, "fast_path", False) or getattr(est, "n_trees_per_iteration_", 1) != 1:
        return None
    try:
        predictors = [p[0] for p in est._predictors]
        known, f_map = est._bin_mapper.make_known_categories_bitsets()
        baseline = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()[0]

        def walk(p, M):
            return p.predict(M, known_cat_bitsets=known, f_idx_map=f_map, n_threads=1)

        def output(parts) -> np.ndarray:
            raw = np.zeros((len(E), 1), dtype=np.float64, order="F")
            raw += baseline
            for part in parts:
                raw[:, 0] += part
            if model.task_type == "regression":
                return est._loss.link.inverse(raw.ravel())
            return est._loss.predict_proba(raw)[:, 1]

        contrib = [walk(p, E) for p in predictors]
        if not np.array_equal(output(contrib), _raw_scores(est, E, model.task_type)):
            return None
        uses: dict[int, set[int]] = {}
        for t, p in enumerate(predictors):
            inner = ~p.nodes["is_leaf"].astype(bool)
            for c in np.unique(p.nodes["feature_idx"][inner]):
                uses.setdefault(int(c), set()).add(t)
    except Exception:  # noqa: BLE001 - scikit-learn internals changed: walk everything
        return None
    base = _quality_of(model, output(contrib), y)
    vals: dict[str, float] = {}
    for f in model.features:
        a, b = model.encoder.slices_[f]
        perm = rng.permutation(len(E))  # drawn for every feature, as the full walk draws them
        trees = sorted(set().union(*(uses.get(c, set()) for c in range(a, b))))
        if not trees:
            vals[f] = 0.0
            continue
        saved = E[:, a:b].copy()
        E[:, a:b] = saved[perm]
        changed = {t: walk(predictors[t], E) for t in trees}
        E[:, a:b] = saved
        vals[f] = float(base - _quality_of(model, output(changed.get(t, c) for t, c in enumerate(contrib)), y))
    return vals


def _score_quality(model: TrainedModel, E: np.ndarray, y: np.ndarray) -> float:
    """Higher is better: AUC (binary, link), R² (regression), −log loss (multiclass)."""
    return _quality_of(model, _raw_scores(model.estimator, E, model.task_type), y)


def _quality_of(model: TrainedModel, raw: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import log_loss, r2_score, roc_auc_score

    if model.task_type in ("binary_classification", "link_prediction"):
        return float(roc_auc_score(y, raw)) if len(np.unique(y)) == 2 else 0.0
    if model.task_type == "regression":
        return float(r2_score(y, raw)) if len(y) > 1 else 0.0
    known = np.isin(y, model.classes)
    if not known.any():
        return 0.0
    return -float(log_loss(y[known], raw[known], labels=model.classes))
