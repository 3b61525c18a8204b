"""DuckDB results as pandas frames, through Arrow.

DuckDB 2's own `.df()` builds Python strings one by one: on 1M rows × 90 DOUBLE + 10 VARCHAR
columns it took 6.2 s, against 0.7 s through Arrow (which creates each distinct string once).
`fetch_frame` gives the dtypes `.df()` gives: decimals as float64, dates as timestamps, and
integer or boolean columns holding NULLs as pandas' nullable Int / boolean dtypes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd
import pyarrow as pa


def fetch_frame(relation: Any, categorical: Collection[str] = ()) -> pd.DataFrame:
    """The rows of a DuckDB relation (e.g. `con.sql(query)`) as pandas; the text columns named
    in `categorical` as pandas Categoricals (each distinct value stored once, and encoded for a
    model by mapping the few categories rather than hashing every row)."""
    table = relation.to_arrow_table()
    casts = {}
    nullable = {}
    for i, field in enumerate(table.schema):
        t = field.type
        if pa.types.is_decimal(t):
            casts[i] = pa.float64()
        elif pa.types.is_date(t):
            casts[i] = pa.timestamp("us")
        elif (pa.types.is_integer(t) or pa.types.is_boolean(t)) and table.column(i).null_count:
            nullable[i] = _nullable_dtype(t)
    for i, t in casts.items():
        table = table.set_column(i, table.schema.field(i).name, table.column(i).cast(t))
    wanted = set(categorical)
    cats = [f.name for f in table.schema
            if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]  # fmt: skip
    frame = table.to_pandas(categories=cats or None)
    for i, dtype in nullable.items():
        column = table.column(i)
        frame.isetitem(i, column.to_pandas(types_mapper={column.type: dtype}.get))
    return frame


def _nullable_dtype(t: pa.DataType) -> Any:
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return pd.api.types.pandas_dtype(
        ("UInt" if pa.types.is_unsigned_integer(t) else "Int") + str(t.bit_width)
    )
