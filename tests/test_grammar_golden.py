"""Golden tests: every statement form in tests/fixtures/grammar/*.lql parses to the tree stored
beside it in the .ast file. Regression cases are data: add a statement with a `-- title:` line,
run with LEADQL_UPDATE_GOLDEN=1, review the new snapshot, commit both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import leadql
from leadql.grammar import ast, validate
from leadql.grammar.ast import dump

from .conftest import FIXTURES, UPDATE_GOLDEN

GRAMMAR_FIXTURES = sorted((FIXTURES / "grammar").glob("*.lql"))


def cases(path: Path) -> list[tuple[str, str]]:
    """(title, statement text) for each `-- title:` block of a fixture file."""
    text = path.read_text(encoding="utf-8")
    blocks = re.split(r"(?m)^-- title: ", text)[1:]
    out = []
    for block in blocks:
        title, _, body = block.partition("\n")
        out.append((title.strip(), body))
    return out


def render_snapshot(path: Path) -> str:
    parts = []
    for title, body in cases(path):
        (statement,) = leadql.parse(body)
        parts.append(f"## {title}\n{dump(statement)}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("path", GRAMMAR_FIXTURES, ids=lambda p: p.stem)
def test_fixture_matches_snapshot(path: Path) -> None:
    snapshot = path.with_suffix(".ast")
    actual = render_snapshot(path)
    if UPDATE_GOLDEN or not snapshot.exists():
        snapshot.write_text(actual, encoding="utf-8")
    assert actual == snapshot.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", GRAMMAR_FIXTURES, ids=lambda p: p.stem)
def test_fixture_statements_pass_validation(path: Path) -> None:
    for _title, body in cases(path):
        (statement,) = leadql.parse(body)
        validate(statement)


def test_every_statement_type_has_a_golden_case() -> None:
    seen: set[type] = set()
    for path in GRAMMAR_FIXTURES:
        for _title, body in cases(path):
            seen.update(type(s) for s in leadql.parse(body))
    missing = [t.__name__ for t in ast.STATEMENT_TYPES if t not in seen]
    assert not missing, f"statement types without a golden case: {missing}"


def test_whole_fixture_files_parse_as_scripts() -> None:
    for path in GRAMMAR_FIXTURES:
        statements = leadql.parse(path.read_text(encoding="utf-8"))
        assert len(statements) == len(cases(path))


def test_statement_text_and_spans_point_into_the_source() -> None:
    text = "SHOW SOURCES;\n  FIND 10 leads WITH email BUDGET 5;"
    show, find = leadql.parse(text)
    assert show.text == "SHOW SOURCES"
    assert find.text == "FIND 10 leads WITH email BUDGET 5"
    assert (find.span.line, find.span.column) == (2, 3)
    email = find.clauses.attributes[0]
    assert text[email.span.start : email.span.end] == "email"


def test_spans_do_not_affect_equality() -> None:
    a = leadql.parse("FIND 10 leads WITH email BUDGET 5")
    b = leadql.parse("find   10\n leads with EMAIL budget 5 -- same thing")
    assert a[0].clauses.budget == b[0].clauses.budget
    assert a[0].count == b[0].count == 10
