"""Batch scoring of a trained model over a feature frame, fast (used by models.predict / reasons).

Two ways, both reading the frame once (`TabularEncoder.columns`) rather than slicing it per chunk:

* `encoded_chunks` yields the encoded matrix a row chunk at a time, written into one reused
  Fortran-ordered buffer: every column write is one contiguous copy, and the compiled tree walk
  copies each row before walking it, so it is as fast on this layout as on C order.
* `linear_scores` scores a logistic / ridge model without building the one-hot matrix: the
  standardisation is folded into the coefficients (w / scale, with the intercept taking
  −Σ w·mean / scale), a missing number contributes its weight times the training median, and a
  categorical adds its value's coefficient by a table lookup on the codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

CHUNK_CELLS = 4 << 20  # encoded cells per chunk (32 MB of float64)


def chunk_rows(n_out: int, cells: int = CHUNK_CELLS) -> int:
    """Rows per chunk for an encoded width of `n_out` columns."""
    return max(1024, cells // max(1, n_out))


def encoded_chunks(encoder: Any, X: Any, rows: int, *, contiguous: bool = False
                   ) -> Iterator[tuple[int, np.ndarray]]:  # fmt: skip
    """(start row, encoded rows) for consecutive chunks of at most `rows` rows of X, all of about
    the same size (at least half of `rows` when X has that many: no short last chunk, which the
    compiled walk would hand to scikit-learn's). The array is one buffer reused from chunk to
    chunk (Fortran order; C order when `contiguous`, for walks that need it): use it before
    asking for the next."""
    n = len(X)
    if n == 0:
        return
    cols = encoder.columns(X)
    chunks = -(-n // max(1, rows))
    step = -(-n // chunks)
    buf = np.empty((step, encoder.n_out_), dtype=np.float64, order="F")
    for start in range(0, n, step):
        stop = min(n, start + step)
        part = encoder.fill(cols, start, stop, buf[: stop - start])
        yield start, (np.ascontiguousarray(part) if contiguous else part)


def linear_supported(model: Any) -> bool:
    """A one-output linear model (binary / link logistic, ridge) over a onehot encoder."""
    enc = model.encoder
    return (
        model.algorithm == "logistic"
        and model.task_type != "multiclass_classification"
        and getattr(enc, "mode", None) == "onehot"
        and np.ndim(model.estimator.coef_) in (1, 2)
        and np.size(model.estimator.coef_) == enc.n_out_
    )


def linear_scores(model: Any, X: Any) -> np.ndarray:
    """The linear model's decision values (log-odds, or the ridge prediction) for every row of
    X, equal to `estimator.decision_function(encoder.transform(X))` up to rounding."""
    enc, est = model.encoder, model.estimator
    coef = np.ravel(est.coef_).astype(np.float64)
    intercept = float(np.ravel(est.intercept_)[0]) if np.size(est.intercept_) else 0.0
    n_num = len(enc.numeric_)
    cols = enc.columns(X)
    n = len(X)
    z = np.full(n, intercept)
    if n_num:
        w = coef[enc.num_start_ : enc.num_start_ + n_num] / enc.scale_
        z += -float(w @ enc.mean_)
        step = chunk_rows(n_num)
        buf = np.empty((min(step, n), n_num), dtype=np.float64, order="F")
        for start in range(0, n, step):
            stop = min(n, start + step)
            part = buf[: stop - start]
            for i in range(n_num):
                part[:, i] = cols[i][start:stop]
            np.copyto(part, enc.median_, where=np.isnan(part))
            z[start:stop] += part @ w
    for f, codes in zip(enc.categorical_, cols[n_num:], strict=True):
        a, b = enc.slices_[f]
        table = np.append(coef[a:b], 0.0)  # code −1 (unseen, no "other"): no column set
        z += table[np.where(codes >= 0, codes, b - a)]
    return z
