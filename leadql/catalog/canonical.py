"""A source read in LeadQL's vocabulary: the SQL that turns a vendor's columns into canonical
categories (MAP expression → normaliser → category type), plus a stable record key.

Everything here is generated SQL over a FROM-clause the connector supplies, so the same
projection runs wherever the plan runs.
"""

from __future__ import annotations

from typing import Any

from leadql.catalog.definitions import CategoryDef, DataDef
from leadql.connectors.base import quote_ident

RECORD_KEY = "_record_key"
RAW_PREFIX = "_raw_"


def user_macro_name(category: str) -> str:
    return f"leadql_cat_{category.lower()}"


def normalized_sql(category: CategoryDef, expr_sql: str) -> str:
    """`expr_sql` through the category's normaliser and cast to its type (NULL when it fails)."""
    from leadql.normalizers import call_sql

    if category.normalizer:
        value = call_sql(category.normalizer, expr_sql)
    elif category.normalize_sql:
        value = f"{user_macro_name(category.name)}({expr_sql})"
    else:
        value = expr_sql
    return f"TRY_CAST({value} AS {category.type})"


def record_key_sql(defn: DataDef) -> str:
    """The vendor's record key as text; without a KEY, a hash of the mapped values."""
    if defn.key:
        parts = [f"CAST({quote_ident(k)} AS VARCHAR)" for k in defn.key]
        return parts[0] if len(parts) == 1 else "concat_ws('|', " + ", ".join(parts) + ")"
    mapped = [f"CAST(({sql}) AS VARCHAR)" for sql in defn.mappings.values()] or ["'*'"]
    return "md5(concat_ws(chr(31), " + ", ".join(mapped) + "))"


def canonical_select(
    defn: DataDef,
    categories: dict[str, CategoryDef],
    from_sql: str,
    *,
    only: list[str] | None = None,
    with_raw: bool = False,
    keep_columns: bool = False,
    extra_columns: tuple[str, ...] = (),
) -> str:
    """SELECT the record key and each mapped category (normalised) from `from_sql`.

    `only` limits the categories; `with_raw` adds each category's value before normalisation (to
    count what normalisation rejected); `keep_columns` keeps the source's own columns too
    (own tables, which PREDICT reads as they are); `extra_columns` keeps just those.
    """
    items = [f"{record_key_sql(defn)} AS {RECORD_KEY}"]
    wanted = [c for c in defn.mappings if only is None or c.lower() in {o.lower() for o in only}]
    for name in wanted:
        sql = defn.mappings[name]
        category = categories[name.lower()]
        items.append(f"{normalized_sql(category, f'({sql})')} AS {quote_ident(name)}")
        if with_raw:
            items.append(f"({sql}) AS {quote_ident(RAW_PREFIX + name)}")
    taken = {c.lower() for c in wanted}
    kept = list(defn.columns) if keep_columns else list(extra_columns)
    for column in kept:
        if column.lower() not in taken:
            taken.add(column.lower())
            items.append(quote_ident(column))
    return f"SELECT {', '.join(items)} FROM {from_sql} AS src"


def structural_columns(defn: DataDef) -> tuple[str, ...]:
    """Source columns a read must keep besides the categories: time column and link columns."""
    columns = [defn.time_column] if defn.time_column else []
    columns += [r.column for r in defn.references]
    return tuple(c for c in columns if c)


def install_user_macros(con: Any, categories: dict[str, CategoryDef]) -> None:
    """Define the macro of every category normalised by its own SQL expression."""
    for category in categories.values():
        if category.normalize_sql:
            con.execute(
                f"CREATE OR REPLACE TEMP MACRO {user_macro_name(category.name)}(value) AS "
                f"({category.normalize_sql})"
            )
