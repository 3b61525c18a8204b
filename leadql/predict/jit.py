"""LeadQL's compiled kernels (numba): imported only when one runs, so numba loads on first use.

They are module-level functions, not closures, so that numba's on-disk cache finds them in the
next process: a closure's cells (other compiled functions) pickle differently in each process,
which made every process compile the tree walk again (2.7 s before the first gbm scoring).

- `walk`, `walk_deltas`: the gbm tree walk and its per-feature deltas (see treewalk).
- `bucket_partials`: windowed-feature partials per (anchor, window) (see bucketkernel).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from leadql.predict.bucketkernel import (
    OP_COUNT,
    OP_COUNT_EQ,
    OP_COUNT_ROWS,
    OP_MAX,
    OP_MAX_TS,
    OP_MIN,
    OP_MIN_TS,
    OP_SUM,
)  # fmt: skip
from leadql.predict.treewalk import (
    _CHILD_SHIFT,
    _FEATURE_BITS,
    _MASK_SHIFT,
    _NAN_SHIFT,
    BLOCK,
    MISSING_CODE,
)

# DuckDB's TIMESTAMP infinities, as epoch microseconds (how bucketkernel reads them)
POS_INF = 2**63 - 1
NEG_INF = -(2**63 - 1)

# compile-time constants of the walk: the per-row loops unroll
block = BLOCK
missing = MISSING_CODE
mask_shift, nan_shift, child_shift = _MASK_SHIFT, _NAN_SHIFT, _CHILD_SHIFT
feature_mask, row_mask = (1 << _FEATURE_BITS) - 1, (1 << (_NAN_SHIFT - _MASK_SHIFT)) - 1


@njit(inline="always", nogil=True)
def load(X, lo, rows, categorical, x, code):
    """The block's rows side by side, whatever X's memory order, and their category codes."""
    for k in range(rows):
        for j in range(X.shape[1]):
            v = X[lo + k, j]
            x[k, j] = v
            if categorical[j]:  # missing or negative: the missing code
                code[k, j] = missing if (np.isnan(v) or v < 0) else np.uint8(np.int64(v))


@njit(inline="always", nogil=True)
def step(i, w, v, c, threshold, right_masks):
    """The node after node i (packed word w) for a row whose value at its feature is v
    (category code c): branch-free."""
    right = ((v > threshold[i]) | ((v != v) & (((w >> nan_shift) & 1) == 1))
             | (((right_masks[(w >> mask_shift) & row_mask, c >> 5] >> (c & 31)) & 1) == 1))
    return i + (w >> child_shift) + right


@njit(inline="always", nogil=True)
def descend(root, levels, word, threshold, right_masks, x, code, node):
    """The block's rows from `root` down `levels` levels: node[k] is row k's leaf."""
    for k in range(block):
        node[k] = root
    for _ in range(levels):
        for k in range(block):
            i = node[k]
            w = word[i]
            f = w & feature_mask
            node[k] = step(i, w, x[k, f], code[k, f], threshold, right_masks)


@njit(parallel=True, cache=True, nogil=True)
def walk(X, roots, depth, word, threshold, right_masks, categorical, value, baseline, out):
    n, p = X.shape
    for b in prange((n + block - 1) // block):
        lo = b * block
        rows = min(n, lo + block) - lo
        x = np.zeros((block, p))
        code = np.zeros((block, p), np.uint8)
        acc = np.full(block, baseline)
        node = np.empty(block, np.int64)
        load(X, lo, rows, categorical, x, code)
        for t in range(roots.size):
            descend(roots[t], depth[t], word, threshold, right_masks, x, code, node)
            for k in range(block):
                acc[k] += value[node[k]]
        for k in range(rows):
            out[lo + k] = acc[k]


@njit(parallel=True, cache=True, nogil=True)
def walk_deltas(X, roots, depth, word, threshold, right_masks, categorical, value, baseline,
                columns, values, codes, ptr, uses, raw, deltas):  # fmt: skip
    """`walk`, and per tree a second walk for each probe the tree splits on, reading the
    probe's value at its column. (Walking on only from the first node of each row's path
    that tests the column measured slower, 0.85 s against 0.68 s per 100k rows × 12 probes
    × 81 trees: the per-row search branches where this walk does not.)"""
    n, p = X.shape
    m = columns.size
    for b in prange((n + block - 1) // block):
        lo = b * block
        rows = min(n, lo + block) - lo
        x = np.zeros((block, p))
        code = np.zeros((block, p), np.uint8)
        acc = np.full(block, baseline)
        d = np.zeros((block, m))
        node = np.empty(block, np.int64)
        own = np.empty(block)
        load(X, lo, rows, categorical, x, code)
        for t in range(roots.size):
            descend(roots[t], depth[t], word, threshold, right_masks, x, code, node)
            for k in range(block):
                own[k] = value[node[k]]
                acc[k] += own[k]
            for u in range(ptr[t], ptr[t + 1]):
                j = uses[u]
                col, pv, pc = columns[j], values[j], codes[j]
                for k in range(block):
                    node[k] = roots[t]
                for _ in range(depth[t]):
                    for k in range(block):
                        i = node[k]
                        w = word[i]
                        f = w & feature_mask
                        probed = f == col
                        node[k] = step(i, w, pv if probed else x[k, f], pc if probed else code[k, f],
                                       threshold, right_masks)  # fmt: skip
                for k in range(block):
                    d[k, j] += value[node[k]] - own[k]
        for k in range(rows):
            raw[lo + k] = acc[k]
            for j in range(m):
                deltas[lo + k, j] = d[k, j]


@njit(inline="always", nogil=True)
def after(us, lo, hi, t):
    """The first row in lo..hi (exclusive) later than t (rows sorted by time)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if us[mid] > t:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(inline="always", nogil=True)
def lower_bound(a, edge):
    """anchor - edge, saturating at -infinity; an infinite anchor's windows are empty (DuckDB:
    infinity - interval is infinity)."""
    if a == POS_INF or a == NEG_INF:
        return a
    if a < NEG_INF + edge:
        return NEG_INF
    return a - edge


@njit(inline="always", nogil=True)
def extreme(op, cur, found, v):
    """min (OP_MIN) or max of cur (if found) and v, with NaN above every number."""
    if not found:
        return v
    if op == OP_MIN:
        return v if (v < cur or (cur != cur and v == v)) else cur
    return v if (cur == cur and (v > cur or v != v)) else cur


@njit(inline="always", nogil=True)
def add_rows(op, j, t, lo, hi, V, M, Q, total, found):
    """(total, found) after adding rows lo..hi to a count / count-equals / sum / min / max
    partial of input j (t: the code counted by count-equals)."""
    if op == OP_COUNT_EQ:  # one loop per kind: no branch on the kind per row
        for i in range(lo, hi):
            total += Q[j, i] == t
    elif op == OP_COUNT:
        for i in range(lo, hi):
            total += M[j, i]
    elif op == OP_SUM:
        for i in range(lo, hi):
            if M[j, i]:
                total += V[j, i]
    else:
        for i in range(lo, hi):
            if M[j, i]:
                total = extreme(op, total, found, V[j, i])
                found = True
    return total, found


@njit(parallel=True, cache=True, nogil=True)
def bucket_partials(us, offsets, first, last, anchor_us, edges, ops, inp, target, slot, sslot,
                    V, M, Q, acc, tacc, seen):  # fmt: skip
    """Entity e's rows are offsets[e]..offsets[e+1] (sorted by time), its anchors
    first[e]..last[e] (local indexes, sorted by time). Window b of an anchor holds the rows
    after anchor - edges[b] and at or before the anchor (b = edges.size: all of them): a
    contiguous range, which contains window b - 1, so each window adds only the rows between
    its start and the shorter window's start. The rows older than the longest finite window
    only grow from one anchor to the next, so they are kept as running partials per entity:
    each row is added to them once, not once per anchor. Partial k lives in row slot[k] of
    acc (or of tacc, for the times), and its "has a value" flag (min / max / times) in row
    sslot[k] of seen."""
    windows = edges.size
    for e in prange(offsets.size - 1):
        s, end = offsets[e], offsets[e + 1]
        upto = s
        old = s  # rows s..old are in the running partials
        run = np.zeros(ops.size)
        run_found = np.zeros(ops.size, np.bool_)
        for c in range(first[e], last[e] + 1):
            a = anchor_us[c]
            while upto < end and us[upto] <= a:
                upto += 1
            top = prev = upto
            for b in range(windows + 1):
                if b < windows:
                    lo = after(us, s, prev, lower_bound(a, edges[b]))
                else:
                    lo = s
                    if prev > old:
                        for k in range(ops.size):
                            if ops[k] != OP_COUNT_ROWS and ops[k] != OP_MIN_TS and ops[k] != OP_MAX_TS:
                                run[k], run_found[k] = add_rows(ops[k], inp[k], target[k], old, prev,
                                                                V, M, Q, run[k], run_found[k])  # fmt: skip
                        old = prev
                for k in range(ops.size):
                    op = ops[k]
                    q = slot[k]
                    if op == OP_COUNT_ROWS:
                        acc[q, b, c] = top - lo
                    elif op == OP_MIN_TS or op == OP_MAX_TS:
                        if lo < top:
                            tacc[q, b, c] = us[lo] if op == OP_MIN_TS else us[top - 1]
                            seen[sslot[k], b, c] = True
                    else:
                        extremum = op == OP_MIN or op == OP_MAX
                        total = acc[q, b - 1, c] if b > 0 else 0.0
                        found = seen[sslot[k], b - 1, c] if (b > 0 and extremum) else False
                        if b < windows:
                            total, found = add_rows(op, inp[k], target[k], lo, prev, V, M, Q, total, found)
                        elif not extremum:
                            total += run[k]
                        elif run_found[k]:
                            total = extreme(op, total, found, run[k])
                            found = True
                        acc[q, b, c] = total
                        if extremum:
                            seen[sslot[k], b, c] = found
                prev = lo
