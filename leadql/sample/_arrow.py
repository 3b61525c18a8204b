"""Vectorised text helpers over Arrow arrays (no per-row Python): joins, number formatting,
typos on byte matrices, bijective id scrambling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STRING = pa.string()


def strings(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=STRING)


def take(vocab: pa.Array, idx: np.ndarray) -> pa.Array:
    return vocab.take(pa.array(idx, type=pa.int64()))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; strings are broadcast; a null part gives null."""
    return pc.binary_join_element_wise(*parts, sep)


def join_skip(*parts: pa.Array | str, sep: str = " ") -> pa.Array:
    """Element-wise concatenation that leaves null parts out."""
    return pc.binary_join_element_wise(*parts, sep, null_handling="skip")


def fmt_int(x: np.ndarray, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(np.asarray(x, dtype=np.int64)), STRING)
    return pc.utf8_lpad(out, width, padding="0") if width else out


def thousands(x: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators: 1234567 -> '1,234,567'."""
    x = np.asarray(x, dtype=np.int64)
    groups = [(x // 1000**k) % 1000 for k in range(5)]
    padded = [pc.utf8_lpad(fmt_int(g), 3, padding="0") for g in groups]
    out = fmt_int(groups[0])
    for k in range(1, 5):
        tail = join(*padded[k - 1 :: -1], sep=",")
        lead = fmt_int(x // 1000**k)
        out = pc.if_else(pa.array(x >= 1000**k), join(lead, ",", tail), out)
    return out


def set_null(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """`values` with the masked rows null (a new validity bitmap; the data is not copied)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not mask.any():
        return values
    if values.offset or not (pa.types.is_primitive(values.type) or values.type == STRING):
        return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)
    valid = ~np.asarray(mask, dtype=bool)
    if values.null_count:
        valid &= pc.is_valid(values).to_numpy(zero_copy_only=False)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(values.type, len(values), [bitmap, *values.buffers()[1:]])


def replace_where(values: pa.Array, mask: np.ndarray, other: pa.Array) -> pa.Array:
    """`other` where mask, else `values` (both full length)."""
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), other, values)


def choose(index: np.ndarray, variants: Sequence[pa.Array]) -> pa.Array:
    if len(variants) == 1:
        return variants[0]
    return pc.choose(pa.array(np.asarray(index, dtype=np.int8)), *variants)


def grouped(
    index: np.ndarray, groups: int, build: Callable[[int, np.ndarray], pa.Array]
) -> pa.Array:
    """Values built group by group: `build(g, rows)` makes the values of the rows in group g
    (each row computed once, not once per group), reassembled in row order as strings."""
    index = np.asarray(index, dtype=np.int64)
    n = index.size
    counts = np.bincount(index, minlength=groups)
    if (counts == n).any():  # one group: no reordering needed
        g = int(np.flatnonzero(counts == n)[0])
        return pc.cast(build(g, np.arange(n)), STRING)
    order = np.argsort(index, kind="stable")
    pieces, start = [], 0
    for g in range(groups):
        if counts[g]:
            pieces.append(pc.cast(build(g, order[start : start + counts[g]]), STRING))
            start += counts[g]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(pieces).take(pa.array(inverse))


def to_numpy(values: pa.Array, fill: float = np.nan) -> np.ndarray:
    """A numeric Arrow array as float64, nulls as `fill`."""
    return pc.fill_null(pc.cast(values, pa.float64()), fill).to_numpy(zero_copy_only=False)


# ----------------------------------------------------------------------------- byte matrices


def _matrix(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A non-null string array as a zero-padded (n, width) uint8 matrix and the lengths."""
    values = pc.cast(values, STRING)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + n + 1
    ]
    data_buf = values.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    )
    if data.size == 0:
        data = np.zeros(1, np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    width = int(lengths.max()) + 2 if n else 2
    cols = np.arange(width)
    idx = offsets[:-1, None].astype(np.int64) + cols[None, :]
    valid = cols[None, :] < lengths[:, None]
    matrix = np.where(valid, data[np.minimum(idx, data.size - 1)], 0).astype(np.uint8)
    return matrix, lengths


def _from_matrix(matrix: np.ndarray, lengths: np.ndarray) -> pa.Array:
    n, width = matrix.shape
    valid = np.arange(width)[None, :] < lengths[:, None]
    data = matrix[valid].tobytes()
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


_LOWER = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_UPPER = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_DIGIT = np.frombuffer(b"0123456789", dtype=np.uint8)


def typo(values: pa.Array, rng: np.random.Generator, limit: np.ndarray | None = None) -> pa.Array:
    """One typing mistake per (non-null, ASCII) value: a dropped, doubled, swapped or wrong letter.

    The first character is kept (people rarely mistype it). `limit` caps the position per row
    (exclusive), e.g. the '@' of an email. The result always differs from the input, ignoring case.
    """
    n = len(values)
    if n == 0:
        return values
    m, length = _matrix(values)
    hi = length if limit is None else np.minimum(length, np.asarray(limit, dtype=np.int64))
    hi = np.maximum(hi, 1)
    # position in [1, hi - 1] (or 0 for one-character values)
    pos = np.where(hi > 1, 1 + (rng.random(n) * (hi - 1)).astype(np.int64), 0)
    pos = np.minimum(pos, np.maximum(length - 1, 0))
    op = rng.integers(0, 4, n)
    op = np.where((op == 1) & (pos + 1 >= hi), 0, op)  # swap needs a next character
    op = np.where((op == 0) & (length <= 1), 2, op)  # cannot drop the only character
    width = m.shape[1]
    cols = np.arange(width)[None, :]
    p = pos[:, None]
    src = np.broadcast_to(cols, m.shape).copy()
    drop, swap, double = op == 0, op == 1, op == 2
    src[drop] = (cols + (cols >= p))[drop]
    src[double] = (cols - (cols > p))[double]
    sw = np.flatnonzero(swap)
    src[sw, pos[sw]] = pos[sw] + 1
    src[sw, pos[sw] + 1] = pos[sw]
    out = np.take_along_axis(m, np.clip(src, 0, width - 1), axis=1)
    rep = np.flatnonzero(op == 3)
    if rep.size:
        old = m[rep, pos[rep]]
        pick = rng.integers(0, 26, rep.size)
        new = np.where(
            (old >= 65) & (old <= 90),
            _UPPER[pick],
            np.where((old >= 48) & (old <= 57), _DIGIT[pick % 10], _LOWER[pick]),
        )
        new = np.where(
            _fold(new) == _fold(old), np.where(_fold(old) == ord("e"), ord("a"), ord("e")), new
        )
        new = np.where((old >= 48) & (old <= 57) & (new == old), 48 + (old - 47) % 10, new)
        out[rep, pos[rep]] = new
    new_length = length - drop + double
    out[np.arange(width)[None, :] >= new_length[:, None]] = 0
    same = (new_length == length) & (_fold(out) == _fold(m)).all(axis=1)
    if same.any():  # a swap of equal letters: drop a character instead
        rows = np.flatnonzero(same)
        keep = np.broadcast_to(cols, (rows.size, width))
        srcs = keep + (keep >= np.maximum(pos[rows], 1)[:, None] * (length[rows] > 1)[:, None])
        fixed = np.take_along_axis(m[rows], np.clip(srcs, 0, width - 1), axis=1)
        dropped_len = np.where(length[rows] > 1, length[rows] - 1, length[rows] + 1)
        fixed[np.arange(width)[None, :] >= dropped_len[:, None]] = 0
        one = length[rows] <= 1
        if one.any():  # one-character values: double it
            fixed[one, 1] = m[rows[one], 0]
        out[rows] = fixed
        new_length[rows] = dropped_len
    return _from_matrix(out, new_length)


def _fold(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return np.where((a >= 65) & (a <= 90), a + 32, a)


# ----------------------------------------------------------------------------- ids


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray, salt: int = 0) -> np.ndarray:
    """A bijection on 64-bit integers (the SplitMix64 finaliser) after adding `salt`."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def hex64(x: np.ndarray) -> pa.Array:
    """64-bit integers as 16 lower-case hex digits."""
    x = np.ascontiguousarray(np.asarray(x, dtype=">u8"))
    pairs = _HEX[x.view(np.uint8).reshape(-1, 8)]
    text = np.ascontiguousarray(pairs).view("S16").ravel()
    return pc.cast(pa.array(text, type=pa.binary(16)), STRING)


def affine_ids(x: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of [0, modulus) for modulus a power of ten: (a * x + b) mod modulus."""
    assert modulus <= 10**11
    a = int(salt % 1_000_003) * 20 + 7  # ends in 7: coprime to 10, and a * x fits in int64
    b = int(salt // 7) % modulus
    return (np.asarray(x, dtype=np.int64) * a + b) % modulus


# ----------------------------------------------------------------------------- DuckDB results


def duck_connect(scratch) -> Any:
    """An in-memory DuckDB connection for the generator's own queries: bounded memory,
    spilling to the scratch folder, results in insertion order, no progress bar."""
    import duckdb

    con = duckdb.connect()
    spill = str(scratch / "duckdb").replace("'", "''")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def duck_table(con, sql: str) -> pa.Table:
    """A query's result as an Arrow table (DuckDB 2: to_arrow_table; 1.x: arrow)."""
    rel = con.sql(sql)
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


def duck_reader(con, sql: str, batch_size: int) -> pa.RecordBatchReader:
    """A query's result as a stream of Arrow batches, in order."""
    rel = con.sql(sql)
    if hasattr(rel, "to_arrow_reader"):
        return rel.to_arrow_reader(batch_size)
    return rel.record_batch(batch_size)
