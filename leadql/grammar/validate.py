"""Rules checked after parsing, before any data is touched.

Mostly the rules of predictive queries (Kumo PQL): target windows look forward, entity filters
look back, ASSUMING looks forward, RANK needs TOP k, a target is either static or temporal, and
the task type follows from the form of the query. Rules that need the catalog (is the entity a
key linked to the target table?) belong to binding; `column_kind` lets a caller that has the
catalog sharpen the task type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from leadql.errors import LeadQLSemanticError, Span
from leadql.grammar import ast

# Task types, named as Kumo names them.
BINARY_CLASSIFICATION = "binary_classification"
REGRESSION = "regression"
MULTICLASS_CLASSIFICATION = "multiclass_classification"
MULTILABEL_CLASSIFICATION = "multilabel_classification"
MULTILABEL_RANKING = "multilabel_ranking"
LINK_PREDICTION = "link_prediction"
FORECASTING = "forecasting"

NUMERIC_AGGREGATIONS = {"SUM", "AVG", "MIN", "MAX", "COUNT", "COUNT_DISTINCT"}
MAX_FORECAST = 10_000
MAX_TOP_K = 1_000  # RANK / CLASSIFY TOP k: items or classes per entity
# Seconds per PQL time unit; months are calendar months (DuckDB intervals), ≈ 30.44 days here.
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400, "weeks": 604_800}
MONTH_SECONDS = 2_629_746
MAX_REACH_YEARS = 100  # how far a window (or a forecast's last timeframe) may reach from its anchor

#: (table, column) → "numeric" | "categorical" | "boolean" | "multicategorical" | "key" | None
ColumnKind = Callable[[str | None, str], str | None]


@dataclass(frozen=True, slots=True)
class PredictionTask:
    """What a PREDICT asks for, as far as the text tells."""

    task_type: str  # one of the constants above; "regression_or_multiclass" until a schema says
    temporal: bool  # the target looks into a future window
    target_table: str | None
    entity_table: str | None
    entity_column: str

    @property
    def needs_schema(self) -> bool:
        return self.task_type == "regression_or_multiclass"


def validate(statement: ast.Statement, text: str | None = None) -> PredictionTask | None:
    """Check a statement's language rules; return the prediction task of a PREDICT."""
    inner: ast.Statement = statement
    if isinstance(inner, (ast.Explain, ast.EvaluatePredict)):
        inner = inner.statement
    elif isinstance(inner, ast.SaveQuery):
        inner = inner.query
    if isinstance(inner, ast.Predict):
        if text is None:  # spans point into the text the statement was parsed from
            base = statement.span.start if statement.span else 0
            return PqlValidator(inner, statement.text, base).run()
        return PqlValidator(inner, text).run()
    if isinstance(inner, ast.Select):
        _sql_parses(inner, text)
    if isinstance(inner, ast.Schedule) and isinstance(inner.cron, str):
        from leadql.scheduling.timing import check_cron

        problem = check_cron(inner.cron)
        if problem:
            from leadql.errors import LeadQLSyntaxError

            raise LeadQLSyntaxError(problem, span=inner.span, text=text if text is not None else inner.text,
                                    hint="minute hour day-of-month month day-of-week, e.g. CRON '0 6 * * 1-5'")  # fmt: skip
    _no_aggregations(statement, text)
    return None


def _sql_parses(select: ast.Select, text: str | None) -> None:
    """A plain SQL query must parse (DuckDB's parser, no catalog needed): `SELECT (` is a syntax
    error before anything runs, and `leadql check` reports it."""
    import duckdb

    from leadql.errors import LeadQLSyntaxError

    try:
        duckdb.extract_statements(select.sql)
    except duckdb.ParserException as e:
        import re

        from leadql.errors import Span

        detail = str(e).splitlines()[0].removeprefix("Parser Error: ")
        source = text if text is not None else select.text
        span = select.span
        near = re.search(r'at or near "([^"]+)"', detail)
        base = span.start if span is not None and text is not None else 0
        at = select.sql.rfind(near.group(1)) if near else -1  # DuckDB stops at the last token it read
        if at >= 0 and source[base + at : base + at + len(near.group(1))] == near.group(1):
            span = Span.at(source, base + at, base + at + len(near.group(1)))
        raise LeadQLSyntaxError(f"the SQL does not parse: {detail}", span=span, text=source) from None
    except duckdb.Error:  # anything else is for the warehouse to say when it runs
        pass


def _no_aggregations(statement: ast.Statement, text: str | None) -> None:
    """PQL aggregations look through time from an anchor: they only mean something in PREDICT."""
    for node in statement.walk():
        if isinstance(node, ast.Aggregation):
            span = node.span
            if text is None and span is not None and statement.span is not None:
                span = Span.at(statement.text, span.start - statement.span.start, span.end - statement.span.start)
            raise LeadQLSemanticError(
                f"{node.func}(...) is an aggregation over time, which only PREDICT understands",
                span=span,
                text=text if text is not None else statement.text,
                hint=f"in {statement.keyword}, write row-level expressions",
            )


def _aggregations(node: ast.Node | None) -> list[ast.Aggregation]:
    """Aggregations in `node`, not looking inside their own WHERE filters."""
    if node is None:
        return []
    found: list[ast.Aggregation] = []
    stack: list[ast.Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Aggregation):
            found.append(current)
            continue
        stack.extend(current.children())
    return found


def _bare_columns(node: ast.Node | None) -> list[ast.ColumnRef]:
    """Column references outside any aggregation."""
    if node is None:
        return []
    found: list[ast.ColumnRef] = []
    stack: list[ast.Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Aggregation):
            continue
        if isinstance(current, ast.ColumnRef):
            found.append(current)
            continue
        stack.extend(current.children())
    return found


def _fmt(bound: int | float | None) -> str:
    if bound is None:
        return "?"
    if bound == float("-inf"):
        return "-INF"
    if bound == float("inf"):
        return "INF"
    return str(bound) if abs(bound) < 1e15 else f"{bound:g}"


class PqlValidator:
    """The PQL rules for one PREDICT statement."""

    def __init__(self, predict: ast.Predict, text: str, base: int = 0) -> None:
        self.p = predict
        self.text = text
        self.base = base  # offset of `text` inside the text the spans point into

    def fail(
        self, message: str, node: ast.Node | Span | None, hint: str | None = None
    ) -> LeadQLSemanticError:
        span = node if isinstance(node, Span) or node is None else node.span
        if span is not None and self.base:
            span = Span.at(self.text, span.start - self.base, span.end - self.base)
        return LeadQLSemanticError(message, span=span, text=self.text, hint=hint)

    def run(self) -> PredictionTask:
        p = self.p
        self.check_entity()
        target_aggs = _aggregations(p.target)
        target_cols = _bare_columns(p.target)
        temporal = bool(target_aggs)
        if target_aggs and target_cols:
            raise self.fail(
                "the target mixes a static column with a temporal aggregation",
                target_cols[0],
                hint="predict either a column's value or an aggregation over a time window",
            )
        self.check_target_shape(p.target)
        for agg in target_aggs:
            self.check_aggregation(agg)
            self.check_target_window(agg)
        for col in target_cols:
            self.check_qualified(col, "a target column")
            key = p.entity.key
            if (col.table, col.column) == (key.table, key.column):
                raise self.fail(
                    "a query cannot predict the entity's own key", col,
                    hint="predict another column or an aggregation",
                )  # fmt: skip
        for agg in _aggregations(p.where):
            self.check_aggregation(agg)
            if not temporal:
                raise self.fail(
                    "a static target cannot be filtered by a temporal aggregation",
                    agg,
                    hint="use a static filter such as users.age > 18, or a temporal target",
                )
            self.check_where_window(agg)
        for col in _bare_columns(p.where):
            self.check_qualified(col, "a filter column")
        self.check_assuming(temporal)
        self.check_modifiers(target_aggs, temporal)
        if isinstance(p.at, str):
            self.check_timestamp(p.at)
        return PredictionTask(
            task_type=self.task_type(target_aggs),
            temporal=temporal,
            target_table=self.target_table(target_aggs, target_cols),
            entity_table=p.entity.key.table,
            entity_column=p.entity.key.column,
        )

    # ------------------------------------------------------------ pieces
    def check_entity(self) -> None:
        key = self.p.entity.key
        if key.table is None:
            raise self.fail(
                "the entity must be named as table.key",
                key,
                hint=f"e.g. FOR EACH customers.{key.column}",
            )
        for value in self.p.entity.values or ():
            if isinstance(value, ast.Literal) and value.kind == "null":
                raise self.fail("an entity id cannot be NULL", value)

    def check_qualified(self, col: ast.ColumnRef, what: str) -> None:
        if col.table is None:
            raise self.fail(
                f"{what} must be written as table.column",
                col,
                hint=f"e.g. customers.{col.column}"
                + ("; PQL strings may use double quotes" if col.parts[0].quoted else ""),
            )

    def check_target_shape(self, target: ast.Expr) -> None:
        """A target is a column, an aggregation, or conditions on them against constants."""
        if isinstance(target, (ast.Aggregation, ast.ColumnRef)):
            return
        stack: list[ast.Node] = [target]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.BoolOp):
                stack.extend(node.items)
            elif isinstance(node, ast.Not):
                stack.append(node.operand)
            elif isinstance(node, (ast.Compare, ast.TextMatch)):
                left = node.left if isinstance(node, ast.Compare) else node.operand
                right = node.right if isinstance(node, ast.Compare) else node.pattern
                self.check_condition_sides(left, right, node)
            elif isinstance(node, (ast.IsNull, ast.InList, ast.Between)):
                self.check_condition_sides(node.operand, None, node)
            else:
                raise self.fail(
                    "a target is a column, an aggregation, or a condition on one",
                    node,
                    hint="e.g. COUNT(orders.*, 0, 30, days) > 0",
                )

    def check_condition_sides(self, left: ast.Expr, right: ast.Expr | None, node: ast.Node) -> None:
        if not isinstance(left, (ast.Aggregation, ast.ColumnRef)):
            raise self.fail(
                "a target condition compares an aggregation or a column with a constant",
                left,
                hint="arithmetic in a target is not supported",
            )
        if right is not None and not isinstance(right, (ast.Literal, ast.Param)):
            raise self.fail(
                "a target condition compares with a constant, not with another expression",
                right,
            )

    def check_aggregation(self, agg: ast.Aggregation) -> None:
        if isinstance(agg.target, ast.ColumnRef) and agg.target.table is None:
            raise self.fail(
                f"{agg.func} needs a column as table.column",
                agg.target,
                hint=f"e.g. {agg.func}(orders.{agg.target.column}, 0, 30, days)",
            )
        if isinstance(agg.target, ast.Star) and agg.target.table is None:
            raise self.fail("COUNT needs a table: COUNT(table.*, ...)", agg.target)
        if agg.where is not None:
            if _aggregations(agg.where):
                raise self.fail("aggregations cannot be nested", _aggregations(agg.where)[0])
            table = agg.table
            for col in _bare_columns(agg.where):
                if col.table is not None and table is not None and col.table != table:
                    raise self.fail(
                        f"the filter inside {agg.func} can only use columns of `{table}`",
                        col,
                    )
        if agg.windowed:
            assert agg.start is not None and agg.end is not None
            if agg.end == float("inf"):
                raise self.fail("a window cannot end at INF", agg, hint="end with a number")
            if agg.start >= agg.end:
                raise self.fail(
                    f"the window ({_fmt(agg.start)}, {_fmt(agg.end)}] is empty: start must be "
                    "less than end",
                    agg,
                )
            for bound in (agg.start, agg.end):
                if bound != float("-inf") and _years(abs(bound), agg.unit) > MAX_REACH_YEARS:
                    raise self.fail(
                        f"the window bound {_fmt(bound)} {agg.unit} reaches more than "
                        f"{MAX_REACH_YEARS} years from the anchor",
                        agg,
                        hint="use a shorter window; -INF as the start means all history",
                    )

    def check_target_window(self, agg: ast.Aggregation) -> None:
        if not agg.windowed:
            if agg.func == "LIST_DISTINCT" and self.p.rank:
                return
            raise self.fail(
                f"the target {agg.func} needs a time window",
                agg,
                hint=f"e.g. {agg.func}(...,  0, 30, days): the next 30 days after the anchor",
            )
        assert agg.start is not None
        if agg.start < 0:
            raise self.fail(
                f"a target looks forward: its window starts at {_fmt(agg.start)}, before the "
                "prediction time",
                agg,
                hint="use a start of 0 or more, e.g. (0, 30]",
            )

    def check_where_window(self, agg: ast.Aggregation) -> None:
        if not agg.windowed:
            raise self.fail(
                f"{agg.func} in a WHERE filter needs a time window",
                agg,
                hint="e.g. COUNT(events.*, -30, 0, days) > 0: the 30 days before the anchor",
            )
        assert agg.end is not None
        if agg.end > 0:
            raise self.fail(
                f"an entity filter looks back: its window ends at {_fmt(agg.end)}, after the "
                "prediction time",
                agg,
                hint="end the window at 0 or before; conditions on the future go in ASSUMING",
            )

    def check_assuming(self, temporal: bool) -> None:
        assuming = self.p.assuming
        if assuming is None:
            return
        if not temporal:
            raise self.fail("ASSUMING needs a temporal target", assuming)
        stray = _bare_columns(assuming)
        if stray:
            raise self.fail(
                "ASSUMING states what happens in the future: use aggregations over forward windows",
                stray[0],
                hint="e.g. ASSUMING COUNT(notifications.*, 0, 7, days) > 0",
            )
        for agg in _aggregations(assuming):
            self.check_aggregation(agg)
            if not agg.windowed:
                raise self.fail(f"{agg.func} in ASSUMING needs a time window", agg)
            assert agg.start is not None
            if agg.start < 0:
                raise self.fail(
                    f"ASSUMING looks forward: its window starts at {_fmt(agg.start)}",
                    agg,
                    hint="use a start of 0 or more; conditions on the past go in WHERE",
                )

    def check_modifiers(self, target_aggs: list[ast.Aggregation], temporal: bool) -> None:
        p = self.p
        if p.rank and p.classify:
            raise self.fail("use RANK or CLASSIFY, not both", p)
        if p.rank and p.top_k is None:
            raise self.fail("RANK needs TOP k", p.target, hint="e.g. RANK TOP 10")
        if p.top_k is not None and not (p.rank or p.classify):
            raise self.fail("TOP k goes with RANK (or CLASSIFY)", p.target, hint="e.g. RANK TOP 10")
        if p.top_k is not None and not 1 <= p.top_k <= MAX_TOP_K:
            raise self.fail(f"TOP k takes a whole number from 1 to {MAX_TOP_K:,}, not {p.top_k}", p,
                            hint="e.g. RANK TOP 10")  # fmt: skip
        categorical = isinstance(p.target, ast.ColumnRef) or (
            isinstance(p.target, ast.Aggregation)
            and p.target.func in ("LIST_DISTINCT", "FIRST", "LAST")
        )
        if (p.rank or p.classify) and not categorical:
            raise self.fail(
                f"{'RANK' if p.rank else 'CLASSIFY'} is for targets with many categories: "
                "LIST_DISTINCT, FIRST, LAST or a categorical column",
                p.target,
            )
        if isinstance(p.target, ast.Aggregation) and p.target.func == "LIST_DISTINCT":
            if not (p.rank or p.classify):
                raise self.fail(
                    "a LIST_DISTINCT target needs RANK TOP k (or CLASSIFY)",
                    p.target,
                    hint="e.g. PREDICT LIST_DISTINCT(orders.product_id, 0, 30, days) RANK TOP 5",
                )
        if p.forecast is not None:
            if p.rank or p.classify:
                raise self.fail("FORECAST cannot be combined with RANK or CLASSIFY", p)
            if p.forecast > MAX_FORECAST:
                raise self.fail(f"FORECAST takes at most {MAX_FORECAST:,} timeframes", p)
            numeric = (
                isinstance(p.target, ast.Aggregation) and p.target.func in NUMERIC_AGGREGATIONS
            )
            if not numeric:
                raise self.fail(
                    "FORECAST needs a numeric temporal aggregation as its target",
                    p.target,
                    hint="e.g. PREDICT SUM(orders.amount, 0, 7, days) FORECAST 4 TIMEFRAMES",
                )
            agg = p.target
            assert isinstance(agg, ast.Aggregation)
            if agg.windowed and agg.start is not None and agg.end is not None:
                reach = agg.end + (p.forecast - 1) * (agg.end - agg.start)
                if _years(reach, agg.unit) > MAX_REACH_YEARS:
                    raise self.fail(
                        f"FORECAST {p.forecast:,} TIMEFRAMES of {_fmt(agg.end - agg.start)} {agg.unit} "
                        f"reach more than {MAX_REACH_YEARS} years past the prediction time",
                        p, hint="forecast fewer timeframes",
                    )  # fmt: skip

    def check_timestamp(self, value: str) -> None:
        try:
            datetime.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            raise self.fail(
                f"AT '{value}' is not a date or timestamp",
                self.p,
                hint="e.g. AT '2026-11-01' or AT '2026-11-01 06:00:00'",
            ) from None

    def task_type(self, target_aggs: list[ast.Aggregation]) -> str:
        p = self.p
        target = p.target
        if p.forecast is not None:
            return FORECASTING
        if isinstance(target, ast.Aggregation):
            if target.func == "LIST_DISTINCT":
                return LINK_PREDICTION if p.rank else MULTILABEL_CLASSIFICATION
            if target.func in NUMERIC_AGGREGATIONS:
                return REGRESSION
            return MULTILABEL_RANKING if p.rank else "regression_or_multiclass"
        if isinstance(target, ast.ColumnRef):
            if p.rank:
                return MULTILABEL_RANKING
            if p.classify:
                return MULTILABEL_CLASSIFICATION
            return "regression_or_multiclass"
        return BINARY_CLASSIFICATION

    def target_table(
        self, target_aggs: list[ast.Aggregation], target_cols: list[ast.ColumnRef]
    ) -> str | None:
        if target_aggs:
            return target_aggs[0].table
        if target_cols:
            return target_cols[0].table
        return None


def _years(amount: float, unit: str | None) -> float:
    return amount * UNIT_SECONDS.get(unit or "days", MONTH_SECONDS) / (365.25 * 86_400)


def resolve_task_type(task: PredictionTask, kind: str | None) -> str:
    """Sharpen 'regression_or_multiclass' once the target column's kind is known."""
    if not task.needs_schema:
        return task.task_type
    if kind == "numeric":
        return REGRESSION
    if kind == "boolean":
        return BINARY_CLASSIFICATION
    return MULTICLASS_CLASSIFICATION
