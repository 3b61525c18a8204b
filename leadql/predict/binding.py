"""A PREDICT statement checked against the catalog: tables, keys, links, windows and types.

The grammar's validator has already checked the PQL rules that need no catalog (windows look the
right way, RANK has TOP k, ...). Binding adds what needs the schema: every table is one of the
company's own tables, the entity is a key, each aggregated table links to the entity (directly or
through one intermediate table), windows have a time column to run on, and conditions compare
values of matching types. The result, `BoundPredict`, holds the SQL pieces labels and scoring
need; nothing here reads data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from leadql import params
from leadql.catalog.definitions import SOURCE, TABLE
from leadql.connectors.base import quote_ident
from leadql.context import Context
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLTypeError,
    LeadQLUnsupportedError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.grammar.validate import (
    BINARY_CLASSIFICATION,
    FORECASTING,
    LINK_PREDICTION,
    MONTH_SECONDS,
    MULTICLASS_CLASSIFICATION,
    MULTILABEL_CLASSIFICATION,
    MULTILABEL_RANKING,
    REGRESSION,
    UNIT_SECONDS,
    PredictionTask,
    resolve_task_type,
    validate,
)
from leadql.planner.expressions import PredicateCompiler, kind_of
from leadql.predict.schema import Link, Schema, TableMeta

ALGORITHMS = ("gbm", "logistic")


# ------------------------------------------------------------------------ the bound query


@dataclass(frozen=True)
class Window:
    """`(anchor + start, anchor + end]` in `unit`s; `start` may be -inf."""

    start: float
    end: float
    unit: str

    def offset_sql(self, anchor: str, amount: float) -> str:
        """`anchor + amount units` as DuckDB SQL."""
        if self.unit == "months":
            return f"({anchor} + to_months({int(amount)}))"
        micros = round(amount * UNIT_SECONDS[self.unit] * 1_000_000)
        return f"({anchor} + to_microseconds({micros}::BIGINT))"

    def condition(self, ts: str, anchor: str) -> str:
        parts = []
        if self.start != float("-inf"):
            parts.append(f"{ts} > {self.offset_sql(anchor, self.start)}")
        parts.append(f"{ts} <= {self.offset_sql(anchor, self.end)}")
        return " AND ".join(parts)

    def length_seconds(self) -> float:
        """The window's length, for stepping anchors back through history (months ≈ 30.44 days)."""
        per = UNIT_SECONDS.get(self.unit, MONTH_SECONDS)
        return (self.end - self.start) * per


@dataclass(frozen=True)
class AggSpec:
    """One PQL aggregation, compiled: evaluated per (entity, anchor) as column `alias`."""

    node: ast.Aggregation
    alias: str
    func: str
    table: TableMeta
    rows_sql: str  # SELECT __eid, __ts, __v FROM ... WHERE <filter>: the rows it aggregates
    window: Window | None
    kind: str | None  # number | text | date | boolean: the value kind of the aggregation

    def value_sql(self) -> str:
        """The aggregate over the joined rows `r` (NULL when the window is empty for AVG/MIN/...)."""
        func = self.func
        if func == "COUNT":
            return "count(r.__v)"
        if func == "SUM":
            return "coalesce(sum(r.__v), 0)"
        if func == "AVG":
            return "avg(r.__v)"
        if func in ("MIN", "MAX"):
            return f"{func.lower()}(r.__v)"
        if func == "COUNT_DISTINCT":
            return "count(DISTINCT r.__v)"
        if func == "FIRST":
            return "arg_min(r.__v, r.__ts)"
        if func == "LAST":
            return "arg_max(r.__v, r.__ts)"
        if func == "LIST_DISTINCT":
            return "list(DISTINCT r.__v) FILTER (WHERE r.__v IS NOT NULL)"
        raise AssertionError(func)


@dataclass
class BoundPredict:
    stmt: ast.Predict
    text: str
    task: PredictionTask
    task_type: str
    schema: Schema
    entity: TableMeta
    entity_key: str
    entity_key_type: str
    entity_values: list[Any] | None  # FOR t.pk IN (...): score only these; None: every entity
    target_sql: str  # over entity columns `e."col"` and aggregation aliases
    target_aggs: list[AggSpec]
    static_target: str | None  # the entity column a static target predicts
    where_sql: str | None
    where_aggs: list[AggSpec]
    assuming_sql: str | None
    assuming_aggs: list[AggSpec]
    window: Window | None  # the target's window: anchors step back by its length
    at: datetime | None
    algorithm: str
    model_name: str | None  # AS MODEL name
    limit: int | None
    into_list: str | None
    top_k: int | None
    forecast: int | None = None  # FORECAST n TIMEFRAMES
    warnings: list[str] = field(default_factory=list)

    @property
    def item_agg(self) -> AggSpec | None:
        """The LIST_DISTINCT aggregation of a ranking or multi-label query (its items are what
        gets ranked or classified)."""
        if self.task_type in (LINK_PREDICTION, MULTILABEL_CLASSIFICATION) and self.target_aggs:
            if self.target_aggs[0].func == "LIST_DISTINCT":
                return self.target_aggs[0]
        return None

    @property
    def model_task(self) -> str:
        """The kind of model that answers the query: RANK / CLASSIFY of a column or FIRST/LAST
        is a multiclass model read out as its top classes, CLASSIFY of a LIST_DISTINCT the
        pair scorer of ranking read out as probabilities, FORECAST a regression over the
        timeframes."""
        if self.item_agg is not None:
            return LINK_PREDICTION
        if self.task_type in (MULTILABEL_RANKING, MULTILABEL_CLASSIFICATION):
            return MULTICLASS_CLASSIFICATION
        if self.task_type == FORECASTING:
            return REGRESSION
        return self.task_type

    def tables_used(self) -> list[TableMeta]:
        seen: dict[str, TableMeta] = {self.entity.name.lower(): self.entity}
        for agg in self.target_aggs + self.where_aggs + self.assuming_aggs:
            seen.setdefault(agg.table.name.lower(), agg.table)
        return list(seen.values())


# ------------------------------------------------------------------------ schema from the catalog


def load_schema(ctx: Context) -> tuple[Schema, list[str]]:
    """Every own table of the workspace as `TableMeta`, read through its connector (schema drift
    checked). Vendor sources are not part of it: their records are bought, not mined."""
    from leadql.catalog.ddl import connector_for
    from leadql.catalog.drift import read_schema

    tables: dict[str, TableMeta] = {}
    warnings: list[str] = []
    con = ctx.con
    for defn in ctx.catalog.data_defs(TABLE):
        connector = connector_for(ctx, defn)
        try:
            from_sql, columns, drift = read_schema(ctx, defn, connector)
        except LeadQLError:  # drift and source errors keep their own message and hint
            raise
        except Exception as e:  # a table that cannot be read is named, not a traceback
            raise LeadQLExecutionError(
                f"cannot read table `{defn.name}`: {e}",
                hint=f"check {defn.location}, or DROP TABLE {defn.name}",
            ) from None
        warnings += drift
        if not connector.capabilities.native:
            # An Arrow-only connector: materialise once per statement so joins can reuse it.
            temp = f"_leadql_predict_{defn.name}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(temp)} AS SELECT * FROM {from_sql}")
            from_sql = quote_ident(temp)
        tables[defn.name.lower()] = TableMeta(
            name=defn.name, relation=from_sql, columns=dict(columns), key=defn.key,
            time_column=defn.time_column, references=defn.references,
        )  # fmt: skip
    return Schema(tables), warnings


# ------------------------------------------------------------------------ binding


def bind_predict(ctx: Context, stmt: ast.Predict, schema: Schema | None = None) -> BoundPredict:
    task = validate(stmt, ctx.text)  # spans point into the text being executed
    assert task is not None
    warnings: list[str] = []
    if schema is None:
        schema, warnings = load_schema(ctx)
    binder = _Binder(ctx, stmt, schema)
    entity, key = binder.entity()
    entity = _one_row_per_key(ctx, schema, entity, key, warnings)
    key_type = entity.columns[key]
    values = binder.entity_values(entity, key, key_type)

    target_aggs: list[AggSpec] = []
    static_target = None
    target_sql = binder.condition(stmt.target, entity, key, target_aggs)
    if not task.temporal:
        col = stmt.target if isinstance(stmt.target, ast.ColumnRef) else None
        if col is None:  # a condition on a static column: binary classification
            cols = [n for n in stmt.target.walk() if isinstance(n, ast.ColumnRef)]
            col = cols[0] if cols else None
        if col is not None:
            static_target = binder.entity_column(col, entity)
    kind = None
    if isinstance(stmt.target, ast.ColumnRef) and static_target is not None:
        kind = _column_kind(entity.columns[static_target])
    elif isinstance(stmt.target, ast.Aggregation) and target_aggs:
        kind = "numeric" if target_aggs[0].kind == "number" else "categorical"
    task_type = resolve_task_type(task, kind)

    where_aggs: list[AggSpec] = []
    where_sql = binder.condition(stmt.where, entity, key, where_aggs) if stmt.where else None
    assuming_aggs: list[AggSpec] = []
    assuming_sql = (
        binder.condition(stmt.assuming, entity, key, assuming_aggs) if stmt.assuming else None
    )
    window = target_aggs[0].window if target_aggs else None
    if window is None and task.temporal and target_aggs:
        # LIST_DISTINCT ... RANK TOP k without a window: Kumo's default horizon
        raise binder.fail(LeadQLTypeError, "a ranking target needs a time window", stmt.target,
                          "e.g. LIST_DISTINCT(orders.product_id, 0, 30, days) RANK TOP 5")
    for agg in target_aggs[1:]:
        if agg.window is not None and window is not None and agg.window.unit == window.unit:
            if agg.window.end > window.end:
                window = agg.window  # anchors step by the longest target window
    return BoundPredict(
        stmt=stmt, text=ctx.text, task=task, task_type=task_type, schema=schema, entity=entity,
        entity_key=key, entity_key_type=key_type, entity_values=values, target_sql=target_sql,
        target_aggs=target_aggs, static_target=static_target, where_sql=where_sql,
        where_aggs=where_aggs, assuming_sql=assuming_sql, assuming_aggs=assuming_aggs,
        window=window, at=binder.at(), algorithm=binder.algorithm(),
        model_name=stmt.model_name.value if stmt.model_name else None,
        limit=binder.limit(), into_list=stmt.into_list.value if stmt.into_list else None,
        top_k=stmt.top_k, forecast=stmt.forecast, warnings=warnings,
    )  # fmt: skip


def _one_row_per_key(ctx: Context, schema: Schema, entity: TableMeta, key: str, warnings: list[str]) -> TableMeta:
    """The entity table with one row per key value (the one data check of binding): a key value
    on several rows would count its entity several times in training and scoring. Duplicates
    of a declared KEY are a warning; the row kept is the earliest (by time column, then by
    content, so the choice is the same every time)."""
    k = quote_ident(key)
    row = ctx.con.sql(
        f"SELECT count({k}) - count(DISTINCT {k}), any_value({k}) FILTER (WHERE {k} IN "
        f"(SELECT {k} FROM {entity.relation} GROUP BY {k} HAVING count(*) > 1)) FROM {entity.relation}"
    ).fetchall()[0]
    extra, example = row
    if not extra:
        return entity
    if entity.key:
        warnings.append(
            f"table `{entity.name}` declares KEY {key}, but {extra:,} rows repeat a key value "
            f"(e.g. {example!r}); each entity counts once, from its earliest row"
        )
    first = (f"CAST(t.{quote_ident(entity.time_column)} AS TIMESTAMP) NULLS LAST, "
             if entity.time_column else "")  # fmt: skip
    relation = (f"(SELECT * FROM {entity.relation} AS t QUALIFY row_number() OVER "
                f"(PARTITION BY t.{k} ORDER BY {first}CAST(t AS VARCHAR)) = 1)")  # fmt: skip
    deduped = replace(entity, relation=relation)
    schema.tables[entity.name.lower()] = deduped
    return deduped


def _shown(value: Any) -> str:
    """A constant as it was written (a decimal literal as 2.5, not Decimal('2.5'))."""
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else params.shown(value)


def _integer_type(type_sql: str) -> bool:
    return type_sql.upper().lstrip("U") in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")


def _value_kind(value: Any) -> str:
    """A constant's kind, in the words of kind_of: number, text, boolean, date, or NULL."""
    from datetime import date
    from decimal import Decimal

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, (date, datetime)):
        return "date"
    return "text" if isinstance(value, str) else type(value).__name__


def _column_kind(type_sql: str) -> str:
    kind = kind_of(type_sql)
    return {"number": "numeric", "boolean": "boolean"}.get(kind, "categorical")


class _Binder:
    def __init__(self, ctx: Context, stmt: ast.Predict, schema: Schema) -> None:
        self.ctx = ctx
        self.stmt = stmt
        self.schema = schema
        self.count = 0

    def fail(self, cls: type, message: str, node: Any, hint: str | None = None) -> Any:
        """An error at `node`, or at the statement for a value that has no place of its own
        (a literal the AST keeps as a plain int or str)."""
        span = getattr(node, "span", None) or self.stmt.span
        return cls(message, span=span, text=self.ctx.text, hint=hint)

    # ------------------------------------------------------------ names
    def table(self, name: str, node: ast.Node) -> TableMeta:
        meta = self.schema.get(name)
        if meta is not None:
            return meta
        if self.ctx.catalog.get_data(name, (SOURCE,)) is not None:
            raise self.fail(
                LeadQLNameError, f"`{name}` is a vendor source; PREDICT learns from your own tables", node,
                "register your history with CREATE TABLE ... TIME COLUMN ... REFERENCES (...)",
            )  # fmt: skip
        names = [t.name for t in self.schema.tables.values()]
        raise self.fail(
            LeadQLNameError, f"unknown table `{name}`", node,
            did_you_mean(name, names) or "SHOW TABLES lists them; CREATE TABLE adds one",
        )  # fmt: skip

    def column(self, meta: TableMeta, name: str, node: ast.Node) -> str:
        found = meta.column(name)
        if found is None:
            raise self.fail(
                LeadQLNameError, f"table `{meta.name}` has no column `{name}`", node,
                did_you_mean(name, list(meta.columns)) or f"DESCRIBE TABLE {meta.name} lists its columns",
            )  # fmt: skip
        return found

    def entity(self) -> tuple[TableMeta, str]:
        key = self.stmt.entity.key
        meta = self.table(key.table or "", key)
        column = self.column(meta, key.column, key)
        if meta.key and column.lower() not in {k.lower() for k in meta.key}:
            raise self.fail(
                LeadQLTypeError, f"`{meta.name}.{column}` is not the key of `{meta.name}`", key,
                f"predict FOR EACH {meta.name}.{meta.key[0]}",
            )  # fmt: skip
        return meta, column

    def entity_column(self, col: ast.ColumnRef, entity: TableMeta) -> str:
        if (col.table or "").lower() != entity.name.lower():
            raise self.fail(
                LeadQLUnsupportedError,
                f"`{col.dotted}`: static columns must belong to the entity table `{entity.name}`", col,
                f"aggregate other tables over a window, e.g. COUNT({col.table}.*, -30, 0, days)",
            )  # fmt: skip
        return self.column(entity, col.column, col)

    def entity_values(self, entity: TableMeta, key: str, key_type: str) -> list[Any] | None:
        values = self.stmt.entity.values
        if values is None:
            return None
        out = []
        want = kind_of(key_type)
        for node in values:
            value = self.ctx.value(node)
            if isinstance(value, (list, tuple)):
                out.extend(value)
                continue
            got = _value_kind(value)
            if got == "NULL":
                raise self.fail(LeadQLTypeError, "an entity id cannot be NULL", node,
                                f"name the {entity.name} to score, or predict FOR EACH {entity.name}.{key}")  # fmt: skip
            if want in ("number", "text") and got != want:
                fix = ("remove the quotes" if got == "text" else "give a number") if want == "number" else "quote the value"
                raise self.fail(
                    LeadQLTypeError, f"`{entity.name}.{key}` is {want}, but {_shown(value)} is {got}", node, fix,
                )  # fmt: skip
            if got == "number" and _integer_type(key_type) and value != int(value):
                raise self.fail(LeadQLTypeError, f"`{entity.name}.{key}` holds whole numbers, but "
                                f"{_shown(value)} is not one", node, "give a whole number")  # fmt: skip
            out.append(value)
        return out

    # ------------------------------------------------------------ conditions and aggregations
    def condition(self, node: ast.Expr, entity: TableMeta, key: str, aggs: list[AggSpec]) -> str:
        compiler = _PqlCompiler(self, entity, key, aggs)
        tree = compiler.compile(node)
        return tree.sql(dialect="duckdb")

    def aggregation(self, node: ast.Aggregation, entity: TableMeta, entity_key: str) -> AggSpec:
        table_name = node.table or ""
        meta = self.table(table_name, node.target)
        eid, from_sql = self.path(meta, entity, entity_key, node)
        window = None
        ts_sql = "NULL::TIMESTAMP"
        if node.windowed:
            assert node.start is not None and node.end is not None
            if meta.time_column is None:
                raise self.fail(
                    LeadQLTypeError, f"table `{meta.name}` has no TIME COLUMN, so it has no windows",
                    node, f"CREATE OR REPLACE TABLE {meta.name} ... TIME COLUMN <column>",
                )  # fmt: skip
            window = Window(float(node.start), float(node.end), node.unit)
            if node.unit == "months" and any(
                v not in (float("-inf"),) and v != int(v) for v in (node.start, node.end)
            ):
                raise self.fail(LeadQLTypeError, "windows in months take whole numbers", node)
        if meta.time_column is not None:
            ts_sql = f"CAST(t.{quote_ident(meta.time_column)} AS TIMESTAMP)"
        kind: str | None = "number"
        if isinstance(node.target, ast.Star):
            if node.func != "COUNT":
                raise self.fail(
                    LeadQLTypeError, f"{node.func} needs a column, not `{meta.name}.*`", node.target,
                    f"e.g. {node.func}({meta.name}.<column>, ...)",
                )  # fmt: skip
            value_sql = "1"
        else:
            col = self.column(meta, node.target.column, node.target)
            value_sql = f"t.{quote_ident(col)}"
            col_kind = kind_of(meta.columns[col])
            if node.func in ("SUM", "AVG") and col_kind != "number":
                raise self.fail(
                    LeadQLTypeError, f"{node.func} needs a numeric column; `{meta.name}.{col}` is {col_kind}",
                    node.target, "COUNT, COUNT_DISTINCT, FIRST, LAST and LIST_DISTINCT work on any column",
                )  # fmt: skip
            if node.func in ("MIN", "MAX", "FIRST", "LAST", "LIST_DISTINCT"):
                kind = col_kind if node.func != "LIST_DISTINCT" else "list"
        filter_sql = ""
        if node.where is not None:
            compiler = _RowCompiler(self, meta)
            filter_sql = " WHERE " + compiler.compile(node.where).sql(dialect="duckdb")
        rows_sql = f"SELECT {eid} AS __eid, {ts_sql} AS __ts, {value_sql} AS __v FROM {from_sql}{filter_sql}"
        alias = f"__agg{self.count}"
        self.count += 1
        return AggSpec(node, alias, node.func, meta, rows_sql, window, kind)

    def path(self, meta: TableMeta, entity: TableMeta, key: str, node: ast.Node) -> tuple[str, str]:
        """How rows of `meta` reach the entity: (entity id expression, FROM clause aliasing `t`)."""
        if meta.name.lower() == entity.name.lower():
            return f"t.{quote_ident(key)}", f"{meta.relation} AS t"
        direct = [ln for ln in self.schema.parents(meta.name) if _points_at(ln, entity, key)]
        if direct:
            return f"t.{quote_ident(direct[0].column)}", f"{meta.relation} AS t"
        for first in self.schema.parents(meta.name):
            mid = self.schema.get(first.parent)
            if mid is None:
                continue
            for second in self.schema.parents(mid.name):
                if _points_at(second, entity, key):
                    join = (
                        f"{meta.relation} AS t JOIN {mid.relation} AS m "
                        f"ON t.{quote_ident(first.column)} = m.{quote_ident(first.target)}"
                    )
                    return f"m.{quote_ident(second.column)}", join
        raise self.fail(
            LeadQLTypeError, f"table `{meta.name}` does not link to `{entity.name}.{key}`", node,
            f"declare the link: CREATE OR REPLACE TABLE {meta.name} ... REFERENCES (<column> -> {entity.name}.{key})",
        )  # fmt: skip

    # ------------------------------------------------------------ clauses
    def algorithm(self) -> str:
        ident = self.stmt.model_type  # the grammar allows only gbm | logistic
        return ident.value.lower() if ident is not None else "gbm"

    def at(self) -> datetime | None:
        """`AT`, as a naive UTC timestamp (data times are UTC): a time with an offset is moved
        to UTC, not stripped of its offset."""
        if self.stmt.at is None:
            return None
        value = self.ctx.value(self.stmt.at)
        try:
            if isinstance(value, datetime):
                at = value
            elif hasattr(value, "isoformat") and not isinstance(value, str):
                at = datetime.fromisoformat(value.isoformat())
            else:
                at = datetime.fromisoformat(str(value).strip().replace("/", "-"))
            if at.tzinfo is not None:
                at = at.astimezone(timezone.utc).replace(tzinfo=None)
            return at
        except (ValueError, OverflowError):
            raise self.fail(
                LeadQLTypeError, f"{params.what(self.stmt.at, 'AT')} {params.shown(value)} is not a date or timestamp", self.stmt.at,
                "e.g. AT '2026-11-01'",
            ) from None  # fmt: skip

    def limit(self) -> int | None:
        if self.stmt.limit is None:
            return None
        value = self.ctx.value(self.stmt.limit)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:  # as a literal LIMIT
            raise self.fail(LeadQLTypeError, f"{params.what(self.stmt.limit, 'LIMIT')} takes a whole number ≥ 1, "
                            f"not {params.shown(value)}", self.stmt.limit)  # fmt: skip
        return value


def _points_at(link: Link, entity: TableMeta, key: str) -> bool:
    return link.parent.lower() == entity.name.lower() and link.target.lower() == key.lower()


class _PqlCompiler(PredicateCompiler):
    """Targets, entity filters and ASSUMING: aggregations become their alias columns, bare
    columns are the entity's own (as `e."col"`)."""

    def __init__(self, binder: _Binder, entity: TableMeta, key: str, aggs: list[AggSpec]) -> None:
        super().__init__({}, binder.ctx.params, binder.ctx.text)
        self.binder = binder
        self.entity = entity
        self.aggs = aggs
        self.key = key  # the entity's key column, as the binder resolved it
        self.by_node: dict[int, AggSpec] = {}

    def compile(self, node: ast.Expr) -> Any:
        exp = self.exp
        if isinstance(node, ast.Aggregation):
            spec = self.binder.aggregation(node, self.entity, self.key)
            self.aggs.append(spec)
            self.by_node[id(node)] = spec
            return exp.column(spec.alias, table="x")
        if isinstance(node, ast.ColumnRef):
            col = self.binder.entity_column(node, self.entity)
            return exp.column(col, table="e", quoted=True)
        return super().compile(node)

    def kind(self, node: ast.Expr) -> str | None:
        if isinstance(node, ast.Aggregation):
            spec = self.by_node.get(id(node))
            return spec.kind if spec is not None else ("number" if node.func in ("COUNT", "SUM", "AVG", "COUNT_DISTINCT") else None)
        if isinstance(node, ast.ColumnRef):
            col = self.entity.column(node.column)
            return kind_of(self.entity.columns[col]) if col else None
        return super().kind(node)

    def _check_boolean(self, node: ast.Expr) -> None:  # targets may be bare values
        return


class _RowCompiler(PredicateCompiler):
    """The filter inside an aggregation: columns of the aggregated table, as `t."col"`."""

    def __init__(self, binder: _Binder, meta: TableMeta) -> None:
        super().__init__({}, binder.ctx.params, binder.ctx.text)
        self.binder = binder
        self.meta = meta

    def compile(self, node: ast.Expr) -> Any:
        if isinstance(node, ast.ColumnRef):
            col = self.binder.column(self.meta, node.column, node)
            return self.exp.column(col, table="t", quoted=True)
        if isinstance(node, ast.Aggregation):
            raise self.binder.fail(LeadQLTypeError, "aggregations cannot be nested", node)
        return super().compile(node)

    def kind(self, node: ast.Expr) -> str | None:
        if isinstance(node, ast.ColumnRef):
            col = self.meta.column(node.column)
            return kind_of(self.meta.columns[col]) if col else None
        return super().kind(node)


TASK_WORDS = {
    BINARY_CLASSIFICATION: "yes/no (binary classification)",
    REGRESSION: "a number (regression)",
    MULTICLASS_CLASSIFICATION: "one of several classes (multiclass)",
    LINK_PREDICTION: "the top items per entity (ranking)",
    MULTILABEL_CLASSIFICATION: "which labels apply per entity (multi-label classification)",
    MULTILABEL_RANKING: "the most likely values per entity (ranked classes)",
    FORECASTING: "a number per future timeframe (forecast)",
}
