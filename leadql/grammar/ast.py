"""The LeadQL abstract syntax tree: small, frozen, typed dataclasses.

Every node carries the `Span` of the text it came from (ignored by equality, so two parses of
differently spaced text compare equal). Names are `Ident`s so that a late error ("unknown source
`acme`") can still underline the user's text. Money is `Decimal`, never float.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from leadql.errors import Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Node:
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)

    # Equality, hashing and repr are written once here rather than generated for each of the
    # sixty node classes: generating them costs start-up time, and they ignore `span` and
    # `text` the same way everywhere.
    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _field_names(type(self)))

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(getattr(self, n) for n in _field_names(type(self)))))

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in _field_names(type(self)))
        return f"{type(self).__name__}({args})"

    def children(self) -> list[Node]:
        """Direct child nodes, in field order (tuples are flattened)."""
        out: list[Node] = []
        for name in _field_names(type(self)):
            _collect_nodes(getattr(self, name), out)
        return out

    def walk(self) -> list[Node]:
        """This node and every node below it, parents first (iterative: safe on deep trees)."""
        out: list[Node] = []
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children()))
        return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A node class's data fields (not span or text), computed once per class."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name not in ("span", "text"))
        _FIELD_NAMES[cls] = names
    return names


def _collect_nodes(value: object, out: list[Node]) -> None:
    if isinstance(value, Node):
        out.append(value)
    elif isinstance(value, tuple):
        for item in value:
            _collect_nodes(item, out)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Ident(Node):
    """A name as written: `quoted` when it came in double quotes (then its case is exact)."""

    value: str
    quoted: bool = False

    def __str__(self) -> str:
        return self.value


# ======================================================================== expressions


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Expr(Node):
    pass


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Literal(Expr):
    """A constant. `kind` is one of number, string, boolean, null, datetime."""

    value: object
    kind: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Param(Expr):
    """`$name`: bound from the `params` given to `execute`, never spliced as text."""

    name: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ColumnRef(Expr):
    """`col`, `table.col` or longer dotted paths."""

    parts: tuple[Ident, ...]

    @property
    def column(self) -> str:
        return self.parts[-1].value

    @property
    def table(self) -> str | None:
        return self.parts[-2].value if len(self.parts) >= 2 else None

    @property
    def dotted(self) -> str:
        return ".".join(p.value for p in self.parts)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Star(Expr):
    """`*` or `table.*` (only as the first argument of an aggregation)."""

    table: Ident | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class BoolOp(Expr):
    """`a AND b AND c` or `a OR b`: n-ary, so long chains stay shallow."""

    op: str  # "AND" | "OR"
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Compare(Expr):
    op: str  # "=" "!=" "<" "<=" ">" ">="
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class IsNull(Expr):
    operand: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class InList(Expr):
    """`x [NOT] IN (a, b)`; `items` is a single `Param` for `x IN $values`."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TextMatch(Expr):
    """LIKE, ILIKE, CONTAINS, STARTS WITH, ENDS WITH (the first three can be negated)."""

    op: str
    operand: Expr
    pattern: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Arith(Expr):
    op: str  # "+" "-" "*" "/" "%"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Negate(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Concat(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TypeName(Node):
    name: str
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Cast(Expr):
    operand: Expr
    to: TypeName


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class When(Node):
    condition: Expr
    result: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Case(Expr):
    operand: Expr | None
    whens: tuple[When, ...]
    default: Expr | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FunctionCall(Expr):
    name: Ident
    args: tuple[Expr, ...] = ()


# The PQL aggregation functions, and the time units a window may be given in.
AGGREGATIONS = (
    "SUM", "AVG", "MIN", "MAX", "COUNT", "COUNT_DISTINCT", "FIRST", "LAST", "LIST_DISTINCT",
)  # fmt: skip
TIME_UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months")
INFINITY = float("inf")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Aggregation(Expr):
    """A PQL aggregation `AGG(table.col|table.* [WHERE cond], start, end[, unit])`.

    The window is `(anchor + start, anchor + end]` in `unit`s; `start` may be `-INFINITY`.
    Both are None for a window-less aggregation (only `LIST_DISTINCT(...) RANK TOP k` has one).
    """

    func: str
    target: ColumnRef | Star
    where: Expr | None
    start: int | float | None
    end: int | float | None
    unit: str = "days"

    @property
    def windowed(self) -> bool:
        return self.start is not None

    @property
    def table(self) -> str | None:
        if isinstance(self.target, Star):
            return self.target.table.value if self.target.table else None
        return self.target.table


# ======================================================================== shared clause values


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Interval(Node):
    amount: Decimal | Param
    unit: str  # singular lower-case: "day", "hour", ...


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Option(Node):
    name: Ident
    value: Expr


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Mapping(Node):
    """`category = expression over source columns`; `sql` is the expression as the user wrote it."""

    category: Ident
    expr: Expr
    sql: str


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Price(Node):
    """`amount PER [per] RECORD|QUERY`."""

    amount: Decimal | Param
    per: int
    unit: str  # "record" | "query"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Reference(Node):
    """`column -> table.column` in REFERENCES."""

    column: Ident
    table: Ident
    target_column: Ident


# ======================================================================== statements


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Statement(Node):
    """Base of every statement; `text` is the statement exactly as written."""

    text: str = field(default="", compare=False, repr=False, kw_only=True)

    #: The words that start the statement, as the docs and error messages name it.
    keyword = ""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CreateSource(Statement):
    keyword = "CREATE SOURCE"
    name: Ident
    location: str | Param
    replace: bool = False
    format: Ident | None = None
    options: tuple[Option, ...] = ()
    key: tuple[Ident, ...] = ()
    mappings: tuple[Mapping, ...] = ()
    prices: tuple[Price, ...] = ()
    quality: Decimal | Param | None = None
    updated: str | Param | None = None
    time_column: Ident | None = None
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CreateTable(Statement):
    keyword = "CREATE TABLE"
    name: Ident
    location: str | Param
    replace: bool = False
    format: Ident | None = None
    options: tuple[Option, ...] = ()
    key: tuple[Ident, ...] = ()
    mappings: tuple[Mapping, ...] = ()
    time_column: Ident | None = None
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CreateCategory(Statement):
    keyword = "CREATE CATEGORY"
    name: Ident
    replace: bool = False
    type: TypeName | None = None
    normalizer: Ident | None = None
    normalize_expr: Expr | None = None
    group: Ident | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Analyze(Statement):
    """`ANALYZE [SOURCE|TABLE] [name]`; no name analyses everything."""

    keyword = "ANALYZE"
    kind: str | None = None
    name: Ident | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Show(Statement):
    """SHOW SOURCES | TABLES | ... | RUNS [name] | MODEL HISTORY name."""

    keyword = "SHOW"
    what: str  # "SOURCES", "TABLES", ..., "RUNS", "MODEL HISTORY", "PATTERN HISTORY"
    name: Ident | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Describe(Statement):
    keyword = "DESCRIBE"
    kind: str
    name: Ident


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Profile(Statement):
    keyword = "PROFILE"
    kind: str
    name: Ident
    against: ColumnRef | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Drop(Statement):
    keyword = "DROP"
    kind: str
    name: Ident
    if_exists: bool = False


# ------------------------------------------------------------------------ FIND


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LikeExamples(Node):
    """`LIKE table [WHERE ...]`: the example customers a generic request learns from."""

    table: Ident
    where: Expr | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Matching(Node):
    pattern: Ident
    min_score: Decimal | Param | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TemplateArg(Node):
    name: Ident
    value: Expr | Interval | tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TemplateUse(Node):
    name: Ident
    args: tuple[TemplateArg, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Exclusion(Node):
    kind: str  # "LIST" | "TABLE" | "QUERY"
    name: Ident


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Budget(Node):
    amount: Decimal | Param
    currency: str = "USD"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FindClauses(Node):
    """The clauses a FIND and a template body share. Absent clauses are None or ()."""

    attributes: tuple[Ident, ...] = ()
    like: LikeExamples | None = None
    matching: Matching | None = None
    template: TemplateUse | None = None
    where: Expr | None = None
    sources: tuple[Ident, ...] = ()
    exclude: tuple[Exclusion, ...] = ()
    budget: Budget | None = None
    quality: Decimal | Param | None = None
    fresher_than: Interval | None = None
    optimize: str | None = None  # "COST" | "QUALITY" | "COUNT"
    estimate: bool = False
    into_list: Ident | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Find(Statement):
    keyword = "FIND"
    count: int | Param | None
    clauses: FindClauses


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Explain(Statement):
    keyword = "EXPLAIN"
    statement: Find | Predict
    analyze: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CreatePattern(Statement):
    keyword = "CREATE PATTERN"
    name: Ident
    table: Ident
    where: Expr | None = None
    replace: bool = False
    algorithm: Ident | None = None
    attributes: tuple[Ident, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TemplateParam(Node):
    name: Ident
    type: TypeName | None = None
    default: Expr | Interval | tuple[Expr, ...] | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CreateTemplate(Statement):
    keyword = "CREATE TEMPLATE"
    name: Ident
    params: tuple[TemplateParam, ...]
    body: FindClauses
    replace: bool = False


# ------------------------------------------------------------------------ PREDICT


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Entity(Node):
    """FOR EACH t.pk | FOR t.pk = v | FOR t.pk IN (v, ...)."""

    key: ColumnRef
    values: tuple[Expr, ...] | None = None  # None: every entity (FOR EACH)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Predict(Statement):
    keyword = "PREDICT"
    target: Expr
    entity: Entity
    where: Expr | None = None
    assuming: Expr | None = None
    rank: bool = False
    classify: bool = False
    top_k: int | None = None
    forecast: int | None = None
    at: str | Param | None = None
    model_type: Ident | None = None
    model_name: Ident | None = None
    limit: int | Param | None = None
    into_list: Ident | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvaluateModel(Statement):
    keyword = "EVALUATE MODEL"
    name: Ident
    version: int | None = None
    plot: str | Param | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvaluateOutcomes(Statement):
    """`EVALUATE OUTCOMES [OF LIST|MODEL|PATTERN|SOURCE name] [BY DECILE|SOURCE|RUN|LIST|SEGMENT]`:
    how the delivered leads really converted, from the outcomes RECORD OUTCOMES stored."""

    keyword = "EVALUATE OUTCOMES"
    of_kind: str | None = None  # "LIST" | "MODEL" | "PATTERN" | "SOURCE"
    of_name: Ident | None = None
    by: str | None = None  # "DECILE" | "SOURCE" | "RUN" | "LIST" | "SEGMENT"; None: chosen


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EvaluatePredict(Statement):
    """`EVALUATE PREDICT ...`: backtest a predictive query on history without saving a model."""

    keyword = "EVALUATE PREDICT"
    statement: Predict


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ExplainModel(Statement):
    keyword = "EXPLAIN MODEL"
    name: Ident
    version: int | None = None


# ------------------------------------------------------------------------ lifecycle


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SegmentList(Statement):
    keyword = "SEGMENT LIST"
    list_name: Ident
    by: tuple[Ident, ...]
    segments: int | None = None  # None: chosen by silhouette


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RecordOutcomes(Statement):
    keyword = "RECORD OUTCOMES"
    location: str | Param
    key: Ident | None = None
    outcome: Ident | None = None
    at: Ident | None = None
    format: Ident | None = None
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Retrain(Statement):
    keyword = "RETRAIN"
    kind: str  # "MODEL" | "PATTERN"
    name: Ident


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class UseVersion(Statement):
    keyword = "USE"
    kind: str
    name: Ident
    version: int


# ------------------------------------------------------------------------ saved queries


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SaveQuery(Statement):
    keyword = "SAVE QUERY"
    name: Ident
    query: Find | Predict | Select
    replace: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Schedule(Statement):
    """SCHEDULE q EVERY n unit [AT 'hh:mm'] | CRON '...' [MAX SPEND m PER unit]."""

    keyword = "SCHEDULE"
    query: Ident
    every: Interval | None = None
    at_time: str | Param | None = None
    cron: str | Param | None = None
    max_spend: Decimal | Param | None = None
    max_spend_per: str | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Unschedule(Statement):
    keyword = "UNSCHEDULE"
    query: Ident


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RunQuery(Statement):
    keyword = "RUN QUERY"
    query: Ident


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Select(Statement):
    """A read-only SQL query handed whole to the warehouse."""

    keyword = "SELECT"
    sql: str


AnyStatement = (
    CreateSource
    | CreateTable
    | CreateCategory
    | CreatePattern
    | CreateTemplate
    | Analyze
    | Show
    | Describe
    | Profile
    | Drop
    | Find
    | Explain
    | Predict
    | EvaluateModel
    | EvaluateOutcomes
    | EvaluatePredict
    | ExplainModel
    | SegmentList
    | RecordOutcomes
    | Retrain
    | UseVersion
    | SaveQuery
    | Schedule
    | Unschedule
    | RunQuery
    | Select
)

#: Every statement class, in the order the docs present them.
STATEMENT_TYPES: tuple[type[Statement], ...] = (
    CreateSource, CreateTable, CreateCategory, Analyze, Show, Describe, Profile, Drop,
    Find, Explain, CreatePattern, CreateTemplate, Predict, EvaluatePredict, EvaluateModel,
    ExplainModel,
    SegmentList, RecordOutcomes, EvaluateOutcomes, Retrain, UseVersion, SaveQuery, Schedule, Unschedule, RunQuery,
    Select,
)  # fmt: skip


def dump(node: object, indent: int = 0) -> str:
    """A readable, stable rendering of a tree (used by golden tests and `leadql check --tree`)."""
    pad = "  " * indent
    if isinstance(node, Ident):
        return f'{pad}"{node.value}"' if node.quoted else f"{pad}{node.value}"
    if isinstance(node, Literal):
        return f"{pad}{node.kind}:{node.value!r}"
    if isinstance(node, Param):
        return f"{pad}${node.name}"
    if isinstance(node, ColumnRef):
        return f"{pad}col:{node.dotted}"
    if isinstance(node, tuple):
        if not node:
            return f"{pad}()"
        return "\n".join(dump(item, indent) for item in node)
    if not isinstance(node, Node):
        return f"{pad}{node!r}"
    lines = [f"{pad}{type(node).__name__}"]
    for f in fields(node):
        if f.name in ("span", "text"):
            continue
        value = getattr(node, f.name)
        if value is None or value == () or value is False:
            continue
        if isinstance(value, (Node, tuple)) and not isinstance(value, (Ident, Literal, Param)):
            if isinstance(value, ColumnRef):
                lines.append(f"{pad}  {f.name}: col:{value.dotted}")
                continue
            if isinstance(value, FindClauses):
                lines.append(dump(value, indent + 1))
                continue
            lines.append(f"{pad}  {f.name}:")
            lines.append(dump(value, indent + 2))
        else:
            lines.append(f"{pad}  {f.name}: {dump(value, 0)}")
    return "\n".join(lines)


def rebuild(node: Node, fn: Callable[[Any], Any]) -> Node:
    """A copy of `node` whose child nodes are replaced by `fn(child)` (unchanged: same object)."""
    changes: dict[str, Any] = {}
    for f in fields(node):
        if f.name in ("span", "text"):
            continue
        value = getattr(node, f.name)
        if isinstance(value, Node):
            new = fn(value)
        elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
            new = tuple(fn(v) if isinstance(v, Node) else v for v in value)
            new = value if all(a is b for a, b in zip(new, value, strict=True)) else new
        else:
            continue
        if new is not value:
            changes[f.name] = new
    return replace(node, **changes) if changes else node
