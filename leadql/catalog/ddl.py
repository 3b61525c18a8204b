"""Catalog statements: CREATE SOURCE / TABLE / CATEGORY, DROP, SHOW, DESCRIBE.

A CREATE reads the data's schema, checks every MAP expression, KEY, TIME COLUMN and REFERENCES
against it, and only then writes the catalog, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadql import params
from leadql.catalog import canonical
from leadql.catalog.definitions import (
    CATEGORY,
    SOURCE,
    TABLE,
    CategoryDef,
    DataDef,
    Price,
    Reference,
)
from leadql.catalog.migrations import SCHEMA, transaction
from leadql.catalog.store import builtin_categories, category_from_statement
from leadql.connectors import Connector, open_connector
from leadql.connectors.base import duckdb_detail, quote_ident
from leadql.connectors.files import LocalFiles
from leadql.context import Context
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.result import Result
from leadql.warehouse import statements as warehouse_statements

KIND = {"SOURCE": SOURCE, "TABLE": TABLE, "CATEGORY": CATEGORY}


# ------------------------------------------------------------------------ CREATE SOURCE / TABLE


def connector_for(ctx: Context, defn: DataDef) -> Connector:
    return open_connector(defn.location, defn.format, defn.options, ctx.ws.base_dir)


def create_data(ctx: Context, stmt: ast.CreateSource | ast.CreateTable) -> Result:
    kind = SOURCE if isinstance(stmt, ast.CreateSource) else TABLE
    name = stmt.name.value
    catalog = ctx.catalog
    existing = catalog.get_data(name)
    from leadql.warehouse import list_exists

    if catalog.version >= 2 and list_exists(ctx.con, name):  # lists arrived in catalog version 2
        raise ctx.fail(
            LeadQLNameError, f"a list named `{name}` already exists", stmt.name,
            hint=f"lists, sources and tables share one namespace; pick another name or DROP LIST {name}",
        )  # fmt: skip
    if existing is not None:
        if existing.kind != kind:
            raise ctx.fail(
                LeadQLNameError, f"a {existing.kind} named `{name}` already exists", stmt.name,
                hint=f"sources and tables share one namespace; DROP {existing.kind.upper()} {name} first",
            )  # fmt: skip
        if not stmt.replace:
            raise ctx.fail(
                LeadQLNameError, f"{kind} `{name}` already exists", stmt.name,
                hint=f"CREATE OR REPLACE {kind.upper()} {name} ... to redefine it",
            )  # fmt: skip

    location = ctx.text_value(stmt.location, "FROM")
    options = {o.name.value: ctx.value(o.value) for o in stmt.options}
    fmt = stmt.format.value.lower() if stmt.format else None
    try:
        connector = open_connector(location, fmt, options, ctx.ws.base_dir)
        columns = connector.schema(ctx.con)
        from_sql = connector.duckdb_from(ctx.con)
        if from_sql is None:
            from_sql = quote_ident(connector.register_arrow(ctx.con, connector.scan(ctx.con, None, None, 0)))
    except LeadQLError as e:
        raise _at_location(e, stmt, ctx) from None

    categories = catalog.categories()
    by_lower = {c.lower(): c for c in columns}
    mappings = _mappings(ctx, stmt, columns, by_lower, categories)
    key = tuple(_column(ctx, k, by_lower, name) for k in stmt.key)
    time_column = _column(ctx, stmt.time_column, by_lower, name) if stmt.time_column else None
    if time_column is not None:
        _check_time_column(ctx, stmt, from_sql, time_column, columns[time_column])
    references = tuple(_reference(ctx, r, by_lower, name) for r in stmt.references)

    prices: tuple[Price, ...] = ()
    quality = None
    updated = None
    if isinstance(stmt, ast.CreateSource):
        prices = tuple(_price(ctx, p) for p in stmt.prices)
        quality = ctx.decimal_value(stmt.quality, "QUALITY")
        if not (0 <= quality <= 1):
            raise ctx.fail(LeadQLTypeError, f"QUALITY is a probability between 0 and 1, not {quality}", stmt)
        if stmt.updated is not None:
            updated = _date(ctx, stmt.updated, stmt)

    defn = DataDef(
        kind=kind, name=name, location=location, format=connector.format, options=options,
        key=key, mappings=mappings, columns=columns, prices=prices, quality=quality,
        updated=updated, time_column=time_column, references=references,
    )  # fmt: skip
    _check_projection(ctx, defn, categories, from_sql, stmt)

    con = ctx.con
    with transaction(con):
        catalog.put(kind, name, defn.to_json(), stmt.text)
        if existing is not None:
            con.execute(f"DELETE FROM {SCHEMA}.statistics WHERE lower(object_name) = lower(?)", [name])
        if kind == TABLE:
            _replace_view(con, name, connector)
    verb = "replaced" if existing else "created"
    mapped = ", ".join(defn.mappings) or "none"
    return Result(message=f"{verb} {kind} {name}: {len(columns)} columns; categories: {mapped}")


def _at_location(error: LeadQLError, stmt: Any, ctx: Context) -> LeadQLError:
    node = stmt.location if isinstance(stmt.location, ast.Node) else None
    if node is None:
        # the location is a plain string: point at FROM's argument in the text
        span = stmt.span
        if span is not None:
            quoted = "'" + stmt.location.replace("'", "''") + "'"
            offset = stmt.text.find(quoted)
            if offset >= 0:
                from leadql.errors import Span

                error.span = Span.at(ctx.text, span.start + offset, span.start + offset + len(quoted))
                error.text = ctx.text
                return error
    return error.located(stmt.span, ctx.text)


def _check_time_column(ctx: Context, stmt: Any, from_sql: str, column: str, type_: str) -> None:
    """A TIME COLUMN holds times: a date or timestamp column, or text that reads as one (every
    window and anchor casts it to TIMESTAMP). Numbers and text such as e-mails are refused."""
    upper = type_.upper()
    if upper.startswith(("DATE", "TIMESTAMP")):
        return
    node = stmt.time_column
    if upper != "VARCHAR":
        raise ctx.fail(LeadQLTypeError, f"TIME COLUMN `{column}` is {type_}, not a date or timestamp", node,
                       hint="name the column that says when each row happened")  # fmt: skip
    q = quote_ident(column)
    bad = ctx.con.execute(
        f"SELECT count(*), any_value({q}) FROM (SELECT {q} FROM {from_sql} LIMIT 10000) "
        f"WHERE nullif(trim({q}), '') IS NOT NULL AND TRY_CAST({q} AS TIMESTAMP) IS NULL"
    ).fetchall()[0]
    if bad[0]:
        raise ctx.fail(LeadQLTypeError, f"TIME COLUMN `{column}` holds text that is not a date or time, "
                       f"e.g. {bad[1]!r}", node, hint="name the column that says when each row happened")  # fmt: skip


def _column(ctx: Context, ident: ast.Ident, by_lower: dict[str, str], source: str) -> str:
    found = by_lower.get(ident.value.lower())
    if found is None:
        raise ctx.fail(
            LeadQLNameError, f"`{source}` has no column `{ident.value}`", ident,
            hint=did_you_mean(ident.value, by_lower.values()) or "columns: " + ", ".join(list(by_lower.values())[:15]),
        )  # fmt: skip
    return found


def _mappings(
    ctx: Context,
    stmt: Any,
    columns: dict[str, str],
    by_lower: dict[str, str],
    categories: dict[str, CategoryDef],
) -> dict[str, str]:
    mappings: dict[str, str] = {}
    for m in stmt.mappings:
        category = categories.get(m.category.value.lower())
        if category is None:
            raise ctx.fail(
                LeadQLNameError, f"no category named `{m.category.value}`", m.category,
                hint=did_you_mean(m.category.value, [c.name for c in categories.values()])
                or "SHOW CATEGORIES lists them; CREATE CATEGORY adds one",
            )  # fmt: skip
        for node in m.expr.walk():
            if isinstance(node, ast.ColumnRef):
                if len(node.parts) > 1:
                    raise ctx.fail(
                        LeadQLNameError, f"MAP expressions use the source's own columns, not `{node.dotted}`",
                        node, hint=f"write {node.column}",
                    )  # fmt: skip
                _column(ctx, node.parts[0], by_lower, stmt.name.value)
            if isinstance(node, ast.Param):
                raise ctx.fail(LeadQLTypeError, "a MAP expression cannot take a $parameter", node)
        mappings[category.name] = m.sql
    # Columns named like a category map to it by themselves.
    for lower, column in by_lower.items():
        category = categories.get(lower)
        if category is not None and category.name not in mappings:
            mappings[category.name] = quote_ident(column)
    return mappings


def _check_projection(
    ctx: Context, defn: DataDef, categories: dict[str, CategoryDef], from_sql: str, stmt: Any
) -> None:
    """Compile the canonical projection once (no rows): a type error points at its MAP entry."""
    import duckdb

    sql = canonical.canonical_select(defn, categories, from_sql) + " LIMIT 0"
    try:
        ctx.con.execute(f"DESCRIBE {sql}")
        return
    except duckdb.Error:
        pass
    for m in stmt.mappings:  # find which expression is wrong
        single = DataDef(**{**defn.__dict__, "mappings": {m.category.value: m.sql}})
        try:
            ctx.con.execute(f"DESCRIBE {canonical.canonical_select(single, categories, from_sql)} LIMIT 0")
        except duckdb.Error as e:
            detail = duckdb_detail(e)
            raise ctx.fail(LeadQLTypeError, f"the MAP expression for {m.category.value} does not work: {detail}", m.expr) from None
    raise ctx.fail(LeadQLExecutionError, "the source cannot be read with this MAP and KEY", stmt)


def _reference(ctx: Context, ref: ast.Reference, by_lower: dict[str, str], source: str) -> Reference:
    column = _column(ctx, ref.column, by_lower, source)
    if ref.table.value.lower() == source.lower():
        return Reference(column, source, _column(ctx, ref.target_column, by_lower, source))
    target = ctx.catalog.get_data(ref.table.value, (TABLE,))
    if target is None:
        raise ctx.fail(
            LeadQLNameError, f"REFERENCES names `{ref.table.value}`, which is not a table", ref.table,
            hint=did_you_mean(ref.table.value, ctx.catalog.names((TABLE,))) or "create the referenced table first",
        )  # fmt: skip
    target_lower = {c.lower(): c for c in target.columns}
    target_column = _column(ctx, ref.target_column, target_lower, target.name)
    return Reference(column, target.name, target_column)


def _price(ctx: Context, price: ast.Price) -> Price:
    amount = ctx.decimal_value(price.amount, "a price")
    if amount < 0:
        raise ctx.fail(LeadQLTypeError, "a price cannot be negative", price)
    if amount > 1_000_000:  # money is exact to the micro-dollar within DECIMAL(18,6)
        raise ctx.fail(LeadQLTypeError, f"{params.what(price.amount, 'a price')} is at most 1,000,000 USD", price.amount
                       if isinstance(price.amount, ast.Param) else price)  # fmt: skip
    return Price(amount, price.per, price.unit)


def _date(ctx: Context, value: Any, stmt: Any) -> str:
    text = ctx.text_value(value, "UPDATED") if not isinstance(value, str) else value
    try:
        return datetime.fromisoformat(text.strip().replace("/", "-")).date().isoformat()
    except ValueError:
        raise ctx.fail(LeadQLTypeError, f"UPDATED '{text}' is not a date", stmt, hint="e.g. UPDATED '2026-10-01'") from None


def _replace_view(con: Any, name: str, connector: Connector) -> None:
    """Own tables in files DuckDB reads natively are queryable with plain SELECT."""
    con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
    if isinstance(connector, LocalFiles):
        con.execute(f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM {connector.view_sql()}")


# ------------------------------------------------------------------------ CREATE CATEGORY


def create_category(ctx: Context, stmt: ast.CreateCategory) -> Result:
    from leadql.normalizers import NORMALIZERS

    name = stmt.name.value
    if name.lower() in builtin_categories():
        raise ctx.fail(
            LeadQLNameError, f"`{name}` is a standard category and cannot be redefined", stmt.name,
            hint="choose another name, e.g. my_" + name,
        )  # fmt: skip
    existing = ctx.catalog.categories().get(name.lower())
    if existing is not None and not stmt.replace:
        raise ctx.fail(
            LeadQLNameError, f"category `{name}` already exists", stmt.name,
            hint=f"CREATE OR REPLACE CATEGORY {name} ...",
        )  # fmt: skip
    if stmt.normalizer is not None and stmt.normalizer.value.lower() not in NORMALIZERS:
        raise ctx.fail(
            LeadQLNameError, f"no normaliser named `{stmt.normalizer.value}`", stmt.normalizer,
            hint=did_you_mean(stmt.normalizer.value, NORMALIZERS) or "normalisers: " + ", ".join(sorted(NORMALIZERS)),
        )  # fmt: skip
    category = category_from_statement(stmt)
    _check_category_sql(ctx, category, stmt)
    with transaction(ctx.con):
        ctx.catalog.put(CATEGORY, name, category.to_json(), stmt.text)
    canonical.install_user_macros(ctx.con, {name.lower(): category})
    return Result(message=f"{'replaced' if existing else 'created'} category {name} ({category.type})")


def _check_category_sql(ctx: Context, category: CategoryDef, stmt: ast.CreateCategory) -> None:
    import duckdb

    try:
        ctx.con.execute(f"SELECT TRY_CAST(NULL AS {category.type})")
    except duckdb.Error:
        raise ctx.fail(LeadQLTypeError, f"`{category.type}` is not a type", stmt.type) from None
    if category.normalize_sql:
        for node in stmt.normalize_expr.walk():  # type: ignore[union-attr]
            if isinstance(node, ast.ColumnRef) and node.dotted.lower() != "value":
                raise ctx.fail(
                    LeadQLNameError, f"a NORMALIZE AS expression may only use `value`, not `{node.dotted}`",
                    node, hint="e.g. NORMALIZE AS upper(trim(value))",
                )  # fmt: skip
        try:
            ctx.con.execute(f"SELECT TRY_CAST(({category.normalize_sql.replace('value', 'NULL::VARCHAR')}) AS {category.type})")
        except duckdb.Error as e:
            detail = duckdb_detail(e)
            raise ctx.fail(LeadQLTypeError, f"the NORMALIZE AS expression does not work: {detail}", stmt.normalize_expr) from None


# ------------------------------------------------------------------------ DROP, SHOW, DESCRIBE


def drop(ctx: Context, stmt: ast.Drop) -> Result:
    if stmt.kind == "LIST":
        return warehouse_statements.drop_list_statement(ctx, stmt)
    if stmt.kind == "MODEL":
        from leadql.predict.statements import drop_model

        return drop_model(ctx, stmt)
    if stmt.kind == "PATTERN":
        from leadql.patterns.statements import drop_pattern

        return drop_pattern(ctx, stmt)
    if stmt.kind == "TEMPLATE":
        from leadql.templates import drop_template

        return drop_template(ctx, stmt)
    if stmt.kind == "QUERY":
        from leadql.scheduling.statements import drop_query

        return drop_query(ctx, stmt)
    kind = KIND.get(stmt.kind)
    if kind is None:
        raise ctx.unsupported(f"DROP {stmt.kind}", stmt)
    name = stmt.name.value
    catalog = ctx.catalog
    if kind == CATEGORY:
        if name.lower() in builtin_categories():
            raise ctx.fail(LeadQLNameError, f"`{name}` is a standard category and cannot be dropped", stmt.name)
        users = [d.name for k in (SOURCE, TABLE) for d in catalog.data_defs(k) if name.lower() in {m.lower() for m in d.mappings}]
        if users:
            raise ctx.fail(
                LeadQLExecutionError, f"category `{name}` is mapped by {', '.join(users)}", stmt.name,
                hint="replace those sources without it first",
            )  # fmt: skip
    else:
        found = catalog.get_data(name, (kind,))
        if found is None and not stmt.if_exists:
            other = catalog.get_data(name)
            hint = f"`{name}` is a {other.kind}: DROP {other.kind.upper()} {name}" if other else did_you_mean(name, catalog.names((kind,)))
            raise ctx.fail(LeadQLNameError, f"no {kind} named `{name}`", stmt.name, hint=hint)
        if kind == TABLE:
            dependents = [
                d.name for d in catalog.data_defs(TABLE)
                if d.name.lower() != name.lower() and any(r.table.lower() == name.lower() for r in d.references)
            ]  # fmt: skip
            if dependents:
                raise ctx.fail(
                    LeadQLExecutionError, f"table `{name}` is referenced by {', '.join(dependents)}", stmt.name,
                    hint="drop or replace those tables first",
                )  # fmt: skip
    con = ctx.con
    with transaction(con):
        dropped = catalog.delete(kind, name)
        if kind == TABLE:
            con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
    if not dropped and not stmt.if_exists:
        raise ctx.fail(LeadQLNameError, f"no {kind} named `{name}`", stmt.name)
    return Result(message=f"dropped {kind} {name}" if dropped else f"no {kind} {name}; nothing dropped")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> Result:
    # Plain rows: printing a listing never needs pyarrow (whose import pulls in pandas).
    return Result.from_rows(columns, [tuple(r.get(c) for c in columns) for r in rows])


def _money(value: Decimal) -> float:
    return float(value)


def show(ctx: Context, stmt: ast.Show) -> Result:
    catalog = ctx.catalog
    if stmt.what == "SOURCES":
        rows = []
        for d in catalog.data_defs(SOURCE):
            stats = catalog.statistics(d.name)
            rows.append({
                "name": d.name, "format": d.format, "location": d.location,
                "categories": ", ".join(d.mappings), "price_per_record": _money(d.price_per_record),
                "price_per_query": _money(d.price_per_query),
                "quality": float(d.quality) if d.quality is not None else None,
                "updated": d.updated, "rows": stats[1] if stats else None,
                "analyzed_at": stats[0].isoformat(sep=" ", timespec="seconds") if stats else None,
            })  # fmt: skip
        return _table(rows, ["name", "format", "location", "categories", "price_per_record",
                             "price_per_query", "quality", "updated", "rows", "analyzed_at"])  # fmt: skip
    if stmt.what == "TABLES":
        rows = []
        for d in catalog.data_defs(TABLE):
            stats = catalog.statistics(d.name)
            rows.append({
                "name": d.name, "format": d.format, "location": d.location,
                "key": ", ".join(d.key) or None, "time_column": d.time_column,
                "references": ", ".join(f"{r.column} -> {r.table}.{r.target_column}" for r in d.references),
                "columns": len(d.columns), "rows": stats[1] if stats else None,
            })  # fmt: skip
        return _table(rows, ["name", "format", "location", "key", "time_column", "references", "columns", "rows"])
    if stmt.what == "CATEGORIES":
        rows = [
            {"name": c.name, "type": c.type, "normalizer": c.normalizer or ("sql" if c.normalize_sql else None),
             "group": c.group, "description": c.description, "standard": c.builtin}
            for c in sorted(catalog.categories().values(), key=lambda c: (not c.builtin, c.group or "", c.name))
        ]  # fmt: skip
        return _table(rows, ["name", "type", "normalizer", "group", "description", "standard"])
    if stmt.what == "LISTS":
        return warehouse_statements.show_lists(ctx, stmt)
    if stmt.what in ("QUERIES", "SCHEDULES") or (stmt.what == "RUNS" and stmt.name is not None):
        from leadql.scheduling import statements as scheduling

        if stmt.what == "QUERIES":
            return scheduling.show_queries(ctx, stmt)
        if stmt.what == "SCHEDULES":
            return scheduling.show_schedules(ctx, stmt)
        if scheduling.is_query_name(ctx, stmt.name.value):  # type: ignore[union-attr]
            return scheduling.show_query_runs(ctx, stmt)
    if stmt.what == "RUNS":
        return warehouse_statements.show_runs(ctx, stmt)
    if stmt.what in ("MODELS", "MODEL HISTORY"):
        from leadql.predict import statements as predict_statements

        if stmt.what == "MODELS":
            return predict_statements.show_models(ctx, stmt)
        return predict_statements.show_history(ctx, stmt)
    if stmt.what in ("PATTERNS", "PATTERN HISTORY"):
        from leadql.patterns import statements as pattern_statements

        if stmt.what == "PATTERNS":
            return pattern_statements.show_patterns(ctx, stmt)
        return pattern_statements.show_pattern_history(ctx, stmt)
    if stmt.what == "TEMPLATES":
        from leadql.templates import show_templates

        return show_templates(ctx, stmt)
    raise ctx.unsupported(f"SHOW {stmt.what}", stmt)


def describe(ctx: Context, stmt: ast.Describe) -> Result:
    if stmt.kind == "LIST":
        return warehouse_statements.describe_list(ctx, stmt)
    if stmt.kind == "MODEL":
        from leadql.predict.statements import describe_model

        return describe_model(ctx, stmt)
    if stmt.kind == "PATTERN":
        from leadql.patterns.statements import describe_pattern

        return describe_pattern(ctx, stmt)
    if stmt.kind == "TEMPLATE":
        from leadql.templates import describe_template

        return describe_template(ctx, stmt)
    if stmt.kind == "QUERY":
        from leadql.scheduling.statements import describe_query

        return describe_query(ctx, stmt)
    kind = KIND.get(stmt.kind)
    if kind is None:
        raise ctx.unsupported(f"DESCRIBE {stmt.kind}", stmt)
    name = stmt.name.value
    catalog = ctx.catalog
    categories = catalog.categories()
    if kind == CATEGORY:
        c = categories.get(name.lower())
        if c is None:
            raise ctx.fail(LeadQLNameError, f"no category named `{name}`", stmt.name,
                           hint=did_you_mean(name, [c.name for c in categories.values()]))
        from leadql.normalizers import NORMALIZERS

        normalizer = NORMALIZERS.get((c.normalizer or "").lower())
        rows = [
            {"property": "type", "value": c.type},
            {"property": "normalizer", "value": c.normalizer or c.normalize_sql},
            {"property": "normalizes", "value": normalizer.description if normalizer else None},
            {"property": "group", "value": c.group},
            {"property": "description", "value": c.description},
            {"property": "standard", "value": "yes" if c.builtin else "no"},
        ]
        return _table(rows, ["property", "value"])
    d = catalog.require_data(name, (kind,), span=stmt.name.span, text=ctx.text)
    stats = catalog.statistics(d.name)
    per_column = (stats[2].get("categories", {}) if stats else {})
    rows = []
    for category, sql in d.mappings.items():
        c = categories.get(category.lower())
        s = per_column.get(category, {})
        rows.append({
            "name": category, "kind": "category", "type": c.type if c else None, "expression": sql,
            "normalizer": (c.normalizer or ("sql" if c.normalize_sql else None)) if c else None,
            "fill_rate": s.get("fill_rate"), "distinct": s.get("distinct"),
        })  # fmt: skip
    mapped_columns = {m.strip('"').lower() for m in d.mappings.values()}
    for column, type_ in d.columns.items():
        role = "key" if column in d.key else ("time" if column == d.time_column else "column")
        if role == "column" and column.lower() in mapped_columns and kind == SOURCE:
            continue
        rows.append({"name": column, "kind": role, "type": type_, "expression": None,
                     "normalizer": None, "fill_rate": None, "distinct": None})  # fmt: skip
    head = f"{kind} {d.name}: {d.format} {d.location}"
    if kind == SOURCE:
        price = f"${d.price_per_record}/record" + (f" + ${d.price_per_query}/query" if d.price_per_query else "")
        head += f"; {price}; quality {d.quality}" + (f"; updated {d.updated}" if d.updated else "")
        from leadql.feedback.evidence import source_evidence

        evidence = source_evidence(ctx.con).get(d.name.lower())
        if evidence is not None:
            head += f"; realised conversion {evidence.index:.2f} ({evidence.leads:,} leads)"
    head += f"; analyzed {stats[0]:%Y-%m-%d %H:%M}, {stats[1]:,} rows" if stats else "; not analyzed yet"
    result = _table(rows, ["name", "kind", "type", "expression", "normalizer", "fill_rate", "distinct"])
    result.message = head
    return result


def base_dir_of(path: str | None) -> Path:
    return Path(path).resolve().parent if path else Path.cwd()
