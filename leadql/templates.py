"""FIND templates: CREATE TEMPLATE, SHOW TEMPLATES, DESCRIBE TEMPLATE, DROP TEMPLATE, and the
expansion of `FIND … USING TEMPLATE name(arg := value, …)` into a plain FIND.

A template is a parameterised set of FIND clauses. The standard ones are the files of
`stdlib/templates/*.lql` (read-only); a workspace keeps its own in the catalog (kind `template`),
where a user template of a standard name shadows the standard one.

Expansion is pure AST work: the template's `$parameters` are replaced by the FIND's arguments
(or the defaults), the template's nodes lose their spans (they point into the template's own
text, never into the user's), and the clauses are merged with the FIND's own — see `merge`. The
template's part is then checked against the catalog here, so that an error in it names the
template and points at the USING TEMPLATE clause of the user's text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from leadql.context import Context
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLTypeError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.params import finite
from leadql.result import Result

KIND = "template"  # the kind of catalog object a user template is stored as

#: The parameter types a template may declare, and the spellings read as each.
TYPES = ("NUMBER", "TEXT", "LIST", "DATE", "INTERVAL", "BOOLEAN")
_TYPE_ALIASES = {
    "NUMBER": "NUMBER", "NUMERIC": "NUMBER", "INTEGER": "NUMBER", "INT": "NUMBER", "DECIMAL": "NUMBER",
    "DOUBLE": "NUMBER", "FLOAT": "NUMBER", "TEXT": "TEXT", "VARCHAR": "TEXT", "STRING": "TEXT",
    "LIST": "LIST", "DATE": "DATE", "TIMESTAMP": "DATE", "INTERVAL": "INTERVAL", "BOOLEAN": "BOOLEAN",
    "BOOL": "BOOLEAN",
}  # fmt: skip
_KIND_WORDS = {"number": "a number", "text": "text", "boolean": "a boolean", "null": "NULL", "date": "a date",
               "list": "a list", "interval": "an interval", "other": "a value of another kind"}  # fmt: skip
_ACCEPTS = {"NUMBER": {"number"}, "TEXT": {"text"}, "LIST": {"list"}, "DATE": {"date", "text"},
            "INTERVAL": {"interval"}, "BOOLEAN": {"boolean"}}  # fmt: skip

Value = Any  # ast.Expr (Literal | Param) | ast.Interval | tuple[ast.Expr, ...]


# ======================================================================== templates


@dataclass(frozen=True)
class Template:
    """One template, standard or the workspace's: its parsed CREATE statement and its docs."""

    statement: ast.CreateTemplate
    text: str  # the text the statement's spans point into
    standard: bool
    description: str = ""
    param_docs: tuple[tuple[str, str], ...] = ()  # (lower parameter name, meaning)
    origin: str = ""  # the stdlib file of a standard template

    @property
    def name(self) -> str:
        return self.statement.name.value

    @property
    def params(self) -> tuple[ast.TemplateParam, ...]:
        return self.statement.params

    @property
    def summary(self) -> str:
        """The description's first sentence."""
        first = self.description.split("\n")[0]
        return re.split(r"(?<=\.)\s", first, maxsplit=1)[0]

    def doc(self, param: str) -> str:
        return dict(self.param_docs).get(param.lower(), "")

    @property
    def signature(self) -> str:
        return ", ".join(_param_text(p) for p in self.params)

    @property
    def call(self) -> str:
        return f"{self.name}({self.signature})"

    @property
    def body_text(self) -> str:
        """The clauses after AS, as written."""
        stmt = self.statement
        whole = self.text[stmt.span.start : stmt.span.end] if stmt.span else stmt.text
        start = stmt.span.start if stmt.span else 0
        anchor = (stmt.params[-1].span or stmt.name.span) if stmt.params else stmt.name.span
        offset = anchor.end - start if anchor is not None else 0
        m = re.compile(r"\s*\)?\s*(?:\(\s*\))?\s*as\s+", re.I).match(whole, offset)
        return whole[m.end() :].strip() if m else whole


def _param_text(p: ast.TemplateParam) -> str:
    out = p.name.value
    if p.type is not None:
        out += " " + _type_of(p)
    if p.default is not None:
        out += " := " + render(p.default)
    return out


def _type_of(p: ast.TemplateParam) -> str | None:
    if p.type is None:
        return None
    return _TYPE_ALIASES.get(p.type.name.upper(), p.type.name.upper())


def render(value: Value) -> str:
    """A constant as LeadQL text (defaults and arguments in SHOW / DESCRIBE and messages)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(render(v) for v in value) + ")"
    if isinstance(value, ast.Interval):
        amount = (
            f"${value.amount.name}" if isinstance(value.amount, ast.Param) else str(value.amount)
        )
        return f"{amount} {value.unit.upper()}{'S' if amount != '1' else ''}"
    if isinstance(value, ast.Param):
        return f"${value.name}"
    if isinstance(value, ast.Literal):
        if value.kind == "string":
            return "'" + str(value.value).replace("'", "''") + "'"
        if value.kind == "boolean":
            return "TRUE" if value.value else "FALSE"
        if value.kind == "null":
            return "NULL"
        return str(value.value)
    return str(value)


def parse_comments(
    lines: list[str], params: tuple[ast.TemplateParam, ...]
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A template's description and parameter meanings, from the `--` comment lines above it.

    A line `name (TYPE, default …): meaning` documents the parameter `name`; a line
    `Parameters:` is a heading; every other line is description (blank lines split paragraphs).
    """
    names = {p.name.value.lower() for p in params}
    docs: dict[str, str] = {}
    paragraphs: list[list[str]] = [[]]
    for raw in lines:
        line = raw.strip()
        line = line[2:].strip() if line.startswith("--") else line
        m = re.match(r"^`?([A-Za-z_]\w*)`?\s*(?:\((.*)\))?\s*:\s*(.+)$", line)
        if m and m.group(1).lower() in names:
            docs[m.group(1).lower()] = m.group(3).strip()
        elif line.lower().rstrip(":") == "parameters":
            continue
        elif not line:
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    description = "\n".join(" ".join(p) for p in paragraphs if p)
    return description, tuple(sorted(docs.items()))


def _comments_before(text: str, start: int) -> list[str]:
    """The `--` comment lines right above offset `start` (a statement's own documentation)."""
    lines = text[:start].split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()
    out: list[str] = []
    for line in reversed(lines):
        if not line.strip().startswith("--"):
            break
        out.append(line)
    return list(reversed(out))


@lru_cache(maxsize=1)
def standard_templates() -> dict[str, Template]:
    """The templates shipped in stdlib/templates/*.lql, by lower-case name."""
    from leadql.grammar import parse
    from leadql.resources import stdlib_path

    out: dict[str, Template] = {}
    folder = stdlib_path() / "templates"
    for path in sorted(folder.glob("*.lql")):
        text = path.read_text(encoding="utf-8")
        statements = parse(text)
        if len(statements) != 1 or not isinstance(statements[0], ast.CreateTemplate):
            raise LeadQLExecutionError(f"{path.name} must hold exactly one CREATE TEMPLATE statement",
                                       hint="LeadQL's installation is damaged; reinstall it")  # fmt: skip
        stmt = statements[0]
        start = stmt.span.start if stmt.span else 0
        description, docs = parse_comments(_comments_before(text, start), stmt.params)
        out[stmt.name.value.lower()] = Template(
            stmt, text, True, description, docs, f"stdlib/templates/{path.name}"
        )
    return out


def user_template(ctx: Context, name: str) -> Template | None:
    from leadql.grammar import parse

    row = ctx.catalog._row((KIND,), name)
    if row is None:
        return None
    definition = json.loads(row[1])
    text = ctx.catalog.statement_of(KIND, name) or ""
    stmt = parse(text)[0]
    assert isinstance(stmt, ast.CreateTemplate)
    docs = tuple((k, v) for k, v in definition.get("param_docs", []))
    return Template(stmt, text, False, definition.get("description", ""), docs)


def lookup(ctx: Context, name: ast.Ident) -> Template:
    """The template a name means here: the workspace's own first, then the standard one."""
    found = user_template(ctx, name.value) or standard_templates().get(name.value.lower())
    if found is None:
        raise ctx.fail(LeadQLNameError, f"no template named `{name.value}`", name,
                       hint=did_you_mean(name.value, all_names(ctx)) or "SHOW TEMPLATES lists them")  # fmt: skip
    return found


def all_names(ctx: Context) -> list[str]:
    names = {t.name.lower(): t.name for t in standard_templates().values()}
    names.update({n.lower(): n for n in ctx.catalog.names((KIND,))})
    return sorted(names.values(), key=str.lower)


# ======================================================================== values and types


def _kind(value: Value, params: dict[str, Any]) -> str:
    """number | text | boolean | null | date | list | interval | other."""
    if isinstance(value, tuple):
        return "list"
    if isinstance(value, ast.Interval):
        return "interval"
    if isinstance(value, ast.Literal):
        return {"datetime": "date", "string": "text"}.get(value.kind, value.kind)
    if isinstance(value, ast.Param):
        if value.name not in params:
            return "other"
        v = params[value.name]
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, (int, float, Decimal)):
            return "number"
        if isinstance(v, str):
            return "text"
        if isinstance(v, (date, datetime)):
            return "date"
        if isinstance(v, (list, tuple)):
            return "list"
        if isinstance(v, timedelta):
            return "interval"
    return "other"


def _type_problem(type_: str, value: Value, params: dict[str, Any]) -> str | None:
    """Why `value` does not fit a parameter of `type_`, or None when it does."""
    kind = _kind(value, params)
    if kind not in _ACCEPTS.get(type_, set()):
        return (
            f"{type_} parameter needs {_KIND_WORDS[_ACCEPTS_WORD[type_]]}, not {_KIND_WORDS[kind]}"
        )
    number = value.value if isinstance(value, ast.Literal) else params.get(getattr(value, "name", ""))
    if kind == "number" and isinstance(number, (int, float, Decimal)) and not isinstance(number, bool):
        if not finite(number) or not math.isfinite(float(number)):  # 1e999 would become inf in SQL
            return f"a number must be finite and at most about 1.8e308, not {number}"
    if type_ == "DATE" and kind == "text":
        text = (
            value.value
            if isinstance(value, ast.Literal)
            else params.get(getattr(value, "name", ""))
        )
        try:
            date.fromisoformat(str(text)[:10])
        except ValueError:
            return f"DATE parameter needs a date, not '{text}'"
    return None


_ACCEPTS_WORD = {"NUMBER": "number", "TEXT": "text", "LIST": "list", "DATE": "date", "INTERVAL": "interval",
                 "BOOLEAN": "boolean"}  # fmt: skip


def _check_type_name(ctx: Context, p: ast.TemplateParam) -> None:
    if p.type is not None and p.type.name.upper() not in _TYPE_ALIASES:
        raise ctx.fail(LeadQLTypeError, f"unknown parameter type `{p.type.name}`", p.type,
                       hint=did_you_mean(p.type.name.upper(), TYPES) or "types: " + ", ".join(TYPES))  # fmt: skip


# ======================================================================== CREATE TEMPLATE


def _check_writable(ctx: Context, stmt: ast.Statement, what: str) -> None:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(f"{what} writes to the workspace, which is open read-only",
                                   span=stmt.span, text=ctx.text, hint="open the workspace writable")  # fmt: skip


def create_template(ctx: Context, stmt: ast.CreateTemplate) -> Result:
    _check_writable(ctx, stmt, "CREATE TEMPLATE")
    name = stmt.name.value
    warnings = check_definition(ctx, stmt)
    existing = user_template(ctx, name)
    standard = standard_templates().get(name.lower())
    if existing is not None and not stmt.replace:
        raise ctx.fail(LeadQLNameError, f"template `{existing.name}` already exists", stmt.name,
                       hint=f"CREATE OR REPLACE TEMPLATE {name}(…) replaces it")  # fmt: skip
    if existing is None and standard is not None and not stmt.replace:
        raise ctx.fail(LeadQLNameError, f"`{standard.name}` is a standard template", stmt.name,
                       hint=f"choose another name, or CREATE OR REPLACE TEMPLATE {name}(…) to use yours instead "
                            "of the standard one in this workspace")  # fmt: skip
    start = stmt.span.start if stmt.span else 0
    description, docs = parse_comments(_comments_before(ctx.text, start), stmt.params)
    text = stmt.text or ctx.text
    template = Template(stmt, ctx.text, False, description, docs)
    definition = {
        "name": name,
        "params": [{"name": p.name.value, "type": _type_of(p),
                    "default": None if p.default is None else render(p.default)} for p in stmt.params],
        "body": template.body_text, "description": description, "param_docs": [list(d) for d in docs],
    }  # fmt: skip
    from leadql.catalog.migrations import transaction

    with transaction(ctx.con):
        ctx.catalog.put(KIND, name, json.dumps(definition), text)
    verb = "replaced" if existing is not None else "created"
    message = f"{verb} template {name}({template.signature})"
    if existing is None and standard is not None:
        message += f"; it replaces the standard template {standard.name} in this workspace"
    return Result(message=message, warnings=warnings)


def check_definition(ctx: Context, stmt: ast.CreateTemplate) -> list[str]:
    """A template's body must be a FIND fragment that works: declared, well-typed parameters used
    where their values fit, categories that exist. Returns warnings (unused parameters)."""
    declared = {p.name.value.lower(): p for p in stmt.params}
    for p in stmt.params:
        _check_type_name(ctx, p)
        type_ = _type_of(p)
        if type_ is not None and p.default is not None and not _mentions_param(p.default):
            problem = _type_problem(type_, p.default, {})
            if problem is not None:
                raise ctx.fail(LeadQLTypeError, f"the default of `{p.name.value}` does not fit: {problem}",
                               _node_of(p.default) or p, hint=f"e.g. {_example(type_)}")  # fmt: skip
    used: set[str] = set()
    for param, slot in _param_slots(stmt.body):
        p = declared.get(param.name.lower())
        if p is None:
            raise ctx.fail(LeadQLNameError, f"`${param.name}` is not a parameter of template `{stmt.name.value}`",
                           param, hint=did_you_mean(param.name, [q.name.value for q in stmt.params])
                           or f"declare it: CREATE TEMPLATE {stmt.name.value}(…, {param.name} …)")  # fmt: skip
        used.add(p.name.value.lower())
        type_ = _type_of(p)
        if type_ is not None and type_ not in _SLOT_TYPES[slot]:
            raise ctx.fail(LeadQLTypeError, f"`${param.name}` is a {type_} parameter; {_SLOT_WORDS[slot]}", param,
                           hint=_SLOT_HINTS[slot])  # fmt: skip
    _check_categories(ctx, stmt)
    return [f"parameter `{p.name.value}` of template `{stmt.name.value}` is not used in its body"
            for p in stmt.params if p.name.value.lower() not in used]  # fmt: skip


_SLOT_TYPES = {
    "expr": {"NUMBER", "TEXT", "DATE", "BOOLEAN"},
    "in": {"NUMBER", "TEXT", "DATE", "BOOLEAN", "LIST"},
    "number": {"NUMBER"},
    "interval": {"NUMBER", "INTERVAL"},
}
_SLOT_WORDS = {
    "expr": "a condition needs a single value here",
    "in": "IN needs values here",
    "number": "BUDGET, QUALITY and MIN SCORE need a number",
    "interval": "FRESHER THAN needs a number or an interval",
}
_SLOT_HINTS = {
    "expr": "a LIST parameter goes after IN (state IN $states); an INTERVAL one in FRESHER THAN",
    "in": "declare it LIST (or NUMBER / TEXT for one value)",
    "number": "declare it NUMBER",
    "interval": "declare it NUMBER (counted in the unit written after it) or INTERVAL",
}


def _example(type_: str) -> str:
    return {"NUMBER": "680", "TEXT": "'CA'", "LIST": "('CA', 'NY')", "DATE": "2026-01-01",
            "INTERVAL": "90 DAYS", "BOOLEAN": "TRUE"}[type_]  # fmt: skip


def _mentions_param(value: Value) -> bool:
    if isinstance(value, tuple):
        return any(_mentions_param(v) for v in value)
    if isinstance(value, ast.Interval):
        return isinstance(value.amount, ast.Param)
    return isinstance(value, ast.Param)


def _node_of(value: Value) -> ast.Node | None:
    if isinstance(value, tuple):
        return value[0] if value else None
    return value if isinstance(value, ast.Node) else None


def _param_slots(body: ast.FindClauses) -> list[tuple[ast.Param, str]]:
    """Every `$name` of a template body with the kind of place it stands in."""
    out: list[tuple[ast.Param, str]] = []

    def expr(node: ast.Node | None) -> None:
        if node is None:
            return
        if isinstance(node, ast.Param):
            out.append((node, "expr"))
            return
        if (
            isinstance(node, ast.InList)
            and len(node.items) == 1
            and isinstance(node.items[0], ast.Param)
        ):
            expr(node.operand)
            out.append((node.items[0], "in"))
            return
        for child in node.children():
            expr(child)

    if body.like is not None:
        expr(body.like.where)
    expr(body.where)
    for value in (body.budget.amount if body.budget else None, body.quality,
                  body.matching.min_score if body.matching else None):  # fmt: skip
        if isinstance(value, ast.Param):
            out.append((value, "number"))
    if body.fresher_than is not None and isinstance(body.fresher_than.amount, ast.Param):
        out.append((body.fresher_than.amount, "interval"))
    return out


def _check_categories(ctx: Context, stmt: ast.CreateTemplate) -> None:
    """WITH and WHERE name categories; a WHERE whose parameters all have defaults is compiled with
    them, so a type mismatch (`fico >= 'high'`) shows now rather than at the first FIND."""
    from leadql.planner.binding import _category, _normalizer
    from leadql.planner.expressions import PredicateCompiler

    categories = ctx.catalog.categories()
    for ident in stmt.body.attributes:
        _category(ctx, ident, categories)
    where = stmt.body.where
    if where is None:
        return
    defaults = {p.name.value.lower(): p.default for p in stmt.params}
    for node in where.walk():
        if (
            isinstance(node, ast.ColumnRef)
            and len(node.parts) == 1
            and node.column.lower() not in categories
        ):
            raise ctx.fail(LeadQLNameError, f"unknown category `{node.column}`", node,
                           hint=did_you_mean(node.column, [c.name for c in categories.values()])
                           or "SHOW CATEGORIES lists them; CREATE CATEGORY adds one")  # fmt: skip
    names = {p.name.lower() for p in _params_in(where)}
    if all(defaults.get(n) is not None and not _mentions_param(defaults[n]) for n in names):
        values = {n: defaults[n] for n in names}
        try:
            substituted = _substitute_expr(ctx, where, values, {}, None, "")
        except _Misfit as e:
            p = next(q for q in stmt.params if q.name.value.lower() == e.name.lower())
            raise ctx.fail(LeadQLTypeError, f"the default of `{p.name.value}` {e.problem}",
                           _node_of(p.default) or p, hint=_SLOT_HINTS["expr"]) from None  # fmt: skip
        PredicateCompiler(categories, ctx.params, ctx.text, normalize=_normalizer(ctx)).conjuncts(
            substituted
        )


def _params_in(node: ast.Node) -> list[ast.Param]:
    return [n for n in node.walk() if isinstance(n, ast.Param)]


# ======================================================================== SHOW / DESCRIBE / DROP


def show_templates(ctx: Context, stmt: ast.Show) -> Result:
    standard = standard_templates()
    rows = []
    users = {n.lower(): n for n in ctx.catalog.names((KIND,))}
    for lower in sorted(set(standard) | set(users)):
        if lower in users:
            t = user_template(ctx, users[lower])
            assert t is not None
            note = "replaces the standard template of this name" if lower in standard else ""
        else:
            t, note = standard[lower], ""
        rows.append((t.name, t.signature, "yes" if t.standard else "no", t.summary, note))
    return Result.from_rows(["name", "parameters", "standard", "description", "note"], rows,
                            message=f"{len(rows)} template{'s' if len(rows) != 1 else ''}")  # fmt: skip


def describe_template(ctx: Context, stmt: ast.Describe) -> Result:
    t = lookup(ctx, stmt.name)
    rows: list[tuple[str, str, str | None, str | None, str]] = [
        ("template", t.name, None, None, t.description),
    ]
    for p in t.params:
        rows.append(("parameter", p.name.value, _type_of(p) or "any",
                     None if p.default is None else render(p.default),
                     t.doc(p.name.value) or ("required" if p.default is None else "")))  # fmt: skip
    rows.append(("body", "", None, None, t.body_text))
    where = f"standard, {t.origin}" if t.standard else "defined in this workspace"
    shadow = (
        ""
        if t.standard or t.name.lower() not in standard_templates()
        else "; it replaces the standard one"
    )
    return Result.from_rows(["kind", "name", "type", "default", "description"], rows,
                            message=f"template {t.call} ({where}){shadow}")  # fmt: skip


def drop_template(ctx: Context, stmt: ast.Drop) -> Result:
    name = stmt.name.value
    existing = user_template(ctx, name)
    standard = standard_templates().get(name.lower())
    if existing is None:
        if standard is not None:
            raise ctx.fail(LeadQLSemanticError, f"`{standard.name}` is a standard template and cannot be dropped",
                           stmt.name, hint=f"it ships in {standard.origin}; CREATE OR REPLACE TEMPLATE {name}(…) "
                           "puts your own in its place")  # fmt: skip
        if stmt.if_exists:
            return Result(message=f"no template {name}; nothing dropped")
        raise ctx.fail(LeadQLNameError, f"no template named `{name}`", stmt.name,
                       hint=did_you_mean(name, ctx.catalog.names((KIND,))) or "SHOW TEMPLATES lists them")  # fmt: skip
    _check_writable(ctx, stmt, "DROP TEMPLATE")
    from leadql.catalog.migrations import transaction

    with transaction(ctx.con):
        ctx.catalog.delete(KIND, existing.name)
    message = f"dropped template {existing.name}"
    if standard is not None:
        message += f"; the standard template {standard.name} applies again"
    return Result(message=message)


# ======================================================================== USING TEMPLATE


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ExpandedFind(ast.Find):
    """A FIND whose USING TEMPLATE was filled in: plain clauses, plus what it came from."""

    template: str = ""
    notes: tuple[str, ...] = ()  # the template's values the FIND's own clauses overrode


def expand_template(ctx: Context, stmt: ast.Find) -> ast.Find:
    """`FIND … USING TEMPLATE t(args)` → the same FIND with t's clauses filled in and merged."""
    use = stmt.clauses.template
    if use is None:
        return stmt
    template = lookup(ctx, use.name)
    values, origins = bind_arguments(ctx, template, use)
    body = _unspanned(template.statement.body)
    assert isinstance(body, ast.FindClauses)
    body = _substitute(ctx, body, values, origins, use, template.name)
    _check_part(ctx, template.name, body, use)
    clauses, notes = merge(body, stmt.clauses, template.name)
    return ExpandedFind(stmt.count, clauses, template=template.name, notes=tuple(notes), span=stmt.span,
                        text=stmt.text)  # fmt: skip


def bind_arguments(
    ctx: Context, template: Template, use: ast.TemplateUse
) -> tuple[dict[str, Value], dict[str, Any]]:
    """Each parameter's value: its argument, else its default. Returns (values, origins) by
    lower-case parameter name; an origin is the argument node, or None for a default."""
    declared = {p.name.value.lower(): p for p in template.params}
    values: dict[str, Value] = {}
    origins: dict[str, Any] = {}
    for arg in use.args:
        p = declared.get(arg.name.value.lower())
        if p is None:
            names = [q.name.value for q in template.params]
            raise ctx.fail(LeadQLNameError, f"template `{template.name}` has no parameter `{arg.name.value}`",
                           arg.name, hint=did_you_mean(arg.name.value, names)
                           or f"its parameters: {template.call}" if names else f"`{template.name}` takes no parameters")  # fmt: skip
        type_ = _type_of(p)
        if type_ is not None:
            problem = _type_problem(type_, arg.value, ctx.params)
            if problem is not None:
                raise ctx.fail(LeadQLTypeError, f"argument `{arg.name.value}` of template `{template.name}`: {problem}",
                               arg, hint=f"e.g. {arg.name.value} := {_example(type_)}")  # fmt: skip
        values[p.name.value.lower()] = arg.value
        origins[p.name.value.lower()] = arg
    for p in template.params:
        key = p.name.value.lower()
        if key in values:
            continue
        if p.default is None:
            raise ctx.fail(LeadQLSemanticError, f"template `{template.name}` needs a value for `{p.name.value}`",
                           use, hint=f"add {p.name.value} := …; its signature is {template.call}")  # fmt: skip
        default = _unspanned_value(p.default)
        for param in _default_params(default):
            if param.name not in ctx.params:
                raise ctx.fail(LeadQLNameError, f"the default of `{p.name.value}` in template `{template.name}` is "
                               f"${param.name}, which has no value", use,
                               hint=f"pass params={{'{param.name}': ...}} or give {p.name.value} := …")  # fmt: skip
        values[key] = default
        origins[key] = None
    return values, origins


def _default_params(value: Value) -> list[ast.Param]:
    if isinstance(value, tuple):
        return [v for v in value if isinstance(v, ast.Param)]
    if isinstance(value, ast.Interval):
        return [value.amount] if isinstance(value.amount, ast.Param) else []
    return [value] if isinstance(value, ast.Param) else []


def _unspanned(node: ast.Node) -> ast.Node:
    """A copy without spans: the template's nodes point into its own text, not the user's."""
    node = ast.rebuild(node, _unspanned)
    return replace(node, span=None) if node.span is not None else node


def _unspanned_value(value: Value) -> Value:
    if isinstance(value, tuple):
        return tuple(_unspanned(v) for v in value)
    return _unspanned(value)


class _Misfit(Exception):
    """A parameter's value does not fit where the body uses it (turned into a LeadQLTypeError)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name
        self.problem = problem


def _substitute(ctx: Context, body: ast.FindClauses, values: dict[str, Value], origins: dict[str, Any],
                use: ast.TemplateUse, template: str) -> ast.FindClauses:  # fmt: skip
    """The body with every `$parameter` replaced by its value, in the form its place needs."""
    changes: dict[str, Any] = {}
    try:
        if body.where is not None:
            changes["where"] = _substitute_expr(ctx, body.where, values, origins, use, template)
        if body.like is not None and body.like.where is not None:
            where = _substitute_expr(ctx, body.like.where, values, origins, use, template)
            changes["like"] = replace(body.like, where=where)
        if body.budget is not None:
            changes["budget"] = replace(
                body.budget, amount=_number(body.budget.amount, values, "BUDGET")
            )
        if body.quality is not None:
            changes["quality"] = _number(body.quality, values, "QUALITY")
        if body.matching is not None and body.matching.min_score is not None:
            changes["matching"] = replace(
                body.matching, min_score=_number(body.matching.min_score, values, "MIN SCORE")
            )
        if body.fresher_than is not None and isinstance(body.fresher_than.amount, ast.Param):
            changes["fresher_than"] = _interval(body.fresher_than, values)
    except _Misfit as e:
        origin = origins.get(e.name.lower())
        raise ctx.fail(LeadQLTypeError, f"template `{template}`: `{e.name}` {e.problem}", origin or use,
                       hint="check the template's parameters with DESCRIBE TEMPLATE " + template) from None  # fmt: skip
    return replace(body, **changes) if changes else body


def _substitute_expr(ctx: Context, node: ast.Expr, values: dict[str, Value], origins: dict[str, Any],
                     use: ast.TemplateUse | None, template: str) -> ast.Expr:  # fmt: skip
    def sub(n: ast.Node) -> ast.Node:
        if isinstance(n, ast.InList) and len(n.items) == 1 and isinstance(n.items[0], ast.Param):
            value = values.get(n.items[0].name.lower())
            if value is not None:
                if isinstance(value, ast.Interval):
                    raise _Misfit(n.items[0].name, "is an interval, which IN cannot compare with")
                items = value if isinstance(value, tuple) else (value,)
                if isinstance(value, ast.Param) and isinstance(
                    ctx.params.get(value.name), (list, tuple)
                ):
                    items = tuple(
                        _literal(v, value) for v in ctx.params[value.name]
                    )  # $list spread
                return replace(n, operand=sub(n.operand), items=tuple(items))
        if isinstance(n, ast.Param) and n.name.lower() in values:
            value = values[n.name.lower()]
            if isinstance(value, tuple):
                raise _Misfit(n.name, "is a list, which only fits after IN")
            if isinstance(value, ast.Interval):
                raise _Misfit(n.name, "is an interval, which only fits in FRESHER THAN")
            return value
        return ast.rebuild(n, sub)

    out = sub(node)
    assert isinstance(out, ast.Expr)
    return out


def _literal(value: Any, origin: ast.Param) -> ast.Literal:
    """One item of a list passed as a FIND parameter, as a constant pointing at the parameter."""
    kind = ("boolean" if isinstance(value, bool) else "number" if isinstance(value, (int, float, Decimal))
            else "null" if value is None else "string")  # fmt: skip
    return ast.Literal(value, kind, span=origin.span)


def _number(value: Any, values: dict[str, Value], what: str) -> Any:
    if not isinstance(value, ast.Param) or value.name.lower() not in values:
        return value
    v = values[value.name.lower()]
    if isinstance(v, ast.Param):
        return v  # the FIND's own $parameter: bound later, like any other
    if isinstance(v, ast.Literal) and v.kind == "number" and not isinstance(v.value, bool):
        return Decimal(str(v.value))
    raise _Misfit(value.name, f"is {_KIND_WORDS[_kind(v, {})]}, but {what} needs a number")


def _interval(interval: ast.Interval, values: dict[str, Value]) -> ast.Interval:
    assert isinstance(interval.amount, ast.Param)
    v = values.get(interval.amount.name.lower())
    if v is None:
        return interval
    if isinstance(v, ast.Interval):
        return v  # an interval argument brings its own unit
    if isinstance(v, ast.Param):
        return replace(interval, amount=v)
    if isinstance(v, ast.Literal) and v.kind == "number" and not isinstance(v.value, bool):
        return replace(interval, amount=Decimal(str(v.value)))
    raise _Misfit(
        interval.amount.name,
        f"is {_KIND_WORDS[_kind(v, {})]}, but FRESHER THAN needs a number or an interval",
    )


def _check_part(ctx: Context, template: str, body: ast.FindClauses, use: ast.TemplateUse) -> None:
    """Check the template's clauses against this workspace now, so that an error in them names
    the template and points at USING TEMPLATE (or at the argument it came from)."""
    from leadql.catalog.definitions import TABLE
    from leadql.planner.binding import _category, _exclusions, _normalizer, _pool
    from leadql.planner.expressions import PredicateCompiler

    try:
        categories = ctx.catalog.categories()
        for ident in body.attributes:
            _category(ctx, ident, categories)
        if body.where is not None:
            PredicateCompiler(
                categories, ctx.params, ctx.text, normalize=_normalizer(ctx)
            ).conjuncts(body.where)
        if body.sources:
            _pool(ctx, body.sources)
        _exclusions(ctx, body.exclude)
        checks = [(body.quality, "QUALITY", 1), (body.budget.amount if body.budget else None, "BUDGET", None),
                  (body.matching.min_score if body.matching else None, "MIN SCORE", 1)]  # fmt: skip
        for value, what, top in checks:
            if value is None:
                continue
            number = ctx.decimal_value(value, what)
            if number < 0 or (top is not None and number > top):
                raise LeadQLTypeError(f"{what} must be between 0 and {top}, not {number}" if top
                                      else f"{what} cannot be negative")  # fmt: skip
        if (
            body.fresher_than is not None
            and ctx.decimal_value(body.fresher_than.amount, "FRESHER THAN") <= 0
        ):
            raise LeadQLTypeError("FRESHER THAN needs a positive interval")
        if body.matching is not None:
            from leadql.predict import registry

            if not registry.model_exists(ctx.con, body.matching.pattern.value, registry.PATTERN):
                raise LeadQLNameError(
                    f"no pattern named `{body.matching.pattern.value}`",
                    hint="SHOW PATTERNS lists them",
                )
        if body.like is not None and ctx.catalog.get_data(body.like.table.value, (TABLE,)) is None:
            raise LeadQLNameError(
                f"no table named `{body.like.table.value}`", hint="SHOW TABLES lists them"
            )
        if body.into_list is not None and ctx.catalog.get_data(body.into_list.value) is not None:
            raise LeadQLNameError(
                f"`{body.into_list.value}` is already a source or table; a list needs its own name"
            )
    except LeadQLError as e:
        inside = (
            e.span is not None
            and use.span is not None
            and use.span.start <= e.span.start < use.span.end
        )
        raise type(e)(f"in template `{template}`: {e.message}", span=e.span if inside else use.span,
                      text=ctx.text, hint=e.hint) from None  # fmt: skip


def merge(
    body: ast.FindClauses, own: ast.FindClauses, template: str
) -> tuple[ast.FindClauses, list[str]]:
    """The template's clauses and the FIND's own, as one FIND.

    WITH: the template's attributes, then the FIND's not already there. WHERE: both, ANDed.
    FROM SOURCES and EXCLUDE: the union. ESTIMATE: either. LIKE / MATCHING, BUDGET, QUALITY,
    FRESHER THAN, OPTIMIZE FOR and INTO LIST: the FIND's own clause wins; each template value it
    overrides is noted.
    """
    notes: list[str] = []

    def note(theirs: str, ours: str) -> None:
        notes.append(
            f"USING TEMPLATE {template}: the FIND's {ours} overrides the template's {theirs}"
        )

    have = {a.value.lower() for a in body.attributes}
    attributes = body.attributes + tuple(a for a in own.attributes if a.value.lower() not in have)
    where_items: list[ast.Expr] = []
    for part in (body.where, own.where):
        if isinstance(part, ast.BoolOp) and part.op == "AND":
            where_items.extend(part.items)
        elif part is not None:
            where_items.append(part)
    where = (
        None
        if not where_items
        else where_items[0]
        if len(where_items) == 1
        else ast.BoolOp("AND", tuple(where_items))
    )
    sources = body.sources + tuple(
        s for s in own.sources if s.value.lower() not in {b.value.lower() for b in body.sources}
    )
    seen = {(e.kind, e.name.value.lower()) for e in body.exclude}
    exclude = body.exclude + tuple(
        e for e in own.exclude if (e.kind, e.name.value.lower()) not in seen
    )

    like, matching = body.like, body.matching
    if own.like is not None or own.matching is not None:
        if body.like is not None or body.matching is not None:
            theirs = (
                f"LIKE {body.like.table.value}"
                if body.like
                else f"MATCHING {body.matching.pattern.value}"
            )  # type: ignore[union-attr]
            ours = (
                f"LIKE {own.like.table.value}"
                if own.like
                else f"MATCHING {own.matching.pattern.value}"
            )  # type: ignore[union-attr]
            note(theirs, ours)
        like, matching = own.like, own.matching

    def pick(name: str, show: Any) -> Any:
        theirs, ours = getattr(body, name), getattr(own, name)
        if ours is None:
            return theirs
        if theirs is not None and show(theirs) != show(ours):
            note(show(theirs), show(ours))
        return ours

    budget = pick("budget", lambda b: f"BUDGET {render_number(b.amount)}")
    quality = pick("quality", lambda q: f"QUALITY >= {render_number(q)}")
    fresher = pick("fresher_than", lambda i: f"FRESHER THAN {render(i)}")
    optimize = pick("optimize", lambda o: f"OPTIMIZE FOR {o}")
    into = pick("into_list", lambda i: f"INTO LIST {i.value}")
    merged = ast.FindClauses(
        attributes=attributes, like=like, matching=matching, template=None, where=where, sources=sources,
        exclude=exclude, budget=budget, quality=quality, fresher_than=fresher, optimize=optimize,
        estimate=body.estimate or own.estimate, into_list=into, span=own.span,
    )  # fmt: skip
    return merged, notes


def render_number(value: Any) -> str:
    return f"${value.name}" if isinstance(value, ast.Param) else str(value)
