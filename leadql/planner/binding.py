"""Binding: a parsed FIND checked against the catalog and turned into plain values.

Every name is resolved here (categories, sources, lists, tables), every number checked, and the
WHERE clause split into conjuncts that name categories, so that nothing later in planning or
execution can fail on a user's mistake after money was spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from leadql import params
from leadql.catalog.definitions import SOURCE, CategoryDef, DataDef
from leadql.context import Context
from leadql.errors import (
    LeadQLConstraintError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.planner.expressions import Predicate, PredicateCompiler, kind_of

OBJECTIVES = ("COST", "QUALITY", "COUNT")
DAYS_PER_UNIT = {"day": 1, "hour": 1 / 24, "week": 7, "month": 30.4375, "year": 365.25,
                 "minute": 1 / 1440, "second": 1 / 86400}  # fmt: skip
MAX_COUNT = 100_000_000
MAX_BUDGET = Decimal(1_000_000_000)  # USD; the solver counts micro-dollars in 64-bit integers


@dataclass
class Scorer:
    """The pattern ranking a FIND: saved (MATCHING name, version) or learned for it (LIKE)."""

    pattern: Any  # leadql.patterns.learn.Pattern
    name: str | None
    version: int | None
    min_score: float | None
    learned_from: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}" if self.name else f"LIKE {self.learned_from}"


@dataclass
class BoundFind:
    statement: ast.Find
    text: str
    count: int | None  # None: as many as the budget buys
    attributes: tuple[str, ...]  # WITH, in the order written (canonical names)
    required: tuple[str, ...]  # WITH then WHERE categories: every delivered row has them all
    predicates: list[Predicate]
    categories: dict[str, CategoryDef]
    pool: list[DataDef]  # candidate sources (FROM SOURCES or all)
    exclusions: list[tuple[str, str]]
    budget: Decimal | None
    quality: float | None
    fresher_than_days: float | None
    optimize: str
    estimate: bool
    into_list: str | None
    today: date = field(default_factory=date.today)
    warnings: list[str] = field(default_factory=list)
    scorer: Scorer | None = None  # MATCHING / LIKE: the pattern that ranks the leads

    @property
    def scoring(self) -> tuple[str, ...]:
        """Categories the pattern reads that some pool source sells (looked up, not bought)."""
        if self.scorer is None:
            return ()
        sold = {c.lower() for d in self.pool for c in d.mappings}
        return tuple(c for c in self.scorer.pattern.categories if c in sold)

    @property
    def where_text(self) -> str:
        return " AND ".join(p.text(self.text) for p in self.predicates)


def bind_find(ctx: Context, stmt: ast.Find) -> BoundFind:
    if stmt.clauses.template is not None:
        from leadql.templates import expand_template

        stmt = expand_template(ctx, stmt)  # a plain FIND from here on (BoundFind.statement too)
    clauses = stmt.clauses
    text = ctx.text
    catalog = ctx.catalog
    categories = catalog.categories()

    count = _count(ctx, stmt)
    attributes = tuple(_category(ctx, ident, categories).name for ident in clauses.attributes)
    if len(set(attributes)) != len(attributes):
        seen: set[str] = set()
        for ident in clauses.attributes:
            if ident.value.lower() in seen:
                raise ctx.fail(LeadQLSemanticError, f"`{ident.value}` is asked for twice", ident)
            seen.add(ident.value.lower())

    compiler = PredicateCompiler(categories, ctx.params, text, normalize=_normalizer(ctx))
    predicates = compiler.conjuncts(clauses.where)
    _check_evaluable(ctx, predicates, categories)
    _check_constants(ctx, compiler.constants)
    required = list(attributes)
    for p in predicates:
        required += sorted(c for c in p.categories if c not in required)

    pool = _pool(ctx, clauses.sources)
    exclusions = _exclusions(ctx, clauses.exclude)

    budget = None
    if clauses.budget is not None:
        budget = ctx.decimal_value(clauses.budget.amount, "BUDGET")
        if budget < 0:
            raise ctx.fail(LeadQLTypeError, "BUDGET cannot be negative", clauses.budget)
        if budget > MAX_BUDGET:
            amount = clauses.budget.amount
            raise ctx.fail(LeadQLTypeError, f"{params.what(amount, 'BUDGET')} is at most {MAX_BUDGET:,} USD, not "
                           f"{f'{budget:,.0f}' if budget < 10**15 else f'{budget:.3e}'}", amount if isinstance(amount, ast.Param) else clauses.budget,
                           hint="no FIND can spend more; write the most you will spend")  # fmt: skip
        if clauses.budget.currency.upper() != "USD":
            raise ctx.fail(LeadQLSemanticError, f"prices are in USD; BUDGET is in {clauses.budget.currency}",
                           clauses.budget, hint="convert the budget to USD")  # fmt: skip
    elif not clauses.estimate:
        raise LeadQLConstraintError(
            "FIND buys records and needs a BUDGET", span=stmt.span, text=text,
            hint="add e.g. BUDGET 500, or ESTIMATE for a quote without spending",
        )  # fmt: skip

    quality = None
    if clauses.quality is not None:
        value = ctx.decimal_value(clauses.quality, "QUALITY")
        if not 0 <= value <= 1:
            raise LeadQLTypeError(
                f"QUALITY is a probability between 0 and 1, not {value}", span=_span(clauses.quality, stmt),
                text=text, hint="e.g. QUALITY >= 0.85",
            )  # fmt: skip
        quality = float(value)

    fresher = None
    if clauses.fresher_than is not None:
        interval = clauses.fresher_than
        amount = ctx.decimal_value(interval.amount, "FRESHER THAN")
        if amount <= 0:
            raise ctx.fail(LeadQLTypeError, "FRESHER THAN needs a positive interval", interval)
        fresher = float(amount) * DAYS_PER_UNIT.get(interval.unit, 1)

    into = clauses.into_list.value if clauses.into_list is not None else None
    if into is not None and catalog.get_data(into) is not None:
        raise ctx.fail(LeadQLNameError, f"`{into}` is already a source or table; a list needs its own name",
                       clauses.into_list)  # fmt: skip
    if not required:
        raise LeadQLSemanticError(
            "FIND needs at least one attribute (WITH …) or condition (WHERE …)", span=stmt.span, text=text,
            hint="e.g. FIND 100 leads WITH email, phone BUDGET 50",
        )  # fmt: skip
    scorer = _scorer(ctx, stmt, pool)
    warnings = list(getattr(stmt, "notes", ()))
    if ctx.query_run is not None:  # a saved query's run: its own history and its spending cap
        budget, exclusions = ctx.query_run.bind(budget, exclusions, warnings)
    return BoundFind(
        statement=stmt, text=text, count=count, attributes=attributes, required=tuple(required),
        predicates=predicates, categories=categories, pool=pool, exclusions=exclusions,
        budget=budget, quality=quality, fresher_than_days=fresher,
        optimize=clauses.optimize or "COST", estimate=clauses.estimate, into_list=into, scorer=scorer,
        warnings=warnings,
    )  # fmt: skip


def _sample(type_sql: str, k: int) -> str:
    """A plain value of a category's type (k = 1, 2): one that casts, divides and takes logs."""
    kind = kind_of(type_sql)
    if kind == "date":
        return f"CAST(DATE '2000-01-0{k}' AS {type_sql})"
    if kind == "boolean":
        return "true" if k == 1 else "false"
    if kind == "number":
        return f"CAST({k} AS {type_sql})"
    if type_sql.upper().startswith(("VARCHAR", "TEXT", "STRING", "CHAR")):
        return f"'{k}'"
    return f"CAST(NULL AS {type_sql})"  # lists, structs, …: no plain value


def _check_evaluable(ctx: Context, predicates: list[Predicate], categories: dict[str, CategoryDef]) -> None:
    """Each condition run by DuckDB over a row of NULLs and two rows of plain values of its
    categories' types, before any money is spent: a function given the wrong types
    (`lower(fico)`), a constant DuckDB cannot read (`DATE '2020-13-45'`, `round(fico, 'x')`) or a
    bad pattern fails here, at the condition, rather than at every source after the first
    records were bought; and a condition that is NULL whatever the values (`fico > 1/0`) can
    never hold."""
    import duckdb

    from leadql.connectors.base import duckdb_detail, quote_ident

    for p in predicates:
        typed = [categories[c.lower()] for c in sorted(p.categories) if c.lower() in categories]

        def row(value: Any, typed: list[CategoryDef] = typed) -> str:
            return ", ".join(f"{value(c)} AS {quote_ident(c.name)}" for c in typed) or "1 AS _"

        rows = [row(lambda c: f"CAST(NULL AS {c.type})")] + [row(lambda c, k=k: _sample(c.type, k)) for k in (1, 2)]
        sql = " UNION ALL ".join(f"SELECT ({p.sql}) AS v FROM (SELECT {r}) AS t" for r in rows)
        try:
            results = [r[0] for r in ctx.con.execute(sql).fetchall()]
        except duckdb.Error as e:
            raise LeadQLTypeError(
                f"this condition cannot be evaluated: {duckdb_detail(e)}", span=p.node.span, text=ctx.text,
                hint="check the functions' argument types and the constants (DESCRIBE CATEGORY shows a "
                "category's type); nothing was bought",
            ) from None
        if typed and all(v is None for v in results):
            raise LeadQLConstraintError(
                "this condition is never true: it has no value whatever the lead's values "
                "(a part of it is always NULL, such as a division by zero)", span=p.node.span, text=ctx.text,
                hint="rewrite the condition; nothing was bought",
            )  # fmt: skip


def _check_constants(ctx: Context, constants: list[tuple[ast.Node, str]]) -> None:
    """A computed constant that is infinite or not a number (`fico > 1/0`: DuckDB divides by
    zero to infinity) makes its condition always or never true; it is refused before anything
    is bought, where it used to be bought against for 0 leads."""
    import duckdb

    for node, sql in constants:
        try:
            value = ctx.con.execute(f"SELECT ({sql})").fetchall()[0][0]
        except duckdb.Error:
            continue  # _check_evaluable reports conditions DuckDB cannot evaluate
        if isinstance(value, float) and not math.isfinite(value):
            shown = ctx.text[node.span.start:node.span.end] if node.span else sql
            what = "not a number" if math.isnan(value) else "infinite"
            raise LeadQLConstraintError(
                f"`{shown}` is {what}, so this condition is never (or always) true"
                + ((" (a division by zero gives infinity)" if what == "infinite" else " (0/0 gives NaN)")
                   if "/" in shown else ""),
                span=node.span, text=ctx.text, hint="rewrite the condition; nothing was bought",
            )  # fmt: skip


def _scorer(ctx: Context, stmt: ast.Find, pool: list[DataDef]) -> Scorer | None:
    """MATCHING pattern [MIN SCORE s] loads the saved pattern; LIKE table [WHERE …] learns one
    for this request from the pool it may buy from."""
    clauses = stmt.clauses
    if clauses.matching is None and clauses.like is None:
        return None
    from leadql.patterns import statements as patterns

    if clauses.matching is not None:
        pattern, version = patterns.load(ctx, clauses.matching.pattern)
        name = clauses.matching.pattern.value
        min_score = None
        if clauses.matching.min_score is not None:
            value = ctx.decimal_value(clauses.matching.min_score, "MIN SCORE")
            if not 0 <= value <= 1:
                raise LeadQLTypeError(f"MIN SCORE is a score between 0 and 1, not {value}",
                                      span=_span(clauses.matching.min_score, clauses.matching), text=ctx.text,
                                      hint="e.g. MIN SCORE 0.7")  # fmt: skip
            min_score = float(value)
        return Scorer(pattern, name, version, min_score)
    like = clauses.like
    learned = patterns.learn(ctx, f"like_{like.table.value}", like.table, like.where, pool=pool)
    return Scorer(learned.pattern, None, None, None, learned_from=learned.origin)


def _span(node: Any, fallback: ast.Node) -> Any:
    return getattr(node, "span", None) or fallback.span


def _count(ctx: Context, stmt: ast.Find) -> int | None:
    if stmt.count is None:
        return None
    value = ctx.value(stmt.count)
    if isinstance(value, bool) or not isinstance(value, int) or isinstance(value, Decimal):
        if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
            value = int(value)
        else:
            raise LeadQLTypeError(f"{params.what(stmt.count, 'the number of leads')} must be a whole number, "
                                  f"not {params.shown(value)}", span=_span(stmt.count, stmt), text=ctx.text)  # fmt: skip
    if value <= 0 or value > MAX_COUNT:
        raise LeadQLTypeError(
            f"{params.what(stmt.count, 'the number of leads')} must be between 1 and {MAX_COUNT:,}, "
            f"not {params.shown(value)}",
            span=_span(stmt.count, stmt), text=ctx.text,
        )  # fmt: skip
    return value


def _category(ctx: Context, ident: ast.Ident, categories: dict[str, CategoryDef]) -> CategoryDef:
    category = categories.get(ident.value.lower())
    if category is None:
        raise ctx.fail(
            LeadQLNameError, f"unknown category `{ident.value}`", ident,
            hint=did_you_mean(ident.value, [c.name for c in categories.values()])
            or "SHOW CATEGORIES lists them; CREATE CATEGORY adds one",
        )  # fmt: skip
    return category


def _pool(ctx: Context, names: tuple[ast.Ident, ...]) -> list[DataDef]:
    catalog = ctx.catalog
    if not names:
        pool = catalog.data_defs(SOURCE)
        if not pool:
            raise LeadQLNameError("there are no sources to buy from",
                                  hint="CREATE SOURCE … registers a vendor")  # fmt: skip
        return pool
    pool = []
    for ident in names:
        defn = catalog.get_data(ident.value, (SOURCE,))
        if defn is None:
            other = catalog.get_data(ident.value)
            hint = (f"`{ident.value}` is your own table: FIND buys from sources" if other is not None
                    else did_you_mean(ident.value, catalog.names((SOURCE,))) or "SHOW SOURCES lists them")
            raise ctx.fail(LeadQLNameError, f"no source named `{ident.value}`", ident, hint=hint)  # fmt: skip
        if defn.name not in {d.name for d in pool}:
            pool.append(defn)
    return pool


def _exclusions(ctx: Context, items: tuple[ast.Exclusion, ...]) -> list[tuple[str, str]]:
    """Suppression lists and tables, checked to exist now (ESTIMATE included)."""
    from leadql.catalog.definitions import TABLE
    from leadql.warehouse import list_exists, list_names

    out = []
    for item in items:
        name = item.name.value
        if item.kind == "QUERY":
            from leadql.scheduling.store import require_query

            try:
                name = require_query(ctx.catalog, name).name
            except LeadQLNameError as e:
                raise ctx.located(e, item.name) from None
        if item.kind == "LIST" and not list_exists(ctx.con, name):
            raise ctx.fail(LeadQLNameError, f"no list named `{name}`", item.name,
                           hint=did_you_mean(name, list_names(ctx.con)) or "SHOW LISTS lists them")  # fmt: skip
        if item.kind == "TABLE" and ctx.catalog.get_data(name, (TABLE,)) is None:
            other = ctx.catalog.get_data(name)
            hint = (f"`{name}` is a source: suppression reads your own tables" if other is not None
                    else did_you_mean(name, ctx.catalog.names((TABLE,))) or "SHOW TABLES lists them")
            raise ctx.fail(LeadQLNameError, f"no table named `{name}`", item.name, hint=hint)  # fmt: skip
        out.append((item.kind, name))
    return out


def _normalizer(ctx: Context) -> Any:
    """Normalise a constant with its category's normaliser, in DuckDB (the same code the sources
    are read with)."""
    from leadql.catalog.canonical import normalized_sql
    from leadql.connectors.base import quote_str

    con = ctx.con

    def normalize(category: CategoryDef, value: str) -> Any:
        rows = con.execute(f"SELECT {normalized_sql(category, quote_str(value))}").fetchall()
        return rows[0][0] if rows else None

    return normalize
