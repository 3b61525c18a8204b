"""Text → list of statements: the first stage of every LeadQL statement.

    parse(text)          all statements, or the first error as LeadQLSyntaxError
    check(text)          every statement checked independently: (statements, errors)

The Lark parser is built once per thread (Lark caches the LALR tables on disk). Text that is only
plain SQL is recognised with the grammar's own SQL terminal, without loading Lark at all: that
keeps `leadql -c "SELECT ..."` quick to start. Nesting deeper than MAX_DEPTH is refused before
the tree is turned into an AST.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from leadql.errors import LeadQLError, LeadQLSyntaxError, Span
from leadql.grammar import ast

if TYPE_CHECKING:
    from lark import Lark, Tree

log = logging.getLogger(__name__)

GRAMMAR_PATH = Path(__file__).with_name("leadql.lark")
MAX_DEPTH = 200  # parentheses, NOT NOT NOT…, CASE inside CASE: far beyond any real query
MAX_BYTES = 64 * 1024 * 1024

_local = threading.local()


def lark_parser() -> Lark:
    """This thread's LALR parser for the LeadQL grammar."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        from lark import Lark

        parser = Lark.open(
            str(GRAMMAR_PATH),
            parser="lalr",
            lexer="contextual",
            propagate_positions=True,
            maybe_placeholders=True,
            cache=True,
        )
        _local.parser = parser
    return parser


def _as_text(text: object) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise LeadQLSyntaxError(
                f"the text is not valid UTF-8 (byte {e.start} cannot be decoded)",
                hint="save the file as UTF-8",
            ) from None
    if not isinstance(text, str):
        raise LeadQLSyntaxError(
            f"statements are text, not {type(text).__name__}",
            hint="pass a str, e.g. ws.execute('SHOW SOURCES')",
        )
    return text


def parse(text: str | bytes) -> list[ast.Statement]:
    """Parse one or more `;`-separated statements into frozen AST nodes.

    Raises LeadQLSyntaxError (with line, column and a caret excerpt) on the first error.
    """
    text = _as_text(text)
    if len(text) > MAX_BYTES:
        raise LeadQLSyntaxError(f"the text is too long ({len(text):,} characters; limit {MAX_BYTES:,})")
    if "\x00" in text:
        pos = text.index("\x00")
        raise LeadQLSyntaxError(
            "the text holds a NUL character; is this a binary file?",
            span=Span.at(text, pos, pos + 1),
            text=text,
        )
    plain = _plain_sql(text)
    if plain is not None:
        return plain
    return parse_with_grammar(text)


def parse_with_grammar(text: str) -> list[ast.Statement]:
    """`parse` without the plain-SQL shortcut (the tests check both agree)."""
    started = time.perf_counter()
    from lark import UnexpectedInput
    from lark.exceptions import VisitError

    from leadql.grammar.syntax_errors import translate
    from leadql.grammar.transformer import AstBuilder

    parser = lark_parser()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as e:
        raise translate(e, text, parser) from None
    except RecursionError:  # pragma: no cover - the LALR parser is iterative
        raise LeadQLSyntaxError("the text is nested too deeply to parse") from None
    _check_depth(tree, text)
    try:
        statements: list[ast.Statement] = AstBuilder(text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, LeadQLError):
            raise e.orig_exc.located(None, text) from None
        raise
    log.debug("parsed %d statement(s) in %.2f ms", len(statements), (time.perf_counter() - started) * 1e3)
    return statements


def _grammar_pattern(name: str) -> re.Pattern[str]:
    """A terminal's regular expression, read from the grammar file itself."""
    for line in GRAMMAR_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith(name) and ":" in line:
            body = line.split(":", 1)[1].strip()
            return re.compile(body[1 : body.rindex("/")])
    raise LookupError(name)  # pragma: no cover - the grammar defines it


_SQL_QUERY: re.Pattern[str] | None = None
_SKIP = re.compile(r"(?:\s+|--[^\n]*|/\*[\s\S]*?\*/|#[^\n]*)*")


def _plain_sql(text: str) -> list[ast.Statement] | None:
    """The statements of a text made only of plain SQL, lexed exactly as the grammar would;
    None when anything else is there (then the full parser decides)."""
    global _SQL_QUERY
    if _SQL_QUERY is None:
        _SQL_QUERY = _grammar_pattern("SQL_QUERY")
    statements: list[ast.Statement] = []
    pos = _SKIP.match(text, 0).end()  # type: ignore[union-attr]
    while pos < len(text):
        if text[pos] == ";":
            pos = _SKIP.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        m = _SQL_QUERY.match(text, pos)
        if m is None:
            return None
        sql = m.group(0).rstrip()
        span = Span.at(text, m.start(), m.start() + len(sql))
        statements.append(ast.Select(sql, span=span, text=sql))
        pos = _SKIP.match(text, m.end()).end()  # type: ignore[union-attr]
        if pos < len(text) and text[pos] != ";":
            return None
    return statements or None


def parse_one(text: str | bytes) -> ast.Statement:
    """Parse text that must hold exactly one statement."""
    statements = parse(text)
    if len(statements) != 1:
        raise LeadQLSyntaxError(f"expected one statement, found {len(statements)}")
    return statements[0]


def _check_depth(tree: Tree, text: str) -> None:
    """Refuse absurd nesting before the AST stage (whose helpers recurse)."""
    from lark import Tree

    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            span = None if meta.empty else Span.at(text, meta.start_pos, meta.end_pos)
            raise LeadQLSyntaxError(
                f"the statement is nested more than {MAX_DEPTH} levels deep",
                span=span,
                text=text,
                hint="simplify the expression",
            )
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))


# ------------------------------------------------------------------------ checking whole files

_STATEMENT_PIECES = re.compile(
    r"'(?:[^'\\]|''|\\[\s\S])*'?"  # strings (an unterminated one runs to the end)
    r'|"(?:[^"\\]|""|\\[\s\S])*"?'
    r"|--[^\n]*|#[^\n]*|/\*[\s\S]*?(?:\*/|$)"  # comments
    r"|;"
    r"|[^'\";\-#/]+|[\s\S]",
)


def split_statements(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each `;`-separated piece, respecting strings and comments."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for m in _STATEMENT_PIECES.finditer(text):
        if m.group(0) == ";":
            pieces.append((start, m.start()))
            start = m.end()
    pieces.append((start, len(text)))
    return [(s, e) for s, e in pieces if text[s:e].strip() and _has_code(text[s:e])]


def _has_code(piece: str) -> bool:
    stripped = re.sub(r"--[^\n]*|#[^\n]*|/\*[\s\S]*?(?:\*/|$)", "", piece)
    return bool(stripped.strip())


def check(text: str | bytes) -> tuple[list[ast.Statement], list[LeadQLError]]:
    """Parse and validate every statement on its own, collecting all errors at once.

    Positions stay those of the whole text (other statements are blanked, not removed).
    """
    from leadql.grammar.validate import validate  # local: validation imports the AST only

    text = _as_text(text)
    try:
        statements = parse(text)
    except LeadQLError:
        statements = None
    if statements is not None:
        errors: list[LeadQLError] = []
        valid = []
        for statement in statements:
            try:
                validate(statement, text)
                valid.append(statement)
            except LeadQLError as e:
                errors.append(e)
        return valid, errors  # each statement counted once: as checked, or as an error

    good: list[ast.Statement] = []
    errors = []
    blank = re.sub(r"[^\n]", " ", text)
    for start, end in split_statements(text):
        piece = blank[:start] + text[start:end]
        try:
            for statement in parse(piece):
                validate(statement, text)
                good.append(statement)
        except LeadQLError as e:
            e.text = text
            errors.append(e)
    return good, errors
