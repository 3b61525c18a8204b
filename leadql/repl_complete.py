"""What the shell knows about the language and the workspace: keywords (from the grammar),
syntax highlighting, and completion of keywords and catalog names."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every keyword of the LeadQL grammar, upper-case: its string terminals that are words
    ("find"i, "budget"i, …) and the words its keyword-like regex terminals match (interval and
    price units, the words that open plain SQL); plus DuckDB's own SQL keywords for SELECT."""
    from leadql.grammar.parser import lark_parser

    words = set()
    for terminal in lark_parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and re.fullmatch(r"[A-Za-z_]+", pattern.value):
            words.add(pattern.value.upper())
        elif pattern.type == "re":
            words |= {w.upper() for w in _regex_words(pattern.value)}
    return frozenset(words | _sql_keywords())


def _regex_words(regex: str) -> set[str]:
    """The words a terminal like `(?i:days?|quer(?:y|ies))(?![A-Za-z0-9_])` matches: the
    alternatives of its leading `(?i:…)` group with `x?` and `(?:a|b)` spelled out, each checked
    against the terminal's regex."""
    m = re.match(r"\(\?i:(.+?)\)\(\?!", regex)
    if m is None:
        return set()
    alternatives = re.split(r"\|(?![^(]*\))", m.group(1))  # `|` outside (?:…)
    out: set[str] = set()
    for alternative in alternatives:
        forms = [""]
        for piece in re.findall(r"\(\?:[a-z|]+\)|[a-z]\??|.", alternative):
            if piece.startswith("(?:"):
                options = piece[3:-1].split("|")
            elif piece.endswith("?") and len(piece) == 2:
                options = ["", piece[0]]
            else:
                options = [piece]
            forms = [f + o for f in forms for o in options]
        out |= {f for f in forms if re.fullmatch(r"[a-z]+", f)}
    compiled = re.compile(regex, re.I)
    return {w for w in out if compiled.match(w) and compiled.match(w).end() == len(w)}


def _sql_keywords() -> set[str]:
    """DuckDB's reserved words and join/type words (SELECT, JOIN, ORDER, …), from DuckDB itself."""
    try:
        import duckdb

        rows = duckdb.sql("SELECT keyword_name FROM duckdb_keywords() "
                          "WHERE keyword_category IN ('reserved', 'type_function')").fetchall()  # fmt: skip
    except Exception:  # noqa: BLE001 - an engine without the function: LeadQL's keywords only
        return set()
    return {str(r[0]).upper() for r in rows}


# ------------------------------------------------------------------------ highlighting

# The grammar's terminals, loosely: an unterminated string or comment runs to the end of the
# text (it is still being typed), and a `/* … */` comment or a string may span lines.
_TOKEN = re.compile(
    r"(?P<comment>--[^\n]*|#[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|(?P<string>'(?:[^'\\]|''|\\[\s\S])*'?)"
    r"|(?P<ident>\"(?:[^\"]|\"\")*\"?|`(?:[^`]|``)*`?)|(?P<param>\$[A-Za-z_]\w*)"
    r"|(?P<number>\b\d+(?:\.\d+)?\b)|(?P<word>[A-Za-z_]\w*)|(?P<other>[\s\S])"
)
STYLES = {
    "comment": "class:comment", "string": "class:string", "ident": "class:name", "param": "class:param",
    "number": "class:number", "keyword": "class:keyword", "word": "", "other": "",
}  # fmt: skip


def tokens(text: str) -> list[tuple[str, str]]:
    """(style, text) pieces of `text`; keywords are the grammar's, except in a dotted name
    (`events.type` is a column, not the keyword TYPE)."""
    out: list[tuple[str, str]] = []
    known = keywords()
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        piece = m.group(0)
        if kind == "word" and piece.upper() in known:
            start, end = m.span()
            dotted = (start > 0 and text[start - 1] == ".") or text.startswith(".", end)
            kind = "word" if dotted else "keyword"
        out.append((STYLES.get(kind, ""), piece))
    return out


class LeadQLLexer(Lexer):
    """Colours the whole input at once, so a string or comment spanning lines stays coloured."""

    def lex_document(self, document: Document) -> Any:
        lines: list[list[tuple[str, str]]] = [[]]
        for style, piece in tokens(document.text):
            for i, part in enumerate(piece.split("\n")):
                if i:
                    lines.append([])
                if part:
                    lines[-1].append((style, part))

        def line(number: int) -> list[tuple[str, str]]:
            return lines[number] if 0 <= number < len(lines) else []

        return line


# ------------------------------------------------------------------------ completion


def catalog_names(ws: Any) -> dict[str, str]:
    """name → what it is, for everything the workspace holds. Never raises: a catalog table
    that is missing or busy just contributes nothing."""
    from leadql.catalog.migrations import SCHEMA

    names: dict[str, str] = {}

    def add(kind: str, values: Iterable[str]) -> None:
        for value in values:
            names.setdefault(value, kind)

    def rows(sql: str) -> list[str]:
        try:
            with ws._lock:
                return [r[0] for r in ws._con.execute(sql).fetchall()]
        except Exception:  # noqa: BLE001 - completion must never break the prompt
            return []

    add("source", rows(f"SELECT name FROM {SCHEMA}.objects WHERE kind = 'source'"))
    add("table", rows(f"SELECT name FROM {SCHEMA}.objects WHERE kind = 'table'"))
    add("list", rows(f"SELECT name FROM {SCHEMA}.lists"))
    add("model", rows(f"SELECT DISTINCT name FROM {SCHEMA}.models WHERE kind = 'model'"))
    add("pattern", rows(f"SELECT DISTINCT name FROM {SCHEMA}.models WHERE kind = 'pattern'"))
    add("template", rows(f"SELECT name FROM {SCHEMA}.objects WHERE kind = 'template'"))
    add("saved query", rows(f"SELECT name FROM {SCHEMA}.objects WHERE kind = 'query'"))
    add("category", rows(f"SELECT name FROM {SCHEMA}.objects WHERE kind = 'category'"))
    try:
        from leadql.catalog.store import builtin_categories
        from leadql.templates import standard_templates

        add("category", [c.name for c in builtin_categories().values()])
        add("template", [t.name for t in standard_templates().values()])
    except Exception:  # noqa: BLE001
        pass
    add("column", rows(
        "SELECT DISTINCT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main'"
    ))  # fmt: skip
    try:  # the source files' own columns (what MAP names)
        with ws._lock:
            defs = [d for kind in ("source", "table") for d in ws.catalog.data_defs(kind)]
        add("column", [c for d in defs for c in d.columns])
    except Exception:  # noqa: BLE001
        pass
    return names


class LeadQLCompleter(Completer):
    """Keywords and catalog names starting with the word under the cursor. Catalog names are
    read at most every `ttl` seconds (the catalog changes only when statements run)."""

    def __init__(self, ws: Any, ttl: float = 2.0) -> None:
        self.ws = ws
        self.ttl = ttl
        self._names: dict[str, str] = {}
        self._read_at = 0.0

    def invalidate(self) -> None:
        self._read_at = 0.0

    def names(self) -> dict[str, str]:
        if time.monotonic() - self._read_at > self.ttl:
            self._names = catalog_names(self.ws)
            self._read_at = time.monotonic()
        return self._names

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        word = document.get_word_before_cursor(pattern=re.compile(r"[A-Za-z_][\w]*"))
        if not word:
            return
        lower = word.lower()
        upper_case = word.isupper() or word[:1].isupper() and len(word) == 1
        seen: set[str] = set()
        for name, kind in sorted(self.names().items(), key=lambda item: item[0].lower()):
            if name.lower().startswith(lower) and name.lower() != lower and name.lower() not in seen:
                seen.add(name.lower())
                yield Completion(name, -len(word), display_meta=kind)
        for keyword in sorted(keywords()):
            if keyword.lower().startswith(lower) and keyword.lower() != lower and keyword.lower() not in seen:
                seen.add(keyword.lower())
                text = keyword if upper_case or not word.islower() else keyword.lower()
                yield Completion(text, -len(word), display_meta="keyword")
