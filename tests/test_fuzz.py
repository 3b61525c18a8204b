"""No input, however malformed, produces anything but a statement list or a LeadQLError, and
parsing stays fast on long and deeply nested input."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadql
from leadql.grammar import validate

from .conftest import FIXTURES, ROOT


def _seed_statements() -> list[str]:
    texts = []
    for path in sorted((FIXTURES / "grammar").glob("*.lql")) + sorted((ROOT / "examples").glob("*.lql")):
        texts.extend(s.text for s in leadql.parse(path.read_text(encoding="utf-8")))
    kumo = (FIXTURES / "pql" / "kumo_examples.pql").read_text(encoding="utf-8")
    texts.extend(b for b in re.split(r"(?m)^(?=#: title:)", kumo) if b.strip())
    return texts


SEEDS = _seed_statements()
JUNK = [
    "'", '"', "`", "(", ")", ",", ";", "--", "/*", "*/", "#", "$", "$x", "::", "->", ":=", "||",
    "\x00", "\n", "\t", "é", "😀", "\u202e", "\ufeff", "FIND", "WHERE", "AND", "OR", "NOT",
    "BUDGET", "PREDICT", "FOR EACH", "COUNT(", "-INF", "1e999", "9" * 40, "2022-01-01",
    "SELECT", "CASE", "END", "IN (", ")", "'''", '""', "\\", "%", "..", "*",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate", "swap", "junk"]))
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 20)))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.text(max_size=8)) + text[i:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "truncate":
            text = text[:i]
        elif kind == "swap":
            words = text.split(" ")
            if len(words) > 1:
                a = draw(st.integers(0, len(words) - 1))
                b = draw(st.integers(0, len(words) - 1))
                words[a], words[b] = words[b], words[a]
                text = " ".join(words)
        else:
            text = text[:i] + draw(st.sampled_from(JUNK)) + text[i:]
    return text


def parse_and_validate(text: str | bytes) -> None:
    for statement in leadql.parse(text):
        validate(statement)


def assert_only_leadql_errors(text: str | bytes) -> None:
    started = time.perf_counter()
    try:
        parse_and_validate(text)
    except leadql.LeadQLError as e:
        e.render()  # rendering must not fail either
        str(e)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"took {elapsed:.2f}s on {text!r:.200}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_statements_give_results_or_leadql_errors(text: str) -> None:
    assert_only_leadql_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    assert_only_leadql_errors(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    assert_only_leadql_errors(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \n\t ",
        "-- only a comment",
        ";;;",
        "FIND 10 leads WHERE " + "(" * 5000 + "a = 1" + ")" * 5000 + " BUDGET 5",
        "FIND 10 leads WHERE " + "NOT " * 5000 + "a = 1 BUDGET 5",
        "FIND 10 leads WHERE " + "-" * 5000 + "1 > 0 BUDGET 5",
        "FIND 10 leads WHERE a = '" + "x" * 200_000,
        "FIND 10 leads /*" + " " * 200_000,
        "\x00FIND",
        "FIND 10 leads WITH email BUDGET 5\x00",
        b"\xff\xfe\x00F",
        "PREDICT " + "COUNT(" * 3000,
        "SELECT '" + "a" * 100_000,
    ],
    ids=lambda t: repr(t[:30]),
)
def test_hostile_inputs(text: str | bytes) -> None:
    assert_only_leadql_errors(text)


def test_non_text_is_a_leadql_error() -> None:
    for value in (None, 42, ["FIND"], object()):
        with pytest.raises(leadql.LeadQLSyntaxError):
            leadql.parse(value)  # type: ignore[arg-type]


def test_long_inputs_parse_in_linear_time() -> None:
    chain = " AND ".join(f"c{i} = {i}" for i in range(5_000))
    started = time.perf_counter()
    (statement,) = leadql.parse(f"FIND 10 leads WHERE {chain} BUDGET 5")
    assert len(statement.clauses.where.items) == 5_000  # flat, not 5,000 levels deep
    many = "SHOW SOURCES;\n" * 20_000
    assert len(leadql.parse(many)) == 20_000
    in_list = "FIND 1 leads WHERE zip IN (" + ", ".join(f"'{i:05d}'" for i in range(20_000)) + ") BUDGET 1"
    leadql.parse(in_list)
    assert time.perf_counter() - started < 15


def test_deep_nesting_is_refused_with_a_clear_message() -> None:
    # Redundant parentheses add no depth; real nesting beyond the limit is refused.
    leadql.parse("FIND 10 leads WHERE " + "(" * 500 + "a = 1" + ")" * 500 + " BUDGET 5")
    with pytest.raises(leadql.LeadQLSyntaxError) as caught:
        leadql.parse("FIND 10 leads WHERE " + "NOT (" * 500 + "a = 1" + ")" * 500 + " BUDGET 5")
    assert "nested more than" in caught.value.message
    assert caught.value.line == 1
