"""FIND predicates as SQL: a WHERE clause over canonical categories → sqlglot expressions.

Plans are SQL built as sqlglot expressions (DuckDB dialect by default) so the same plan can be
rendered for another engine later. Parameters become typed literals here, built by sqlglot (never
spliced as text). Types are checked against the categories' types, so `fico >= '700'` is caught
before a vendor is asked anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from leadql.catalog.definitions import CategoryDef
from leadql.errors import LeadQLNameError, LeadQLTypeError, LeadQLUnsupportedError, did_you_mean
from leadql.grammar import ast
from leadql.params import article, finite

NUMERIC_PREFIXES = ("TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "FLOAT",
                    "DOUBLE", "REAL", "DECIMAL", "NUMERIC", "UBIGINT", "UINTEGER")  # fmt: skip

# Scalar functions a WHERE clause may call: deterministic, present in DuckDB and in Spark SQL.
FUNCTIONS = {
    "lower", "upper", "trim", "length", "abs", "round", "floor", "ceil", "coalesce",
    "year", "month", "day", "substr", "substring", "greatest", "least", "concat",
    "date_diff", "starts_with", "ends_with", "contains", "regexp_matches", "nullif",
}


def kind_of(type_sql: str) -> str:
    """number | text | date | boolean, from a category's DuckDB type."""
    upper = type_sql.upper()
    if upper.startswith(NUMERIC_PREFIXES):
        return "number"
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    if upper.startswith("BOOL"):
        return "boolean"
    return "text"


@dataclass(frozen=True)
class Predicate:
    """One conjunct of the WHERE clause: pushed to every source that holds all its categories."""

    node: ast.Expr
    sql: str  # DuckDB SQL over unqualified canonical column names
    categories: frozenset[str]
    values: dict[int, Any] = field(default_factory=dict, compare=False, hash=False)  # id(constant
    # node) → its value as compiled: parameters bound, text normalised ('California' → 'CA')

    def text(self, source_text: str) -> str:
        span = self.node.span
        return source_text[span.start : span.end] if span is not None else self.sql

    @cached_property  # planning asks for every plan it scores
    def filled(self) -> frozenset[str]:
        """Its categories it is never true without a value of (a record that passes it has
        them): `fico >= 700` fills fico; `email IS NULL OR fico >= 750` fills nothing."""
        never = never_null(self.node)
        return frozenset(c for c in self.categories if c.lower() in never)


class PredicateCompiler:
    """Compiles one FIND's WHERE clause; `categories` are the workspace's categories by lower name."""

    def __init__(self, categories: dict[str, CategoryDef], params: dict[str, Any], text: str,
                 normalize: Any = None) -> None:  # fmt: skip
        from sqlglot import exp

        self.exp = exp
        self.categories = categories
        self.params = params
        self.text = text
        self.normalize = normalize  # (category, python value) -> normalised value, or None
        self.used: set[str] = set()
        self.values: dict[int, Any] = {}
        # computed constants (`1/0`, `ln(0)`, `-x` of a literal): (node, SQL), for the binder to
        # evaluate before anything is bought (an infinite or NaN constant is a mistake)
        self.constants: list[tuple[ast.Node, str]] = []

    # ------------------------------------------------------------ entry points
    def conjuncts(self, where: ast.Expr | None) -> list[Predicate]:
        if where is None:
            return []
        items = where.items if isinstance(where, ast.BoolOp) and where.op == "AND" else (where,)
        out = []
        for item in items:
            self.used, self.values = set(), {}
            tree = self.compile(item)
            self._check_boolean(item)
            out.append(Predicate(item, tree.sql(dialect="duckdb"), frozenset(self.used), self.values))
        return out

    # ------------------------------------------------------------ compiling
    def compile(self, node: ast.Expr) -> Any:
        seen = len(self.constants)
        out = self._compile(node)
        if isinstance(node, ast.Case):  # a branch may never be taken: its constants are not checked
            del self.constants[seen:]
        if isinstance(node, (ast.Arith, ast.FunctionCall, ast.Negate, ast.Cast)) and not _refers(node):
            self.constants.append((node, out.sql(dialect="duckdb")))
        return out

    def _compile(self, node: ast.Expr) -> Any:
        exp = self.exp
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(i) for i in node.items]
            return exp.and_(*parts) if node.op == "AND" else exp.or_(*parts)
        if isinstance(node, ast.Not):
            return exp.not_(self.compile(node.operand))
        if isinstance(node, ast.Compare):
            if self._is_null(node.right):  # `x = NULL` means IS NULL (as in PQL), `x > NULL` nothing
                if node.op not in ("=", "!=", "<>"):
                    raise LeadQLTypeError(
                        f"`{node.op} NULL` is never true: nothing is ordered against a missing value",
                        span=node.span, text=self.text, hint="test for a missing value with IS NULL or IS NOT NULL",
                    )  # fmt: skip
                test = exp.Is(this=self.compile(node.left), expression=exp.Null())
                return test if node.op == "=" else exp.not_(test)
            self._check_comparable(node.left, node.right, node)
            left, right = self.compile(node.left), self._normalized(node.left, node.right)
            cls = {"=": exp.EQ, "!=": exp.NEQ, "<>": exp.NEQ, "<": exp.LT, "<=": exp.LTE,
                   ">": exp.GT, ">=": exp.GTE}[node.op]  # fmt: skip
            return exp.paren(cls(this=left, expression=right), copy=False)
        if isinstance(node, ast.IsNull):
            test = exp.Is(this=self.compile(node.operand), expression=exp.Null())
            return exp.not_(test) if node.negated else test
        if isinstance(node, ast.InList):
            items = self._in_items(node)
            if node.negated and any(self._is_null(i) for i in items):
                raise LeadQLTypeError("NOT IN a list holding NULL is never true (SQL cannot rule out the missing value)",
                                      span=node.span, text=self.text, hint="leave NULL out of the list")  # fmt: skip
            for item in items:
                self._check_comparable(node.operand, item, node)
            test = exp.In(this=self.compile(node.operand),
                          expressions=[self._normalized(node.operand, i) for i in items])  # fmt: skip
            return exp.not_(test) if node.negated else exp.paren(test, copy=False)
        if isinstance(node, ast.Between):
            self._check_comparable(node.operand, node.low, node)
            self._check_comparable(node.operand, node.high, node)
            self._check_range(node)
            test = exp.Between(this=self.compile(node.operand), low=self.compile(node.low),
                               high=self.compile(node.high))  # fmt: skip
            return exp.not_(test) if node.negated else exp.paren(test, copy=False)
        if isinstance(node, ast.TextMatch):
            return self._text_match(node)
        if isinstance(node, ast.Arith):
            for side in (node.left, node.right):
                if self.kind(side) in ("text", "boolean"):  # DuckDB would fail at every source
                    shown = self.text[side.span.start : side.span.end] if side.span else "a value"
                    raise LeadQLTypeError(f"`{node.op}` needs numbers, and {shown} is {_article(self.kind(side))}",
                                          span=side.span or node.span, text=self.text,
                                          hint="use || to join text")  # fmt: skip
            cls = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod}[node.op]
            return exp.paren(cls(this=self.compile(node.left), expression=self.compile(node.right)))
        if isinstance(node, ast.Negate):
            return exp.Neg(this=self.compile(node.operand))
        if isinstance(node, ast.Concat):
            out = self.compile(node.items[0])
            for item in node.items[1:]:
                out = exp.DPipe(this=out, expression=self.compile(item))
            return out
        if isinstance(node, ast.Cast):
            type_sql = node.to.name + (f"({', '.join(map(str, node.to.args))})" if node.to.args else "")
            return exp.Cast(this=self.compile(node.operand), to=exp.DataType.build(type_sql, dialect="duckdb"))
        if isinstance(node, ast.Case):
            case = exp.Case(this=self.compile(node.operand) if node.operand else None)
            for when in node.whens:
                case = case.when(self.compile(when.condition), self.compile(when.result))
            return case.else_(self.compile(node.default)) if node.default is not None else case
        if isinstance(node, ast.FunctionCall):
            name = node.name.value.lower()
            if name not in FUNCTIONS:
                raise LeadQLNameError(
                    f"FIND cannot call `{node.name.value}` in WHERE", span=node.name.span, text=self.text,
                    hint=did_you_mean(name, FUNCTIONS) or "functions: " + ", ".join(sorted(FUNCTIONS)),
                )  # fmt: skip
            return exp.Anonymous(this=name, expressions=[self.compile(a) for a in node.args])
        if isinstance(node, ast.ColumnRef):
            return exp.column(self._category(node).name, quoted=True)
        if isinstance(node, (ast.Literal, ast.Param)):
            return self._literal(self._value(node), node)
        raise LeadQLUnsupportedError(
            f"{type(node).__name__} is not allowed in a FIND condition", span=node.span, text=self.text
        )

    def _in_items(self, node: ast.InList) -> tuple[ast.Expr, ...]:
        """`x IN $values` with a list (or tuple) bound: one constant per element, each pointing at
        the parameter in errors."""
        if len(node.items) != 1 or not isinstance(node.items[0], ast.Param):
            return node.items
        param = node.items[0]
        values = self._value(param)
        if not isinstance(values, (list, tuple)):
            return node.items
        if not values:
            raise LeadQLTypeError(f"${param.name} is an empty list; IN needs at least one value",
                                  span=param.span, text=self.text)  # fmt: skip
        return tuple(ast.Literal(v, "null" if v is None else "value", span=param.span) for v in values)

    def _text_match(self, node: ast.TextMatch) -> Any:
        exp = self.exp
        op = node.op.upper()
        if self._is_null(node.pattern):
            raise LeadQLTypeError(f"`{op} NULL` is never true: a missing pattern matches nothing",
                                  span=node.span, text=self.text, hint="test for a missing value with IS NULL")  # fmt: skip
        left, pattern = self.compile(node.operand), self.compile(node.pattern)
        if op == "LIKE":
            test = exp.Like(this=left, expression=pattern)
        elif op == "ILIKE":
            test = exp.ILike(this=left, expression=pattern)
        else:
            name = {"CONTAINS": "contains", "STARTS WITH": "starts_with", "ENDS WITH": "ends_with"}.get(op)
            if name is None:
                raise LeadQLUnsupportedError(f"{node.op} is not supported in FIND", span=node.span, text=self.text)
            test = exp.Anonymous(this=name, expressions=[left, pattern])
        return exp.not_(test) if node.negated else test

    # ------------------------------------------------------------ names, values, types
    def _category(self, node: ast.ColumnRef) -> CategoryDef:
        if len(node.parts) > 1:
            raise LeadQLNameError(
                f"`{node.dotted}`: FIND conditions name categories, not table columns",
                span=node.span, text=self.text, hint=f"write `{node.column}`",
            )  # fmt: skip
        category = self.categories.get(node.column.lower())
        if category is None:
            raise LeadQLNameError(
                f"unknown category `{node.column}`", span=node.span, text=self.text,
                hint=did_you_mean(node.column, [c.name for c in self.categories.values()])
                or "SHOW CATEGORIES lists them; CREATE CATEGORY adds one",
            )  # fmt: skip
        self.used.add(category.name)
        return category

    def _check_range(self, node: ast.Between) -> None:
        """`x BETWEEN 50 AND 10` holds for nothing (SQL does not swap the ends): say so."""
        if node.negated or not all(isinstance(n, (ast.Literal, ast.Param)) for n in (node.low, node.high)):
            return
        low, high = self._value(node.low), self._value(node.high)
        try:
            empty = low is not None and high is not None and low > high
        except TypeError:  # values of different kinds: _check_comparable's business
            return
        if empty:
            lo, hi = (str(v) if isinstance(v, (int, float, Decimal)) else repr(v) for v in (low, high))
            raise LeadQLTypeError(
                f"BETWEEN {lo} AND {hi} holds for nothing: the low end is above the high end",
                span=node.span, text=self.text, hint=f"write BETWEEN {hi} AND {lo}",
            )

    def _is_null(self, node: ast.Expr) -> bool:
        """A NULL literal, or a parameter whose value is None."""
        if isinstance(node, ast.Literal):
            return node.value is None
        return isinstance(node, ast.Param) and node.name in self.params and self.params[node.name] is None

    def _value(self, node: ast.Literal | ast.Param) -> Any:
        return self.params[node.name] if isinstance(node, ast.Param) else node.value

    def _literal(self, value: Any, node: ast.Node) -> Any:
        exp = self.exp
        self.values[id(node)] = value
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, (int, float, Decimal)):
            if not finite(value) or (isinstance(value, Decimal) and abs(value) > Decimal("1.7e308")):
                # NaN compares with nothing; SQL has no literal for it; 1e999 would read as inf
                raise LeadQLTypeError(
                    f"{_named(node)}{value}, which cannot be used in a FIND condition", span=node.span, text=self.text,
                    hint="compare with a finite number",
                )  # fmt: skip
            return exp.Literal.number(str(value))
        if isinstance(node, ast.Literal) and node.kind == "datetime":
            return exp.Cast(this=exp.Literal.string(str(value)), to=exp.DataType.build("TIMESTAMP"))
        if hasattr(value, "isoformat"):
            return exp.Cast(this=exp.Literal.string(value.isoformat()), to=exp.DataType.build("DATE"))
        if isinstance(value, str):
            return exp.Literal.string(value)
        raise LeadQLTypeError(
            f"{_named(node)}{article(type(value).__name__)}, which cannot be used in a FIND condition",
            span=node.span, text=self.text, hint="pass numbers, text, booleans or dates",
        )  # fmt: skip

    def _normalized(self, column: ast.Expr, value_node: ast.Expr) -> Any:
        """A text constant compared with a category, in the category's normal form ('California'
        → 'CA' for state), so that it matches normalised source values."""
        if not (isinstance(column, ast.ColumnRef) and isinstance(value_node, (ast.Literal, ast.Param))):
            return self.compile(value_node)
        category = self.categories.get(column.column.lower())
        value = self._value(value_node)
        if category is None or not isinstance(value, str) or self.normalize is None:
            return self.compile(value_node)
        if kind_of(category.type) != "text" or not (category.normalizer or category.normalize_sql):
            return self.compile(value_node)
        normal = self.normalize(category, value)
        if normal is None:
            raise LeadQLTypeError(
                f"'{value if len(value) <= 60 else value[:57] + '...'}' is not a valid {category.name}",
                span=value_node.span, text=self.text,
                hint=f"{category.name} values are normalised ({category.description or category.normalizer}); "
                "no source value can equal this",
            )  # fmt: skip
        return self._literal(normal, value_node)

    def kind(self, node: ast.Expr) -> str | None:
        """The value kind of an expression, when it is plain: number | text | date | boolean."""
        if isinstance(node, ast.ColumnRef):
            category = self.categories.get(node.column.lower())
            return kind_of(category.type) if category else None
        if isinstance(node, (ast.Literal, ast.Param)):
            value = self._value(node)
            if isinstance(node, ast.Literal) and node.kind == "datetime":
                return "date"
            if isinstance(value, bool):
                return "boolean"
            if isinstance(value, (int, float, Decimal)):
                return "number"
            if isinstance(value, str):
                return "text"
            if hasattr(value, "isoformat"):
                return "date"
            return None
        if isinstance(node, (ast.Arith, ast.Negate)):
            return "number"
        return None

    def _check_comparable(self, left: ast.Expr, right: ast.Expr, node: ast.Node) -> None:
        a, b = self.kind(left), self.kind(right)
        if a is None or b is None or a == b:
            return
        if {a, b} == {"date", "text"}:
            return  # '2026-01-01' compares with a date
        column = left if isinstance(left, ast.ColumnRef) else right if isinstance(right, ast.ColumnRef) else None
        other = right if column is left else left
        if column is not None:
            name = column.column
            shown = self.text[other.span.start:other.span.end] if other.span else "the value"
            raise LeadQLTypeError(
                f"`{name}` is {_article(self.kind(column))} and {shown} is {_article(self.kind(other))}",
                span=other.span or node.span, text=self.text,
                hint="remove the quotes" if self.kind(other) == "text" else "quote the value",
            )  # fmt: skip
        raise LeadQLTypeError(f"cannot compare {a} with {b}", span=node.span, text=self.text)

    def _check_boolean(self, node: ast.Expr) -> None:
        if isinstance(node, (ast.Literal, ast.Param, ast.Arith, ast.Negate, ast.Concat)):
            raise LeadQLTypeError(
                "a FIND condition must be true or false", span=node.span, text=self.text,
                hint="compare it with something, e.g. fico >= 700",
            )  # fmt: skip
        if isinstance(node, ast.ColumnRef) and self.kind(node) != "boolean":
            raise LeadQLTypeError(
                f"`{node.column}` is {self.kind(node)}, not a condition", span=node.span, text=self.text,
                hint=f"compare it, e.g. {node.column} IS NOT NULL",
            )  # fmt: skip


_LENIENT = frozenset({"coalesce", "concat", "greatest", "least", "nullif"})  # may be non-NULL on NULL


def _strict(node: Any) -> set[str]:
    """Categories (lower case) whose NULL makes the expression NULL."""
    if isinstance(node, ast.ColumnRef):
        return {node.column.lower()}
    if isinstance(node, ast.Arith):
        return _strict(node.left) | _strict(node.right)
    if isinstance(node, (ast.Negate, ast.Cast)):
        return _strict(node.operand)
    if isinstance(node, ast.FunctionCall) and node.name.value.lower() not in _LENIENT:
        return set().union(*(_strict(a) for a in node.args)) if node.args else set()
    return set()


def never_null(node: Any) -> set[str]:
    """Categories (lower case) without a value of which the condition is never true."""
    if isinstance(node, ast.Compare):
        if isinstance(node.right, ast.Literal) and node.right.kind == "null":
            return set()  # `x = NULL` is IS NULL
        return _strict(node.left) | _strict(node.right)
    if isinstance(node, (ast.Between, ast.InList, ast.TextMatch)):
        return _strict(node.operand)
    if isinstance(node, ast.BoolOp):
        parts = [never_null(i) for i in node.items]
        return set.union(*parts) if node.op == "AND" else set.intersection(*parts)
    return set()


def _refers(node: Any) -> bool:
    """Whether an expression reads a category (else it is a constant)."""
    if isinstance(node, ast.ColumnRef):
        return True
    if isinstance(node, ast.Node):
        return any(_refers(getattr(node, f)) for f in getattr(node, "__dataclass_fields__", ())
                   if f != "span")  # fmt: skip
    if isinstance(node, (tuple, list)):
        return any(_refers(i) for i in node)
    return False


def _named(node: ast.Node) -> str:
    """The start of a message about a constant's value: "$s is " for a parameter."""
    return f"${node.name} is " if isinstance(node, ast.Param) else "the value is "


def _article(kind: str | None) -> str:
    return {"number": "a number", "date": "a date", "boolean": "a boolean", "text": "text"}.get(kind or "", str(kind))
