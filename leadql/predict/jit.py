"""LeadQL's compiled kernels (numba): imported only when one runs, so numba loads on first use.

They are module-level functions, not closures, so that numba's on-disk cache finds them in the
next process: a closure's cells (other compiled functions) pickle differently in each process,
which made every process compile the tree walk again (2.7 s before the first gbm scoring).

- `walk`, `walk_deltas`: the gbm tree walk and its per-feature deltas (see treewalk).
- `bucket_partials`: windowed-feature partials per (anchor, window) (see bucketkernel).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

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
    _MASK_SHIFT,
    _SLOT_BITS,
    BLOCK,
    MISSING_CODE,
    STRIPE,
    TILE,
)

# DuckDB's TIMESTAMP infinities, as epoch microseconds (how bucketkernel reads them)
POS_INF = 2**63 - 1
NEG_INF = -(2**63 - 1)

# compile-time constants of the walk (uint64 throughout: a signed index would be wrapped around
# on every load, and the per-row loops unroll with the row's offset folded into the address)
block, tile, stripe = BLOCK, TILE, STRIPE
block_shift = np.uint64(BLOCK.bit_length() - 1)
missing = MISSING_CODE
u0, u1, u3, u5, u31 = np.uint64(0), np.uint64(1), np.uint64(3), np.uint64(5), np.uint64(31)
umax, sign = np.uint64(2**64 - 1), np.uint64(2**63)
slot_mask = np.uint64((1 << _SLOT_BITS) - 1)
mask_shift, child_shift = np.uint64(_MASK_SHIFT), np.uint64(_CHILD_SHIFT)
row_mask = np.uint64((1 << (_CHILD_SHIFT - _MASK_SHIFT)) - 1)


@intrinsic
def f64_ptr(typingctx, address):
    """The float64 pointer at an integer address (a column's first value, from numpy)."""
    sig = types.CPointer(types.float64)(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.float64)))

    return sig, codegen


@njit(inline="always", nogil=True)
def column(columns, f, n):
    """Column f of the rows to walk, given as (address, stride in values) per column (see
    treewalk.column_table): the walk reads a frame's own columns, with no copy into one matrix."""
    stride = np.int64(columns[f, 1])
    return numba.carray(f64_ptr(columns[f, 0]), (n - 1) * stride + 1), stride


@njit(inline="always", nogil=True)
def ordered(b):
    """The unsigned key of the float64 with bits b: keys order as the numbers compare."""
    return b ^ (umax if b >> np.uint64(63) else sign)


@njit(inline="always", nogil=True)
def load(columns, n, lo, rows, categorical, read, xf, xu, key, code):
    """The tile's rows (up to TILE blocks) as keys, whatever the columns' layout. Per block of
    rows and column f, slot f holds the key with a missing value above every number (a node
    that sends it right reads it) and slot p + f the key with it below every number (sent
    left); a categorical column's code is in slot f. Only the slots some node reads are
    written (`read`): the others, and a leaf's slot 0, may hold anything (a leaf's threshold is
    never exceeded and its mask row is empty; a numeric node's mask row is empty too). A
    column's rows are read together: a Fortran-ordered X read one block at a time walked 20 %
    slower (a stream per column)."""
    p = columns.shape[0]
    width = 2 * p * block
    for f in range(p):
        above, below = read[f], read[f + p]
        if not (above or below):
            continue
        hi, low = np.uint64(f) << block_shift, np.uint64(f + p) << block_shift
        col, stride = column(columns, f, n)
        if categorical[f]:  # missing or negative: the missing code
            for r in range(rows):
                v = col[(lo + r) * stride]
                c = missing if (v != v or v < 0) else np.uint8(np.int64(v))
                code[np.uint64(r >> block_shift) * np.uint64(width) + np.uint64(r & (block - 1)) + hi] = c
            continue
        for r in range(rows):
            xf[r] = col[(lo + r) * stride] + 0.0  # -0.0 → 0.0: the keys of equal numbers are equal
        # the branches on `above` / `below` are outside the row loops, which numba vectorises
        if above and below:
            for r in range(rows):
                at = np.uint64(r >> block_shift) * np.uint64(width) + np.uint64(r & (block - 1))
                k, nan = ordered(xu[r]), xf[r] != xf[r]
                key[at + hi] = umax if nan else k
                key[at + low] = u0 if nan else k
        elif above:
            for r in range(rows):
                at = np.uint64(r >> block_shift) * np.uint64(width) + np.uint64(r & (block - 1))
                key[at + hi] = umax if xf[r] != xf[r] else ordered(xu[r])
        else:
            for r in range(rows):
                at = np.uint64(r >> block_shift) * np.uint64(width) + np.uint64(r & (block - 1))
                key[at + low] = u0 if xf[r] != xf[r] else ordered(xu[r])


@njit(inline="always", nogil=True)
def step(i, w, kv, c, nodes, right_masks):
    """The node after node i (packed word w) for a row whose key at the node's slot is kv
    (category code c): branch-free."""
    bit = (right_masks[(((w >> mask_shift) & row_mask) << u3) | (c >> u5)] >> np.uint32(c & u31)) & np.uint32(1)
    right = (kv > nodes[(i << u1) | u1]) | (bit == np.uint32(1))
    return i + (w >> child_shift) + np.uint64(right)


@njit(inline="always", nogil=True)
def descend(root, levels, nodes, right_masks, key, code, node):
    """The block's rows from `root` down at most `levels` levels: node[k] is row k's leaf. The
    block stops once all its rows are at leaves (a leaf's child offset is 0): on a leaf-wise
    grown model most rows end well above the deepest leaf (570 levels per block instead of
    768 over the bench model's 81 trees; the walk took 10 % less)."""
    r = np.uint64(root)
    for k in range(block):
        node[k] = r
    for _ in range(levels):
        moving = u0  # some row is not at its leaf yet (a leaf's child offset is 0)
        for k in range(block):
            i = node[k]
            w = nodes[i << u1]
            moving |= w >> child_shift
            s = ((w & slot_mask) << block_shift) + np.uint64(k)
            node[k] = step(i, w, key[s], np.uint64(code[s]), nodes, right_masks)
        if moving == u0:
            break


@njit(inline="always", nogil=True)
def tiles(n):
    """How many tiles (of up to `tile` blocks of rows) n rows take."""
    return (n + block * tile - 1) // (block * tile)


@njit(inline="always", nogil=True)
def stripes(n):
    """Tiles are walked in stripes of STRIPE tiles, each stripe's buffers allocated once: one
    allocation (and zeroing) per tile cost a third of the walk (0.33 of 0.89 s for 1M rows ×
    100 features × 81 trees)."""
    return (tiles(n) + stripe - 1) // stripe


@njit(inline="always", nogil=True)
def buffers(p):
    """A tile's buffers: one column's numbers (as floats and bits), its keys and its codes."""
    xf = np.empty(block * tile)
    return xf, xf.view(np.uint64), np.empty(2 * p * block * tile, np.uint64), np.empty(2 * p * block * tile, np.uint8)


@njit(inline="always", nogil=True)
def loaded(columns, n, b, categorical, read, xf, xu, key, code):
    """Tile b of the n rows, loaded into the buffers: (its first row, its rows)."""
    lo = b * block * tile
    rows = min(n, lo + block * tile) - lo
    load(columns, n, lo, rows, categorical, read, xf, xu, key, code)
    return lo, rows


@njit(inline="always", nogil=True)
def block_of(key, code, s, p):
    """Block s of a tile's keys and codes."""
    width = 2 * p * block
    return key[s * width : (s + 1) * width], code[s * width : (s + 1) * width]


@njit(parallel=True, cache=True, nogil=True)
def walk(columns, n, roots, depth, nodes, right_masks, categorical, read, value, baseline, out):
    p = columns.shape[0]
    for g in prange(stripes(n)):
        xf, xu, key, code = buffers(p)
        acc = np.empty(block)
        node = np.empty(block, np.uint64)
        for b in range(g * stripe, min(tiles(n), (g + 1) * stripe)):
            lo, rows = loaded(columns, n, b, categorical, read, xf, xu, key, code)
            for s in range((rows + block - 1) // block):  # each block of the tile
                bkey, bcode = block_of(key, code, s, p)
                acc[:] = baseline
                for t in range(roots.size):
                    descend(roots[t], depth[t], nodes, right_masks, bkey, bcode, node)
                    for k in range(block):
                        acc[k] += value[node[k]]
                first = lo + s * block
                for k in range(min(block, n - first)):
                    out[first + k] = acc[k]


@njit(parallel=True, cache=True, nogil=True)
def walk_deltas(columns, n, roots, depth, nodes, right_masks, categorical, read, value, baseline,
                probes, keys, codes, ptr, uses, raw, deltas):  # fmt: skip
    """`walk`, and per tree a second walk for each probe the tree splits on, reading the
    probe's key (keys[j]: missing above, below every number) and code at its column. (Walking
    on only from the first node of each row's path that tests the column measured slower,
    0.85 s against 0.68 s per 100k rows × 12 probes × 81 trees: the per-row search branches
    where this walk does not.)"""
    p = columns.shape[0]
    m = probes.size
    up = np.uint64(p)
    for g in prange(stripes(n)):
        xf, xu, key, code = buffers(p)
        acc = np.empty(block)
        d = np.empty((block, m))
        node = np.empty(block, np.uint64)
        own = np.empty(block)
        for b in range(g * stripe, min(tiles(n), (g + 1) * stripe)):
            lo, rows = loaded(columns, n, b, categorical, read, xf, xu, key, code)
            for s in range((rows + block - 1) // block):
                bkey, bcode = block_of(key, code, s, p)
                acc[:] = baseline
                d[:] = 0.0
                for t in range(roots.size):
                    descend(roots[t], depth[t], nodes, right_masks, bkey, bcode, node)
                    for k in range(block):
                        own[k] = value[node[k]]
                        acc[k] += own[k]
                    for u in range(ptr[t], ptr[t + 1]):
                        j = uses[u]
                        col = np.uint64(probes[j])
                        r = np.uint64(roots[t])
                        for k in range(block):
                            node[k] = r
                        for _ in range(depth[t]):
                            moving = u0  # as in descend: stop once every row is at its leaf
                            for k in range(block):
                                i = node[k]
                                w = nodes[i << u1]
                                moving |= w >> child_shift
                                f = w & slot_mask
                                at = (f << block_shift) + np.uint64(k)
                                low = f >= up
                                probed = (f - up if low else f) == col  # branch-free selects below
                                kv = (keys[j, 1] if low else keys[j, 0]) if probed else bkey[at]
                                c = np.uint64(codes[j]) if probed else np.uint64(bcode[at])
                                node[k] = step(i, w, kv, c, nodes, right_masks)
                            if moving == u0:
                                break
                        for k in range(block):
                            d[k, j] += value[node[k]] - own[k]
                first = lo + s * block
                for k in range(min(block, n - first)):
                    raw[first + k] = acc[k]
                    for j in range(m):
                        deltas[first + k, j] = d[k, j]


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
