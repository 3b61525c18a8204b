"""`Result`: what every statement returns.

A result holds an Arrow table (possibly with no columns, for statements that only do something),
a short message for statements that change things, warnings, and for FIND/PREDICT the chosen plan
and the money spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas

    from leadql.grammar.ast import Statement


@dataclass
class Result:
    table: pa.Table = field(default_factory=lambda: pa.table({}))
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    plan: Any = None
    cost: Decimal | None = None
    statement: Statement | None = field(default=None, repr=False)
    elapsed: float = 0.0  # seconds

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        columns = [col.to_pylist() for col in self.table.columns]
        return list(zip(*columns)) if columns else []

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> pandas.DataFrame:
        return self.table.to_pandas()

    def __len__(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        if self.table.num_columns:
            return f"<Result {self.table.num_rows} rows × {self.table.num_columns} columns>"
        return f"<Result {self.message or 'ok'}>"
