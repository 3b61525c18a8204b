"""Malformed statements get a LeadQLSyntaxError that says what was expected, in words, where."""

from __future__ import annotations

import pytest

import leadql
from leadql.errors import LeadQLSyntaxError

# (text, words the message must contain, line, column, words the hint must contain or None)
CASES = [
    ("FIND 10 leads WITH email BUDGET lots", "expected a number after `BUDGET`", 1, 33, None),
    ("FIND 10 leads WITH email BUDGET", "ends too early: expected a number after `BUDGET`", 1, 32, None),
    ("FIDN 10 leads WITH email BUDGET 5", "`FIDN` does not start a statement", 1, 1, "did you mean FIND?"),
    ("SELEC * FROM x", "does not start a statement", 1, 1, "did you mean SELECT?"),
    ("FIND 10 leads WITH email BUDEGT 5", "found `BUDEGT`", 1, 26, "did you mean BUDGET?"),
    ("FIND 10 leads WITH email, BUDGET 5", "found the number 5", 1, 34, "trailing comma before BUDGET"),
    ("FIND 10 leads WITH email,", "expected a name after `,`", 1, 26, "remove the trailing comma"),
    ("FIND 10 leads WITH email\n  WHERE state = 'CA BUDGET 5", "unterminated string", 2, 17, "close it"),
    ("FIND 10 leads WITH email /* note BUDGET 5", "unterminated comment", 1, 26, None),
    ("FIND 10 leads WITH email BUDGET 5 BUDGET 6", "BUDGET is given twice", 1, 35, "keep one"),
    ("FIND 10 leads WITH email", "FIND needs a BUDGET", 1, 25, "BUDGET 500"),
    ("FIND 10.5 leads WITH email BUDGET 5", "whole number", 1, 6, None),
    ("FIND 0 leads WITH email BUDGET 5", "whole number of at least 1", 1, 6, None),
    ("FIND 10 leads WITH email BUDGET -5", "expected a number after `BUDGET`", 1, 33, None),
    ("FIND 10 leads BUDGET 5 QUALITY >= 1.5", "between 0 and 1", 1, 35, None),
    ("FIND 10 leads BUDGET 5 QUALITY 0.9", "expected '>=' after `QUALITY`", 1, 32, None),
    ("FIND 10 leads WHERE (fico > 700 BUDGET 5", "expected ')' after `700`", 1, 33, None),
    ("FIND 10 people WITH email BUDGET 5", "expected LEADS after `10`", 1, 9, None),
    ("FIND 10 leads WITH email, email BUDGET 5", "`email` is listed twice", 1, 27, None),
    ("FIND 10 leads LIKE a MATCHING p BUDGET 5", "not both", 1, 1, None),
    ("FIND 10 leads EXCLUDE old BUDGET 5", "LIST, TABLE or QUERY", 1, 23, "EXCLUDE LIST old"),
    ("FIND 10 leads EXCLUDE MODEL m BUDGET 5", "not a model", 1, 23, None),
    ("FIND 10 leads USING TEMPLATE t(a := 1, a := 2) BUDGET 5", "given twice", 1, 40, None),
    ("FIND 10 leads FRESHER THAN 0 DAYS BUDGET 5", "longer than zero", 1, 28, None),
    ("CREATE SOURCE a FROM 'x.csv' PRICE 1 PER RECORD", "needs a QUALITY clause", 1, 48, "QUALITY 0.9"),
    ("CREATE SOURCE a FROM 'x.csv' QUALITY 0.5", "needs a PRICE clause", 1, 41, None),
    ("CREATE SOURCE a FROM '' PRICE 1 PER RECORD QUALITY 0.5", "empty string", 1, 22, None),
    ("CREATE SOURCE a FROM 'x' FORMAT parqet PRICE 1 PER RECORD QUALITY .5", "unknown format `parqet`", 1, 33, "did you mean `parquet`?"),
    ("CREATE SOURCE a FROM 'x' PRICE 1 PER ROWZ QUALITY 0.5", "a unit (RECORD or QUERY)", 1, 38, None),
    ("CREATE SOURCE a FROM 'x' PRICE 1 PER RECORD, 2 PER ROW QUALITY 0.5", "per-record price twice", 1, 26, None),
    ("CREATE SOURCE a FROM 'x' PRICE -1 PER RECORD QUALITY 0.5", "expected a number", 1, 32, None),
    ("CREATE SOURCE a FROM 'x' MAP (a = b, A = c) PRICE 0 PER RECORD QUALITY 1", "mapped twice", 1, 38, None),
    ("CREATE TABLE t FROM 'x' MAP (first_name = first)", "", 1, 1, None),  # `first` is a name here
    ("SHOW SOURCE", "found `SOURCE`", 1, 6, "did you mean SOURCES?"),
    ("SHOW SOURCES extra", "expected ';' or the end of the statement", 1, 14, None),
    ("DROP SOURCE", "expected a name or IF after `SOURCE`", 1, 12, None),
    ("ANALYZE SOURCE", "needs the source's name", 1, 15, None),
    ("PROFILE LIST l", "sources and tables", 1, 1, None),
    ("PROFILE TABLE t AGAINST won", "table.column", 1, 25, "AGAINST deals.won"),
    ("SCHEDULE q EVERY 1 DAY AT '25:00'", "not a time of day", 1, 27, "06:00"),
    ("SCHEDULE q CRON '0 6 *'", "not a cron expression", 1, 17, None),
    ("SEGMENT LIST l INTO 1 SEGMENTS BY a", "at least 2", 1, 21, None),
    ("RECORD OUTCOMES FROM 'd.csv' KEY lead_id", "needs OUTCOME", 1, 41, None),
    ("USE MODEL m VERSION 0", "whole number from 1", 1, 21, None),
    ("CREATE PATTERN p FROM t USING svm", "unknown pattern algorithm", 1, 31, None),
    ("PREDICT COUNT(o.*, 0, 30) > 0 FOR EACH u.id USING MODEL xgb", "unknown model type", 1, 57, None),
    ("PREDICT SUM(o.*, 0, 30) FOR EACH u.id", "only COUNT counts rows", 1, 13, None),
    ("PREDICT COUNT(o.*, 0) FOR EACH u.id", "window start but no end", 1, 20, None),
    ("PREDICT COUNT(o.*, 0, 30, fortnights) FOR EACH u.id", "time unit", 1, 27, None),
    ("PREDICT COUNT(o.*, 0, 30, days, 1) FOR EACH u.id", "at most four arguments", 1, 33, None),
    ("PREDICT COUNT(o.*, 0, 30 WHERE o.x = 1) FOR EACH u.id", "WHERE belongs right after", 1, 32, None),
    ("PREDICT lower(o.* ) FOR EACH u.id", "only an argument of an aggregation", 1, 15, None),
    ("PREDICT SUM(o.x, 0, 30) WHERE o.x > 1 FOR EACH u.id", "found `WHERE`", 1, 25, "after the entity"),
    ("PREDICT SUM(o.x, 0, 30) TOP 0 FOR EACH u.id", "at least 1", 1, 29, None),
    ("FIND 10 leads WITH email BUDGET 5 @", "unexpected character @", 1, 35, "$name"),
    ("FIND 10 leads WITH email BUDGET $5", "unexpected character $", 1, 33, "letter after $"),
    ("FIND 10 leads BUDGET 5;\nSHOW SOURCES;\nFIND 3 leads BUDGET", "expected a number after `BUDGET`", 3, 20, None),
    ('FIND 10 leads WITH "" BUDGET 5', "empty quoted name", 1, 20, None),
    ("((((((((((", "does not start a statement", 1, 1, None),
    ("MAP", "`MAP` does not start a statement", 1, 1, None),
    ("FIND 10 leads WHERE x = 1 = 2 BUDGET 5", "found `=`", 1, 27, None),
]


@pytest.mark.parametrize("text,message,line,column,hint", CASES, ids=[c[0][:50] for c in CASES])
def test_syntax_error_message_and_position(text, message, line, column, hint) -> None:
    if not message:  # a statement that must parse
        leadql.parse(text)
        return
    with pytest.raises(leadql.LeadQLError) as caught:
        leadql.parse(text)
    error = caught.value
    assert message in error.message, error.render()
    assert (error.line, error.column) == (line, column), error.render()
    if hint:
        assert error.hint and hint in error.hint, error.render()
    rendered = error.render()
    assert f"line {line}, column {column}" in rendered
    assert "^" in rendered


def test_messages_do_not_leak_token_names() -> None:
    for text, *_ in CASES:
        try:
            leadql.parse(text)
        except leadql.LeadQLError as e:
            for internal in ("__ANON", "SQ_STRING", "DQ_STRING", "NAME", "$END", "_SEMI", "LPAR"):
                assert internal not in e.message, (text, e.message)


def test_a_keyword_where_a_name_belongs_says_how_to_quote_it() -> None:
    with pytest.raises(LeadQLSyntaxError) as caught:
        leadql.parse("CREATE TABLE t FROM 'x' MAP (a = case)")
    assert 'write "case"' in (caught.value.hint or "")


def test_syntax_errors_are_the_public_class() -> None:
    with pytest.raises(leadql.LeadQLSyntaxError):
        leadql.parse("FIND")
    assert issubclass(leadql.LeadQLSyntaxError, leadql.LeadQLError)


def test_rendering_is_pinned() -> None:
    with pytest.raises(leadql.LeadQLError) as caught:
        leadql.parse("FIND 10 leads WITH email\n  BUDGET lots")
    assert caught.value.render() == (
        "syntax error: expected a number after `BUDGET`, found `lots`\n"
        "  --> line 2, column 10\n"
        "    |\n"
        "  2 |   BUDGET lots\n"
        "    |          ^^^^"
    )


@pytest.mark.parametrize(("text", "message", "column"), [
    ("SELECT (", 'the SQL does not parse: syntax error at or near "("', 8),
    ("SHOW SOURCES; SELECT 1 +", 'at or near "+"', 24),
    ("SAVE QUERY q AS SELECT * FROM", 'at or near "FROM"', 26),
    ("SCHEDULE q CRON '61 * * * *'", "not a valid cron expression", 1),
    ("SCHEDULE q CRON '0 0 30 2 *'", "never fires", 1),
])  # fmt: skip
def test_plain_sql_and_cron_are_checked_before_anything_runs(text, message, column):
    """`leadql check` and execute() report these without a workspace: DuckDB's parser reads the
    SQL, croniter the CRON."""
    from leadql.grammar import check

    _, errors = check(text)
    assert len(errors) == 1 and message in errors[0].message, errors
    assert errors[0].column == column


def test_check_counts_each_statement_once():
    from leadql.grammar import check

    statements, errors = check("SELECT (;\nSELECT 1;\n")  # parses as a whole; the first fails validation
    assert [s.keyword for s in statements] == ["SELECT"] and len(errors) == 1
