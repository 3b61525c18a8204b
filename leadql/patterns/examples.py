"""The positive examples of a pattern: rows of one of the company's own tables (or a delivered
list), optionally filtered, with the columns that name canonical categories normalised the way
vendor values are.

A table's column is a category when the table MAPs it, or when the column is called like one
(`email`, `state`, `income` …): customers tables rarely come with mappings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadql.catalog.canonical import normalized_sql
from leadql.catalog.definitions import SOURCE, TABLE, CategoryDef
from leadql.connectors.base import quote_ident, quote_str
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.planner.expressions import PredicateCompiler, kind_of
from leadql.predict.schema import TableMeta

EXAMPLES_SOURCE = "examples"


@dataclass
class Examples:
    table: str  # staged: _source, _record_key, one column per category found
    rows: int
    categories: list[str]  # canonical categories the examples carry
    origin: str  # "table customers WHERE product = 'keyboard'"


def read_examples(ctx: Context, name: ast.Ident, where: ast.Expr | None, categories: dict[str, CategoryDef],
                  out: str) -> Examples:  # fmt: skip
    """Stage the examples of `name [WHERE where]` into `out`."""
    meta, mapped = _relation(ctx, name, categories)
    where_sql = _RowFilter(ctx, meta).compile(where).sql(dialect="duckdb") if where is not None else None
    items = [f"{quote_str(EXAMPLES_SOURCE)} AS _source",
             f"CAST(row_number() OVER () AS VARCHAR) AS {quote_ident('_record_key')}"]  # fmt: skip
    for category, sql in mapped.items():
        items.append(f"{normalized_sql(categories[category], f'({sql})')} AS {quote_ident(category)}")
    sql = f"SELECT {', '.join(items)} FROM {meta.relation} AS t" + (f" WHERE {where_sql}" if where_sql else "")
    try:
        ctx.con.execute(f"CREATE OR REPLACE TABLE {out} AS {sql}")
    except LeadQLError:
        raise
    except Exception as e:  # a table that cannot be read is named, not a traceback
        raise LeadQLExecutionError(f"cannot read the examples in `{meta.name}`: {str(e).splitlines()[0]}",
                                   span=name.span, text=ctx.text) from None  # fmt: skip
    rows = int(ctx.con.execute(f"SELECT count(*) FROM {out}").fetchone()[0])
    text = ctx.text[where.span.start:where.span.end] if where is not None and where.span else ""
    origin = f"{meta.name}" + (f" WHERE {text}" if text else "")
    return Examples(out, rows, list(mapped), origin)


def _relation(ctx: Context, name: ast.Ident, categories: dict[str, CategoryDef]) -> tuple[TableMeta, dict[str, str]]:
    """How to read the examples and which of their columns are categories (category → SQL over `t`)."""
    from leadql.catalog.ddl import connector_for
    from leadql.catalog.drift import read_schema
    from leadql.warehouse import get_list

    catalog = ctx.catalog
    defn = catalog.get_data(name.value, (TABLE,))
    if defn is None:
        info = get_list(ctx.con, name.value)
        if info is not None:  # a delivered list: its columns are canonical already
            from leadql.warehouse.schema import view_name

            columns = {r[0]: r[1] for r in ctx.con.execute(f"DESCRIBE {view_name(info.name)}").fetchall()}
            meta = TableMeta(info.name, view_name(info.name), columns)
            return meta, {c: f"t.{quote_ident(c)}" for c in columns if c.lower() in categories}
        if catalog.get_data(name.value, (SOURCE,)) is not None:
            raise LeadQLSemanticError(
                f"`{name.value}` is a vendor source; a pattern learns from your own customers",
                span=name.span, text=ctx.text, hint="CREATE TABLE customers FROM 'customers.csv' registers them",
            )  # fmt: skip
        known = catalog.names((TABLE,))
        raise LeadQLNameError(f"unknown table `{name.value}`", span=name.span, text=ctx.text,
                              hint=did_you_mean(name.value, known) or "SHOW TABLES lists them; CREATE TABLE adds one")  # fmt: skip
    connector = connector_for(ctx, defn)
    from_sql, columns, _drift = read_schema(ctx, defn, connector)
    if not connector.capabilities.native:
        temp = f"_leadql_examples_{defn.name}"
        ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(temp)} AS SELECT * FROM {from_sql}")
        from_sql = quote_ident(temp)
    meta = TableMeta(defn.name, from_sql, dict(columns), defn.key, defn.time_column, defn.references)
    mapped = {c.lower(): sql for c, sql in defn.mappings.items() if c.lower() in categories}
    for column in columns:
        if column.lower() in categories and column.lower() not in mapped:
            mapped[column.lower()] = f"t.{quote_ident(column)}"
    return meta, mapped


class _RowFilter(PredicateCompiler):
    """The WHERE on the examples: columns of the examples' table, as `t."col"`."""

    def __init__(self, ctx: Context, meta: TableMeta) -> None:
        super().__init__({}, ctx.params, ctx.text)
        self.ctx = ctx
        self.meta = meta

    def compile(self, node: ast.Expr) -> Any:
        if isinstance(node, ast.ColumnRef):
            column = self.meta.column(node.column)
            if column is None or (node.table and node.table.lower() != self.meta.name.lower()):
                raise LeadQLNameError(
                    f"`{self.meta.name}` has no column `{node.column}`", span=node.span, text=self.ctx.text,
                    hint=did_you_mean(node.column, list(self.meta.columns)) or f"DESCRIBE TABLE {self.meta.name}",
                )  # fmt: skip
            return self.exp.column(column, table="t", quoted=True)
        if isinstance(node, ast.Aggregation):
            raise LeadQLSemanticError("the examples' WHERE cannot aggregate", span=node.span, text=self.ctx.text)
        return super().compile(node)

    def kind(self, node: ast.Expr) -> str | None:
        if isinstance(node, ast.ColumnRef):
            column = self.meta.column(node.column)
            return kind_of(self.meta.columns[column]) if column else None
        return super().kind(node)


if False:  # pragma: no cover - typing only
    from leadql.context import Context
