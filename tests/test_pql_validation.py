"""The rules checked after parsing a PREDICT, and the task type each form implies."""

from __future__ import annotations

import math

import pytest

import leadql
from leadql.grammar import ast, validate
from leadql.grammar.validate import resolve_task_type


def task_of(text: str) -> str:
    (statement,) = leadql.parse(text)
    task = validate(statement)
    assert task is not None
    return task.task_type


@pytest.mark.parametrize(
    "query,task",
    [
        ("PREDICT COUNT(e.*, 0, 30, days) > 0 FOR EACH l.id", "binary_classification"),
        ("PREDICT COUNT(e.*, 0, 7) > 10 OR SUM(t.value, 0, 5) > 100 FOR EACH u.id", "binary_classification"),
        ("PREDICT NOT (COUNT(e.*, 0, 7) = 0) FOR EACH u.id", "binary_classification"),
        ("PREDICT u.churned = 1 FOR EACH u.id", "binary_classification"),
        ("PREDICT SUM(o.amount, 0, 90, days) FOR EACH c.id", "regression"),
        ("PREDICT COUNT_DISTINCT(o.product, 0, 30) FOR EACH c.id", "regression"),
        ("PREDICT AVG(o.amount, 0, 30) FORECAST 4 TIMEFRAMES FOR EACH c.id", "forecasting"),
        ("PREDICT LIST_DISTINCT(o.product_id, 0, 30, days) RANK TOP 5 FOR EACH c.id", "link_prediction"),
        ("PREDICT LIST_DISTINCT(o.product_id) RANK TOP 5 FOR EACH c.id", "link_prediction"),
        ("PREDICT LIST_DISTINCT(o.product_id, 0, 30) CLASSIFY FOR EACH c.id", "multilabel_classification"),
        ("PREDICT FIRST(o.category, 0, 30) RANK TOP 3 FOR EACH c.id", "multilabel_ranking"),
        ("PREDICT FIRST(o.category, 0, 30) FOR EACH c.id", "regression_or_multiclass"),
        ("PREDICT c.segment FOR EACH c.id", "regression_or_multiclass"),
    ],
)
def test_task_type_follows_from_the_form(query: str, task: str) -> None:
    assert task_of(query) == task


def test_task_type_sharpens_with_the_column_kind() -> None:
    (statement,) = leadql.parse("PREDICT c.segment FOR EACH c.id")
    task = validate(statement)
    assert task.needs_schema
    assert resolve_task_type(task, "numeric") == "regression"
    assert resolve_task_type(task, "categorical") == "multiclass_classification"
    assert resolve_task_type(task, "boolean") == "binary_classification"


def test_task_reports_the_tables() -> None:
    (statement,) = leadql.parse(
        "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30) > 0 FOR EACH leads.lead_id"
    )
    task = validate(statement)
    assert (task.target_table, task.entity_table, task.entity_column) == ("events", "leads", "lead_id")
    assert task.temporal


@pytest.mark.parametrize(
    "query,message",
    [
        ("PREDICT COUNT(o.*, -30, 0) > 0 FOR EACH u.id", "a target looks forward"),
        ("PREDICT COUNT(o.*, -INF, 0) > 0 FOR EACH u.id", "a target looks forward"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id WHERE COUNT(o.*, 0, 10) > 1", "an entity filter looks back"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id WHERE COUNT(o.*) > 1", "needs a time window"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id ASSUMING COUNT(n.*, -7, 0) > 0", "ASSUMING looks forward"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id ASSUMING n.flag = 1", "ASSUMING states what happens in the future"),
        ("PREDICT u.age FOR EACH u.id ASSUMING COUNT(n.*, 0, 7) > 0", "ASSUMING needs a temporal target"),
        ("PREDICT u.age FOR EACH u.id WHERE COUNT(o.*, -30, 0) > 0", "static target cannot be filtered"),
        ("PREDICT COUNT(o.*, 30, 30) > 0 FOR EACH u.id", "is empty"),
        ("PREDICT COUNT(o.*, 0, INF) > 0 FOR EACH u.id", "cannot end at INF"),
        ("PREDICT COUNT(o.*) > 0 FOR EACH u.id", "needs a time window"),
        ("PREDICT LIST_DISTINCT(o.p, 0, 30) RANK FOR EACH u.id", "RANK needs TOP k"),
        ("PREDICT LIST_DISTINCT(o.p, 0, 30) TOP 5 FOR EACH u.id", "TOP k goes with RANK"),
        ("PREDICT LIST_DISTINCT(o.p, 0, 30) FOR EACH u.id", "needs RANK TOP k"),
        ("PREDICT SUM(o.x, 0, 30) RANK TOP 3 FOR EACH u.id", "for targets with many categories"),
        ("PREDICT LIST_DISTINCT(o.p, 0, 30) RANK CLASSIFY TOP 3 FOR EACH u.id", "not both"),
        ("PREDICT u.age FORECAST 4 TIMEFRAMES FOR u.id = 0", "FORECAST needs a numeric temporal aggregation"),
        ("PREDICT COUNT(o.*, 0, 7) > 0 FORECAST 4 TIMEFRAMES FOR EACH u.id", "FORECAST needs a numeric"),
        ("PREDICT FIRST(o.c, 0, 7) RANK TOP 2 FORECAST 2 TIMEFRAMES FOR EACH u.id", "cannot be combined"),
        ("PREDICT SUM(o.x, 0, 7) FORECAST 10001 TIMEFRAMES FOR EACH u.id", "at most 10,000"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 AND u.age > 30 FOR EACH u.id", "mixes a static column"),
        ("PREDICT u.id FOR EACH u.id", "cannot predict the entity's own key"),
        ("PREDICT SUM(o.x, 0, 30) > SUM(o.y, 0, 30) FOR EACH u.id", "compares with a constant"),
        ("PREDICT SUM(o.x, 0, 30) + 1 > 3 FOR EACH u.id", "compares an aggregation or a column with a constant"),
        ("PREDICT SUM(o.x, 0, 30) FOR EACH id", "the entity must be named as table.key"),
        ("PREDICT SUM(x, 0, 30) FOR EACH u.id", "needs a column as table.column"),
        ("PREDICT COUNT(*, 0, 30) FOR EACH u.id", "COUNT needs a table"),
        ("PREDICT COUNT(o.* WHERE p.x = 1, 0, 30) FOR EACH u.id", "can only use columns of `o`"),
        ("PREDICT COUNT(o.* WHERE COUNT(p.*, 0, 1) > 0, 0, 30) FOR EACH u.id", "cannot be nested"),
        ("PREDICT COUNT(o.*, 0, 30) FOR u.id = NULL", "cannot be NULL"),
        ("PREDICT COUNT(o.*, 0, 30) FOR EACH u.id AT 'yesterday'", "not a date"),
        ("PREDICT u.age > 30 FOR EACH u.id WHERE age > 3", "must be written as table.column"),
        # windows and counts past what timestamps and memory hold are refused, not overflowed
        ("PREDICT COUNT(o.*, 0, 100000, days) > 0 FOR EACH u.id", "reaches more than 100 years"),
        ("PREDICT COUNT(o.*, 0, 1e300) > 0 FOR EACH u.id", "bound 1e+300 days reaches"),
        ("PREDICT COUNT(o.*, 0, 1201, months) > 0 FOR EACH u.id", "reaches more than 100 years"),
        ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id WHERE COUNT(o.*, -1e9, 0) > 0", "bound -1000000000 days"),
        ("PREDICT LIST_DISTINCT(o.p, 0, 30) RANK TOP 99999999999999999999 FOR EACH u.id", "from 1 to 1,000"),
        ("PREDICT SUM(o.x, 0, 30) FORECAST 9999 TIMEFRAMES FOR EACH u.id", "reach more than 100 years past"),
    ],
)
def test_rule_violations_fail_before_any_data(query: str, message: str) -> None:
    with pytest.raises(leadql.LeadQLError) as caught:
        for statement in leadql.parse(query):
            validate(statement)
    assert message in caught.value.message, caught.value.render()
    assert caught.value.span is not None


def test_long_windows_within_the_limit_and_all_history_are_accepted() -> None:
    for query in ("PREDICT COUNT(o.*, 0, 36500, days) > 0 FOR EACH u.id WHERE COUNT(o.*, -INF, 0) > 0",
                  "PREDICT COUNT(o.*, 0, 1200, months) > 0 FOR EACH u.id",
                  "PREDICT LIST_DISTINCT(o.p, 0, 30) RANK TOP 1000 FOR EACH u.id"):  # fmt: skip
        (statement,) = leadql.parse(query)
        assert validate(statement) is not None


def test_window_bounds_and_units() -> None:
    (p,) = leadql.parse("PREDICT COUNT(o.*, 0, 2, WEEKS) > 0 FOR EACH u.id WHERE SUM(o.x, -INFINITY, 0) > 1")
    target = p.target.left
    assert (target.start, target.end, target.unit) == (0, 2, "weeks")
    where = p.where.left
    assert where.start == -math.inf and where.unit == "days"  # days is the default


def test_pql_strings_quotes_and_escapes() -> None:
    (p,) = leadql.parse(
        'PREDICT COUNT(o.* WHERE o.s = "a \\"q\\" b" AND o.t = \'it\\\'s\', 0, 3) > 0 FOR u.id IN ("x", \'y\')'
    )
    where = p.target.left.where
    assert where.items[0].right == ast.Literal('a "q" b', "string")
    assert where.items[1].right == ast.Literal("it's", "string")
    assert [v.value for v in p.entity.values] == ["x", "y"]


def test_is_and_is_not_mean_equal_and_not_equal() -> None:
    (p,) = leadql.parse("PREDICT COUNT(o.* WHERE o.s IS 'x' AND o.t IS NOT NULL AND o.k IS IN (1, 2), 0, 3) > 0 FOR EACH u.id")
    a, b, c = p.target.left.where.items
    assert isinstance(a, ast.Compare) and a.op == "="
    assert isinstance(b, ast.IsNull) and b.negated
    assert isinstance(c, ast.InList)


def test_hash_comments_and_unquoted_dates() -> None:
    (p,) = leadql.parse(
        "# which customers buy again?\nPREDICT COUNT(o.*, 0, 30) > 0  # next month\n"
        "FOR EACH c.id WHERE c.signup > 2022/01/01 AND c.seen >= 2024-03-05 08:30:00"
    )
    a, b = p.where.items
    assert a.right == ast.Literal("2022/01/01", "datetime")
    assert b.right == ast.Literal("2024-03-05 08:30:00", "datetime")


def test_validation_of_explain_evaluate_and_saved_predicts() -> None:
    for prefix in ("EXPLAIN ", "EVALUATE ", "SAVE QUERY q AS "):
        with pytest.raises(leadql.LeadQLSemanticError):
            for s in leadql.parse(prefix + "PREDICT COUNT(o.*, -5, 0) > 0 FOR EACH u.id"):
                validate(s)


def test_error_position_is_right_in_a_multi_statement_text() -> None:
    text = "SHOW SOURCES;\nPREDICT COUNT(o.*, 0, 30) > 0\nFOR EACH u.id\nWHERE COUNT(o.*, 0, 5) > 0;"
    statements = leadql.parse(text)
    with pytest.raises(leadql.LeadQLSemanticError) as caught:
        validate(statements[1])
    assert (caught.value.line, caught.value.column) == (3, 7)
    assert "WHERE COUNT(o.*, 0, 5) > 0" in caught.value.render()
    with pytest.raises(leadql.LeadQLSemanticError) as caught:
        validate(statements[1], text)
    assert (caught.value.line, caught.value.column) == (4, 7)
