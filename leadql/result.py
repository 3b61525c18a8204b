"""`Result`: what every statement returns.

A result holds an Arrow table (possibly with no columns, for statements that only do something),
a short message for statements that change things, warnings, and for FIND/PREDICT the chosen plan
and the money spent.

A result may also be made from plain rows (`Result.from_rows`): the command line prints those
without ever importing pyarrow, which keeps `leadql -c` quick to start; `to_arrow()` then builds
the table on demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas
    import pyarrow as pa

    from leadql.grammar.ast import Statement


@dataclass
class Result:
    table: pa.Table | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    plan: Any = None
    cost: Decimal | None = None
    statement: Statement | None = field(default=None, repr=False)
    elapsed: float = 0.0  # seconds
    _columns: list[str] | None = field(default=None, repr=False)
    _rows: list[tuple[Any, ...]] | None = field(default=None, repr=False)

    @classmethod
    def from_rows(cls, columns: Sequence[str], rows: list[tuple[Any, ...]], **kw: Any) -> Result:
        return cls(_columns=list(columns), _rows=rows, **kw)

    @property
    def columns(self) -> list[str]:
        if self._columns is not None:
            return self._columns
        return list(self.table.column_names) if self.table is not None else []

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is not None:
            return self._rows
        if self.table is None:
            return []
        columns = [col.to_pylist() for col in self.table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        if self.table is None:
            if self._columns:
                data = {name: [row[i] for row in self._rows or []] for i, name in enumerate(self._columns)}
                self.table = pa.Table.from_pydict(data)
            else:
                self.table = pa.table({})
        return self.table

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return self.table.num_rows if self.table is not None else 0

    def _repr_html_(self, max_rows: int = 50) -> str:
        """Jupyter shows a result as an HTML table (values escaped), with its message and warnings."""
        from html import escape

        from leadql.output import _cell

        parts = []
        if self.message:
            parts.append(f"<p>{escape(self.message)}</p>")
        if self.columns:
            rows = self.rows
            head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows[:max_rows]
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            shown = f"first {max_rows} of {len(rows):,} rows" if len(rows) > max_rows else f"{len(rows):,} row{'s' if len(rows) != 1 else ''}"
            parts.append(f"<p><small>{shown}</small></p>")
        elif not self.message:
            parts.append("<p>ok</p>")
        parts += [f"<p><b>warning:</b> {escape(w)}</p>" for w in self.warnings]
        return "<div class=\"leadql-result\">" + "".join(parts) + "</div>"

    def __repr__(self) -> str:
        if self.columns:
            return f"<Result {len(self)} rows × {len(self.columns)} columns>"
        return f"<Result {self.message or 'ok'}>"
