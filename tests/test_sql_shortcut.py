"""Plain SQL is recognised without loading the LALR parser; both paths must agree exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leadql.grammar.parser import _plain_sql, parse, parse_with_grammar

PIECES = [
    "SELECT", "select", "WITH", "FROM", "VALUES", " ", "\n", "1", "a", "'x'", "'a;b'", "''",
    '"col"', '"c;d"', "-- c;\n", "/* ; */", "-", "/", "*", ";", ",", "(", ")", "$p", "#",
    "FIND", "SHOW SOURCES", "'", "/*",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14))
def test_shortcut_agrees_with_the_grammar(pieces: list[str]) -> None:
    text = "".join(pieces)
    fast = _plain_sql(text)
    if fast is None:
        return
    slow = parse_with_grammar(text)
    assert [(s.sql, s.span) for s in fast] == [(s.sql, s.span) for s in slow]


def test_shortcut_cases() -> None:
    text = "-- report\nSELECT 1 AS a;  WITH t AS (SELECT ';' x) SELECT * FROM t ;\nFROM t"
    fast = _plain_sql(text)
    assert fast is not None and len(fast) == 3
    assert [(s.sql, s.span) for s in fast] == [(s.sql, s.span) for s in parse_with_grammar(text)]
    assert _plain_sql("SELECT 1; SHOW SOURCES") is None
    assert len(parse("SELECT 1; SHOW SOURCES")) == 2
