"""Docs are part of the feature: every statement, clause, keyword and CLI option is documented,
and every `sql` example in docs/ parses and passes validation."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

import leadql
from leadql.grammar import ast, validate

from .conftest import ROOT

DOCS = ROOT / "docs"


def sql_blocks() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"```sql\n(.*?)```", text, re.S):
            line = text.count("\n", 0, m.start()) + 2
            out.append((str(path.relative_to(ROOT)), line, m.group(1)))
    return out


BLOCKS = sql_blocks()


def documented_statements() -> list[ast.Statement]:
    statements = []
    for _path, _line, block in BLOCKS:
        statements.extend(leadql.parse(block))
    return statements


def test_docs_exist() -> None:
    assert (DOCS / "index.md").exists()
    assert len(list(DOCS.rglob("*.md"))) >= 8
    assert len(BLOCKS) >= 40


@pytest.mark.parametrize("path,line,block", BLOCKS, ids=[f"{p}:{n}" for p, n, _ in BLOCKS])
def test_every_sql_example_parses_and_validates(path: str, line: int, block: str) -> None:
    try:
        statements = leadql.parse(block)
        for statement in statements:
            validate(statement)
    except leadql.LeadQLError as e:
        pytest.fail(f"{path}:{line}: {e.render()}")
    assert statements, f"{path}:{line}: empty sql block"


def test_every_statement_type_is_documented() -> None:
    seen = {type(s) for s in documented_statements()}
    missing = [t.__name__ for t in ast.STATEMENT_TYPES if t not in seen]
    assert not missing, f"statements with no example in docs/: {missing}"


def _inner(statement: ast.Statement) -> ast.Statement:
    while isinstance(statement, (ast.Explain, ast.EvaluatePredict, ast.SaveQuery)):
        statement = statement.query if isinstance(statement, ast.SaveQuery) else statement.statement
    return statement


def test_every_find_clause_is_documented() -> None:
    used: set[str] = set()
    for statement in documented_statements():
        inner = _inner(statement)
        clauses = inner.clauses if isinstance(inner, ast.Find) else getattr(inner, "body", None)
        if isinstance(clauses, ast.FindClauses):
            used |= {f.name for f in fields(clauses) if getattr(clauses, f.name) not in (None, (), False)}
    expected = {f.name for f in fields(ast.FindClauses)} - {"span"}
    assert expected <= used, f"FIND clauses without an example: {sorted(expected - used)}"


def test_every_predict_option_and_show_form_is_documented() -> None:
    predict_used: set[str] = set()
    shows: set[str] = set()
    for statement in documented_statements():
        inner = _inner(statement)
        if isinstance(inner, ast.Predict):
            predict_used |= {f.name for f in fields(inner) if getattr(inner, f.name) not in (None, (), False)}
        if isinstance(inner, ast.Show):
            shows.add(inner.what)
    predict_expected = {f.name for f in fields(ast.Predict)} - {"span", "text"}
    assert predict_expected <= predict_used, sorted(predict_expected - predict_used)
    show_expected = {"SOURCES", "TABLES", "LISTS", "MODELS", "PATTERNS", "TEMPLATES", "CATEGORIES",
                     "QUERIES", "SCHEDULES", "RUNS", "MODEL HISTORY", "PATTERN HISTORY"}  # fmt: skip
    assert show_expected <= shows, sorted(show_expected - shows)


def test_every_keyword_of_the_grammar_is_in_the_docs() -> None:
    grammar = (ROOT / "leadql" / "grammar" / "leadql.lark").read_text(encoding="utf-8")
    keywords = {k.upper() for k in re.findall(r'"([a-z_]+)"i', grammar)}
    text = " ".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")).upper()
    missing = sorted(k for k in keywords if not re.search(rf"\b{k}\b", text))
    assert not missing, f"keywords never mentioned in docs/: {missing}"


def test_every_cli_option_and_command_is_in_the_docs() -> None:
    from leadql.cli import build_parser

    cli_doc = (DOCS / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    options = {o for action in parser._actions for o in action.option_strings if o.startswith("--")}
    commands = set()
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            commands |= set(action.choices)
            for sub in action.choices.values():
                options |= {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
    options -= {"--help"}
    missing = sorted(o for o in options | commands if o not in cli_doc)
    assert not missing, f"not in docs/cli.md: {missing}"


def rule_rows() -> list[tuple[str, str]]:
    """(wrong statement, documented message) of each row of the PREDICT rules tables."""
    text = (DOCS / "language" / "predict.md").read_text(encoding="utf-8")
    section = text.split("## Rules checked before running", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and cells[1].startswith("`PREDICT"):
            wrong, message = (re.fullmatch(r"`+ ?(.*?) ?`+", c).group(1) for c in cells[1:])
            rows.append((wrong, message))
    return rows


RULES = rule_rows()


def test_the_rules_tables_are_read() -> None:
    assert len(RULES) >= 45


@pytest.mark.parametrize("wrong,message", RULES, ids=[w[:60] for w, _ in RULES])
def test_every_documented_predict_rule_gives_its_message(wrong: str, message: str) -> None:
    with pytest.raises(leadql.LeadQLError) as caught:
        for statement in leadql.parse(wrong):
            validate(statement)
    assert message in caught.value.message, caught.value.render()
