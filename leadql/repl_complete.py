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
    """Every word the LeadQL grammar spells out ("find"i, "budget"i, …), upper-case."""
    from leadql.grammar.parser import lark_parser

    words = set()
    for terminal in lark_parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and re.fullmatch(r"[A-Za-z_]+", pattern.value):
            words.add(pattern.value.upper())
    # Words matched by regular-expression terminals (interval units) and the SQL a SELECT uses.
    words |= {"DAYS", "HOURS", "MINUTES", "WEEKS", "MONTHS", "YEARS", "DAY", "HOUR", "MONTH",
              "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "DISTINCT", "COUNT"}  # fmt: skip
    return frozenset(words)


# ------------------------------------------------------------------------ highlighting

_TOKEN = re.compile(
    r"(?P<comment>--.*$|/\*.*?(\*/|$))|(?P<string>'(?:[^']|'')*'?)|(?P<ident>\"(?:[^\"]|\"\")*\"?)"
    r"|(?P<param>\$[A-Za-z_]\w*)|(?P<number>\b\d+(?:\.\d+)?\b)|(?P<word>[A-Za-z_]\w*)|(?P<other>.)"
)
STYLES = {
    "comment": "class:comment", "string": "class:string", "ident": "class:name", "param": "class:param",
    "number": "class:number", "keyword": "class:keyword", "word": "", "other": "",
}  # fmt: skip


def tokens(line: str) -> list[tuple[str, str]]:
    """(style, text) pieces of one line; keywords are the grammar's."""
    out: list[tuple[str, str]] = []
    known = keywords()
    for m in _TOKEN.finditer(line):
        kind = m.lastgroup or "other"
        text = m.group(0)
        if kind == "word" and text.upper() in known:
            kind = "keyword"
        out.append((STYLES.get(kind, ""), text))
    return out


class LeadQLLexer(Lexer):
    def lex_document(self, document: Document) -> Any:
        lines = document.lines

        def line(number: int) -> list[tuple[str, str]]:
            return tokens(lines[number]) if number < len(lines) else []

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
