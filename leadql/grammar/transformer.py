"""Parse tree → frozen AST.

A `Transformer_NonRecursive` (deep input cannot overflow the Python stack) with one method per
grammar rule or alias. Clause rules return `_Clause`s, which statement rules fold into fields,
rejecting a clause given twice. Checks that need no catalog (a count must be a whole number, a
quality lies in [0, 1], a PQL aggregation has a window) happen here, with the span of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Token, Transformer_NonRecursive
from lark.tree import Meta

from leadql.errors import LeadQLSyntaxError, Span, did_you_mean
from leadql.grammar import ast

FORMATS = ("parquet", "csv", "json", "ndjson", "duckdb", "sqlite")
PATTERN_ALGORITHMS = ("logistic", "gbm")
MODEL_ALGORITHMS = ("gbm", "logistic")

_TYPED_LITERALS = ("DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL")

_UNIT_NAMES = {
    "second": "second", "seconds": "second", "minute": "minute", "minutes": "minute",
    "hour": "hour", "hours": "hour", "day": "day", "days": "day", "week": "week",
    "weeks": "week", "month": "month", "months": "month", "year": "year", "years": "year",
}  # fmt: skip

# How each clause is named in messages.
_CLAUSE_WORDS = {
    "attributes": "WITH", "like": "LIKE", "matching": "MATCHING", "template": "USING TEMPLATE",
    "where": "WHERE", "sources": "FROM SOURCES", "budget": "BUDGET", "quality": "QUALITY",
    "fresher_than": "FRESHER THAN", "optimize": "OPTIMIZE FOR", "estimate": "ESTIMATE",
    "into_list": "INTO LIST", "format": "FORMAT", "options": "OPTIONS", "key": "KEY",
    "mappings": "MAP", "prices": "PRICE", "updated": "UPDATED", "time_column": "TIME COLUMN",
    "references": "REFERENCES", "type": "TYPE", "normalizer": "NORMALIZE", "group": "GROUP",
    "normalize_expr": "NORMALIZE", "description": "DESCRIPTION", "algorithm": "USING",
    "assuming": "ASSUMING", "at": "AT", "model_type": "USING MODEL", "model_name": "AS MODEL",
    "limit": "LIMIT", "rank": "RANK", "classify": "CLASSIFY", "top_k": "TOP",
    "forecast": "FORECAST", "outcome": "OUTCOME",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Clause:
    """One clause on its way into a statement: which field it fills, and its value."""

    field: str
    value: Any
    span: Span | None


def _unquote(token: str, quote: str) -> str:
    return token[1:-1].replace(quote * 2, quote)


def _decimal(token: Token | str) -> Decimal:
    text = str(token).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # the NUMBER terminal only admits valid numbers
        raise LeadQLSyntaxError(f"`{token}` is not a number") from None


def _number_value(token: Token) -> int | Decimal:
    text = str(token).replace("_", "")
    if text.isdigit():
        return int(text)
    return _decimal(text)


class AstBuilder(Transformer_NonRecursive):  # type: ignore[misc]
    """Builds the AST of one text; create one per parse (it holds the text)."""

    def __init__(self, text: str) -> None:
        super().__init__(visit_tokens=False)
        self.text = text

    def _call_userfunc(self, tree: Any, new_children: list[Any] | None = None) -> Any:
        # Every rule method takes (meta, children). Calling them directly is faster than Lark's
        # v_args wrappers, and lets LeadQLErrors through unwrapped.
        children = new_children if new_children is not None else tree.children
        method = getattr(self, tree.data, None)
        if method is None:
            return self.__default__(tree.data, children, tree.meta)
        return method(tree.meta, children)

    # ------------------------------------------------------------ helpers
    def _span(self, meta: Meta | Token | None) -> Span | None:
        if meta is None or getattr(meta, "empty", False) or not hasattr(meta, "end_pos"):
            return None
        start = meta.start_pos
        end = meta.end_pos
        return Span(start, end, meta.line, meta.column, meta.end_line, meta.end_column)

    def _error(self, message: str, where: Any, hint: str | None = None) -> LeadQLSyntaxError:
        span = where if isinstance(where, Span) or where is None else None
        if span is None and where is not None:
            span = getattr(where, "span", None) or self._span(where)
        return LeadQLSyntaxError(message, span=span, text=self.text, hint=hint)

    def _slice(self, span: Span | None) -> str:
        return self.text[span.start : span.end] if span else ""

    def _fold(self, keyword: str, clauses: list[Any]) -> dict[str, Any]:
        """Clause list → field dict; a clause given twice is an error at its second place."""
        out: dict[str, Any] = {}
        for clause in clauses:
            if not isinstance(clause, _Clause):
                continue
            if clause.field in out:
                word = _CLAUSE_WORDS.get(clause.field, clause.field.upper())
                raise self._error(
                    f"{word} is given twice in {keyword}",
                    clause.span,
                    hint=f"keep one {word} clause",
                )
            out[clause.field] = clause.value
        return out

    def _statement(self, cls: type[ast.Statement], meta: Meta, **fields: Any) -> Any:
        span = self._span(meta)
        return cls(**fields, span=span, text=self._slice(span))

    def _as_number(self, value: Any) -> Decimal | ast.Param:
        if isinstance(value, ast.Param):
            return value
        return Decimal(value.value) if not isinstance(value.value, Decimal) else value.value

    def _as_whole(self, value: Any, what: str, *, minimum: int = 1) -> int | ast.Param:
        if isinstance(value, ast.Param):
            return value
        number = value.value
        if number != int(number) or int(number) < minimum:
            raise self._error(
                f"{what} must be a whole number of at least {minimum}, not {number}", value
            )
        return int(number)

    def _whole_token(self, token: Token, message: str) -> int:
        """A NUMBER token that must be a whole number of at least 1."""
        text = str(token).replace("_", "")
        if not text.isdigit() or int(text) < 1:
            raise self._error(message, token)
        return int(text)

    def _as_text(self, value: Any) -> str | ast.Param:
        if isinstance(value, ast.Param):
            return value
        if isinstance(value, Token):
            return str(value)
        return str(value.value)

    def _check_choice(self, ident: ast.Ident, choices: tuple[str, ...], what: str) -> None:
        if ident.value.lower() not in choices:
            hint = did_you_mean(ident.value, choices) or f"choose one of: {', '.join(choices)}"
            raise self._error(f"unknown {what} `{ident.value}`", ident, hint=hint)

    # ------------------------------------------------------------ terminals and small values
    def name(self, meta: Meta, children: list[Token]) -> ast.Ident:
        tok = children[0]
        if tok.type in ("DQ_STRING", "BT_STRING"):
            value = _unquote(str(tok), str(tok)[0])
            if not value:
                raise self._error("an empty quoted name is not allowed", tok)
            return ast.Ident(value, quoted=True, span=self._span(tok))
        return ast.Ident(str(tok), span=self._span(tok))

    def name_list(self, meta: Meta, children: list[ast.Ident]) -> tuple[ast.Ident, ...]:
        return tuple(children)

    def number(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(_number_value(children[0]), "number", span=self._span(children[0]))

    def string(self, meta: Meta, children: list[Token]) -> ast.Literal:
        tok = children[0]
        return ast.Literal(_unquote(str(tok), "'"), "string", span=self._span(tok))

    def true(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(True, "boolean", span=self._span(meta))

    def false(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(False, "boolean", span=self._span(meta))

    def null(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(None, "null", span=self._span(meta))

    def datetime(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(str(children[0]).replace("T", " "), "datetime", span=self._span(meta))

    def param(self, meta: Meta, children: list[Token]) -> ast.Param:
        return ast.Param(str(children[0])[1:], span=self._span(meta))

    def type_name(self, meta: Meta, children: list[Any]) -> ast.TypeName:
        ident = children[0]
        args = tuple(int(str(t).replace("_", "")) for t in children[1:] if t is not None)
        return ast.TypeName(ident.value, args, span=self._span(meta))

    def interval(self, meta: Meta, children: list[Any]) -> ast.Interval:
        amount, unit = children
        value = self._as_number(amount)
        if isinstance(value, Decimal) and value <= 0:
            raise self._error("an interval must be longer than zero", amount)
        return ast.Interval(value, _UNIT_NAMES[str(unit).lower()], span=self._span(meta))

    def or_replace(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def if_exists(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def kind_source(self, meta: Meta, children: list[Any]) -> str:
        return "SOURCE"

    def kind_table(self, meta: Meta, children: list[Any]) -> str:
        return "TABLE"

    def kind_list(self, meta: Meta, children: list[Any]) -> str:
        return "LIST"

    def kind_model(self, meta: Meta, children: list[Any]) -> str:
        return "MODEL"

    def kind_pattern(self, meta: Meta, children: list[Any]) -> str:
        return "PATTERN"

    def kind_template(self, meta: Meta, children: list[Any]) -> str:
        return "TEMPLATE"

    def kind_query(self, meta: Meta, children: list[Any]) -> str:
        return "QUERY"

    def kind_category(self, meta: Meta, children: list[Any]) -> str:
        return "CATEGORY"

    # ------------------------------------------------------------ expressions
    def or_expr(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._bool("OR", meta, children)

    def and_expr(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._bool("AND", meta, children)

    def _bool(self, op: str, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        items: list[ast.Expr] = []
        for child in children:
            if isinstance(child, ast.BoolOp) and child.op == op:
                items.extend(child.items)  # (a OR b) OR c is one flat OR
            else:
                items.append(child)
        return ast.BoolOp(op, tuple(items), span=self._span(meta))

    def not_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Not(children[-1], span=self._span(meta))

    def op_eq(self, meta: Meta, _: list[Any]) -> str:
        return "="

    def op_ne(self, meta: Meta, _: list[Any]) -> str:
        return "!="

    def op_lt(self, meta: Meta, _: list[Any]) -> str:
        return "<"

    def op_le(self, meta: Meta, _: list[Any]) -> str:
        return "<="

    def op_gt(self, meta: Meta, _: list[Any]) -> str:
        return ">"

    def op_ge(self, meta: Meta, _: list[Any]) -> str:
        return ">="

    def op_like(self, meta: Meta, _: list[Any]) -> str:
        return "LIKE"

    def op_ilike(self, meta: Meta, _: list[Any]) -> str:
        return "ILIKE"

    def compare(self, meta: Meta, children: list[Any]) -> ast.Expr:
        left, op, right = children
        return ast.Compare(op, left, right, span=self._span(meta))

    def is_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        # PQL: `IS` and `IS NOT` are `=` and `!=`; against NULL they are the SQL null tests.
        operand, negation, right = children
        if isinstance(right, ast.Literal) and right.kind == "null":
            return ast.IsNull(operand, negated=negation is not None, span=self._span(meta))
        return ast.Compare("!=" if negation is not None else "=", operand, right, span=self._span(meta))

    def is_in(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, items = children
        return ast.InList(operand, items, span=self._span(meta))

    def in_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, negation, items = children
        return ast.InList(operand, items, negated=negation is not None, span=self._span(meta))

    def in_list(self, meta: Meta, children: list[ast.Expr]) -> tuple[ast.Expr, ...]:
        return tuple(children)

    def in_param(self, meta: Meta, children: list[Token]) -> tuple[ast.Expr, ...]:
        return (ast.Param(str(children[0])[1:], span=self._span(children[0])),)

    def between(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, negation, low, high = children
        return ast.Between(operand, low, high, negated=negation is not None, span=self._span(meta))

    def like(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, negation, op, pattern = children
        return ast.TextMatch(
            op, operand, pattern, negated=negation is not None, span=self._span(meta)
        )

    def contains(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, negation, pattern = children
        return ast.TextMatch(
            "CONTAINS", operand, pattern, negated=negation is not None, span=self._span(meta)
        )

    def starts_with(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.TextMatch("STARTS WITH", children[0], children[1], span=self._span(meta))

    def ends_with(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.TextMatch("ENDS WITH", children[0], children[1], span=self._span(meta))

    def concat(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return ast.Concat(tuple(children), span=self._span(meta))

    def _arith(self, op: str, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return ast.Arith(op, children[0], children[1], span=self._span(meta))

    def add(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._arith("+", meta, children)

    def sub(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._arith("-", meta, children)

    def mul(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._arith("*", meta, children)

    def div(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._arith("/", meta, children)

    def mod(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._arith("%", meta, children)

    def neg(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        operand = children[0]
        if isinstance(operand, ast.Literal) and operand.kind == "number":
            return ast.Literal(-operand.value, "number", span=self._span(meta))  # type: ignore[operator]
        return ast.Negate(operand, span=self._span(meta))

    def cast(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Cast(children[0], children[1], span=self._span(meta))

    def typed_literal(self, meta: Meta, children: list[Any]) -> ast.Expr:
        """`DATE '2026-01-01'`, `TIMESTAMP '…'`, `INTERVAL '3 days'`: a string cast to a type."""
        type_name, tok = children
        if type_name.quoted or type_name.value.upper() not in _TYPED_LITERALS:
            raise self._error(
                f"unexpected string after `{type_name.value}`",
                tok,
                hint="typed constants are " + ", ".join(f"{t} '...'" for t in _TYPED_LITERALS),
            )
        value = ast.Literal(_unquote(str(tok), "'"), "string", span=self._span(tok))
        to = ast.TypeName(type_name.value.upper(), span=type_name.span)
        return ast.Cast(value, to, span=self._span(meta))

    def when_branch(self, meta: Meta, children: list[ast.Expr]) -> ast.When:
        return ast.When(children[0], children[1], span=self._span(meta))

    def case(self, meta: Meta, children: list[Any]) -> ast.Expr:
        operand, *rest = children
        default = rest.pop()
        whens = tuple(w for w in rest if isinstance(w, ast.When))
        return ast.Case(operand, whens, default, span=self._span(meta))

    def column_ref(self, meta: Meta, children: list[ast.Ident]) -> ast.ColumnRef:
        return ast.ColumnRef(tuple(children), span=self._span(meta))

    def star_ref(self, meta: Meta, children: list[Any]) -> ast.Star:
        return ast.Star(children[0], span=self._span(meta))

    def function_arg(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Span | None]:
        return (children[0], children[1], self._span(meta))

    def function_call(self, meta: Meta, children: list[Any]) -> ast.Expr:
        name: ast.Ident = children[0]
        args = [a for a in children[1:] if a is not None]
        span = self._span(meta)
        func = name.value.upper()
        if func in ast.AGGREGATIONS and not name.quoted:
            return self._aggregation(func, name, args, span)
        for value, where, arg_span in args:
            if isinstance(value, ast.Star):
                raise self._error(
                    f"`*` is only an argument of an aggregation, not of {name.value}()", arg_span
                )
            if where is not None:
                raise self._error(
                    f"WHERE inside {name.value}() is only allowed in an aggregation",
                    where,
                    hint="aggregations are " + ", ".join(ast.AGGREGATIONS),
                )
        return ast.FunctionCall(name, tuple(a[0] for a in args), span=span)

    def _aggregation(
        self, func: str, name: ast.Ident, args: list[Any], span: Span | None
    ) -> ast.Aggregation:
        example = f"{func}(events.{'*' if func == 'COUNT' else 'amount'}, 0, 30, days)"
        if len(args) == 2:
            raise self._error(
                f"{func} has a window start but no end",
                args[1][2],
                hint=f"e.g. {example}",
            )
        if len(args) > 4:
            raise self._error(
                f"{func} takes at most four arguments: target, start, end, unit",
                args[4][2],
                hint=f"e.g. {example}",
            )
        target, where, target_span = args[0]
        if not isinstance(target, (ast.ColumnRef, ast.Star)):
            raise self._error(
                f"the first argument of {func} must be a column (table.column) or table.*",
                target_span,
                hint=f"e.g. {example}",
            )
        if isinstance(target, ast.Star) and func != "COUNT":
            raise self._error(
                f"{func} needs a column, not `*`: only COUNT counts rows",
                target_span,
                hint=f"e.g. {func}(orders.amount, 0, 30, days)",
            )
        for _value, stray_where, _ in args[1:]:
            if stray_where is not None:
                raise self._error(
                    "WHERE belongs right after the first argument of an aggregation",
                    stray_where,
                    hint=f"e.g. {func}(events.* WHERE events.type = 'click', 0, 30, days)",
                )
        if len(args) == 1:  # no window: only LIST_DISTINCT ... RANK may do that (validation)
            return ast.Aggregation(func, target, where, None, None, span=span)
        start = self._window_bound(args[1], func, "start")
        end = self._window_bound(args[2], func, "end")
        unit = "days"
        if len(args) == 4:
            unit = self._window_unit(args[3])
        return ast.Aggregation(func, target, where, start, end, unit, span=span)

    def _window_bound(self, arg: Any, func: str, which: str) -> int | float:
        value, _, arg_span = arg
        sign = 1
        if isinstance(value, ast.Negate):
            sign, value = -1, value.operand
        if isinstance(value, ast.ColumnRef) and len(value.parts) == 1:
            if value.column.upper() in ("INF", "INFINITY"):
                return sign * ast.INFINITY
        if isinstance(value, ast.Literal) and value.kind == "number":
            number = value.value * sign  # type: ignore[operator]
            return int(number) if number == int(number) else float(number)
        raise self._error(
            f"the window {which} of {func} must be a number (or -INF for the start)",
            arg_span,
        )

    def _window_unit(self, arg: Any) -> str:
        value, _, arg_span = arg
        word = None
        if isinstance(value, ast.ColumnRef) and len(value.parts) == 1:
            word = value.column
        elif isinstance(value, ast.Literal) and value.kind == "string":
            word = str(value.value)
        unit = _UNIT_NAMES.get(word.lower()) if word else None
        if unit is None or unit == "year":
            hint = did_you_mean(word or "", ast.TIME_UNITS) or "units: " + ", ".join(ast.TIME_UNITS)
            raise self._error("the fourth argument of an aggregation is a time unit", arg_span, hint)
        return unit + "s"

    # ------------------------------------------------------------ catalog
    def format_clause(self, meta: Meta, children: list[ast.Ident]) -> _Clause:
        self._check_choice(children[0], FORMATS, "format")
        return _Clause("format", children[0], self._span(meta))

    def option(self, meta: Meta, children: list[Any]) -> ast.Option:
        return ast.Option(children[0], children[1], span=self._span(meta))

    def options_clause(self, meta: Meta, children: list[ast.Option]) -> _Clause:
        return _Clause("options", tuple(children), self._span(meta))

    def key_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        value = children[0]
        key = value if isinstance(value, tuple) else (value,)
        return _Clause("key", key, self._span(meta))

    def mapping(self, meta: Meta, children: list[Any]) -> ast.Mapping:
        category, expr = children
        return ast.Mapping(category, expr, self._slice(expr.span), span=self._span(meta))

    def map_clause(self, meta: Meta, children: list[ast.Mapping]) -> _Clause:
        seen: set[str] = set()
        for m in children:
            if m.category.value.lower() in seen:
                raise self._error(f"`{m.category.value}` is mapped twice", m.category)
            seen.add(m.category.value.lower())
        return _Clause("mappings", tuple(children), self._span(meta))

    def price_item(self, meta: Meta, children: list[Any]) -> ast.Price:
        amount, per, unit = children
        value = self._as_number(amount)
        if isinstance(value, Decimal) and value < 0:
            raise self._error("a price cannot be negative", amount)
        per_count = self._whole_token(per, "PER takes a whole number of records or queries") if per is not None else 1
        kind = "query" if str(unit).lower().startswith("quer") else "record"
        return ast.Price(value, per_count, kind, span=self._span(meta))

    def price_clause(self, meta: Meta, children: list[ast.Price]) -> _Clause:
        units = [p.unit for p in children]
        for unit in set(units):
            if units.count(unit) > 1:
                raise self._error(f"PRICE names a per-{unit} price twice", meta)
        return _Clause("prices", tuple(children), self._span(meta))

    def _probability(self, value: Any, clause: str, what: str) -> Decimal | ast.Param:
        number = self._as_number(value)
        if isinstance(number, Decimal) and not (0 <= number <= 1):
            raise self._error(
                f"{what} is a probability between 0 and 1, not {number}",
                value,
                hint=f"e.g. {clause} 0.9",
            )
        return number

    def _quality(self, value: Any, clause: str = "QUALITY") -> Decimal | ast.Param:
        return self._probability(value, clause, "quality")

    def quality_value_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("quality", self._quality(children[0]), self._span(meta))

    def updated_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("updated", self._as_text(children[0]), self._span(meta))

    def time_column_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("time_column", children[0], self._span(meta))

    def reference(self, meta: Meta, children: list[ast.Ident]) -> ast.Reference:
        return ast.Reference(*children, span=self._span(meta))

    def references_clause(self, meta: Meta, children: list[ast.Reference]) -> _Clause:
        return _Clause("references", tuple(children), self._span(meta))

    def _location(self, value: Any) -> str | ast.Param:
        location = self._as_text(value)
        if isinstance(location, str) and not location.strip():
            raise self._error("FROM needs a path or URL, not an empty string", value)
        return location

    def create_source_stmt(self, meta: Meta, children: list[Any]) -> ast.CreateSource:
        replace, name, location, *clauses = children
        fields = self._fold("CREATE SOURCE", clauses)
        for required, example in (("prices", "PRICE 0.004 PER RECORD"), ("quality", "QUALITY 0.9")):
            if required not in fields:
                raise self._error(
                    f"CREATE SOURCE needs a {_CLAUSE_WORDS[required]} clause",
                    self._end_of(meta),
                    hint=f"what the vendor charges and how reliable it is, e.g. {example}",
                )
        return self._statement(
            ast.CreateSource, meta, name=name, location=self._location(location),
            replace=bool(replace), **fields,
        )  # fmt: skip

    def create_table_stmt(self, meta: Meta, children: list[Any]) -> ast.CreateTable:
        replace, name, location, *clauses = children
        fields = self._fold("CREATE TABLE", clauses)
        return self._statement(
            ast.CreateTable, meta, name=name, location=self._location(location),
            replace=bool(replace), **fields,
        )  # fmt: skip

    def category_type_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("type", children[0], self._span(meta))

    def normalize_with(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("normalizer", children[0], self._span(meta))

    def normalize_as(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("normalize_expr", children[0], self._span(meta))

    def category_group_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("group", children[0], self._span(meta))

    def category_description_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("description", self._as_text(children[0]), self._span(meta))

    def create_category_stmt(self, meta: Meta, children: list[Any]) -> ast.CreateCategory:
        replace, name, *clauses = children
        fields = self._fold("CREATE CATEGORY", clauses)
        if "normalizer" in fields and "normalize_expr" in fields:
            raise self._error("NORMALIZE is given twice in CREATE CATEGORY", meta)
        return self._statement(
            ast.CreateCategory, meta, name=name, replace=bool(replace), **fields
        )

    def analyze_stmt(self, meta: Meta, children: list[Any]) -> ast.Analyze:
        kind, name = children
        if kind is not None and name is None:
            raise self._error(
                f"ANALYZE {kind} needs the {kind.lower()}'s name", self._end_of(meta),
                hint=f"e.g. ANALYZE {kind} acme_credit, or ANALYZE alone for everything",
            )  # fmt: skip
        if kind not in (None, "SOURCE", "TABLE"):
            raise self._error(f"ANALYZE works on sources and tables, not a {kind.lower()}", meta)
        return self._statement(ast.Analyze, meta, kind=kind, name=name)

    def _show(self, what: str, children: list[Any]) -> tuple[str, Any]:
        return (what, children[0] if children else None)

    def show_sources(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("SOURCES", c)

    def show_tables(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("TABLES", c)

    def show_lists(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("LISTS", c)

    def show_models(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("MODELS", c)

    def show_patterns(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("PATTERNS", c)

    def show_templates(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("TEMPLATES", c)

    def show_categories(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("CATEGORIES", c)

    def show_queries(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("QUERIES", c)

    def show_schedules(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("SCHEDULES", c)

    def show_runs(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("RUNS", c)

    def show_model_history(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("MODEL HISTORY", c)

    def show_pattern_history(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return self._show("PATTERN HISTORY", c)

    def show_stmt(self, meta: Meta, children: list[Any]) -> ast.Show:
        what, name = children[0]
        return self._statement(ast.Show, meta, what=what, name=name)

    def describe_stmt(self, meta: Meta, children: list[Any]) -> ast.Describe:
        return self._statement(ast.Describe, meta, kind=children[0], name=children[1])

    def profile_stmt(self, meta: Meta, children: list[Any]) -> ast.Profile:
        kind, name, against = children
        if kind not in ("SOURCE", "TABLE"):
            raise self._error(
                f"PROFILE works on sources and tables, not a {kind.lower()}", meta,
                hint="PROFILE SOURCE name or PROFILE TABLE name",
            )  # fmt: skip
        if against is not None and against.table is None:
            raise self._error(
                "AGAINST names a target column as table.column", against,
                hint=f"e.g. AGAINST deals.{against.column}",
            )  # fmt: skip
        return self._statement(ast.Profile, meta, kind=kind, name=name, against=against)

    def drop_stmt(self, meta: Meta, children: list[Any]) -> ast.Drop:
        kind, if_exists, name = children
        return self._statement(ast.Drop, meta, kind=kind, name=name, if_exists=bool(if_exists))

    # ------------------------------------------------------------ FIND
    def count(self, meta: Meta, children: list[Any]) -> int | ast.Param:
        return self._as_whole(children[0], "the number of leads")

    def with_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        attributes = children[0]
        seen: set[str] = set()
        for a in attributes:
            if a.value.lower() in seen:
                raise self._error(f"`{a.value}` is listed twice", a)
            seen.add(a.value.lower())
        return _Clause("attributes", attributes, self._span(meta))

    def like_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        table, where = children
        return _Clause("like", ast.LikeExamples(table, where, span=self._span(meta)), self._span(meta))

    def matching_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        pattern, score = children
        min_score = self._probability(score, "MIN SCORE", "a score") if score is not None else None
        value = ast.Matching(pattern, min_score, span=self._span(meta))
        return _Clause("matching", value, self._span(meta))

    def template_arg(self, meta: Meta, children: list[Any]) -> ast.TemplateArg:
        return ast.TemplateArg(children[0], children[1], span=self._span(meta))

    def using_template_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        name, *args = children
        args = [a for a in args if a is not None]
        seen: set[str] = set()
        for a in args:
            if a.name.value.lower() in seen:
                raise self._error(f"argument `{a.name.value}` is given twice", a.name)
            seen.add(a.name.value.lower())
        use = ast.TemplateUse(name, tuple(args), span=self._span(meta))
        return _Clause("template", use, self._span(meta))

    def template_value(self, meta: Meta, children: list[Any]) -> Any:
        return children[0]

    def negative_number(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(-_number_value(children[0]), "number", span=self._span(meta))

    def value_list(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def where_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("where", children[0], self._span(meta))

    def from_sources_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("sources", children[0], self._span(meta))

    def exclude_kind(self, meta: Meta, children: list[Any]) -> ast.Exclusion:
        kind, name = children
        if kind not in ("LIST", "TABLE", "QUERY"):
            raise self._error(
                f"EXCLUDE takes lists, tables or saved queries, not a {kind.lower()}", meta,
                hint="e.g. EXCLUDE LIST old_list, TABLE do_not_contact",
            )  # fmt: skip
        return ast.Exclusion(kind, name, span=self._span(meta))

    def exclude_same(self, meta: Meta, children: list[Any]) -> ast.Ident:
        return children[0]  # its kind is the previous item's

    def exclude_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        items: list[ast.Exclusion] = []
        for item in children:
            if isinstance(item, ast.Ident):
                if not items:  # grammar-wise possible as the first item: `EXCLUDE old_list`
                    raise self._error(
                        "say what to exclude: LIST, TABLE or QUERY before the name", item,
                        hint=f"e.g. EXCLUDE LIST {item.value}",
                    )  # fmt: skip
                item = ast.Exclusion(items[-1].kind, item, span=item.span)
            items.append(item)
        return _Clause("exclude", tuple(items), self._span(meta))

    def budget_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        amount = self._as_number(children[0])
        if isinstance(amount, Decimal) and amount < 0:
            raise self._error("a budget cannot be negative", children[0])
        return _Clause("budget", ast.Budget(amount, span=self._span(meta)), self._span(meta))

    def quality_floor_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("quality", self._quality(children[0], "QUALITY >="), self._span(meta))

    def fresher_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("fresher_than", children[0], self._span(meta))

    def goal_cost(self, meta: Meta, _: list[Any]) -> str:
        return "COST"

    def goal_quality(self, meta: Meta, _: list[Any]) -> str:
        return "QUALITY"

    def goal_count(self, meta: Meta, _: list[Any]) -> str:
        return "COUNT"

    def optimize_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("optimize", children[0], self._span(meta))

    def estimate_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("estimate", True, self._span(meta))

    def into_list_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("into_list", children[0], self._span(meta))

    def _find_clauses(self, keyword: str, clauses: list[Any], meta: Meta) -> ast.FindClauses:
        fields = self._fold(keyword, clauses)
        if "like" in fields and "matching" in fields:
            raise self._error(
                "a FIND learns from LIKE examples or uses a MATCHING pattern, not both", meta,
                hint="CREATE PATTERN from the examples, then FIND ... MATCHING it",
            )  # fmt: skip
        return ast.FindClauses(**fields, span=self._span(meta))

    def find_stmt(self, meta: Meta, children: list[Any]) -> ast.Find:
        count, *clauses = children
        body = self._find_clauses("FIND", clauses, meta)
        if body.budget is None and body.template is None:  # a template may bring the BUDGET (binding checks)
            raise self._error(
                "FIND needs a BUDGET: the most it may spend",
                self._end_of(meta),
                hint="add e.g. BUDGET 500 (with ESTIMATE, nothing is spent)",
            )
        return self._statement(ast.Find, meta, count=count, clauses=body)

    def explain_stmt(self, meta: Meta, children: list[Any]) -> ast.Explain:
        analyze, statement = children
        return self._statement(ast.Explain, meta, statement=statement, analyze=bool(analyze))

    def explain_analyze(self, meta: Meta, _: list[Any]) -> bool:
        return True

    # ------------------------------------------------------------ patterns and templates
    def pattern_using_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        self._check_choice(children[0], PATTERN_ALGORITHMS, "pattern algorithm")
        return _Clause("algorithm", children[0], self._span(meta))

    def create_pattern_stmt(self, meta: Meta, children: list[Any]) -> ast.CreatePattern:
        replace, name, table, where, *clauses = children
        fields = self._fold("CREATE PATTERN", clauses)
        return self._statement(
            ast.CreatePattern, meta, name=name, table=table, where=where,
            replace=bool(replace), **fields,
        )  # fmt: skip

    def template_param(self, meta: Meta, children: list[Any]) -> ast.TemplateParam:
        name, type_, default = children
        return ast.TemplateParam(name, type_, default, span=self._span(meta))

    def create_template_stmt(self, meta: Meta, children: list[Any]) -> ast.CreateTemplate:
        replace, name, *rest = children
        params = tuple(p for p in rest if isinstance(p, ast.TemplateParam))
        seen: set[str] = set()
        for p in params:
            if p.name.value.lower() in seen:
                raise self._error(f"parameter `{p.name.value}` is declared twice", p.name)
            seen.add(p.name.value.lower())
        clauses = [c for c in rest if isinstance(c, _Clause)]
        body = self._find_clauses("CREATE TEMPLATE", clauses, meta)
        if body.template is not None:
            raise self._error("a template cannot use another template", body.template)
        return self._statement(
            ast.CreateTemplate, meta, name=name, params=params, body=body, replace=bool(replace)
        )

    # ------------------------------------------------------------ PREDICT
    def rank_modifier(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("rank", True, self._span(meta))

    def classify_modifier(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("classify", True, self._span(meta))

    def top_modifier(self, meta: Meta, children: list[Any]) -> _Clause:
        k = int(str(children[0]).replace("_", "")) if str(children[0]).isdigit() else 0
        if k < 1:
            raise self._error("TOP k needs a whole number k of at least 1", children[0])
        return _Clause("top_k", k, self._span(meta))

    def forecast_modifier(self, meta: Meta, children: list[Any]) -> _Clause:
        n = int(str(children[0]).replace("_", "")) if str(children[0]).isdigit() else 0
        if n < 1:
            raise self._error("FORECAST needs a whole number of timeframes", children[0])
        return _Clause("forecast", n, self._span(meta))

    def dq_string(self, meta: Meta, children: list[Token]) -> ast.Literal:
        value = _pql_unescape(_unquote(str(children[0]), '"'))
        return ast.Literal(value, "string", span=self._span(children[0]))

    def for_each(self, meta: Meta, children: list[Any]) -> ast.Entity:
        return ast.Entity(children[0], None, span=self._span(meta))

    def for_one(self, meta: Meta, children: list[Any]) -> ast.Entity:
        return ast.Entity(children[0], (children[1],), span=self._span(meta))

    def for_in(self, meta: Meta, children: list[Any]) -> ast.Entity:
        return ast.Entity(children[0], tuple(children[1:]), span=self._span(meta))

    def assuming_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("assuming", children[0], self._span(meta))

    def at_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("at", self._as_text(children[0]), self._span(meta))

    def using_model_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        self._check_choice(children[0], MODEL_ALGORITHMS, "model type")
        return _Clause("model_type", children[0], self._span(meta))

    def as_model_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("model_name", children[0], self._span(meta))

    def limit_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("limit", self._as_whole(children[0], "LIMIT"), self._span(meta))

    def predict_stmt(self, meta: Meta, children: list[Any]) -> ast.Predict:
        target, *rest = children
        entity = next(c for c in rest if isinstance(c, ast.Entity))
        fields = self._fold("PREDICT", [c for c in rest if isinstance(c, _Clause)])
        # In PQL a double-quoted word is a string unless it names a column as table.column.
        target = _pql_strings(target)
        for key in ("where", "assuming"):
            if key in fields:
                fields[key] = _pql_strings(fields[key])
        values = entity.values
        if values is not None:
            entity = ast.Entity(
                entity.key, tuple(_pql_strings(v) for v in values), span=entity.span
            )
        return self._statement(ast.Predict, meta, target=target, entity=entity, **fields)

    def version(self, meta: Meta, children: list[Token]) -> int:
        text = str(children[0]).replace("_", "")
        if not text.isdigit() or int(text) < 1:
            raise self._error("a VERSION is a whole number from 1", children[0])
        return int(text)

    def evaluate_model_stmt(self, meta: Meta, children: list[Any]) -> ast.EvaluateModel:
        name, version, plot = children
        return self._statement(
            ast.EvaluateModel, meta, name=name, version=version,
            plot=self._as_text(plot) if plot is not None else None,
        )  # fmt: skip

    def evaluate_outcomes_stmt(self, meta: Meta, children: list[Any]) -> ast.EvaluateOutcomes:
        of, by = children
        kind, name = of if of is not None else (None, None)
        return self._statement(ast.EvaluateOutcomes, meta, of_kind=kind, of_name=name, by=by)

    def outcomes_of(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Ident]:
        return children[0], children[1]

    def outcomes_by(self, meta: Meta, children: list[Any]) -> str:
        return children[0]

    def by_decile(self, meta: Meta, children: list[Any]) -> str:
        return "DECILE"

    def by_source(self, meta: Meta, children: list[Any]) -> str:
        return "SOURCE"

    def by_run(self, meta: Meta, children: list[Any]) -> str:
        return "RUN"

    def by_list(self, meta: Meta, children: list[Any]) -> str:
        return "LIST"

    def by_segment(self, meta: Meta, children: list[Any]) -> str:
        return "SEGMENT"

    def evaluate_predict_stmt(self, meta: Meta, children: list[Any]) -> ast.EvaluatePredict:
        return self._statement(ast.EvaluatePredict, meta, statement=children[0])

    def explain_model_stmt(self, meta: Meta, children: list[Any]) -> ast.ExplainModel:
        return self._statement(ast.ExplainModel, meta, name=children[0], version=children[1])

    # ------------------------------------------------------------ lifecycle
    def segment_stmt(self, meta: Meta, children: list[Any]) -> ast.SegmentList:
        list_name, k, by = children
        segments = None
        if k is not None:
            text = str(k).replace("_", "")
            if not text.isdigit() or int(text) < 2:
                raise self._error(
                    "INTO k SEGMENTS needs a whole number k of at least 2", k,
                    hint="leave INTO k SEGMENTS out to let LeadQL choose k",
                )  # fmt: skip
            segments = int(text)
        return self._statement(ast.SegmentList, meta, list_name=list_name, by=by, segments=segments)

    def outcome_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("outcome", children[0], self._span(meta))

    def outcome_at_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        return _Clause("at", children[0], self._span(meta))

    def record_outcomes_stmt(self, meta: Meta, children: list[Any]) -> ast.RecordOutcomes:
        location, *clauses = children
        fields = self._fold("RECORD OUTCOMES", clauses)
        key = fields.pop("key", None)
        for clause, present in (("KEY", key is not None), ("OUTCOME", "outcome" in fields)):
            if not present:
                raise self._error(
                    f"RECORD OUTCOMES needs {clause}: the column naming the lead and the one "
                    "saying whether it was won", self._end_of(meta),
                    hint="e.g. RECORD OUTCOMES FROM 'deals.csv' KEY lead_id OUTCOME won",
                )  # fmt: skip
        if len(key) != 1:
            raise self._error("RECORD OUTCOMES takes one KEY column", meta)
        return self._statement(
            ast.RecordOutcomes, meta, location=self._location(location), key=key[0], **fields
        )

    def retrain_stmt(self, meta: Meta, children: list[Any]) -> ast.Retrain:
        return self._statement(ast.Retrain, meta, kind=children[0], name=children[1])

    def use_version_stmt(self, meta: Meta, children: list[Any]) -> ast.UseVersion:
        kind, name, version = children
        return self._statement(ast.UseVersion, meta, kind=kind, name=name, version=version)

    # ------------------------------------------------------------ saved queries
    def save_query_stmt(self, meta: Meta, children: list[Any]) -> ast.SaveQuery:
        replace, name, query = children
        return self._statement(ast.SaveQuery, meta, name=name, query=query, replace=bool(replace))

    def every_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        amount, unit, at = children
        n = self._whole_token(amount, "EVERY needs a whole number of at least 1") if amount is not None else 1
        unit_name = _UNIT_NAMES[str(unit).lower()]
        at_time = self._as_text(at) if at is not None else None
        if isinstance(at_time, str):
            parts = at_time.split(":")
            ok = len(parts) == 2 and all(p.isdigit() for p in parts)
            if not ok or not (0 <= int(parts[0]) < 24 and 0 <= int(parts[1]) < 60):
                raise self._error(f"AT '{at_time}' is not a time of day", at, hint="e.g. AT '06:00'")
        interval = ast.Interval(Decimal(n), unit_name, span=self._span(meta))
        return _Clause("every", (interval, at_time), self._span(meta))

    def cron_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        cron = self._as_text(children[0])
        if isinstance(cron, str) and len(cron.split()) not in (5, 6):
            raise self._error(
                f"'{cron}' is not a cron expression: it needs 5 fields (6 with seconds)", children[0],
                hint="minute hour day-of-month month day-of-week, e.g. CRON '0 6 * * 1-5'",
            )  # fmt: skip
        return _Clause("cron", cron, self._span(meta))

    def max_spend_clause(self, meta: Meta, children: list[Any]) -> _Clause:
        amount, unit = children
        value = self._as_number(amount)
        if isinstance(value, Decimal) and value < 0:
            raise self._error("MAX SPEND cannot be negative", amount)
        return _Clause("max_spend", (value, _UNIT_NAMES[str(unit).lower()]), self._span(meta))

    def schedule_stmt(self, meta: Meta, children: list[Any]) -> ast.Schedule:
        query, when, max_spend = children
        fields: dict[str, Any] = {}
        if when.field == "every":
            fields["every"], fields["at_time"] = when.value
        else:
            fields["cron"] = when.value
        if max_spend is not None:
            fields["max_spend"], fields["max_spend_per"] = max_spend.value
        return self._statement(ast.Schedule, meta, query=query, **fields)

    def unschedule_stmt(self, meta: Meta, children: list[Any]) -> ast.Unschedule:
        return self._statement(ast.Unschedule, meta, query=children[0])

    def run_query_stmt(self, meta: Meta, children: list[Any]) -> ast.RunQuery:
        return self._statement(ast.RunQuery, meta, query=children[0])

    def select_stmt(self, meta: Meta, children: list[Token]) -> ast.Select:
        tok = children[0]
        sql = str(tok).rstrip()
        span = Span.at(self.text, tok.start_pos, tok.start_pos + len(sql))
        return ast.Select(sql, span=span, text=sql)

    def start(self, meta: Meta, children: list[Any]) -> list[ast.Statement]:
        return [c for c in children if c is not None]

    # ------------------------------------------------------------ positions
    def _end_of(self, meta: Meta) -> Span | None:
        """A zero-width span at the end of a rule's text: where a missing clause would go."""
        if getattr(meta, "empty", True):
            return None
        return Span.at(self.text, meta.end_pos, meta.end_pos)


_PQL_ESCAPES = {
    '"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
}
_PQL_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.S)


def _pql_unescape(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code.startswith("u") and len(code) == 5:
            return chr(int(code[1:], 16))
        return _PQL_ESCAPES.get(code, m.group(0))

    return _PQL_ESCAPE.sub(one, value) if "\\" in value else value


def _pql_strings(node: Any) -> Any:
    """PQL's reading of constants: a double-quoted word is a string unless it names a column as
    table.column, and strings take JSON-style backslash escapes."""
    if isinstance(node, ast.ColumnRef) and len(node.parts) == 1 and node.parts[0].quoted:
        return ast.Literal(_pql_unescape(node.parts[0].value), "string", span=node.span)
    if isinstance(node, ast.Literal) and node.kind == "string":
        value = _pql_unescape(str(node.value))
        return node if value == node.value else ast.Literal(value, "string", span=node.span)
    if not isinstance(node, ast.Node) or isinstance(node, (ast.Ident, ast.Literal, ast.Param)):
        return node
    return ast.rebuild(node, _pql_strings)
