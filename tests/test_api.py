"""The embedding surfaces: hostile parameter values stay values, one workspace from many threads,
Result as HTML, the %%leadql cell magic, `-o FILE`, and CRM export layouts."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.cli import main

HOSTILE = [
    "x'; DROP TABLE prospects; --",
    "'); DELETE FROM _leadql.objects; --",
    'a"b\\c',
    "\x00nul",
    "ünïcödé ✓ 名前",
    "$other",
    "x" * 100_000,
]


@pytest.fixture
def ws(tmp_path):
    vendor = tmp_path / "prospects.csv"
    rows = ["id,email,first,last,state,fico"]
    rows += [f"{i},p{i}@example.com,Ann{i},Lee{i},{'CA' if i % 2 else 'NY'},{650 + i}" for i in range(40)]
    vendor.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with leadql.connect(tmp_path / "api.leadql") as workspace:
        workspace.execute(f"""
            CREATE SOURCE prospects FROM '{vendor}' KEY id
              MAP (email = email, first_name = first, last_name = last, state = state, fico = fico)
              PRICE 0.01 PER RECORD QUALITY 0.9;
            CREATE TABLE crm FROM '{vendor}' MAP (email = email);
            ANALYZE""")
        yield workspace


def _intact(ws) -> None:
    assert [r[0] for r in ws.execute("SHOW SOURCES").rows] == ["prospects"]
    assert [r[0] for r in ws.execute("SHOW TABLES").rows] == ["crm"]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_are_values_in_sql_and_in_find(ws, value) -> None:
    assert ws.execute("SELECT $v AS v, length($v) AS n", {"v": value}).rows == [(value, len(value))]
    try:
        found = ws.execute("FIND 5 leads WITH email WHERE last_name = $v BUDGET 1", {"v": value})
        assert len(found) == 0 and found.cost == 0  # nobody has that name; nothing bought
    except leadql.LeadQLTypeError as e:  # or the name normaliser refuses it, before anything is read
        assert "is not a valid last_name" in e.message and len(e.message) < 200
    _intact(ws)


def test_wrong_types_name_the_parameter(ws) -> None:
    for bad in ({"a": 1}, object(), float("nan")):
        with pytest.raises(leadql.LeadQLTypeError):
            ws.execute("FIND $n leads WITH email BUDGET 1", {"n": bad})
    with pytest.raises(leadql.LeadQLTypeError, match=r"BUDGET \(\$b\) must be a number"):
        ws.execute("FIND 5 leads WITH email BUDGET $b", {"b": "5; DROP"})
    with pytest.raises(leadql.LeadQLNameError, match=r"no value for parameter \$b"):
        ws.execute("FIND 5 leads WITH email BUDGET $b", {})
    ok = ws.execute("FIND 5 leads WITH email WHERE fico >= $f BUDGET $b", {"f": 680, "b": 1})
    assert len(ok) == 5 and all(r[2] >= 680 for r in ok.rows)
    _intact(ws)


def test_result_members(ws) -> None:
    result = ws.execute("FIND 5 leads WITH email, fico BUDGET 1")
    assert result.columns[:3] == ["lead_id", "email", "fico"]
    assert result.to_arrow().num_rows == len(result.rows) == len(result.to_pandas()) == 5
    assert result.plan is not None and result.cost > 0


def test_one_workspace_from_many_threads(ws) -> None:
    errors: list[BaseException] = []
    answers: list[int] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                assert ws.execute(f"SELECT {i} * 100 + {j} AS v").rows == [(i * 100 + j,)]
            if i % 2:
                found = ws.execute(f"FIND 2 leads WITH email BUDGET 1 INTO LIST l{i}")
                answers.append(len(found))
            else:
                answers.append(ws.execute("SELECT count(*) FROM crm").rows[0][0])
        except BaseException as e:  # noqa: BLE001 - collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(answers) == [2, 2, 2, 2, 40, 40, 40, 40]
    assert ws.execute("SELECT count(*) FROM _leadql.lists").rows == [(4,)]


def test_html_rendering_escapes_values(ws) -> None:
    ws.register("evil", pa.table({"name": ["<script>alert(1)</script>", "ok & fine"]}))
    html = ws.execute("SELECT * FROM evil")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "ok &amp; fine" in html
    assert "2 rows" in html
    assert "<p>" in ws.execute("SAVE QUERY q AS SELECT 1")._repr_html_()
    many = ws.execute("SELECT * FROM range(120)")._repr_html_(max_rows=10)
    assert many.count("<tr>") == 11 and "first 10 of 120 rows" in many


def test_cell_magic_binds_notebook_variables(tmp_path) -> None:
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "leadql.jupyter")
    shell.user_ns["who"] = "Robert'); DROP TABLE x; --"
    path = tmp_path / "nb.leadql"
    result = shell.run_cell_magic("leadql", f"-d {path} -o answer", "SELECT $who AS who, 40 + 2 AS n")
    assert result.rows == [("Robert'); DROP TABLE x; --", 42)]
    assert shell.user_ns["answer"] is result
    assert "<table>" in result._repr_html_()
    assert shell.run_cell_magic("leadql", f"-d {path}", "SELEC 1") is None  # an error, printed
    shell.run_line_magic("unload_ext", "leadql.jupyter")


def test_output_file_in_three_formats(tmp_path, capsys) -> None:
    query = "SELECT range AS n, 'v' || range AS s FROM range(3)"
    for name in ("out.csv", "out.json", "out.parquet"):
        target = tmp_path / name
        assert main(["-d", ":memory:", "-c", query, "-o", str(target)]) == 0
        assert f"wrote 3 rows to {target}" in capsys.readouterr().err
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines() == ["n,s", "0,v0", "1,v1", "2,v2"]
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))[2] == {"n": 2, "s": "v2"}
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 3
    assert main(["-d", ":memory:", "-c", query, "-o", str(tmp_path / "out.xlsx")]) == 1
    assert "cannot tell how to write out.xlsx" in capsys.readouterr().err
    assert main(["-d", ":memory:", "-c", "SELECT 1", "-o", "/proc/nope/out.csv"]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert not list(tmp_path.glob(".out*"))  # no temporary files left behind


def test_export_a_list_in_crm_layouts(ws, tmp_path, capsys) -> None:
    ws.execute("FIND 6 leads WITH email, state, fico BUDGET 1 INTO LIST hot")
    report = ws.export_list("hot", "salesforce", tmp_path / "sf.csv")
    assert report["rows"] == 6 and "Company" in report["empty_columns"]
    with open(tmp_path / "sf.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["First Name", "Last Name", "Email", "Phone", "Company"]
    assert all(r["Email"].endswith("@example.com") and r["State/Province"] in ("CA", "NY") for r in rows)
    assert all(r["First Name"].startswith("Ann") for r in rows)  # from the leads dimension
    assert all("LeadQL lead L" in r["Description"] for r in rows)
    hub = ws.export_list("hot", "HubSpot", tmp_path / "hs.csv")
    assert hub["rows"] == 6
    assert (tmp_path / "hs.csv").read_text(encoding="utf-8").startswith("First Name,Last Name,Email,Phone Number")
    with pytest.raises(leadql.LeadQLNameError, match="no export layout named `salesfroce`") as caught:
        ws.export_list("hot", "salesfroce", tmp_path / "x.csv")
    assert caught.value.hint == "did you mean `salesforce`?"
    with pytest.raises(leadql.LeadQLNameError, match="no list named `hto`"):
        ws.export_list("hto", "csv", tmp_path / "x.csv")
    path = ws.path
    ws.close()
    target = tmp_path / "cli.csv"
    assert main(["-d", path, "export", "hot", "--layout", "hubspot", "-o", str(target)]) == 0
    assert "wrote 6 leads of hot" in capsys.readouterr().out and target.exists()
    assert main(["-d", path, "export", "nope"]) == 1
    assert Path(path).exists()


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
