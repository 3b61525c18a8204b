"""A compiled tree walk for gbm PREDICT models, when numba is installed (`leadql[fast]`).

scikit-learn's HistGradientBoosting predictor walks one tree over all rows, then the next, in
~140 ns per row and tree here, and on one thread (see docs/predict-models.md: its OpenMP
barrier per tree stalls on a shared machine). This walks rows in blocks of eight, rows in
parallel: for each tree the eight rows step down together, one level at a time, as long as the
tree is deep. Each step is branch-free (*predicated*): the node's test is arithmetic on its
packed word and threshold, a leaf points at itself, so a row that reached its leaf stays there.
The eight independent rows keep the core busy while a load waits, and there is no branch to
mispredict: a data-dependent branch per level is what bound the earlier walk (one row at a
time, `if` per test; 1.8 s against 1.0 s for 1M rows × 100 features × 81 trees on two threads).

Numbers are compared as integers: each value becomes the unsigned key whose order is the
numbers' order (`jit.ordered`), once per row, and a node holds its threshold's key. A missing
value has no order, so each column is loaded twice, with missing above every key and with it
below every key, and a node reads the copy that sends missing values its way: the missing
test costs nothing per step. With nodes as (word, threshold) pairs and unsigned indices, a step
is half the instructions of comparing floats with a missing-value test (2.8 → 1.9 CPU seconds
for the walk above). Each row is read into the block's keys first, so X may be in any memory
order (the scoring chunks are Fortran-ordered, cheaper to fill).

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
from functools import cached_property
from typing import Any

import numpy as np

AVAILABLE = importlib.util.find_spec("numba") is not None
MIN_ROWS = 20_000  # below this scikit-learn's walk is quick enough (and numba need not load)
BLOCK = 8  # rows stepping down a tree together (measured: 6-8 best, 16 and 32 slower)
TILE = 8  # blocks read from X together (a column's 64 rows at once: see jit.load)
STRIPE = 16  # tiles walked with one set of buffers (see jit.stripes)
MISSING_CODE = 255  # scikit-learn's missing-values bin: never a category of a fitted model
_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_USES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # est → {probe columns: (ptr, uses)}

# the packed word of a node: key slot | right-mask row << 16 | child offset << 40
_SLOT_BITS, _MASK_SHIFT, _CHILD_SHIFT = 16, 16, 40
_UMAX = np.uint64(2**64 - 1)


@dataclass(frozen=True)
class FlatTrees:
    """Every tree of a model in one set of arrays, ready for the predicated walk.

    Node i (each tree laid out breadth first, so a node's children are neighbours) is
    `nodes[2i]`, its word, and `nodes[2i + 1]`, the key of its threshold. A row goes right when
    its key at the word's slot is greater than the threshold's key, or its category code has its
    bit set in the word's row of `right_masks`; it then moves to `i + offset + went_right`.
    For column f, slot f holds keys with missing values above every number and slot p + f keys
    with them below (see the module's docstring). A categorical node has threshold key 2^64 − 1
    (never exceeded) and a mask row; a leaf has that threshold, mask row 0 (empty), offset 0:
    it stays.
    """

    roots: np.ndarray  # int64: each tree's root node
    depth: np.ndarray  # int64: each tree's depth (steps from the root to its deepest leaf)
    nodes: np.ndarray  # uint64 (2 per node): the packed word, the threshold's key
    right_masks: np.ndarray  # uint32, 8 per row: row 0 empty; per categorical node, codes going right
    categorical: np.ndarray  # bool per input column: its values are category codes
    value: np.ndarray  # float64: leaf values
    feature: np.ndarray  # int64 per node: the column it tests, -1 at leaves
    baseline: float

    @cached_property
    def read(self) -> np.ndarray:
        """bool per key slot (2 per column): some node reads it. The walk loads only these."""
        slots = np.zeros(2 * self.categorical.size, np.bool_)
        words = self.nodes[0::2][self.feature >= 0]
        slots[(words & np.uint64((1 << _SLOT_BITS) - 1)).astype(np.int64)] = True
        return slots


def ordered_keys(values: np.ndarray) -> np.ndarray:
    """The walk's unsigned keys of float64 values (not missing): their order is the numbers'
    order, and −0.0 and 0.0 share a key (numpy's version of `jit.ordered`)."""
    bits = (np.asarray(values, np.float64) + 0.0).view(np.uint64)
    return bits ^ np.where(bits >> np.uint64(63), _UMAX, np.uint64(2**63))


def flatten(est: Any) -> FlatTrees | None:
    """The fitted HistGradientBoosting estimator's trees, re-laid out (None: not supported)."""
    if getattr(est, "n_trees_per_iteration_", 1) != 1 or not est._predictors:
        return None
    known, known_index = est._bin_mapper.make_known_categories_bitsets()
    known = np.asarray(known, dtype=np.uint32).reshape(-1, 8)
    n_features = int(est.n_features_in_)
    if 2 * n_features > 1 << _SLOT_BITS:
        return None
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
        feature = np.full(size, -1, np.int64)
        key_slot = np.zeros(size, np.int64)
        threshold = np.full(size, _UMAX, np.uint64)
        value = np.zeros(size)
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
                key_slot[i] = f
            else:
                # sklearn: missing → its side, else x <= threshold goes left (a threshold of +inf
                # with missing going right splits missing from the rest: +inf's key is below 2^64 − 1)
                threshold[i] = ordered_keys(np.array([node["num_threshold"]]))[0]
                key_slot[i] = f if missing_right else n_features + f
        if child.max() >= 1 << (63 - _CHILD_SHIFT):
            return None
        word = key_slot | mask_row << _MASK_SHIFT | child << _CHILD_SHIFT
        parts.append((np.stack([word.astype(np.uint64), threshold], axis=1).ravel(), value, feature))
        roots.append(offset)
        depths.append(int(level[used].max()))
        offset += size
    if len(masks) >= 1 << (_CHILD_SHIFT - _MASK_SHIFT):
        return None
    return FlatTrees(
        roots=np.asarray(roots, np.int64), depth=np.asarray(depths, np.int64),
        nodes=np.concatenate([p[0] for p in parts]),
        right_masks=np.asarray(masks, np.uint32).ravel(), categorical=categorical,
        value=np.concatenate([p[1] for p in parts]), feature=np.concatenate([p[2] for p in parts]),
        baseline=float(np.asarray(est._baseline_prediction, dtype=np.float64).ravel()[0]),
    )  # fmt: skip


def _flat(est: Any, n: int, p: int) -> FlatTrees | None:
    """The estimator's flattened trees, when the compiled walk can score n rows of p encoded
    columns with them."""
    if not AVAILABLE or n < MIN_ROWS:
        return None
    flat = _FLAT.get(est)
    if flat is None:
        flat = flatten(est)
        if flat is None:
            return None
        _FLAT[est] = flat
    if p != flat.categorical.size:
        return None
    return flat


def column_table(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The walk's view of equal-length 1-D columns: per column its first value's address and its
    stride in values (uint64, p × 2), and the float64 arrays those point into, which the caller
    keeps alive while the walk runs (a column that is not float64, or not evenly strided in
    whole values, is converted first)."""
    kept, table = [], np.empty((len(arrays), 2), np.uint64)
    for f, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype != np.float64 or a.strides[0] % 8 or a.strides[0] <= 0:
            a = np.ascontiguousarray(a, dtype=np.float64)
        kept.append(a)
        table[f] = (a.ctypes.data, a.strides[0] // 8)
    return table, kept


def _threads(threads: int | None) -> None:
    import numba

    numba.set_num_threads(max(1, min(threads or os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS)))


def raw_scores(est: Any, E: np.ndarray, threads: int | None = None) -> np.ndarray | None:
    """The estimator's raw predictions for the encoded rows E, or None (use scikit-learn)."""
    if E.ndim != 2:
        return None
    return raw_scores_of_columns(est, [E[:, f] for f in range(E.shape[1])], threads)


def raw_scores_of_columns(est: Any, cols: list[np.ndarray], threads: int | None = None) -> np.ndarray | None:
    """`raw_scores` of the encoded rows given as their columns (`encoder.columns(X)`: in
    ordinal mode, views of the frame's own float64 columns): the walk reads them where they
    are, with no copy into a matrix (a copy of 1M rows × 100 columns took 0.13–0.22 s of a 1.1 s
    scoring)."""
    n = len(cols[0]) if cols else 0
    flat = _flat(est, n, len(cols))
    if flat is None:
        return None
    table, kept = column_table(cols)
    kernel = _kernel()
    _threads(threads)
    out = np.empty(n, dtype=np.float64)
    kernel(table, n, flat.roots, flat.depth, flat.nodes, flat.right_masks,
           flat.categorical, flat.read, flat.value, flat.baseline, out)  # fmt: skip
    del kept  # (alive until the walk returned)
    return out


def raw_deltas(est: Any, E: np.ndarray, columns: np.ndarray, values: np.ndarray,
               threads: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(raw, deltas) for the encoded rows E: the raw predictions, and per row and probe j the
    change of the raw prediction when column `columns[j]` is set to `values[j]` — or None (use
    scikit-learn). What reasons need, in one walk: a probe re-walks only the trees that split
    on its column (a third of the walks of re-scoring every tree per probe, for a typical
    model's most important features), from rows already in cache."""
    flat = _flat(est, len(E), E.shape[1] if E.ndim == 2 else -1)
    if flat is None:
        return None
    columns = np.asarray(columns, np.int64)
    values = np.asarray(values, np.float64)
    missing = np.isnan(values)
    codes = np.array([int(v) if 0 <= v < MISSING_CODE else MISSING_CODE for v in values], np.uint8)
    keys = np.empty((values.size, 2), np.uint64)  # missing above every number, below
    keys[:, 0] = np.where(missing, _UMAX, ordered_keys(np.where(missing, 0.0, values)))
    keys[:, 1] = np.where(missing, np.uint64(0), keys[:, 0])
    ptr, uses = _tree_uses(est, flat, columns)
    _threads(threads)
    raw = np.empty(len(E), dtype=np.float64)
    deltas = np.empty((len(E), columns.size), dtype=np.float64)
    table, kept = column_table([E[:, f] for f in range(E.shape[1])])
    _delta_kernel()(table, len(E), flat.roots, flat.depth, flat.nodes, flat.right_masks,
                    flat.categorical, flat.read, flat.value, flat.baseline, columns, keys, codes, ptr, uses,
                    raw, deltas)  # fmt: skip
    del kept
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
        tree = np.searchsorted(flat.roots, np.arange(flat.feature.size), side="right") - 1
        split = np.zeros((flat.roots.size, columns.size), np.bool_)
        for j, c in enumerate(columns):
            split[np.unique(tree[flat.feature == c]), j] = True
        ptr = np.concatenate([[0], np.cumsum(split.sum(axis=1))]).astype(np.int64)
        cached[key] = (ptr, np.nonzero(split)[1].astype(np.int64))  # row-major: by tree, then probe
    return cached[key]


def _delta_kernel() -> Any:
    """The walk of `raw_deltas` (see _kernel)."""
    from leadql.predict import jit

    return jit.walk_deltas
