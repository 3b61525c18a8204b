"""FIND templates: the shipped library, CREATE / SHOW / DESCRIBE / DROP TEMPLATE, and
FIND … USING TEMPLATE expanded, merged, planned and run on generated data."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal

import pytest

import leadql
from leadql.context import Context
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLTypeError,
)
from leadql.grammar import ast
from leadql.planner.binding import bind_find
from leadql.resources import stdlib_path
from leadql.sample import generate
from leadql.templates import merge, render, standard_templates

from .conftest import ROOT

PEOPLE = 2_000
SEED = 7


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates_sample")
    data = generate(folder / "data", people=PEOPLE, seed=SEED)
    base = folder / "base.leadql"
    with leadql.connect(base) as ws:
        ws.execute(data.catalog_script())
        ws.execute("ANALYZE")
    return data, base


@pytest.fixture
def ws(sample, tmp_path):
    _, base = sample
    path = tmp_path / "ws.leadql"
    shutil.copy(base, path)
    with leadql.connect(path) as workspace:
        yield workspace


def _bind(ws, text, params=None):
    statement = leadql.parse(text)[0]
    find = statement.statement if isinstance(statement, ast.Explain) else statement
    return bind_find(Context(ws, dict(params or {}), text), find)


def _error(ws, text, cls=LeadQLError, params=None):
    with pytest.raises(cls) as info:
        ws.execute(text, params)
    error = info.value
    assert error.render()  # renders without failing
    return error


def _pointed(error):
    """The text the error's span underlines."""
    assert error.span is not None and error.text is not None
    return error.text[error.span.start : error.span.end]


USER_TEMPLATE = """
-- West coast lenders: good credit in a few states.
-- Parameters:
--   min_fico (NUMBER, default 690): the lowest FICO score
--   states (LIST, default ('CA', 'WA')): the states to buy in
CREATE TEMPLATE west_lending(min_fico NUMBER := 690, states LIST := ('CA', 'WA'))
  AS WITH first_name, email, fico WHERE fico >= $min_fico AND state IN $states QUALITY >= 0.8
"""


# ------------------------------------------------------------------------ the shipped library


def test_every_shipped_template_is_documented_and_named_after_its_file():
    files = sorted(p.stem for p in (stdlib_path() / "templates").glob("*.lql"))
    shipped = standard_templates()
    assert sorted(shipped) == files
    assert {"consumer_lending", "b2b_saas", "insurance", "home_services", "retail"} <= set(files)
    assert len(files) >= 6
    for template in shipped.values():
        assert template.standard and template.description
        assert template.origin == f"stdlib/templates/{template.name}.lql"
        for p in template.params:
            assert template.doc(p.name.value), (
                f"{template.name}: parameter {p.name.value} is not described"
            )
            assert p.type is not None and p.default is not None


def test_every_shipped_template_expands_with_its_defaults_and_plans(ws):
    categories = {c.lower() for c in ws.catalog.categories()}
    for name, template in standard_templates().items():
        text = f"FIND 20 leads USING TEMPLATE {name}() BUDGET 30 ESTIMATE"
        bound = _bind(ws, text)
        body = template.statement.body
        assert bound.statement.clauses.template is None
        assert bound.attributes == tuple(a.value for a in body.attributes)
        assert set(bound.attributes) <= categories
        sql = " AND ".join(p.sql for p in bound.predicates)
        assert "$" not in sql
        # every default landed in the predicates
        for p in template.params:
            value = p.default
            if isinstance(value, ast.Literal):
                assert str(value.value) in sql, (name, p.name.value, sql)
            elif isinstance(value, tuple):
                assert all(f"'{v.value}'" in sql for v in value), (name, p.name.value, sql)
            elif isinstance(value, ast.Interval):
                assert bound.fresher_than_days == float(value.amount)
        result = ws.execute(text)
        assert result.message.startswith("estimate:"), (name, result.message)


# ------------------------------------------------------------------------ USING TEMPLATE


def test_arguments_are_substituted_into_the_bound_predicates_and_explain(ws):
    text = "FIND 100 leads USING TEMPLATE consumer_lending(min_fico := 700) BUDGET 50 ESTIMATE"
    bound = _bind(ws, text)
    sqls = [p.sql for p in bound.predicates]
    assert any(re.search(r'"fico" >= 700\b', s) for s in sqls), sqls
    assert any(re.search(r'"income" >= 40000\b', s) for s in sqls), sqls  # the default
    assert not any("680" in s for s in sqls)
    assert bound.quality == 0.85 and bound.fresher_than_days == 180
    assert bound.statement.template == "consumer_lending"
    assert bound.statement.text == text  # the user's statement, as written
    explain = "\n".join(r[0] for r in ws.execute("EXPLAIN " + text).rows)
    assert re.search(r'fico"? >= 700', explain)
    assert "USING TEMPLATE consumer_lending(min_fico := 700)" in explain
    quote = ws.execute(text)
    assert quote.message.startswith("estimate:") and quote.cost is None or quote.cost == 0


def test_find_with_a_template_delivers_rows_satisfying_its_where(ws):
    result = ws.execute(
        "FIND 40 leads USING TEMPLATE consumer_lending(min_fico := 700, min_income := 50000) "
        "WHERE state IN ('CA', 'NY', 'TX', 'FL', 'WA') BUDGET 80 QUALITY >= 0.8"
    )
    assert len(result) > 0
    table = result.to_arrow()
    assert result.columns[:8] == [
        "lead_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "fico",
        "income",
        "state",
    ]
    assert "age" in result.columns  # a WHERE category: every row has it
    for fico, income, age, state, quality in zip(
        *(table.column(c).to_pylist() for c in ("fico", "income", "age", "state", "quality")),
        strict=True,
    ):
        assert fico >= 700 and income >= 50000 and 21 <= age <= 75
        assert state in {"CA", "NY", "TX", "FL", "WA"}
        assert quality >= 0.8  # the FIND's QUALITY overrode the template's 0.85
    assert result.cost <= 80


def test_find_parameters_still_work_with_a_template(ws):
    text = ("FIND 30 leads USING TEMPLATE west_lending(min_fico := $floor, states := $states) "
            "WHERE income >= $income BUDGET $budget ESTIMATE")  # fmt: skip
    ws.execute(USER_TEMPLATE)
    params = {"floor": 720, "states": ["CA", "NY"], "income": 60000, "budget": 40}
    bound = _bind(ws, text, params)
    values = [v for p in bound.predicates for v in p.values.values()]
    assert 720 in values and 60000 in values and "CA" in values and "NY" in values
    assert bound.budget == 40
    assert ws.execute(text, params).message.startswith("estimate:")
    error = _error(ws, text, LeadQLTypeError, {**params, "floor": "high"})
    assert "NUMBER parameter needs a number, not text" in error.message
    assert _pointed(error) == "min_fico := $floor"


def test_merge_rules():
    template = leadql.parse(
        "CREATE TEMPLATE t() AS WITH email, fico WHERE fico >= 700 FROM SOURCES a EXCLUDE LIST old "
        "BUDGET 10 QUALITY >= 0.9 FRESHER THAN 30 DAYS OPTIMIZE FOR QUALITY INTO LIST tl"
    )[0].body
    own = leadql.parse(
        "FIND 5 leads WITH fico, phone WHERE state = 'CA' OR state = 'NY' FROM SOURCES b, a "
        "EXCLUDE TABLE dnc, LIST old BUDGET 20 QUALITY >= 0.9 OPTIMIZE FOR COUNT"
    )[0].clauses
    merged, notes = merge(template, own, "t")
    assert [a.value for a in merged.attributes] == ["email", "fico", "phone"]
    assert isinstance(merged.where, ast.BoolOp) and merged.where.op == "AND"
    assert len(merged.where.items) == 2 and isinstance(merged.where.items[1], ast.BoolOp)
    assert [s.value for s in merged.sources] == ["a", "b"]
    assert [(e.kind, e.name.value) for e in merged.exclude] == [("LIST", "old"), ("TABLE", "dnc")]
    assert str(merged.budget.amount) == "20" and merged.optimize == "COUNT"
    assert str(merged.quality) == "0.9" and merged.fresher_than.amount == 30
    assert merged.into_list.value == "tl" and merged.template is None
    assert notes == [
        "USING TEMPLATE t: the FIND's BUDGET 20 overrides the template's BUDGET 10",
        "USING TEMPLATE t: the FIND's OPTIMIZE FOR COUNT overrides the template's OPTIMIZE FOR QUALITY",
    ]  # the same QUALITY is not an override


def test_the_expanded_statement_records_what_the_find_overrode(ws):
    bound = _bind(ws, "FIND 10 leads USING TEMPLATE consumer_lending() BUDGET 5 QUALITY >= 0.7 "
                      "FRESHER THAN 1 YEAR ESTIMATE")  # fmt: skip
    assert bound.quality == 0.7 and bound.fresher_than_days == 365.25
    assert bound.statement.notes == (
        "USING TEMPLATE consumer_lending: the FIND's QUALITY >= 0.7 overrides the template's QUALITY >= 0.85",
        "USING TEMPLATE consumer_lending: the FIND's FRESHER THAN 1 YEAR overrides the template's "
        "FRESHER THAN 180 DAYS",
    )


def test_interval_and_list_arguments(ws):
    bound = _bind(
        ws,
        "FIND 10 leads USING TEMPLATE insurance(recency := 6 WEEKS, min_hhi := 70000) BUDGET 5 ESTIMATE",
    )
    assert bound.fresher_than_days == 42
    assert any('"hhi" >= 70000' in p.sql for p in bound.predicates)
    bound = _bind(
        ws,
        "FIND 10 leads USING TEMPLATE home_services(states := ('California', 'WA')) BUDGET 5 ESTIMATE",
    )
    [states] = [p for p in bound.predicates if "state" in p.categories]
    assert sorted(v for v in states.values.values()) == ["CA", "WA"]  # normalised like any constant


# ------------------------------------------------------------------------ user templates


def test_user_template_round_trip(ws):
    created = ws.execute(USER_TEMPLATE)
    assert (
        created.message
        == "created template west_lending(min_fico NUMBER := 690, states LIST := ('CA', 'WA'))"
    )
    shown = {r[0]: r for r in ws.execute("SHOW TEMPLATES").rows}
    assert ws.execute("SHOW TEMPLATES").columns == [
        "name",
        "parameters",
        "standard",
        "description",
        "note",
    ]
    assert shown["west_lending"][1:4] == ("min_fico NUMBER := 690, states LIST := ('CA', 'WA')", "no",
                                          "West coast lenders: good credit in a few states.")  # fmt: skip
    assert shown["consumer_lending"][2] == "yes"
    described = ws.execute("DESCRIBE TEMPLATE west_lending")
    assert described.columns == ["kind", "name", "type", "default", "description"]
    rows = described.rows
    assert rows[0] == (
        "template",
        "west_lending",
        None,
        None,
        "West coast lenders: good credit in a few states.",
    )
    assert rows[1] == ("parameter", "min_fico", "NUMBER", "690", "the lowest FICO score")
    assert rows[2] == ("parameter", "states", "LIST", "('CA', 'WA')", "the states to buy in")
    assert rows[3][0] == "body" and rows[3][4].startswith(
        "WITH first_name, email, fico WHERE fico >= $min_fico"
    )

    bound = _bind(
        ws, "FIND 10 leads USING TEMPLATE WEST_LENDING(STATES := ('NY')) BUDGET 5 ESTIMATE"
    )
    assert any('"fico" >= 690' in p.sql for p in bound.predicates)
    [states] = [p for p in bound.predicates if "state" in p.categories]
    assert list(states.values.values()) == ["NY"]

    error = _error(ws, USER_TEMPLATE, LeadQLNameError)
    assert error.message == "template `west_lending` already exists"
    assert "CREATE OR REPLACE TEMPLATE" in error.hint
    replaced = ws.execute("CREATE OR REPLACE TEMPLATE west_lending(min_fico NUMBER := 710) AS WITH email "
                          "WHERE fico >= $min_fico")  # fmt: skip
    assert replaced.message.startswith("replaced template west_lending")
    bound = _bind(ws, "FIND 10 leads USING TEMPLATE west_lending() BUDGET 5 ESTIMATE")
    assert [p.sql for p in bound.predicates] == ['("fico" >= 710)']

    assert ws.execute("DROP TEMPLATE west_lending").message == "dropped template west_lending"
    assert "west_lending" not in {r[0] for r in ws.execute("SHOW TEMPLATES").rows}
    assert (
        ws.execute("DROP TEMPLATE IF EXISTS west_lending").message
        == "no template west_lending; nothing dropped"
    )
    error = _error(ws, "DROP TEMPLATE west_lending", LeadQLNameError)
    assert error.message == "no template named `west_lending`"


def test_templates_persist_in_the_workspace_file(ws, tmp_path):
    ws.execute(USER_TEMPLATE)
    path = ws.path if hasattr(ws, "path") else None
    ws.close()
    with leadql.connect(path or tmp_path / "ws.leadql") as again:
        assert "west_lending" in {r[0] for r in again.execute("SHOW TEMPLATES").rows}
        bound = _bind(
            again, "FIND 5 leads USING TEMPLATE west_lending(min_fico := 750) BUDGET 5 ESTIMATE"
        )
        assert any('"fico" >= 750' in p.sql for p in bound.predicates)


def test_a_user_template_shadows_a_standard_one_only_with_or_replace(ws):
    error = _error(ws, "CREATE TEMPLATE retail() AS WITH email", LeadQLNameError)
    assert error.message == "`retail` is a standard template" and "OR REPLACE" in error.hint
    result = ws.execute(
        "CREATE OR REPLACE TEMPLATE retail(min_age NUMBER := 30) AS WITH email WHERE age >= $min_age"
    )
    assert "replaces the standard template retail" in result.message
    row = next(r for r in ws.execute("SHOW TEMPLATES").rows if r[0] == "retail")
    assert row[2] == "no" and row[4] == "replaces the standard template of this name"
    bound = _bind(ws, "FIND 5 leads USING TEMPLATE retail() BUDGET 5 ESTIMATE")
    assert bound.attributes == ("email",) and [p.sql for p in bound.predicates] == ['("age" >= 30)']
    dropped = ws.execute("DROP TEMPLATE retail")
    assert dropped.message == "dropped template retail; the standard template retail applies again"
    row = next(r for r in ws.execute("SHOW TEMPLATES").rows if r[0] == "retail")
    assert row[2] == "yes"
    error = _error(ws, "DROP TEMPLATE retail", LeadQLSemanticError)
    assert error.message == "`retail` is a standard template and cannot be dropped"
    assert _pointed(error) == "retail"
    error = _error(ws, "DROP TEMPLATE IF EXISTS retail", LeadQLSemanticError)


def test_unused_parameter_is_a_warning(ws):
    result = ws.execute("CREATE TEMPLATE t1(a NUMBER := 1, b := 2) AS WITH email WHERE fico >= $a")
    assert result.warnings == ["parameter `b` of template `t1` is not used in its body"]


# ------------------------------------------------------------------------ bad input


def test_unknown_template(ws):
    error = _error(
        ws,
        "FIND 10 leads USING TEMPLATE consumer_lendin(min_fico := 700) BUDGET 5",
        LeadQLNameError,
    )
    assert error.message == "no template named `consumer_lendin`"
    assert error.hint == "did you mean `consumer_lending`?"
    assert _pointed(error) == "consumer_lendin"


def test_unknown_argument(ws):
    error = _error(
        ws,
        "FIND 10 leads USING TEMPLATE consumer_lending(min_fic := 700) BUDGET 5",
        LeadQLNameError,
    )
    assert error.message == "template `consumer_lending` has no parameter `min_fic`"
    assert error.hint == "did you mean `min_fico`?"
    assert _pointed(error) == "min_fic"


def test_missing_argument_names_the_parameter_and_signature(ws):
    ws.execute("CREATE TEMPLATE needs(floor NUMBER, states LIST := ('CA')) AS WITH email WHERE fico >= $floor "
               "AND state IN $states")  # fmt: skip
    error = _error(
        ws, "FIND 10 leads USING TEMPLATE needs(states := ('NY')) BUDGET 5", LeadQLSemanticError
    )
    assert error.message == "template `needs` needs a value for `floor`"
    assert "needs(floor NUMBER, states LIST := ('CA'))" in error.hint
    assert _pointed(error) == "USING TEMPLATE needs(states := ('NY'))"


@pytest.mark.parametrize("arg,problem", [
    ("min_fico := 'high'", "NUMBER parameter needs a number, not text"),
    ("min_fico := (700, 720)", "NUMBER parameter needs a number, not a list"),
    ("min_fico := 30 DAYS", "NUMBER parameter needs a number, not an interval"),
    ("min_fico := TRUE", "NUMBER parameter needs a number, not a boolean"),
    ("min_fico := NULL", "NUMBER parameter needs a number, not NULL"),
])  # fmt: skip
def test_argument_of_the_wrong_type(ws, arg, problem):
    error = _error(
        ws, f"FIND 10 leads USING TEMPLATE consumer_lending({arg}) BUDGET 5", LeadQLTypeError
    )
    assert error.message == f"argument `min_fico` of template `consumer_lending`: {problem}"
    assert _pointed(error) == arg


def test_wrong_types_for_list_and_interval_parameters(ws):
    error = _error(
        ws, "FIND 1 leads USING TEMPLATE home_services(states := 'CA') BUDGET 5", LeadQLTypeError
    )
    assert "LIST parameter needs a list, not text" in error.message
    error = _error(
        ws, "FIND 1 leads USING TEMPLATE insurance(recency := 30) BUDGET 5", LeadQLTypeError
    )
    assert "INTERVAL parameter needs an interval, not a number" in error.message


def test_untyped_parameter_used_where_its_value_does_not_fit(ws):
    ws.execute("CREATE TEMPLATE loose(x) AS WITH email WHERE fico >= $x")
    error = _error(
        ws, "FIND 1 leads USING TEMPLATE loose(x := ('a', 'b')) BUDGET 5", LeadQLTypeError
    )
    assert error.message == "template `loose`: `x` is a list, which only fits after IN"
    assert _pointed(error) == "x := ('a', 'b')"
    error = _error(ws, "FIND 1 leads USING TEMPLATE loose(x := 'high') BUDGET 5", LeadQLTypeError)
    assert error.message.startswith("in template `loose`: `fico` is a number and 'high' is text")
    assert _pointed(error) == "'high'"


def test_errors_inside_a_template_name_it_and_point_at_using(ws):
    ws.execute("CREATE TEMPLATE vendor_bound() AS WITH email FROM SOURCES acme_credit")
    ws.execute("CREATE TEMPLATE strict(q := 0.9) AS WITH email QUALITY >= $q")
    ws.execute("DROP SOURCE acme_credit")
    text = "FIND 10 leads\n  USING TEMPLATE vendor_bound() BUDGET 5"
    error = _error(ws, text, LeadQLNameError)
    assert error.message == "in template `vendor_bound`: no source named `acme_credit`"
    assert _pointed(error) == "USING TEMPLATE vendor_bound()" and error.line == 2
    error = _error(ws, "FIND 1 leads USING TEMPLATE strict(q := 2) BUDGET 5", LeadQLTypeError)
    assert error.message == "in template `strict`: QUALITY must be between 0 and 1, not 2"
    assert _pointed(error) == "USING TEMPLATE strict(q := 2)"


def test_create_template_body_errors(ws):
    error = _error(
        ws,
        "CREATE TEMPLATE t(min_fico NUMBER) AS WITH email WHERE fico >= $min_fic",
        LeadQLNameError,
    )
    assert error.message == "`$min_fic` is not a parameter of template `t`"
    assert error.hint == "did you mean `min_fico`?" and _pointed(error) == "$min_fic"
    error = _error(ws, "CREATE TEMPLATE t() AS WITH emial", LeadQLNameError)
    assert error.message == "unknown category `emial`" and error.hint == "did you mean `email`?"
    error = _error(ws, "CREATE TEMPLATE t() AS WITH email WHERE fcio >= 1", LeadQLNameError)
    assert error.message == "unknown category `fcio`" and _pointed(error) == "fcio"
    error = _error(ws, "CREATE TEMPLATE t(s LIST) AS WITH email WHERE state = $s", LeadQLTypeError)
    assert error.message.startswith("`$s` is a LIST parameter") and _pointed(error) == "$s"
    error = _error(ws, "CREATE TEMPLATE t(b TEXT) AS WITH email BUDGET $b", LeadQLTypeError)
    assert _pointed(error) == "$b"
    error = _error(
        ws, "CREATE TEMPLATE t(n NUMBR := 1) AS WITH email WHERE fico >= $n", LeadQLTypeError
    )
    assert (
        error.message == "unknown parameter type `NUMBR`" and error.hint == "did you mean `NUMBER`?"
    )
    error = _error(
        ws, "CREATE TEMPLATE t(n NUMBER := 'x') AS WITH email WHERE fico >= $n", LeadQLTypeError
    )
    assert (
        error.message
        == "the default of `n` does not fit: NUMBER parameter needs a number, not text"
    )
    assert _pointed(error) == "'x'"
    error = _error(
        ws, "CREATE TEMPLATE t(n := 'x') AS WITH email WHERE fico >= $n", LeadQLTypeError
    )
    assert _pointed(error) == "'x'"  # defaults are tried against the categories
    with pytest.raises(leadql.LeadQLSyntaxError, match="cannot use another template"):
        ws.execute("CREATE TEMPLATE t() AS WITH email USING TEMPLATE retail()")
    assert "t" not in {r[0] for r in ws.execute("SHOW TEMPLATES").rows}  # nothing stored


def test_describe_unknown_template(ws):
    error = _error(ws, "DESCRIBE TEMPLATE insurence", LeadQLNameError)
    assert error.hint == "did you mean `insurance`?"


def test_read_only_workspace_refuses_create_and_drop(ws, sample):
    ws.execute(USER_TEMPLATE)
    path = ws.path if hasattr(ws, "path") else None
    ws.close()
    assert path is not None
    with leadql.connect(path, read_only=True) as ro:
        for text in (
            USER_TEMPLATE.replace("CREATE", "CREATE OR REPLACE"),
            "DROP TEMPLATE west_lending",
        ):
            error = _error(ro, text, LeadQLExecutionError)
            assert "read-only" in error.message
        # reading and quoting still work
        assert "west_lending" in {r[0] for r in ro.execute("SHOW TEMPLATES").rows}
        assert ro.execute("DESCRIBE TEMPLATE west_lending").rows[1][1] == "min_fico"
        assert ro.execute(
            "FIND 5 leads USING TEMPLATE west_lending() BUDGET 5 ESTIMATE"
        ).message.startswith("estimate")


def test_docs_describe_every_shipped_template():
    docs = (ROOT / "docs" / "language" / "templates.md").read_text(encoding="utf-8")
    for name, template in standard_templates().items():
        section = docs.split(f"\n### {name}\n", 1)
        assert len(section) == 2, f"docs/language/templates.md has no section for {name}"
        body = section[1].split("\n### ", 1)[0]
        assert f"USING TEMPLATE {name}(" in body
        for p in template.params:
            assert (
                f"| `{p.name.value}` | {p.type.name.upper()} | `{render(p.default)}` |" in body
            ), (name, p.name.value)


def test_documented_error_excerpt_is_what_users_see(ws):
    text = "FIND 10 leads USING TEMPLATE consumer_lending(min_fic := 700) BUDGET 5"
    rendered = _error(ws, text, LeadQLNameError).render()
    docs = (ROOT / "docs" / "language" / "templates.md").read_text(encoding="utf-8")
    assert rendered in docs


def test_the_budget_may_come_from_the_template(ws):
    ws.execute("CREATE TEMPLATE budgeted() AS WITH email BUDGET 3")
    result = ws.execute("FIND 5 leads USING TEMPLATE budgeted()")
    assert result.cost <= 3 and ws.execute("SELECT budget FROM _leadql.runs").rows == [(Decimal("3.000000"),)]
    assert "estimate: about 5 of 5 leads" in ws.execute("FIND 5 leads USING TEMPLATE budgeted() BUDGET 2 ESTIMATE").message
    ws.execute("CREATE TEMPLATE unbudgeted() AS WITH email")
    with pytest.raises(LeadQLError, match="needs a BUDGET") as caught:
        ws.execute("FIND 5 leads USING TEMPLATE unbudgeted()")
    assert caught.value.span is not None and "ESTIMATE" in caught.value.hint


def test_a_number_past_the_float_range_is_refused_not_made_infinite(ws):
    with pytest.raises(LeadQLError, match="must be finite and at most about 1.8e308, not 1E\\+999"):
        ws.execute("CREATE TEMPLATE t1(x NUMBER := 1e999) AS WHERE fico >= $x")
    with pytest.raises(LeadQLError, match="1E\\+999, which cannot be used in a FIND condition"):
        ws.execute("CREATE TEMPLATE t2(x := 1e999) AS WHERE fico >= $x")
    with pytest.raises(LeadQLError, match="cannot be used in a FIND condition") as caught:
        ws.execute("FIND 5 leads WITH email WHERE fico > 1e999 BUDGET 5")
    assert caught.value.column == 38
    assert ws.execute("SELECT count(*) FROM _leadql.runs").rows == [(0,)]
