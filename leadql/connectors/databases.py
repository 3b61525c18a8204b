"""Tables in database files: a DuckDB file (attached read-only, read natively) and a SQLite
file (read with Python's sqlite3, with the projection, filter and limit translated into SQLite
SQL by sqlglot). DuckDB's SQLite scanner is an extension that downloads, so it is not used."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from leadql.connectors.base import Capabilities, Connector, quote_ident, select_sql, shown
from leadql.errors import LeadQLSourceError, did_you_mean

DATABASE_OPTIONS = {"table": "table", "schema": "schema"}


def _local_path(location: str, base_dir: Path) -> str:
    path = location[len("file://") :] if location.startswith("file://") else location
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else str(base_dir / path)


def _pick_table(location: str, wanted: str | None, tables: list[str]) -> str:
    if wanted is not None:
        for t in tables:
            if t.lower() == str(wanted).lower():
                return t
        raise LeadQLSourceError(
            f"{location} has no table `{wanted}`",
            hint=did_you_mean(str(wanted), tables) or "tables: " + ", ".join(tables[:20]),
        )
    if len(tables) == 1:
        return tables[0]
    raise LeadQLSourceError(
        f"{location} holds {len(tables)} tables; say which",
        hint="OPTIONS (table = '...'); tables: " + ", ".join(tables[:20]),
    )


class DuckDBFile(Connector):
    format = "duckdb"
    capabilities = Capabilities(native=True)

    def __init__(self, location: str, options: dict[str, Any], base_dir: Path) -> None:
        super().__init__(location, options)
        self.check_options(DATABASE_OPTIONS)
        self.path = _local_path(location, base_dir)
        self._alias = f"_leadql_db_{uuid.uuid4().hex[:10]}"
        self._table: str | None = None

    def duckdb_from(self, con: Any) -> str:
        if not os.path.isfile(self.path):
            raise LeadQLSourceError(f"file not found: '{shown(self.location)}'")
        attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        if self._alias not in attached:
            path = self.path.replace("'", "''")
            self.run_read(con, lambda: con.execute(f"ATTACH '{path}' AS {self._alias} (READ_ONLY)"))
        if self._table is None:
            schema = str(self.options.get("schema", "main"))
            rows = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
                "UNION SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = ? "
                "ORDER BY 1",
                [self._alias, schema, self._alias, schema],
            ).fetchall()
            self._table = _pick_table(self.location, self.options.get("table"), [r[0] for r in rows])
        schema = str(self.options.get("schema", "main"))
        return f"{self._alias}.{quote_ident(schema)}.{quote_ident(self._table)}"


class SQLiteFile(Connector):
    format = "sqlite"
    capabilities = Capabilities(native=False)

    def __init__(self, location: str, options: dict[str, Any], base_dir: Path) -> None:
        super().__init__(location, options)
        self.check_options({"table": "table"})
        self.path = _local_path(location, base_dir)

    def _connect(self) -> sqlite3.Connection:
        if not os.path.isfile(self.path):
            raise LeadQLSourceError(f"file not found: '{shown(self.location)}'")
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
            )]  # fmt: skip
        except sqlite3.DatabaseError as e:
            raise LeadQLSourceError(f"cannot read {self.location} as sqlite: {e}") from None
        self.table = _pick_table(self.location, self.options.get("table"), tables)
        return db

    def _declared_types(self) -> dict[str, Any]:
        """Arrow types from the table's declared column types (SQLite's type affinity rules)."""
        import pyarrow as pa

        db = self._connect()
        try:
            info = db.execute(f"PRAGMA table_info({quote_ident(self.table)})").fetchall()
        finally:
            db.close()
        out: dict[str, Any] = {}
        for _cid, name, declared, *_ in info:
            t = (declared or "").upper()
            if "INT" in t:
                out[name] = pa.int64()
            elif any(k in t for k in ("CHAR", "CLOB", "TEXT")):
                out[name] = pa.string()
            elif "BLOB" in t:
                out[name] = pa.binary()
            elif any(k in t for k in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
                out[name] = pa.float64()
            elif "BOOL" in t:
                out[name] = pa.bool_()
            else:
                out[name] = pa.string()
        return out

    def scan(
        self,
        con: Any,
        columns: list[str] | None = None,
        where: str | None = None,
        limit: int | None = None,
    ) -> Any:
        import pyarrow as pa
        import sqlglot

        db = self._connect()
        try:
            sql = select_sql(quote_ident(self.table), columns, where, limit)
            if where:  # the predicate is DuckDB SQL: translate it for SQLite
                sql = sqlglot.transpile(sql, read="duckdb", write="sqlite")[0]
            cursor = db.execute(sql)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as e:
            raise LeadQLSourceError(f"cannot read {self.location} as sqlite: {e}") from None
        finally:
            db.close()
        declared = self._declared_types()
        arrays, fields = [], []
        for i, n in enumerate(names):
            values = [r[i] for r in rows]
            arrow_type = declared.get(n, pa.string())
            try:
                array = pa.array(values, type=arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                # SQLite columns may hold mixed types whatever they declare: keep them as text.
                array = pa.array([None if v is None else str(v) for v in values], type=pa.string())
            arrays.append(array)
            fields.append(pa.field(n, array.type))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        return table.to_reader()


class Registered(Connector):
    """Data registered from Python with `ws.register(name, table)`: FROM 'python:name'."""

    format = "python"
    capabilities = Capabilities(native=True)

    def __init__(self, location: str, options: dict[str, Any]) -> None:
        super().__init__(location, options)
        self.check_options({})
        self.name = location.split(":", 1)[1]

    def duckdb_from(self, con: Any) -> str:
        names = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
        names |= {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        if self.name not in names:
            raise LeadQLSourceError(
                f"nothing is registered as `{self.name}`",
                hint=did_you_mean(self.name, names) or "ws.register(name, table) first",
            )
        return quote_ident(self.name)
