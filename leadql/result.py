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


HTML_ROWS = 50  # rows a notebook shows of a result


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
        try:
            import pandas  # noqa: F401 - pyarrow's to_pandas needs it
        except ImportError:
            from leadql.errors import LeadQLUnsupportedError

            raise LeadQLUnsupportedError("to_pandas() needs pandas, which is not installed",
                                         hint="pip install pandas, or use to_arrow() or rows") from None  # fmt: skip
        return self.to_arrow().to_pandas()

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return self.table.num_rows if self.table is not None else 0

    def head(self, n: int) -> list[tuple[Any, ...]]:
        """The first `n` rows, without converting the others to Python."""
        if self._rows is not None:
            return self._rows[:n]
        if self.table is None:
            return []
        return Result(table=self.table.slice(0, n)).rows

    def summary(self) -> str:
        """One line: rows × columns (or the message), money spent, time taken."""
        n = len(self)
        parts = [f"{n:,} row{'s' if n != 1 else ''} × {len(self.columns)} column{'s' if len(self.columns) != 1 else ''}"
                 if self.columns else (self.message or "ok")]  # fmt: skip
        if self.cost is not None:
            parts.append(f"spent ${self.cost:,.2f}")
        if self.elapsed:
            parts.append(f"{self.elapsed * 1000:,.0f} ms" if self.elapsed < 10 else f"{self.elapsed:,.1f} s")
        return " · ".join(parts)

    def _repr_html_(self, max_rows: int = HTML_ROWS) -> str:
        """Jupyter shows a result as an HTML table: every value escaped, the first `max_rows`
        rows with a note when there are more, then its summary, message and warnings."""
        from html import escape

        from leadql.output import _cell

        parts = []
        if self.columns:
            if self.message:  # e.g. DESCRIBE's summary above its rows
                parts.append(f"<p>{escape(self.message)}</p>")
            n = len(self)
            head = "".join(f"<th>{escape(str(c))}</th>" for c in self.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in self.head(max_rows)
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            if n > max_rows:
                parts.append(f"<p><small>showing the first {max_rows:,} of {n:,} rows; "
                             "to_pandas() or rows has them all</small></p>")  # fmt: skip
            parts.append(f"<p><small>{escape(self.summary())}</small></p>")
        else:
            parts.append(f"<p>{escape(self.summary())}</p>")
        parts += [f"<p><b>warning:</b> {escape(w)}</p>" for w in self.warnings]
        return '<div class="leadql-result">' + "".join(parts) + "</div>"

    def __repr__(self) -> str:
        if self.columns:
            return f"<Result {len(self)} rows × {len(self.columns)} columns>"
        return f"<Result {self.message or 'ok'}>"
