"""The value normalisers (leadql/normalizers.py): documented examples, hostile input, the stdlib's
categories, and speed on a million rows."""

from __future__ import annotations

import math
import re
import time
from datetime import date, datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadql.errors import LeadQLNameError
from leadql.normalizers import MACRO_PREFIX, NORMALIZERS, Normalizer, call_sql, install, macro_name
from leadql.resources import stdlib_path

EXAMPLES = [
    pytest.param(n, inp, out, id=f"{n.name}-{i}")
    for n in NORMALIZERS.values()
    for i, (inp, out) in enumerate(n.examples)
]


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    install(connection)
    yield connection
    connection.close()


def _apply(con, name: str, value: object) -> object:
    return con.execute(f"SELECT {macro_name(name)}(?)", [value]).fetchone()[0]


# ---- what a valid output of each normaliser looks like ------------------------------------

_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP",
}  # fmt: skip


def _clean_text(v: object) -> bool:
    return isinstance(v, str) and v != "" and v == v.strip() and "  " not in v


VALID = {
    "person_name": lambda v: _clean_text(v) and len(v) <= 100,
    "email": lambda v: (
        isinstance(v, str) and v == v.lower() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v)
    ),
    "phone": lambda v: isinstance(v, str) and re.fullmatch(r"\+[1-9][0-9]{7,14}", v),
    "street": lambda v: _clean_text(v) and not re.search("[a-z]", v),
    "city": lambda v: _clean_text(v),
    "us_state": lambda v: v in _STATES,
    "zip": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9]{5}", v) and v != "00000",
    "date": lambda v: isinstance(v, date) and 1800 <= v.year <= 2199,
    "age": lambda v: isinstance(v, int) and 0 <= v <= 120,
    "money": lambda v: isinstance(v, float) and math.isfinite(v) and v >= 0,
    "fico": lambda v: isinstance(v, int) and 300 <= v <= 850,
    "boolean": lambda v: isinstance(v, bool),
    "gender": lambda v: v in {"F", "M", "X"},
    "marital_status": lambda v: v in {"single", "married", "divorced", "widowed"},
    "company_name": lambda v: _clean_text(v),
    "domain": lambda v: (
        isinstance(v, str) and "." in v and v == v.lower() and not re.search(r"[\s/@:]", v)
    ),
    "url": lambda v: (
        isinstance(v, str) and re.match(r"https?://[^\s/?#@]+\.[^\s/?#@]+", v) and " " not in v
    ),
    "industry": lambda v: _clean_text(v),
    "count": lambda v: isinstance(v, int) and 0 <= v <= 2**31 - 1,
    "title": lambda v: _clean_text(v),
    "seniority": lambda v: v in {"entry", "senior", "manager", "director", "vp", "c-level"},
    "department": lambda v: _clean_text(v),
    "text": lambda v: _clean_text(v),
}

ADVERSARIAL: list[object] = [
    None, "", " ", "   ", "\t\n\r", "\u00a0", "\u200b", "\ufeff", "😀", "😀" * 500, "👨‍👩‍👧",
    "a" * 100_000, " x " * 10_000, "9" * 400, "1e400", "-1e400", "nan", "inf", "-0", "+", "++1",
    ".", "..", "@", "@@", "a@", "@b.com", "http://", "://", "https://", "www.", "N/A", "null",
    "NULL", "-", "?", "'", "''", '"', "\\", "%s", "'; DROP TABLE t; --", "<script>", "\x00",
    "\x00abc", "é", "ÅÄÖ", "测试", "١٢٣٤٥", "İstanbul", "ß", "\u202eevil", "e\u0301", "0",
    "00000", "-5", "(555)", "$", "$,", "K", "1-", "-1-", "5-", "TO", "1TO", "0x1F", "1/1/1",
    "99/99/9999", "2024-00-00", "9999-99-99", "T", "2024-01-05Tjunk", 0, -1, 1, 2**31, -(2**31),
    2**63 - 1, 3.14159, -2.5, 1e308, -1e-308, float("inf"), float("-inf"), float("nan"), True,
    False, date(1970, 1, 1), date(9999, 12, 31), datetime(2024, 1, 5, 23, 59, 59),
]  # fmt: skip


def _valid(name: str, value: object) -> bool:
    return value is None or bool(VALID[name](value))


# ---- tests ----------------------------------------------------------------------------------


def test_every_normaliser_has_a_validity_rule_and_examples() -> None:
    assert set(VALID) == set(NORMALIZERS)
    for n in NORMALIZERS.values():
        assert isinstance(n, Normalizer)
        assert n.examples, n.name
        assert n.description and "\n" not in n.description
        assert n.output_type in {"VARCHAR", "INTEGER", "DOUBLE", "BOOLEAN", "DATE"}


@pytest.mark.parametrize(("norm", "value", "expected"), EXAMPLES)
def test_documented_examples(con, norm: Normalizer, value: object, expected: object) -> None:
    got = _apply(con, norm.name, value)
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected
        assert type(got) is type(expected)
    assert _valid(norm.name, got)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_output_type_is_declared_type(con, name: str) -> None:
    for value in (None, "x", 1, 1.5):
        typ = con.execute(f"SELECT typeof({macro_name(name)}(?::VARCHAR))", [value]).fetchone()[0]
        assert typ == NORMALIZERS[name].output_type


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_adversarial_values_give_null_or_valid(con, name: str) -> None:
    for value in ADVERSARIAL:
        got = _apply(con, name, value)
        assert _valid(name, got), (value if not isinstance(value, str) else value[:50], got)


TYPED_LITERALS = [
    "NULL", "42", "-7", "4155550100", "2.5", "'nan'::DOUBLE", "'inf'::DOUBLE", "'-inf'::FLOAT",
    "12345678901234567890::HUGEINT", "3.75::DECIMAL(10, 2)", "720::SMALLINT", "1::TINYINT",
    "DATE '2024-01-05'", "DATE '-infinity'", "TIMESTAMP '2024-01-05 10:30:00'",
    "TIMESTAMPTZ '2024-01-05 10:30:00+00'", "TIMESTAMP 'infinity'", "true", "INTERVAL 3 DAY",
    "TIME '10:30:00'", "'abc'::BLOB", "'\\xFF\\xFE'::BLOB", "[1, 2]", "['a@b.com']",
    "{'a': 1}", "MAP {'k': 'v'}", "uuid()", "NULL::VARCHAR", "NULL::DATE", "''::VARCHAR",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_typed_values_give_null_or_valid(con, name: str) -> None:
    # Values of every common column type, as a vendor file may deliver them.
    for literal in TYPED_LITERALS:
        got = con.execute(f"SELECT {macro_name(name)}({literal})").fetchone()[0]
        assert _valid(name, got), (literal, got)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.text(max_size=40), min_size=1, max_size=30))
def test_random_text_gives_null_or_valid(con, values: list[str]) -> None:
    # Every normaliser over a batch of random strings, in one query.
    values = [v.replace("\x00", "") for v in values]
    cols = ", ".join(f"{macro_name(n)}(v)" for n in NORMALIZERS)
    sql = f"SELECT {cols} FROM (SELECT unnest(?::VARCHAR[]) AS v)"
    rows = con.execute(sql, [values]).fetchall()
    for row in rows:
        for name, got in zip(NORMALIZERS, row, strict=True):
            assert _valid(name, got), (name, got)


def test_huge_values_are_cheap(con) -> None:
    # Megabyte values (hostile or broken files) are junk for every normaliser but `text`, and
    # they must not make a scan crawl.
    for value in ("ab " * 1_000_000, "x" * 3_000_000, "1-" * 1_000_000):
        started = time.perf_counter()
        for name in NORMALIZERS:
            got = _apply(con, name, value)
            assert (got is not None) == (name == "text"), name
        assert time.perf_counter() - started < 10


def test_every_category_normaliser_exists() -> None:
    text = (stdlib_path() / "categories.lql").read_text(encoding="utf-8")
    used = re.findall(r"\bNORMALIZE\s+WITH\s+([A-Za-z_][A-Za-z0-9_]*)", text, flags=re.IGNORECASE)
    assert used, "no NORMALIZE WITH found in stdlib/categories.lql"
    missing = sorted({u for u in used if u not in NORMALIZERS})
    assert not missing, f"categories.lql names unknown normalisers: {missing}"


def test_macro_name_and_call_sql() -> None:
    assert macro_name("email") == "leadql_norm_email"
    assert MACRO_PREFIX == "leadql_norm_"
    assert call_sql("email", "t.mail") == "leadql_norm_email(t.mail)"
    assert call_sql("EMAIL", "x") == "leadql_norm_email(x)"


def test_call_sql_unknown_name_suggests_nearest() -> None:
    with pytest.raises(LeadQLNameError) as info:
        call_sql("emial", "x")
    assert "emial" in info.value.message
    assert info.value.hint == "did you mean `email`?"
    with pytest.raises(LeadQLNameError):
        call_sql("zzzzzz", "x")


def test_install_is_idempotent_and_per_connection() -> None:
    a, b = duckdb.connect(), duckdb.connect()
    try:
        install(a)
        install(a)
        install(b)
        for c in (a, b):
            assert c.execute(f"SELECT {call_sql('us_state', repr('texas'))}").fetchone()[0] == "TX"
        macros = {
            r[0]
            for r in a.execute(
                "SELECT function_name FROM duckdb_functions() "
                "WHERE function_name LIKE 'leadql_norm_%'"
            ).fetchall()
        }
        assert macros == {macro_name(n) for n in NORMALIZERS}
    finally:
        a.close()
        b.close()


def test_columns_named_like_lambda_variables_are_not_captured() -> None:
    # The argument may be any SQL expression, even over columns named like the macros' lambda
    # variables (lq_...), and must never be captured by them.
    sql = " ".join(n.macro_sql for n in NORMALIZERS.values())
    names = sorted(set(re.findall(r"\blq_[a-z]+\b", sql)))
    c = duckdb.connect()
    try:
        install(c)
        for norm in NORMALIZERS.values():
            values = [v for v, _ in norm.examples if isinstance(v, str)]
            calls = ", ".join(f"{macro_name(norm.name)}({n} || '')" for n in names)
            columns = ", ".join(f"v AS {n}" for n in names)
            rows = c.execute(
                f"SELECT {macro_name(norm.name)}(v), {calls} "
                f"FROM (SELECT v, {columns} FROM (SELECT unnest(?::VARCHAR[]) AS v))",
                [values],
            ).fetchall()
            for expected, *got in rows:
                assert got == [expected] * len(names), norm.name
    finally:
        c.close()


# Values of every category, clean and messy, chosen by row number.
_GENERATED = {
    "person_name": "['  john  SMITH', 'o''neil', 'Mary-Jane', 'McDonald', '', 'ANA'][1 + i % 6]",
    "email": "'User' || i || '+x@Example.COM'",
    "phone": "'(415) 555-' || lpad((i % 10000)::VARCHAR, 4, '0')",
    "street": "(i % 9999) || [' main street apt ', ' Oak Ave #', ' ELM RD '][1 + i % 3] || i % 50",
    "city": "['san francisco', 'NEW YORK', 'St. Louis', 'Austin'][1 + i % 4]",
    "us_state": "['ca', 'New York', 'N.Y.', 'Narnia', 'TX'][1 + i % 5]",
    "zip": "(i % 99999)::VARCHAR",
    "date": "['2024-01-05', '1/5/2024', '20240105', 'junk'][1 + i % 4]",
    "age": "(i % 130)::VARCHAR",
    "money": "['$52,000', '52k', '1.2M', '50-75K', '75000'][1 + i % 5]",
    "fico": "250 + i % 700",
    "boolean": "['yes', 'n', '1', 'maybe'][1 + i % 4]",
    "gender": "['female', 'M', 'x', '?'][1 + i % 4]",
    "marital_status": "['S', 'married', 'widow', 'sep'][1 + i % 4]",
    "company_name": "'Acme ' || (i % 1000) || [', Inc.', ' LLC', ' Corporation', ''][1 + i % 4]",
    "domain": "['https://www.acme', 'jane@acme', 'Acme'][1 + i % 3] || (i % 1000) || '.com'",
    "url": "['https://www.acme', 'acme', 'HTTP://Acme'][1 + i % 3] || (i % 1000) || '.com/about'",
    "industry": "['computer software', 'Banking and Finance', 'saas', 'RETAIL'][1 + i % 4]",
    "count": "['1,200', '50-100', '5k', '250'][1 + i % 4]",
    "title": "['VP of Sales', 'Senior Engineer', 'Marketing Mgr', 'CEO'][1 + i % 4]",
    "seniority": "['VP of Sales', 'Senior Engineer', 'Marketing Manager', 'CEO'][1 + i % 4]",
    "department": "['human resources', 'IT', 'Sales'][1 + i % 3]",
    "text": "'  note ' || i",
}


@pytest.mark.slow
def test_many_rows_through_every_normaliser() -> None:
    """Vectorised over many generated rows, every normaliser keeps some values. (Speed is
    measured in bench/bench_catalog.py, not asserted here.)"""
    assert set(_GENERATED) == set(NORMALIZERS)
    c = duckdb.connect()
    try:
        install(c)
        c.execute(
            "CREATE TEMP TABLE raw AS SELECT "
            + ", ".join(f"{sql} AS {name}" for name, sql in _GENERATED.items())
            + " FROM range(100000) t(i)"
        )
        projection = ", ".join(f"{macro_name(name)}({name}) AS {name}" for name in NORMALIZERS)
        c.execute(f"CREATE TEMP TABLE clean AS SELECT {projection} FROM raw")
        filled = ", ".join(f"count({name})" for name in NORMALIZERS)
        counts = c.execute(f"SELECT count(*), {filled} FROM clean").fetchone()
        assert counts[0] == 100_000
        assert all(n > 0 for n in counts[1:])  # every normaliser kept some values
    finally:
        c.close()
