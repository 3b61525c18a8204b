"""The Python API: hostile parameter values stay values (or are refused, naming the parameter),
Result's members, register, the workspace's lifecycle, one workspace from many threads, Result
as HTML and the %%leadql cell magic in a real IPython shell. (-o FILE and CRM exports:
tests/test_output.py.)"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.result import Result

HOSTILE = [
    "x'; DROP TABLE leads; --",
    "'); DELETE FROM _leadql.objects; --",
    "Robert'); DROP TABLE crm;--",
    "a\\b",
    "a\\'b",
    "'",
    "''",
    '"',
    "\x00nul\x00",
    "ünïcödé ✓ 名前 🚀",
    "$other",
    "%",
    "_",
    "/* not a comment */ --",
    "line\nbreak\r\n",
    "x" * 100_000,
]
IDS = [f"h{i}" for i in range(len(HOSTILE))]


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    """A vendor file of 40 people, and a parquet file whose `note` column holds HOSTILE."""
    folder = tmp_path_factory.mktemp("vendor")
    rows = ["id,email,first,last,state,fico"]
    rows += [f"{i},p{i}@example.com,Ann{i},Lee{i},{'CA' if i % 2 else 'NY'},{650 + i}" for i in range(40)]
    (folder / "prospects.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    n = len(HOSTILE)
    pq.write_table(pa.table({"id": list(range(n)), "email": [f"n{i}@example.com" for i in range(n)],
                             "note": HOSTILE}), folder / "notes.parquet")  # fmt: skip
    return folder


def _setup(workspace, vendor) -> None:
    workspace.execute(f"""
        CREATE CATEGORY note TYPE varchar;
        CREATE SOURCE prospects FROM '{vendor / "prospects.csv"}' KEY id
          MAP (email = email, first_name = first, last_name = last, state = state, fico = fico)
          PRICE 0.01 PER RECORD QUALITY 0.9;
        CREATE SOURCE notes FROM '{vendor / "notes.parquet"}' KEY id MAP (email = email, note = note)
          PRICE 0.02 PER RECORD QUALITY 0.8;
        CREATE TABLE crm FROM '{vendor / "prospects.csv"}' MAP (email = email);
        ANALYZE""")


@pytest.fixture
def ws(vendor, tmp_path):
    with leadql.connect(tmp_path / "api.leadql") as workspace:
        _setup(workspace, vendor)
        yield workspace


@pytest.fixture(scope="module")
def shared(vendor, tmp_path_factory):
    """One workspace for the many tests that must leave it as they found it (nothing bought)."""
    with leadql.connect(tmp_path_factory.mktemp("shared") / "shared.leadql") as workspace:
        _setup(workspace, vendor)
        yield workspace


def _nothing_bought(ws) -> None:
    assert ws.execute("SELECT coalesce(sum(spent), 0) FROM _leadql.runs").rows == [(0,)]


def _intact(ws) -> None:
    """The catalog and the warehouse are as the fixture left them (plus lists it was told of)."""
    assert [r[0] for r in ws.execute("SHOW SOURCES").rows] == ["notes", "prospects"]
    assert [r[0] for r in ws.execute("SHOW TABLES").rows] == ["crm"]
    assert ws.execute("SELECT count(*) FROM crm").rows == [(40,)]
    assert ws.execute("SELECT count(*) FROM _leadql.leads").rows[0][0] >= 0


# ------------------------------------------------------------------------ hostile values


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_values_are_values_in_plain_sql(shared, value) -> None:
    ws = shared
    assert ws.execute("SELECT $v AS v, length($v) AS n", {"v": value}).rows == [(value, len(value))]
    assert ws.execute("SELECT count(*) FROM crm WHERE email = $v OR email LIKE $v || 'zzz'",
                      {"v": value}).rows == [(0,)]  # fmt: skip
    _intact(ws)


def test_hostile_values_in_find_match_exactly_their_own_record(ws) -> None:
    for i, value in enumerate(HOSTILE):
        found = ws.execute("FIND 3 leads WITH email, note WHERE note = $v BUDGET 1", {"v": value})
        assert [(r[1], r[2]) for r in found.rows] == [(f"n{i}@example.com", value)], i
        assert found.cost == Decimal("0.02")  # one record bought, the one asked for
        listed = ws.execute("FIND 3 leads WITH email WHERE note IN ($v, 'nobody') BUDGET 1", {"v": value})
        assert [r[1] for r in listed.rows] == [f"n{i}@example.com"], i
    _intact(ws)


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_values_on_normalised_categories_buy_nothing(shared, value) -> None:
    ws = shared
    try:
        found = ws.execute("FIND 5 leads WITH email WHERE last_name = $v BUDGET 1", {"v": value})
        assert len(found) == 0 and found.cost == 0  # nobody has that name; nothing bought
    except leadql.LeadQLTypeError as e:  # or the name normaliser refuses it, before anything is read
        assert "is not a valid last_name" in e.message and len(e.message) < 200
        _nothing_bought(ws)
    _intact(ws)


def test_hostile_file_paths_are_paths(ws, vendor, tmp_path) -> None:
    odd = tmp_path / "o'brien; DROP TABLE crm; --.csv"
    odd.write_text("id,email\n1,a@x.com\n2,b@y.com\n", encoding="utf-8")
    created = ws.execute("CREATE TABLE odd FROM $p MAP (email = email)", {"p": str(odd)})
    assert created.message.startswith("created table odd")
    assert ws.execute("SELECT email FROM odd ORDER BY email").rows == [("a@x.com",), ("b@y.com",)]
    ws.execute("DROP TABLE odd")
    for path in ["nope'; DROP TABLE crm; --.csv", "x\x00.csv", "a\\b.parquet", "y" * 5_000 + ".csv"]:
        with pytest.raises(leadql.LeadQLSourceError) as caught:
            ws.execute("CREATE TABLE t FROM $p", {"p": path})
        assert len(caught.value.message) < 300
    _intact(ws)


WRONG = [
    ("FIND $n leads WITH email BUDGET 1", "n", {"a": 1}, r"the number of leads \(\$n\) must be a whole number"),
    ("FIND $n leads WITH email BUDGET 1", "n", object(), r"the number of leads \(\$n\) must be a whole number"),
    ("FIND $n leads WITH email BUDGET 1", "n", math.nan, r"\(\$n\) must be a whole number, not nan"),
    ("FIND $n leads WITH email BUDGET 1", "n", math.inf, r"\(\$n\) must be a whole number, not inf"),
    ("FIND $n leads WITH email BUDGET 1", "n", None, r"\(\$n\) must be a whole number, not None"),
    ("FIND $n leads WITH email BUDGET 1", "n", "5", r"\(\$n\) must be a whole number, not '5'"),
    ("FIND $n leads WITH email BUDGET 1", "n", True, r"\(\$n\) must be a whole number, not True"),
    ("FIND $n leads WITH email BUDGET 1", "n", 10**30, r"\(\$n\) must be between 1 and 100,000,000"),
    ("FIND $n leads WITH email BUDGET 1", "n", "x" * 100_000, r"\(\$n\) must be a whole number, not 'xxx"),
    ("FIND 5 leads WITH email BUDGET $b", "b", "5; DROP TABLE crm", r"BUDGET \(\$b\) must be a number"),
    ("FIND 5 leads WITH email BUDGET $b", "b", {"a": 1}, r"BUDGET \(\$b\) must be a number, not a dict"),
    ("FIND 5 leads WITH email BUDGET $b", "b", None, r"BUDGET \(\$b\) must be a number, not a NoneType"),
    ("FIND 5 leads WITH email BUDGET $b", "b", math.nan, r"BUDGET \(\$b\) must be a finite number"),
    ("FIND 5 leads WITH email BUDGET $b", "b", -math.inf, r"BUDGET \(\$b\) must be a finite number"),
    ("FIND 5 leads WITH email BUDGET $b", "b", 10**30, r"BUDGET \(\$b\) is at most 1,000,000,000 USD"),
    ("FIND 5 leads WITH email WHERE fico >= $f BUDGET 1", "f", math.nan, r"\$f is nan, which cannot be used"),
    ("FIND 5 leads WITH email WHERE fico >= $f BUDGET 1", "f", -math.inf, r"\$f is -inf, which cannot be used"),
    ("FIND 5 leads WITH email WHERE fico >= $f BUDGET 1", "f", object(), r"\$f is an object, which cannot be used"),
    ("FIND 5 leads WITH email WHERE fico >= $f BUDGET 1", "f", "700", r"`fico` is a number and \$f is text"),
    ("FIND 5 leads WITH email WHERE state IN $s BUDGET 1", "s", [], r"\$s is an empty list"),
    ("FIND 5 leads WITH email WHERE fico + $f > 700 BUDGET 1", "f", "1; DROP", r"`\+` needs numbers, and \$f is text"),
    ("CREATE TABLE t FROM $p", "p", None, r"FROM \(\$p\) must be text, not a NoneType"),
    ("CREATE TABLE t FROM $p", "p", {"path": "x.csv"}, r"FROM \(\$p\) must be text, not a dict"),
    ("SELECT $v AS v", "v", object(), r"parameter \$v cannot be bound: it is an object"),
    ("SELECT $v AS v", "v", 1 + 2j, r"parameter \$v cannot be bound: it is a complex"),
    ("SELECT $v AS v", "v", 10**40, r"parameter \$v cannot be bound: it is an integer of 41 digits"),
    ("SELECT $v AS v", "v", [1, [object()]], r"parameter \$v cannot be bound: it is an object"),
    ("SELECT 1 LIMIT $v", "v", "x'; DROP TABLE crm; --", r"Could not convert string"),
    ("SELECT 1 LIMIT $v", "v", "x" * 100_000, r"Could not convert string"),
]


@pytest.mark.parametrize(("text", "name", "value", "message"), WRONG, ids=range(len(WRONG)))
def test_wrong_types_are_refused_naming_the_parameter(shared, text, name, value, message) -> None:
    ws = shared
    with pytest.raises(leadql.LeadQLTypeError, match=message) as caught:
        ws.execute(text, {name: value})
    error = caught.value
    assert len(error.message) < 300 and len(error.render()) < 1_000
    assert text[error.span.start :].startswith(f"${name}")  # the caret is under it
    if text.startswith("SELECT 1 LIMIT"):  # DuckDB's own message: the hint names the parameter
        assert f"${name} = " in error.hint
    _intact(ws)
    _nothing_bought(ws)


def test_prices_and_qualities_from_parameters_are_checked(shared, vendor) -> None:
    text = f"CREATE SOURCE s2 FROM '{vendor / 'prospects.csv'}' KEY id PRICE $p PER RECORD QUALITY $q"
    for p, q, message in [(10**40, 0.9, r"a price \(\$p\) is at most 1,000,000 USD"),
                          ("free", 0.9, r"a price \(\$p\) must be a number, not 'free'"),
                          (0.01, math.nan, r"QUALITY \(\$q\) must be a finite number"),
                          (0.01, 7, "QUALITY is a probability between 0 and 1, not 7")]:  # fmt: skip
        with pytest.raises(leadql.LeadQLTypeError, match=message):
            shared.execute(text, {"p": p, "q": q})
    _intact(shared)


def test_params_must_map_names_to_values(ws) -> None:
    for bad in ([("n", 1)], "n=1", 42):
        with pytest.raises(leadql.LeadQLTypeError, match="params must be a dict of names to values"):
            ws.execute("SELECT 1", bad)
    with pytest.raises(leadql.LeadQLTypeError, match="parameter names are text, not int"):
        ws.execute("SELECT 1", {1: 2})
    with pytest.raises(leadql.LeadQLNameError, match=r"no value for parameter \$budjet") as caught:
        ws.execute("FIND 3 leads WITH email BUDGET $budjet", {"budget": 3})
    assert caught.value.hint == "did you mean `budget`?"
    assert ws.execute("SELECT 1 AS one", None).rows == [(1,)]
    assert ws.execute("SELECT $n AS n", {"$n": 7}).rows == [(7,)]  # the $ may be written


def test_numpy_pandas_and_python_values_bind(ws) -> None:
    row = ws.execute(
        "SELECT $i AS i, $f AS f, $t AS t, $nat AS nat, $d AS d, $dec AS dec, $arr AS arr, $b AS b",
        {"i": np.int64(4), "f": np.float32(1.5), "t": pd.Timestamp("2026-01-02"), "nat": pd.NaT,
         "d": date(2026, 3, 4), "dec": Decimal("1.25"), "arr": np.array([1, 2]), "b": b"\x00\xff"},
    ).rows[0]  # fmt: skip
    assert row == (4, 1.5, pd.Timestamp("2026-01-02").to_pydatetime(), None, date(2026, 3, 4), Decimal("1.25"),
                   [1, 2], b"\x00\xff")  # fmt: skip
    found = ws.execute("FIND $n leads WITH email, state WHERE state IN $s AND fico >= $f BUDGET $b",
                       {"n": np.int64(3), "s": {"California"}, "f": np.int16(660), "b": np.float64(1)})  # fmt: skip
    assert len(found) == 3 and {r[2] for r in found.rows} == {"CA"}  # 'California' normalised to CA
    both = ws.execute("FIND 40 leads WITH email, state WHERE state IN $s BUDGET 1", {"s": ["NY", "CA"]})
    assert len(both) == 40


# ------------------------------------------------------------------------ results


def test_result_members_of_a_find(ws) -> None:
    result = ws.execute("FIND 5 leads WITH email, fico WHERE fico >= $f BUDGET 1", {"f": 680})
    assert result.columns[:3] == ["lead_id", "email", "fico"]
    assert len(result) == len(result.rows) == result.to_arrow().num_rows == len(result.to_pandas()) == 5
    assert all(isinstance(r, tuple) and r[2] >= 680 for r in result.rows)
    assert result.to_arrow().column_names == result.columns == list(result.to_pandas().columns)
    assert result.plan.driver == "prospects" and Decimal("0.05") <= result.cost <= Decimal("0.10")
    assert result.message.startswith("found 5 of 5 leads for $")
    assert result.statement.keyword == "FIND" and result.elapsed > 0
    assert result.summary().startswith("5 rows × ") and f"spent ${result.cost:.2f}" in result.summary()
    assert result.head(2) == result.rows[:2]


def test_result_members_of_sql_and_of_statements_without_rows(ws) -> None:
    sql = ws.execute("SELECT 42 AS answer, 'x' AS letter")
    assert (sql.columns, sql.rows, sql.plan, sql.cost, sql.message) == (["answer", "letter"], [(42, "x")], None, None, None)
    assert sql.to_pandas().to_dict("records") == [{"answer": 42, "letter": "x"}]
    assert repr(sql) == "<Result 1 rows × 2 columns>"
    made = ws.execute("CREATE CATEGORY linkedin TYPE varchar")
    assert made.columns == [] and made.rows == [] and len(made) == 0
    assert made.message == "created category linkedin (VARCHAR)"
    assert made.to_arrow().num_columns == 0 and made.to_pandas().empty
    rows = Result.from_rows(["a", "b"], [(1, None), (2, "y")])
    assert rows.to_arrow().to_pylist() == [{"a": 1, "b": None}, {"a": 2, "b": "y"}]


# ------------------------------------------------------------------------ register


def test_register_arrow_readers_batches_and_pandas(ws) -> None:
    ws.register("t_arrow", pa.table({"x": [1, 2, 3]}))
    schema = pa.schema([("x", pa.int64())])
    ws.register("t_reader", pa.RecordBatchReader.from_batches(schema, [pa.record_batch([[4, 5]], schema=schema)]))
    ws.register("t_batch", pa.record_batch([[6]], names=["x"]))
    ws.register("t_frame", pd.DataFrame({"x": [7, 8], "email": ["a@x.com", None]}))
    assert ws.execute("SELECT sum(x) FROM t_arrow").rows == [(6,)]
    for _ in range(2):  # a reader is read into a table: it can be queried again
        assert ws.execute("SELECT sum(x) FROM t_reader").rows == [(9,)]
    assert ws.execute("SELECT x FROM t_batch").rows == [(6,)]
    assert ws.execute("SELECT count(email) FROM t_frame").rows == [(1,)]
    ws.register("t_arrow", pa.table({"x": [10]}))  # registering again replaces
    assert ws.execute("SELECT sum(x) FROM t_arrow").rows == [(10,)]
    made = ws.execute("CREATE TABLE from_frame FROM 'python:t_frame'")
    assert made.message.startswith("created table from_frame") and "email" in made.message


def test_register_refuses_bad_names_and_data(ws) -> None:
    for name in ["", "1abc", "a b", "x; DROP TABLE crm", "é", "x" * 200]:
        with pytest.raises(leadql.LeadQLNameError, match="is not a valid name"):
            ws.register(name, pa.table({"a": [1]}))
    for name in [None, 5, b"name"]:
        with pytest.raises(leadql.LeadQLTypeError, match="register\\(\\) takes the name as text"):
            ws.register(name, pa.table({"a": [1]}))
    for data in [{"a": [1]}, [1, 2], "SELECT 1", None, pd.Series([1])]:
        with pytest.raises(leadql.LeadQLTypeError, match="register\\(\\) takes an Arrow table or a pandas DataFrame"):
            ws.register("things", data)
    with pytest.raises(leadql.LeadQLTypeError, match="cannot read `mixed` as a table"):
        ws.register("mixed", pd.DataFrame({"a": [1, "x", object()]}))
    ws.execute("FIND 2 leads WITH email BUDGET 1 INTO LIST hot")
    for taken in ("crm", "CRM", "hot"):
        with pytest.raises(leadql.LeadQLNameError, match="is already a list or table"):
            ws.register(taken, pa.table({"a": [1]}))
    assert ws.execute("SELECT count(*) FROM hot").rows == [(2,)]
    _intact(ws)


# ------------------------------------------------------------------------ lifecycle


def test_context_manager_and_closed_workspace(tmp_path) -> None:
    with pytest.raises(ZeroDivisionError), leadql.connect(tmp_path / "c.leadql") as ws:
        assert ws.execute("SELECT 1 AS one").rows == [(1,)]
        _ = 1 / 0
    assert ws._closed  # closed on the way out, also after an error
    ws.close()  # twice is harmless
    for call in (lambda: ws.execute("SELECT 1"), lambda: ws.register("x", pa.table({"a": [1]})),
                 lambda: ws.export_list("hot", "csv", tmp_path / "x.csv"), lambda: list(ws.execute_each("SELECT 1"))):  # fmt: skip
        with pytest.raises(leadql.LeadQLExecutionError, match="this workspace is closed"):
            call()
    with leadql.connect(tmp_path / "c.leadql") as again:  # the file is free again
        assert again.execute("SHOW SOURCES").rows == []


# ------------------------------------------------------------------------ threads


def test_one_workspace_from_eight_threads(ws, vendor) -> None:
    errors: list[BaseException] = []
    found: dict[int, int] = {}

    def work(i: int) -> None:
        try:
            for j in range(4):
                assert ws.execute("SELECT $a * 100 + $b AS v", {"a": i, "b": j}).rows == [(i * 100 + j,)]
            if i % 4 == 0:
                found[i] = len(ws.execute(f"FIND 3 leads WITH email, state WHERE state = $s BUDGET 1 INTO LIST l{i}",
                                          {"s": "CA" if i % 8 else "NY"}))  # fmt: skip
            elif i % 4 == 1:
                made = ws.execute(f"CREATE TABLE t{i} FROM $p MAP (email = email)", {"p": str(vendor / "prospects.csv")})
                assert made.message.startswith(f"created table t{i}")
                found[i] = ws.execute(f"SELECT count(*) FROM t{i}").rows[0][0]
            elif i % 4 == 2:
                ws.register(f"r{i}", pa.table({"x": list(range(i))}))
                found[i] = ws.execute(f"SELECT count(*) FROM r{i}").rows[0][0]
            else:
                found[i] = len(ws.execute("SHOW SOURCES").rows) + len(
                    ws.execute("FIND 4 leads WITH email FROM SOURCE prospects BUDGET 1"))
        except BaseException as e:  # noqa: BLE001 - collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert found == {0: 3, 1: 40, 2: 2, 3: 6, 4: 3, 5: 40, 6: 6, 7: 6}
    assert sorted(r[0] for r in ws.execute("SHOW LISTS").rows) == ["l0", "l4"]
    assert ws.execute("SELECT state, count(*) FROM l0 GROUP BY state").rows == [("NY", 3)]
    assert ws.execute("SELECT state, count(*) FROM l4 GROUP BY state").rows == [("CA", 3)]
    assert sorted(r[0] for r in ws.execute("SHOW TABLES").rows) == ["crm", "t1", "t5"]
    runs, spent = ws.execute("SELECT count(*), sum(spent) FROM _leadql.runs").rows[0]
    assert runs == 4 and Decimal("0.14") <= spent <= Decimal("0.30")  # 3+3+4+4 leads, a few spare records


def test_closing_while_threads_run_gives_closed_errors_only(tmp_path) -> None:
    ws = leadql.connect(tmp_path / "closing.leadql")
    outcomes: list[str] = []

    def work() -> None:
        for _ in range(200):
            try:
                ws.execute("SELECT count(*) FROM range(20000)")
            except leadql.LeadQLExecutionError as e:
                outcomes.append(e.message)
                return
            except BaseException as e:  # noqa: BLE001 - any other failure is the bug
                outcomes.append(f"unexpected {type(e).__name__}: {e}")
                return
        outcomes.append("finished")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    ws.close()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 3 and set(outcomes) <= {"this workspace is closed", "finished"}, outcomes


# ------------------------------------------------------------------------ Jupyter


def test_html_escapes_values_and_names(ws) -> None:
    ws.register("evil", pa.table({"<b>name</b>": ["<script>alert(1)</script>", "ok & fine", None],
                                  "n": [1, 2, 3]}))  # fmt: skip
    html = ws.execute("SELECT * FROM evil")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<th>&lt;b&gt;name&lt;/b&gt;</th>" in html and "ok &amp; fine" in html and "<td>NULL</td>" in html
    assert "3 rows × 2 columns" in html and "showing the first" not in html
    many = ws.execute("SELECT * FROM range(120)")._repr_html_(max_rows=10)
    assert many.count("<tr>") == 11 and "showing the first 10 of 120 rows" in many
    default = ws.execute("SELECT * FROM range(1000)")._repr_html_()
    assert default.count("<tr>") == 51 and "of 1,000 rows" in default


def test_html_of_finds_messages_and_warnings(ws) -> None:
    found = ws.execute("FIND 100 leads WITH email FROM SOURCE prospects BUDGET 10")  # only 40 exist
    html = found._repr_html_()
    assert f"40 rows × {len(found.columns)} columns" in html and "spent $0.40" in html
    assert html.index("found 40 of 100 leads") < html.index("<table>")  # the message above the rows
    assert "<b>warning:</b> delivered 40 of the 100 leads asked for" in html
    made = ws.execute("CREATE CATEGORY linkedin TYPE varchar")._repr_html_()
    assert "<table>" not in made and "created category linkedin (VARCHAR)" in made
    odd = Result(message="<i>done</i>", warnings=["<img src=x onerror=alert(1)>"])._repr_html_()
    assert "<img" not in odd and "&lt;i&gt;done&lt;/i&gt;" in odd


@pytest.fixture
def shell():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # nothing written to ~/.ipython
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "leadql.jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "leadql.jupyter")


def test_cell_magic_runs_cells_in_a_workspace_kept_per_file(shell, tmp_path, capsys) -> None:
    path = tmp_path / "nb.leadql"
    shell.user_ns["who"] = "Robert'); DROP TABLE x; --"
    result = shell.run_cell_magic("leadql", f"-d {path} -o answer", "SELECT $who AS who, 40 + 2 AS n")
    assert result.rows == [("Robert'); DROP TABLE x; --", 42)]
    assert shell.user_ns["answer"] is result and "<table>" in result._repr_html_()
    shell.run_cell_magic("leadql", f"-d {path}", "CREATE CATEGORY nb_note TYPE varchar")
    again = shell.run_cell_magic("leadql", f"--database '{path}'", "SHOW CATEGORIES")  # the same workspace
    assert "nb_note" in {r[0] for r in again.rows}
    shell.user_ns.update(n=np.int64(2), budget=1.5)
    memory = shell.run_cell_magic("leadql", "", "SELECT $n * 10 AS v; SELECT $n + $budget AS w")
    assert memory.rows == [(3.5,)]  # the last statement's result, from the in-memory workspace
    cell = shell.run_cell(f"%%leadql -d {path}\nSELECT 'via run_cell' AS how")  # a cell as typed
    assert cell.success and cell.result.rows == [("via run_cell",)]
    capsys.readouterr()


def test_cell_magic_errors_are_printed_not_raised(shell, capsys) -> None:
    shell.user_ns.pop("nobody", None)
    shell.user_ns["thing"] = object()
    cases = [
        ("", "SELEC 1", "syntax error"),
        ("", "SELECT $nobody AS x", "set a notebook variable `nobody` first"),
        ("", "FIND $nobody leads WITH email BUDGET 1", "no value for parameter $nobody"),
        ("-x", "SELECT 1", "%%leadql does not understand '-x'"),
        ("-o 1bad", "SELECT 1", "-o needs a Python variable name"),
        ("-d 'unclosed", "SELECT 1", "%%leadql options: No closing quotation"),
        ("", "SELECT $thing AS t", "parameter $thing cannot be bound: it is an object"),
        ("", "-- only a comment", "nothing to run"),
    ]
    for line, cell, expected in cases:
        assert shell.run_cell_magic("leadql", line, cell) is None, cell
        out = capsys.readouterr()
        assert expected in out.err and "Traceback" not in out.err + out.out, (cell, out)


def test_import_leadql_does_not_import_ipython() -> None:
    code = "import sys, leadql, leadql.jupyter, leadql.result; sys.exit('IPython' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ------------------------------------------------------------------------ cancelling


def test_interrupt_cancels_the_running_statement_and_the_rest_of_the_text(ws) -> None:
    slow = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"
    timer = threading.Timer(0.3, ws.interrupt)
    timer.start()
    with pytest.raises(leadql.LeadQLCancelledError, match="SELECT was cancelled") as caught:
        ws.execute(f"{slow}; SAVE QUERY never AS SELECT 1")
    timer.join()
    assert caught.value.line == 1 and "nothing it was storing was saved" in caught.value.hint
    assert ws.execute("SHOW QUERIES").rows == []  # the statement after it never ran
    assert ws.execute("SELECT 1 AS one").rows == [(1,)]  # the workspace is fine afterwards


@pytest.mark.parametrize("args,kwargs,words", [
    ((b"/tmp/x.leadql",), {}, "not bytes"),
    ((5,), {}, "not int 5"),
    ((None,), {"read_only": "yes"}, "read_only is True or False, not 'yes'"),
])  # fmt: skip
def test_connect_refuses_arguments_of_the_wrong_type(args, kwargs, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(leadql.LeadQLTypeError, match=words):
        leadql.connect(*args, **kwargs)
    assert list(tmp_path.iterdir()) == []  # no stray workspace file made


def test_select_from_an_unknown_name_says_so_without_internal_suggestions():
    ws = leadql.connect()
    for name in ("nolist", "clas"):
        with pytest.raises(leadql.LeadQLNameError, match=f"no table, view or list named `{name}`") as caught:
            ws.execute(f"SELECT * FROM {name}")
        assert caught.value.column == 15
        assert not any(p in (caught.value.hint or "") for p in ("pg_", "_leadql", "duckdb_"))
