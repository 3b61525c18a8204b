"""Every PQL query collected from Kumo's public documentation and code parses; the ones Kumo
documents as invalid fail LeadQL's validation too (unless marked as a LeadQL extension)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

import leadql
from leadql.grammar import ast, validate

from .conftest import FIXTURES


@dataclass
class Example:
    title: str
    source: str
    query: str
    expect_error: str | None
    accepted_by_leadql: bool


def load_examples() -> list[Example]:
    text = (FIXTURES / "pql" / "kumo_examples.pql").read_text(encoding="utf-8")
    out = []
    for block in re.split(r"(?m)^(?=#: title:)", text):
        if not block.strip():
            continue
        meta = dict(re.findall(r"(?m)^#: (\w+): ?(.*)$", block))
        out.append(
            Example(
                title=meta["title"],
                source=meta.get("source", ""),
                query=block,  # the #: lines are PQL comments and stay in
                expect_error=meta.get("expect"),
                accepted_by_leadql="leadql" in meta,
            )
        )
    return out


EXAMPLES = load_examples()
VALID = [e for e in EXAMPLES if not e.expect_error or e.accepted_by_leadql]
INVALID = [e for e in EXAMPLES if e.expect_error and not e.accepted_by_leadql]


def test_the_collection_is_substantial() -> None:
    assert len(EXAMPLES) >= 100
    assert all(e.source for e in EXAMPLES)


@pytest.mark.parametrize("example", VALID, ids=lambda e: e.title[:60])
def test_valid_kumo_query_parses_and_validates(example: Example) -> None:
    statements = leadql.parse(example.query)
    assert len(statements) == 1
    statement = statements[0]
    if isinstance(statement, (ast.Explain, ast.EvaluatePredict)):  # Kumo RFM's prefixes
        statement = statement.statement
    assert isinstance(statement, ast.Predict)
    task = validate(statements[0])
    assert task is not None and task.task_type


@pytest.mark.parametrize("example", INVALID, ids=lambda e: e.title[:60])
def test_invalid_kumo_query_is_rejected_with_a_position(example: Example) -> None:
    with pytest.raises(leadql.LeadQLError) as caught:
        for statement in leadql.parse(example.query):
            validate(statement)
    error = caught.value
    assert error.message
    assert error.line is not None, error.render()
    assert "^" in error.render()


def test_every_aggregation_and_operator_is_covered() -> None:
    text = " ".join(e.query.upper() for e in VALID)
    for word in ast.AGGREGATIONS:
        assert re.search(rf"\b{word}\(", text), word
    for op in ("RANK TOP", "CLASSIFY", "FORECAST", "ASSUMING", "-INF", " IN (", "LIKE",
               "NOT LIKE", "CONTAINS", "STARTS WITH", "ENDS WITH", "IS NULL", "IS NOT NULL"):  # fmt: skip
        assert op in text, op
