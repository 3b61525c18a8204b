"""A source read in LeadQL's vocabulary: the SQL that turns a vendor's columns into canonical
categories (MAP expression → normaliser → category type), plus a stable record key.

Everything here is generated SQL over a FROM-clause the connector supplies, so the same
projection runs wherever the plan runs.
"""

from __future__ import annotations

import re
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


def filtered_canonical_select(
    defn: DataDef, categories: dict[str, CategoryDef], from_sql: str, *, only: list[str], where: str
) -> str:
    """`canonical_select(...) WHERE where`, normalising only the categories `where` names before
    filtering and the others after, on the rows that pass: DuckDB pushes neither a semi-join (a
    look-up's `key IN (SELECT …)`) nor a top-N below a projection, so the plain form normalises
    every category of every row of the source. (Measured on a 1M-row look-up keeping 6%: 0.19 s
    instead of 0.31 s.) Same columns, same order. `where` is SQL over canonical names and
    `_record_key`."""
    plain = f"SELECT * FROM ({canonical_select(defn, categories, from_sql, only=only)}) AS c WHERE {where}"
    wanted = [c for c in defn.mappings if c.lower() in {o.lower() for o in only}]
    early = [c for c in wanted if _mentions(where, c)]
    late = [c for c in wanted if c not in early]
    if not late or not defn.columns:
        return plain
    raw = list(defn.columns)
    # 1: key and filtered categories normalised, source columns renamed out of their way
    first = [f"{record_key_sql(defn)} AS {RECORD_KEY}"]
    first += [f"{normalized_sql(categories[c.lower()], f'({defn.mappings[c]})')} AS {quote_ident(c)}" for c in early]
    first += [f"{quote_ident(col)} AS __lq_raw_{i}" for i, col in enumerate(raw)]
    passed = f"SELECT * FROM (SELECT {', '.join(first)} FROM {from_sql} AS src) AS f WHERE {where}"
    # 2: the source columns back under their names, so the other mappings read them as written
    back = [f"{RECORD_KEY} AS __lq_key"] + [f"{quote_ident(c)} AS __lq_f_{i}" for i, c in enumerate(early)]
    back += [f"__lq_raw_{i} AS {quote_ident(col)}" for i, col in enumerate(raw)]
    items = [f"__lq_key AS {RECORD_KEY}"]
    for name in wanted:
        if name in early:
            items.append(f"__lq_f_{early.index(name)} AS {quote_ident(name)}")
        else:
            sql = normalized_sql(categories[name.lower()], f"({defn.mappings[name]})")
            items.append(f"{sql} AS {quote_ident(name)}")
    return f"SELECT {', '.join(items)} FROM (SELECT {', '.join(back)} FROM ({passed}) AS p) AS src"


def _mentions(sql: str, name: str) -> bool:
    """Does `sql` possibly name the column `name`? (Over-inclusion is harmless.)"""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE) is not None


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
