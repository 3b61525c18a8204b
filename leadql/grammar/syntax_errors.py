"""Lark's parse failures → `LeadQLSyntaxError`s in words a user understands.

Lark reports the terminals it expected ({NUMBER, PARAM}); users want "expected a number after
BUDGET". This module names terminals, finds the word before the error, spots misspelled
keywords and a few common slips (trailing comma, unterminated string or comment).
"""

from __future__ import annotations

import re
from copy import copy

from lark import Lark, Token, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr
from lark.parsers.lalr_parser_state import ParserState

from leadql.errors import LeadQLSyntaxError, Span, nearest

# What a terminal is, in words; terminals not named here are keywords or punctuation.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "DQ_STRING": "a name",
    "BT_STRING": "a name",
    "NUMBER": "a number",
    "PARAM": "a $parameter",
    "SQ_STRING": "a quoted string",
    "DATETIME": "a date",
    "TIME_UNIT": "a time unit (DAYS, HOURS, ...)",
    "PRICE_UNIT": "a unit (RECORD or QUERY)",
    "SQL_QUERY": "SELECT",
    "_SEMI": "';'",
    "SEMICOLON": "';'",
    "$END": "the end of the statement",
}
_NAME_SHADOWING_KEYWORDS = {"CASE", "CAST", "NULL", "TRUE", "FALSE", "NOT"}
_STATEMENT_STARTS = {"FIND", "CREATE", "PREDICT", "SHOW"}
# Expression starters collapse into one phrase.
_EXPRESSION_STARTS = {"NAME", "NUMBER", "SQ_STRING", "LPAR", "MINUS", "CASE", "CAST", "NOT"}

_TOKEN = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*|\$\w+|\d[\d_.]*|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|"
    r"->|:=|::|\|\||<=|>=|!=|<>|==|\S"
)


def _terminal_phrase(name: str, parser: Lark) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if isinstance(pattern, PatternStr):
        value = pattern.value
        return value.upper() if value[:1].isalpha() else f"'{value}'"
    return name.lower()


def expected_phrases(expected: set[str], parser: Lark) -> list[str]:
    """The expected terminals as an ordered list of phrases: values, keywords, punctuation."""
    names = set(expected)
    if "NUMBER" in names or "SQ_STRING" in names:
        names.discard("PARAM")  # every value may also be a $parameter; no need to say so
    if _EXPRESSION_STARTS <= names:
        names -= _EXPRESSION_STARTS | {"PARAM", "DQ_STRING", "BT_STRING", "DATETIME", "PLUS"}
        names -= {"TRUE", "FALSE", "NULL"}
        phrases = {"an expression"}
    else:
        phrases = set()
    phrases |= {_terminal_phrase(n, parser) for n in names}

    def order(p: str) -> tuple[int, str]:
        if p.startswith(("a ", "an ")):
            return (0, p)
        if p.startswith("'"):
            return (2, p)
        if p == "the end of the statement":
            return (3, p)
        return (1, p)

    return sorted(phrases, key=order)


def _join_or(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    if len(phrases) > 7:
        return ", ".join(phrases[:7]) + ", …"
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _previous_token(text: str, pos: int) -> tuple[str, int] | None:
    """The token just before `pos` and its offset (comments are not skipped: a rough guide)."""
    window_start = max(0, pos - 400)
    hits = list(_TOKEN.finditer(text, window_start, pos))
    if not hits:
        return None
    last = hits[-1]
    return last.group(0), last.start()


def _describe_found(token_type: str, value: str) -> str:
    if token_type == "$END":
        return "the end of the text"
    if token_type in ("_SEMI", "SEMICOLON"):
        return "';'"
    if token_type == "NUMBER":
        return f"the number {value}"
    if token_type == "SQ_STRING":
        return "a string"
    shown = value if len(value) <= 30 else value[:27] + "..."
    return f"`{shown}`"


def acceptable(state: object) -> set[str] | None:
    """The terminals that really can come next in this parser state.

    LALR merges look-ahead sets of similar states, so the `expected` set Lark reports may hold
    terminals that only fit elsewhere; feeding each candidate to a copy of the state tells.
    """
    if not isinstance(state, ParserState):
        return None
    conf = copy(state.parse_conf)
    conf.callbacks = {}  # no tree building while probing
    found = set()
    for name in state.parse_conf.states[state.position]:
        if not name.isupper():
            continue
        probe = state.copy(deepcopy_values=False)
        probe.parse_conf = conf
        try:
            probe.feed_token(Token(name, ""), is_end=name == "$END")
        except UnexpectedToken:
            continue
        except Exception:  # a probe must never turn a syntax error into a crash
            continue
        found.add(name)
    return found


def translate(error: UnexpectedInput, text: str, parser: Lark) -> LeadQLSyntaxError:
    """One Lark error → one LeadQLSyntaxError with position, message and hint."""
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_characters(error, text, parser)
    expected = set(getattr(error, "expected", ()) or ())
    really = acceptable(getattr(error, "state", None))
    if really:
        expected = really
    if isinstance(error, UnexpectedEOF):
        return _unexpected(text, parser, expected, "$END", "", len(text), len(text))
    assert isinstance(error, UnexpectedToken)
    tok = error.token
    start = tok.start_pos if tok.start_pos is not None else len(text)
    end = tok.end_pos if tok.end_pos is not None else start
    if tok.type == "$END":
        start = end = len(text.rstrip())
    if text.startswith("/*", start):
        return LeadQLSyntaxError(
            "unterminated comment: /* here has no closing */",
            span=Span.at(text, start, start + 2),
            text=text,
        )
    return _unexpected(text, parser, expected, tok.type, str(tok), start, end)


def _unexpected(
    text: str,
    parser: Lark,
    expected: set[str],
    found_type: str,
    found: str,
    start: int,
    end: int,
) -> LeadQLSyntaxError:
    span = Span.at(text, start, end)
    prev = _previous_token(text, start)
    prev_text = prev[0] if prev else None
    phrases = expected_phrases(expected, parser)
    found_words = _describe_found(found_type, found)
    keywords = [p for p in phrases if p.isupper() and p.replace("_", "").isalpha()]

    if _STATEMENT_STARTS <= {p for p in phrases}:
        # The very first word is wrong.
        if found_type == "$END":
            return LeadQLSyntaxError("expected a statement", span=span, text=text)
        guess = nearest(found, keywords) if found_type == "NAME" else None
        hint = (
            f"did you mean {guess}?"
            if guess
            else "statements start with " + ", ".join(sorted(keywords)[:12]) + ", ..."
        )
        return LeadQLSyntaxError(f"{found_words} does not start a statement", span=span, text=text, hint=hint)

    after = f" after `{prev_text}`" if prev_text else ""
    hint: str | None = None
    if found[:1].isalpha() and keywords:
        guess = nearest(found, [k for k in keywords if k != found.upper()])
        if guess:
            hint = f"did you mean {guess}?"
    if found.upper() == "WHERE" and "FOR" in keywords:
        hint = "the entity filter comes after the entity: FOR EACH table.key WHERE ..."
    value_types = ("NAME", "NUMBER", "SQ_STRING", "DQ_STRING", "BT_STRING", "PARAM", "DATETIME")
    if prev_text == "," and found_type not in value_types:
        hint = "remove the trailing comma"
    # `WITH email, BUDGET 500` reads BUDGET as a name in the list; say so.
    if prev is not None and prev_text and prev_text[:1].isalpha():
        before = text[: prev[1]].rstrip()
        if before.endswith(",") and prev_text.upper() in _keywords(parser):
            hint = f"a trailing comma before {prev_text.upper()}? It was read as a name in the list"
    # A keyword where a name may stand: `first` in `MAP (first_name = first)`.
    if found_type not in value_types and found_type != "$END" and found[:1].isalpha():
        if "NAME" in expected:
            hint = hint or f'`{found}` is a keyword here; write "{found}" to use it as a name'

    # `MAP (a = case)`: an expression keyword swallowed a column's name.
    if prev_text and prev_text.upper() in _NAME_SHADOWING_KEYWORDS and not hint:
        hint = f'`{prev_text}` is a keyword; write "{prev_text}" to use it as a name'

    if found_type == "$END":
        message = f"the statement ends too early: expected {_join_or(phrases)}{after}"
    else:
        message = f"expected {_join_or(phrases)}{after}, found {found_words}"
    return LeadQLSyntaxError(message, span=span, text=text, hint=hint)


_KEYWORDS_CACHE: dict[int, frozenset[str]] = {}


def _keywords(parser: Lark) -> frozenset[str]:
    """Every keyword of the grammar, upper-case."""
    key = id(parser)
    if key not in _KEYWORDS_CACHE:
        words = set()
        for term in parser.terminals:
            if isinstance(term.pattern, PatternStr) and term.pattern.value[:1].isalpha():
                words.add(term.pattern.value.upper())
        _KEYWORDS_CACHE[key] = frozenset(words)
    return _KEYWORDS_CACHE[key]


def _unexpected_characters(
    error: UnexpectedCharacters, text: str, parser: Lark
) -> LeadQLSyntaxError:
    pos = error.pos_in_stream
    char = text[pos] if pos < len(text) else ""
    line_end = text.find("\n", pos)
    line_end = len(text) if line_end < 0 else line_end
    if char in ("'", '"', "`"):
        what = {"'": "string", '"': "quoted name", "`": "quoted name"}[char]
        return LeadQLSyntaxError(
            f"unterminated {what}: the {char} here is never closed",
            span=Span.at(text, pos, line_end),
            text=text,
            hint=f"close it with {char}" + (" (write '' for a quote inside)" if char == "'" else ""),
        )
    if text.startswith("/*", pos):
        return LeadQLSyntaxError(
            "unterminated comment: /* here has no closing */",
            span=Span.at(text, pos, pos + 2),
            text=text,
        )
    shown = char if char.isprintable() and not char.isspace() else repr(char)
    hint = None
    if char == "$":
        hint = "parameters are written $name, with a letter after $"
    elif char == "@" or char == "?":
        hint = "parameters are written $name"
    allowed = {a for a in (error.allowed or ()) if a != "$END"}
    phrases = expected_phrases(allowed, parser) if allowed and len(allowed) < 25 else []
    message = f"unexpected character {shown}"
    if phrases:
        message += f": expected {_join_or(phrases)}"
    return LeadQLSyntaxError(message, span=Span.at(text, pos, pos + 1), text=text, hint=hint)
