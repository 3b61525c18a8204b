"""Reading and writing catalog entries. Names are matched case-insensitively (SQL rules)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from leadql.catalog.definitions import CATEGORY, SOURCE, TABLE, CategoryDef, DataDef
from leadql.catalog.migrations import SCHEMA, first_row, migrate
from leadql.errors import LeadQLNameError, Span, did_you_mean

KIND_WORDS = {SOURCE: "source", TABLE: "table", CATEGORY: "category"}


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@lru_cache(maxsize=1)
def builtin_categories() -> dict[str, CategoryDef]:
    """The canonical categories shipped in stdlib/categories.lql."""
    from leadql.grammar import ast, parse
    from leadql.resources import stdlib_path

    out: dict[str, CategoryDef] = {}
    text = (stdlib_path() / "categories.lql").read_text(encoding="utf-8")
    for statement in parse(text):
        assert isinstance(statement, ast.CreateCategory)
        out[statement.name.value.lower()] = category_from_statement(statement, builtin=True)
    return out


def category_from_statement(statement: Any, *, builtin: bool = False) -> CategoryDef:
    type_name = statement.type
    type_sql = "VARCHAR"
    if type_name is not None:
        type_sql = type_name.name.upper() + (
            "(" + ", ".join(str(a) for a in type_name.args) + ")" if type_name.args else ""
        )
    return CategoryDef(
        name=statement.name.value,
        type=type_sql,
        normalizer=statement.normalizer.value if statement.normalizer else None,
        normalize_sql=(
            statement.text[statement.normalize_expr.span.start - statement.span.start :
                           statement.normalize_expr.span.end - statement.span.start]
            if statement.normalize_expr is not None and statement.span is not None
            else None
        ),
        group=statement.group.value if statement.group else None,
        description=statement.description if isinstance(statement.description, str) else None,
        builtin=builtin,
    )  # fmt: skip


class Catalog:
    """The catalog of one workspace, on its DuckDB connection (the workspace serialises access)."""

    def __init__(self, con: Any, *, read_only: bool = False) -> None:
        self.con = con
        self.version = migrate(con, read_only=read_only)

    # ------------------------------------------------------------ objects
    def _row(self, kinds: tuple[str, ...], name: str) -> tuple[str, str] | None:
        marks = ", ".join("?" for _ in kinds)
        row = first_row(self.con.execute(
            f"SELECT kind, definition FROM {SCHEMA}.objects "
            f"WHERE kind IN ({marks}) AND lower(name) = lower(?)",
            [*kinds, name],
        ))  # fmt: skip
        return (row[0], row[1]) if row else None

    def get_data(self, name: str, kinds: tuple[str, ...] = (SOURCE, TABLE)) -> DataDef | None:
        row = self._row(kinds, name)
        return DataDef.from_json(row[1]) if row else None

    def names(self, kinds: tuple[str, ...]) -> list[str]:
        marks = ", ".join("?" for _ in kinds)
        rows = self.con.execute(
            f"SELECT name FROM {SCHEMA}.objects WHERE kind IN ({marks}) ORDER BY name", list(kinds)
        ).fetchall()
        return [r[0] for r in rows]

    def data_defs(self, kind: str) -> list[DataDef]:
        rows = self.con.execute(
            f"SELECT definition FROM {SCHEMA}.objects WHERE kind = ? ORDER BY name", [kind]
        ).fetchall()
        return [DataDef.from_json(r[0]) for r in rows]

    def require_data(
        self,
        name: str,
        kinds: tuple[str, ...],
        *,
        span: Span | None = None,
        text: str | None = None,
    ) -> DataDef:
        found = self.get_data(name, kinds)
        if found is None:
            what = " or ".join(KIND_WORDS[k] for k in kinds)
            raise LeadQLNameError(
                f"no {what} named `{name}`",
                span=span,
                text=text,
                hint=did_you_mean(name, self.names(kinds))
                or " or ".join(f"SHOW {KIND_WORDS[k].upper()}S" for k in kinds) + " lists them",
            )
        return found

    def statement_of(self, kind: str, name: str) -> str | None:
        row = first_row(self.con.execute(
            f"SELECT statement FROM {SCHEMA}.objects WHERE kind = ? AND lower(name) = lower(?)",
            [kind, name],
        ))  # fmt: skip
        return row[0] if row else None

    def put(self, kind: str, name: str, definition_json: str, statement: str | None) -> None:
        """Insert or replace one entry (the caller holds the transaction)."""
        now = _now()
        existing = first_row(self.con.execute(
            f"SELECT name, created_at FROM {SCHEMA}.objects "
            "WHERE kind = ? AND lower(name) = lower(?)",
            [kind, name],
        ))  # fmt: skip
        if existing:
            self.con.execute(
                f"DELETE FROM {SCHEMA}.objects WHERE kind = ? AND lower(name) = lower(?)",
                [kind, name],
            )
        created = existing[1] if existing else now
        self.con.execute(
            f"INSERT INTO {SCHEMA}.objects VALUES (?, ?, ?, ?, ?, ?)",
            [kind, name, definition_json, statement, created, now],
        )

    def delete(self, kind: str, name: str) -> bool:
        before = first_row(self.con.execute(
            f"SELECT count(*) FROM {SCHEMA}.objects WHERE kind = ? AND lower(name) = lower(?)",
            [kind, name],
        ))[0]  # fmt: skip
        self.con.execute(
            f"DELETE FROM {SCHEMA}.objects WHERE kind = ? AND lower(name) = lower(?)", [kind, name]
        )
        if kind in (SOURCE, TABLE):
            self.con.execute(
                f"DELETE FROM {SCHEMA}.statistics WHERE lower(object_name) = lower(?)", [name]
            )
        return bool(before)

    # ------------------------------------------------------------ categories
    def categories(self) -> dict[str, CategoryDef]:
        """Every category by lower-case name: the stdlib's and the user's."""
        out = dict(builtin_categories())
        rows = self.con.execute(
            f"SELECT definition FROM {SCHEMA}.objects WHERE kind = ? ORDER BY name", [CATEGORY]
        ).fetchall()
        for (definition,) in rows:
            category = CategoryDef.from_json(definition)
            out[category.name.lower()] = category
        return out

    # ------------------------------------------------------------ statistics
    def save_statistics(self, name: str, row_count: int, stats: dict[str, Any]) -> datetime:
        taken = _now()
        self.con.execute(
            f"INSERT INTO {SCHEMA}.statistics VALUES (?, ?, ?, ?)",
            [name, taken, row_count, json.dumps(stats, default=str)],
        )
        return taken

    def statistics(self, name: str) -> tuple[datetime, int, dict[str, Any]] | None:
        row = first_row(self.con.execute(
            f"SELECT taken_at, row_count, stats FROM {SCHEMA}.statistics "
            "WHERE lower(object_name) = lower(?) ORDER BY taken_at DESC LIMIT 1",
            [name],
        ))  # fmt: skip
        return (row[0], row[1], json.loads(row[2])) if row else None
