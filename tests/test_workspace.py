"""The Python surface: connect, execute with parameters, results, register, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pyarrow as pa
import pytest

import leadql
from leadql.result import Result


def test_select_runs_and_returns_a_result(ws) -> None:
    result = ws.execute("SELECT 42 AS answer, 'x' AS letter")
    assert isinstance(result, Result)
    assert result.columns == ["answer", "letter"]
    assert result.rows == [(42, "x")]
    assert result.to_arrow().num_rows == 1
    assert result.to_pandas()["answer"].tolist() == [42]
    assert len(result) == 1


def test_execute_returns_the_last_statements_result(ws) -> None:
    result = ws.execute("SELECT 1 AS a; SELECT 2 AS b")
    assert result.rows == [(2,)]


@pytest.mark.parametrize(
    "hostile",
    [
        "'; DROP TABLE x; --",
        "1 OR 1=1",
        "$other",
        "\x00\n\\",
        "Robert'); DELETE FROM lists; --",
    ],
)
def test_parameters_are_bound_never_spliced(ws, hostile: str) -> None:
    result = ws.execute("SELECT $value AS v, length($value) AS n", {"value": hostile})
    assert result.rows == [(hostile, len(hostile))]


def test_parameter_values_of_other_types(ws) -> None:
    result = ws.execute("SELECT $n + 1 AS n, $f * 2 AS f, $b AS b", {"n": 41, "f": 1.25, "b": True})
    assert result.rows == [(42, 2.5, True)]


def test_a_missing_parameter_is_named_with_its_position(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute("SELECT 1;\nSELECT $limit_value AS x", {"limit": 3})
    assert "$limit_value" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_leadql_statement_parameters_are_checked_before_anything_runs(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute("FIND $n leads WITH email BUDGET $budjet", {"n": 10, "budget": 5})
    assert "$budjet" in caught.value.message
    assert caught.value.hint == "did you mean `budget`?"


def test_only_reads_run_as_plain_sql(ws) -> None:
    for statement in ("SELECT * FROM (VALUES (1)) t; CREATE TABLE x (a INT)",):
        with pytest.raises(leadql.LeadQLError):
            ws.execute(statement)
    with pytest.raises(leadql.LeadQLExecutionError) as caught:
        ws.execute("WITH t AS (SELECT 1) INSERT INTO y SELECT * FROM t")
    assert "read-only" in caught.value.message or caught.value.span is not None


def test_sql_errors_point_into_the_users_text(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute("SELECT 1;\nSELECT * FROM no_such_table")
    error = caught.value
    assert "no_such_table" in error.message
    assert (error.line, error.column) == (2, 15)
    assert "LINE 1" not in error.message
    with pytest.raises(leadql.LeadQLSyntaxError) as caught:
        ws.execute("SELECT * FORM x")
    assert caught.value.line == 1


FORECAST = "PREDICT SUM(orders.amount, 0, 7, days) FORECAST 4 TIMEFRAMES FOR EACH customers.customer_id"


def orders_tables(folder: Path) -> str:
    """CREATE TABLE statements for two tiny CRM tables: enough for PREDICT to bind."""
    (folder / "customers.csv").write_text("customer_id\n1\n2\n")
    (folder / "orders.csv").write_text("order_id,customer_id,amount,ts\n1,1,5.0,2026-01-01\n2,2,7.0,2026-01-03\n")
    return (f"CREATE TABLE customers FROM '{folder / 'customers.csv'}' KEY customer_id;"
            f"CREATE TABLE orders FROM '{folder / 'orders.csv'}' KEY order_id TIME COLUMN ts "
            "REFERENCES (customer_id -> customers.customer_id);")


def test_every_kumo_task_binds_and_too_little_history_says_so(ws, tmp_path) -> None:
    ws.execute(orders_tables(tmp_path))
    with pytest.raises(leadql.LeadQLExecutionError) as caught:
        ws.execute(FORECAST)  # two orders two days apart: no closed 7-day window to learn from
    assert "history is too short" in caught.value.message
    assert caught.value.line == 1 and caught.value.hint
    # A rule violation is reported before "unsupported":
    with pytest.raises(leadql.LeadQLSemanticError):
        ws.execute("PREDICT COUNT(o.*, -1, 0) > 0 FOR EACH u.id")


def test_a_bad_statement_stops_the_script_before_anything_runs(ws) -> None:
    ws.register("seen", pa.table({"n": [1]}))
    with pytest.raises(leadql.LeadQLSyntaxError):
        ws.execute("SELECT 1; SELECT 2; FIND 10 leads BUDGET")


def test_register_arrow_and_pandas(ws) -> None:
    import pandas as pd

    ws.register("prospects", pa.table({"email": ["a@x.com", "b@y.com"], "fico": [700, 650]}))
    ws.register("frame", pd.DataFrame({"x": [1, 2, 3]}))
    assert ws.execute("SELECT count(*) FROM prospects WHERE fico >= 700").rows == [(1,)]
    assert ws.execute("SELECT sum(x) FROM frame").rows == [(6,)]


def test_register_rejects_bad_names_and_data(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError):
        ws.register("bad name; drop", pa.table({"a": [1]}))
    with pytest.raises(leadql.LeadQLTypeError):
        ws.register("things", [1, 2, 3])


def test_empty_text_is_an_error_but_comments_only_too(ws) -> None:
    with pytest.raises(leadql.LeadQLSyntaxError):
        ws.execute("")
    with pytest.raises(leadql.LeadQLSyntaxError):
        ws.execute("-- nothing here")


def test_context_manager_and_closed_workspace() -> None:
    with leadql.connect() as ws:
        assert ws.execute("SELECT 1").rows == [(1,)]
    with pytest.raises(leadql.LeadQLExecutionError):
        ws.execute("SELECT 1")


def test_a_file_workspace_persists(tmp_path) -> None:
    path = tmp_path / "sales.leadql"
    with leadql.connect(str(path)) as ws:
        assert ws.execute("SELECT 1 AS one").rows == [(1,)]
    assert path.exists()
    with leadql.connect(path) as ws:
        assert ws.execute("SELECT 2").rows == [(2,)]


def test_a_second_process_gets_a_clear_error(tmp_path) -> None:
    path = tmp_path / "shared.leadql"
    with leadql.connect(str(path)):
        script = textwrap.dedent(
            f"""
            import leadql
            try:
                leadql.connect({str(path)!r})
            except leadql.LeadQLError as e:
                print("LeadQLError:", e.message, "|", e.hint)
            """
        )
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("LeadQLError: cannot open workspace"), out.stdout + out.stderr
    assert "another process" in out.stdout
    assert "Traceback" not in out.stderr


def test_a_corrupt_workspace_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "broken.leadql"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(leadql.LeadQLExecutionError) as caught:
        leadql.connect(str(path))
    assert "cannot open workspace" in caught.value.message
    assert path.read_bytes() == b"this is not a database" * 100  # untouched


def test_one_workspace_from_several_threads(ws) -> None:
    errors: list[BaseException] = []
    results: list[int] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                results.append(ws.execute("SELECT $i AS i", {"i": i}).rows[0][0])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(set(results)) == [0, 1, 2, 3] and len(results) == 80
