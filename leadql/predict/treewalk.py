"""A compiled tree walk for gbm PREDICT models, when numba is installed (`leadql[fast]`).

scikit-learn's HistGradientBoosting predictor walks one tree over all rows, then the next, in
~140 ns per row and tree here, and on one thread (see docs/predict-models.md: its OpenMP
barrier per tree stalls on a shared machine). This walks rows in blocks of eight, rows in
parallel: for each tree the eight rows step down together, one level at a time, as long as the
tree is deep. Each step is branch-free (*predicated*): the node's test is arithmetic on its
packed word, threshold and right-mask, a leaf points at itself, so a row that reached its leaf
stays there. The eight independent rows keep the core busy while a load waits, and there is no
branch to mispredict: a data-dependent branch per level is what bound the earlier walk (one row
at a time, `if` per test; 1.8 s against 1.0 s for 1M rows × 100 features × 81 trees on two
threads). Each row is copied to a small buffer first, so X may be in any memory order (the
scoring chunks are Fortran-ordered, cheaper to fill).

The raw scores are bit-identical to scikit-learn's `_predict_from_raw_data`: the same tests
(missing → the node's missing side; a category → the left bitset, else a known category goes
right, else the missing side; a number → `x <= threshold` goes left), folded into one
`goes right` expression per node, and the leaf values added tree after tree onto the baseline,
as `_predict_iterations` adds them. `raw_scores` returns None when numba is missing or the model
is not one tree per iteration, and the caller walks with scikit-learn.
"""

from __future__ import annotations

import importlib.util
import os
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

AVAILABLE = importlib.util.find_spec("numba") is not None
MIN_ROWS = 20_000  # below this scikit-learn's walk is quick enough (and numba need not load)
BLOCK = 8  # rows stepping down a tree together (measured: 6-8 best, 16 and 32 slower)
MISSING_CODE = 255  # scikit-learn's missing-values bin: never a category of a fitted model
_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_USES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # est → {probe columns: (ptr, uses)}

# the packed word of a node: feature | right-mask row << 16 | NaN goes right << 40 | child offset << 41
_FEATURE_BITS, _MASK_SHIFT, _NAN_SHIFT, _CHILD_SHIFT = 16, 16, 40, 41


@dataclass(frozen=True)
class FlatTrees:
    """Every tree of a model in one set of arrays, ready for the predicated walk.

    At node i (each tree laid out breadth first, so a node's children are neighbours) a row goes
    right when `x > threshold[i]`, or x is missing and the word's NaN bit is set, or x's category
    code has its bit set in the word's row of `right_masks`; it then moves to
    `i + offset + went_right`. A leaf has threshold +inf, mask row 0 (empty), offset 0: it stays.
    """

    roots: np.ndarray  # int64: each tree's root node
    depth: np.ndarray  # int64: each tree's depth (steps from the root to its deepest leaf)
    word: np.ndarray  # int64: the packed node (see above)
    threshold: np.ndarray  # float64: +inf at leaves and categorical nodes
    right_masks: np.ndarray  # uint32 (rows, 8): row 0 empty; per categorical node, codes going right
    categorical: np.ndarray  # bool per input column: its values are category codes
    value: np.ndarray  # float64: leaf values
    baseline: float


def flatten(est: Any) -> FlatTrees | None:
    """The fitted HistGradientBoosting estimator's trees, re-laid out (None: not supported)."""
    if getattr(est, "n_trees_per_iteration_", 1) != 1 or not est._predictors:
        return None
    known, known_index = est._bin_mapper.make_known_categories_bitsets()
    known = np.asarray(known, dtype=np.uint32).reshape(-1, 8)
    n_features = int(est.n_features_in_)
    categorical = np.zeros(n_features, np.bool_)
    if est.is_categorical_ is not None:
        categorical[: len(est.is_categorical_)] = est.is_categorical_
    roots, depths, parts, masks = [], [], [], [np.zeros(8, np.uint32)]
    offset = 0
    for predictor in (p[0] for p in est._predictors):
        nodes = predictor.nodes
        left_bits = np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
        if (left_bits[:, 7] >> 31).any() or (known[:, 7] >> 31).any():
            return None  # a category coded 255 would collide with the missing code
        # breadth first: both children of a node get consecutive slots
        slot = np.full(len(nodes), -1, dtype=np.int64)
        level = np.zeros(len(nodes), dtype=np.int64)
        slot[0], queue, taken, head = 0, [0], 1, 0
        while head < len(queue):
            n = queue[head]
            head += 1
            if not nodes["is_leaf"][n]:
                left, right = int(nodes["left"][n]), int(nodes["right"][n])
                slot[left], slot[right] = taken, taken + 1
                level[left] = level[right] = level[n] + 1
                taken += 2
                queue += [left, right]
        size = taken
        feature = np.zeros(size, np.int64)
        threshold = np.full(size, np.inf)
        value = np.zeros(size)
        nan_right = np.zeros(size, np.int64)
        child = np.zeros(size, np.int64)  # offset from the node: a leaf's is 0
        mask_row = np.zeros(size, np.int64)
        used = np.flatnonzero(slot >= 0)
        rec, at = nodes[used], slot[used]
        value[at] = rec["value"]
        inner = ~rec["is_leaf"].astype(bool)
        for n, i in zip(used[inner], at[inner], strict=True):
            node = nodes[n]
            f = int(node["feature_idx"])
            feature[i] = f
            child[i] = slot[node["left"]] - i
            missing_right = not node["missing_go_to_left"]
            if node["is_categorical"]:
                # left bitset first; else a known category goes right; else the missing side
                mask = ~left_bits[int(node["bitset_idx"])] & (
                    known[known_index[f]] | np.uint32(0xFFFFFFFF if missing_right else 0))
                mask_row[i] = len(masks)
                masks.append(mask)
            else:
                threshold[i] = node["num_threshold"]
                nan_right[i] = missing_right
        if feature.max() >= 1 << _FEATURE_BITS or child.max() >= 1 << (63 - _CHILD_SHIFT):
            return None
        parts.append((feature | mask_row << _MASK_SHIFT | nan_right << _NAN_SHIFT | child << _CHILD_SHIFT,
                      threshold, value))
        roots.append(offset)
        depths.append(int(level[used].max()))
        offset += size
    if len(masks) >= 1 << (_NAN_SHIFT - _MASK_SHIFT):
        return None
    return FlatTrees(
        roots=np.asarray(roots, np.int64), depth=np.asarray(depths, np.int64),
        word=np.concatenate([p[0] for p in parts]), threshold=np.concatenate([p[1] for p in parts]),
        right_masks=np.asarray(masks, np.uint32), categorical=categorical,
        value=np.concatenate([p[2] for p in parts]),
        baseline=float(np.asarray(est._baseline_prediction, dtype=np.float64).ravel()[0]),
    )  # fmt: skip


def _flat(est: Any, E: np.ndarray) -> FlatTrees | None:
    """The estimator's flattened trees, when the compiled walk can score E with them."""
    if not AVAILABLE or len(E) < MIN_ROWS:
        return None
    flat = _FLAT.get(est)
    if flat is None:
        flat = flatten(est)
        if flat is None:
            return None
        _FLAT[est] = flat
    if E.ndim != 2 or E.shape[1] != flat.categorical.size:
        return None
    return flat


def _threads(threads: int | None) -> None:
    import numba

    numba.set_num_threads(max(1, min(threads or os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS)))


def raw_scores(est: Any, E: np.ndarray, threads: int | None = None) -> np.ndarray | None:
    """The estimator's raw predictions for the encoded rows E, or None (use scikit-learn)."""
    flat = _flat(est, E)
    if flat is None:
        return None
    kernel = _kernel()
    _threads(threads)
    out = np.empty(len(E), dtype=np.float64)
    kernel(np.asarray(E, dtype=np.float64), flat.roots, flat.depth, flat.word, flat.threshold,
           flat.right_masks, flat.categorical, flat.value, flat.baseline, out)  # fmt: skip
    return out


def raw_deltas(est: Any, E: np.ndarray, columns: np.ndarray, values: np.ndarray,
               threads: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(raw, deltas) for the encoded rows E: the raw predictions, and per row and probe j the
    change of the raw prediction when column `columns[j]` is set to `values[j]` — or None (use
    scikit-learn). What reasons need, in one walk: a probe re-walks only the trees that split
    on its column (a third of the walks of re-scoring every tree per probe, for a typical
    model's most important features), from rows already in cache."""
    flat = _flat(est, E)
    if flat is None:
        return None
    columns = np.asarray(columns, np.int64)
    values = np.asarray(values, np.float64)
    codes = np.array([MISSING_CODE if (np.isnan(v) or v < 0) else int(v) for v in values], np.uint8)
    ptr, uses = _tree_uses(est, flat, columns)
    _threads(threads)
    raw = np.empty(len(E), dtype=np.float64)
    deltas = np.empty((len(E), columns.size), dtype=np.float64)
    _delta_kernel()(np.asarray(E, dtype=np.float64), flat.roots, flat.depth, flat.word, flat.threshold,
                    flat.right_masks, flat.categorical, flat.value, flat.baseline, columns, values, codes,
                    ptr, uses, raw, deltas)  # fmt: skip
    return raw, deltas


def _kernel() -> Any:
    """The compiled walk (importing leadql.predict.jit, on first use, loads numba and the walk
    from numba's cache, or compiles it)."""
    from leadql.predict import jit

    return jit.walk


def _tree_uses(est: Any, flat: FlatTrees, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which probes each tree splits on, as CSR (tree t: uses[ptr[t]:ptr[t + 1]]); computed
    once per model and probe set, not once per scoring chunk."""
    cached = _USES.setdefault(est, {})
    key = tuple(columns.tolist())
    if key not in cached:
        inner = (flat.word >> _CHILD_SHIFT) != 0
        tree = np.searchsorted(flat.roots, np.arange(flat.word.size), side="right") - 1
        feature = flat.word & ((1 << _FEATURE_BITS) - 1)
        split = np.zeros((flat.roots.size, columns.size), np.bool_)
        for j, c in enumerate(columns):
            split[np.unique(tree[inner & (feature == c)]), j] = True
        ptr = np.concatenate([[0], np.cumsum(split.sum(axis=1))]).astype(np.int64)
        cached[key] = (ptr, np.nonzero(split)[1].astype(np.int64))  # row-major: by tree, then probe
    return cached[key]


def _delta_kernel() -> Any:
    """The walk of `raw_deltas` (see _kernel)."""
    from leadql.predict import jit

    return jit.walk_deltas
