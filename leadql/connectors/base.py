"""The one small interface every kind of source sits behind.

A connector knows where its data is and how to read it; everything above it works on Arrow and on
DuckDB SQL and does not care which connector it talks to:

    schema()                          column name → DuckDB type
    scan(con, columns, where, limit)  Arrow record batches, projection/filter/limit pushed down
    duckdb_from(con)                  a FROM-clause DuckDB reads directly, or None (then scan())
    capabilities                      what it can push down

`where` is a DuckDB-dialect SQL predicate over the source's own columns.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leadql.errors import LeadQLSourceError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Capabilities:
    projection: bool = True  # reads only the columns asked for
    filters: bool = True  # evaluates the pushed-down predicate at the source
    limit: bool = True  # stops reading after `limit` rows
    native: bool = False  # DuckDB reads it directly (no Arrow hop)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def shown(location: str, limit: int = 120) -> str:
    """A location as an error message quotes it: cut in the middle when long."""
    return location if len(location) <= limit else location[: limit - 40] + "…" + location[-39:]


def sql_literal(value: Any) -> str:
    """A Python boolean, number or text as a DuckDB SQL constant."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return quote_str(str(value))


def duckdb_detail(error: Exception) -> str:
    """The first line of a DuckDB error, without its "Binder Error: "-style prefix."""
    return re.sub(r"^[A-Za-z ]+ Error: ", "", str(error).split("\n")[0])


def select_sql(from_sql: str, columns: list[str] | None, where: str | None, limit: int | None) -> str:
    cols = ", ".join(quote_ident(c) for c in columns) if columns else "*"
    sql = f"SELECT {cols} FROM {from_sql}"
    if where:
        sql += f" WHERE {where}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql


class Connector:
    """A readable source of rows."""

    format: str = ""
    capabilities = Capabilities()

    def __init__(self, location: str, options: dict[str, Any] | None = None) -> None:
        self.location = location
        self.options = dict(options or {})

    # ------------------------------------------------------------ the interface
    def duckdb_from(self, con: Any) -> str | None:
        """A FROM-clause expression DuckDB evaluates on `con`; None when only scan() reads it."""
        return None

    def schema(self, con: Any) -> dict[str, str]:
        """Column name → DuckDB type, read from the data (cheaply: no rows are fetched)."""
        from_sql = self.duckdb_from(con)
        if from_sql is None:
            reader = self.scan(con, None, None, 0)
            name = self.register_arrow(con, reader)
            from_sql = quote_ident(name)
        rows = self.run_read(con, lambda: con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall())
        return {r[0]: r[1] for r in rows}

    def scan(
        self,
        con: Any,
        columns: list[str] | None = None,
        where: str | None = None,
        limit: int | None = None,
    ) -> pa.RecordBatchReader:
        """The rows as Arrow batches, reading only what is asked for."""
        from_sql = self.duckdb_from(con)
        assert from_sql is not None, f"{type(self).__name__} must implement scan()"
        sql = select_sql(from_sql, columns, where, limit)
        relation = self.run_read(con, lambda: con.sql(sql))
        return self.run_read(con, lambda: relation.to_arrow_reader(batch_size=100_000))

    def relation(self, con: Any) -> str:
        """A FROM-clause for the whole source: DuckDB's own reader, or the scanned Arrow data."""
        from_sql = self.duckdb_from(con)
        if from_sql is None:
            from_sql = quote_ident(self.register_arrow(con, self.scan(con)))
        return from_sql

    def describe(self) -> str:
        return f"{self.format} {self.location}"

    # ------------------------------------------------------------ helpers
    def register_arrow(self, con: Any, data: Any) -> str:
        """Register Arrow data on the connection under a fresh name."""
        name = f"_leadql_scan_{uuid.uuid4().hex[:12]}"
        con.register(name, data)
        return name

    def run_read(self, con: Any, fn: Any) -> Any:
        """Run a DuckDB call, turning its read errors into LeadQLSourceErrors."""
        import duckdb

        try:
            return fn()
        except duckdb.Error as e:
            raise self.read_error(e) from None

    def read_error(self, error: Exception) -> LeadQLSourceError:
        return LeadQLSourceError(
            f"cannot read {self.location} as {self.format}: {duckdb_detail(error)}",
            hint="check the file, its FORMAT and OPTIONS",
        )

    def check_options(self, known: dict[str, str]) -> None:
        """Reject options this connector does not know, suggesting the nearest."""
        for name in self.options:
            if name.lower() not in known:
                raise LeadQLSourceError(
                    f"{self.format} sources have no option `{name}`",
                    hint=did_you_mean(name, known)
                    or ("options: " + ", ".join(sorted(known)) if known else "it takes no options"),
                )
