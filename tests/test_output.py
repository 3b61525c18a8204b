"""Results to files (`-o FILE`: csv, json, parquet, written atomically) and lists to CRM import
files (`leadql export`, `ws.export_list`: Salesforce, HubSpot, plain CSV)."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import leadql
from leadql.cli import main
from leadql.output import write_result
from leadql.warehouse.export import HUBSPOT, SALESFORCE

QUERY = "SELECT range AS n, 'v' || range AS s FROM range(3)"
MEMORY = ["-d", ":memory:"]


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------ -o FILE


@pytest.mark.parametrize("name", ["out.csv", "out.json", "out.parquet", "OUT.CSV", "out.pq"])
def test_output_file_by_extension(tmp_path, capsys, name) -> None:
    target = tmp_path / name
    assert main([*MEMORY, "-c", QUERY, "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert "│ n │ s  │" in captured.out  # still printed
    kind = {"csv": "csv", "json": "json", "parquet": "parquet", "pq": "parquet"}[target.suffix.lower()[1:]]
    assert f"wrote 3 rows to {target} ({kind})" in captured.err
    if kind == "csv":
        assert target.read_text(encoding="utf-8").splitlines() == ["n,s", "0,v0", "1,v1", "2,v2"]
    elif kind == "json":
        assert json.loads(target.read_text(encoding="utf-8")) == [{"n": i, "s": f"v{i}"} for i in range(3)]
    else:
        assert pq.read_table(target).to_pylist() == [{"n": i, "s": f"v{i}"} for i in range(3)]
    assert not _leftovers(tmp_path)


def test_extension_wins_and_format_names_files_without_one(tmp_path, capsys) -> None:
    assert main([*MEMORY, "--format", "json", "-c", QUERY, "-o", str(tmp_path / "a.csv")]) == 0
    assert capsys.readouterr().out.startswith("[{")  # printed as asked
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").startswith("n,s\n")  # the file is CSV
    assert main([*MEMORY, "--format", "csv", "-c", QUERY, "-o", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain").read_text(encoding="utf-8").startswith("n,s\n")
    capsys.readouterr()


def test_the_last_result_with_columns_is_written(tmp_path, capsys) -> None:
    script = tmp_path / "report.lql"
    script.write_text("SELECT 1 AS first;\nSELECT 2 AS second;\nCREATE CATEGORY extra TYPE varchar;\n", encoding="utf-8")
    target = tmp_path / "out.json"
    assert main(["-d", str(tmp_path / "w.leadql"), "run", str(script), "-o", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == [{"second": 2}]
    assert "wrote 1 rows" in capsys.readouterr().err


def test_output_errors_are_clear_and_leave_nothing_behind(tmp_path, capsys) -> None:
    (tmp_path / "folder.csv").mkdir()
    cases = [
        ([*MEMORY, "-c", QUERY, "-o", str(tmp_path / "out.xlsx")], "cannot tell how to write out.xlsx"),
        ([*MEMORY, "-c", QUERY, "-o", "/proc/no/such/dir/out.csv"], "cannot write /proc/no/such/dir/out.csv"),
        ([*MEMORY, "-c", QUERY, "-o", str(tmp_path / "folder.csv")], f"cannot write {tmp_path / 'folder.csv'}"),
        ([*MEMORY, "-c", "CREATE CATEGORY c TYPE varchar", "-o", str(tmp_path / "x.csv")],
         "no statement returned a table to write"),
        ([*MEMORY, "-c", f"{QUERY}; SELECT * FROM nowhere", "-o", str(tmp_path / "y.csv")], "nowhere"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.csv"]  # no file, no temporary file
    assert list((tmp_path / "folder.csv").iterdir()) == []
    assert main(["-d", str(tmp_path / "w.leadql"), "-o", str(tmp_path / "z.csv")]) == 2  # the shell: no -o
    assert "-o FILE works with -c, run and export" in capsys.readouterr().err


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch, capsys) -> None:
    target = tmp_path / "keep.parquet"
    target.write_bytes(b"the old file")

    def broken(table, where, **kw):
        Path(where).write_bytes(b"half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    assert main([*MEMORY, "-c", QUERY, "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"cannot write {target}: No space left on device" in err and "Traceback" not in err
    assert target.read_bytes() == b"the old file" and not _leftovers(tmp_path)


def test_write_result_keeps_types_in_parquet_and_json(tmp_path) -> None:
    with leadql.connect() as ws:
        result = ws.execute("SELECT 1.25::DECIMAL(9,2) AS d, DATE '2026-11-01' AS day, [1, 2] AS l, "
                            "{'k': 'v'} AS s, NULL::VARCHAR AS missing, 'a,\"b\"\nc' AS odd")  # fmt: skip
    assert write_result(result, tmp_path / "t.parquet") == "parquet"
    assert pq.read_table(tmp_path / "t.parquet").to_pylist() == [
        {"d": Decimal("1.25"), "day": date(2026, 11, 1), "l": [1, 2], "s": {"k": "v"}, "missing": None,
         "odd": 'a,"b"\nc'}]  # fmt: skip
    write_result(result, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text(encoding="utf-8")) == [
        {"d": 1.25, "day": "2026-11-01", "l": [1, 2], "s": {"k": "v"}, "missing": None, "odd": 'a,"b"\nc'}]
    write_result(result, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [["d", "day", "l", "s", "missing", "odd"],
                                       ["1.25", "2026-11-01", "[1, 2]", '{"k": "v"}', "", 'a,"b"\nc']]  # fmt: skip


# ------------------------------------------------------------------------ CRM export

COLUMNS = ["id", "first", "last", "email", "phone", "company", "title", "industry", "website", "street", "city",
           "state", "zip", "revenue", "employees"]  # fmt: skip
MAP = ("first_name = first, last_name = last, email = email, phone = phone, company_name = company, "
       "title = title, industry = industry, domain = website, street = street, city = city, state = state, "
       "zip = zip, revenue = revenue, employees = employees")  # fmt: skip


def _build(folder: Path) -> Path:
    """A workspace with list `hot` (4 vendor leads, delivered twice: firmographics, then phones)
    and list `cold` (3 leads with nothing but an email)."""
    vendor = folder / "vendor.csv"
    with open(vendor, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in range(6):
            writer.writerow([i, f"Ann{i}", f"O'Lee{i}", f"p{i}@example.com", f"415555{1000 + i}",
                             f'Smith, "Jones" & Co {i}', "VP of Sales", "Software", f"acme{i}.com", f"{i} Main St",
                             "San Francisco", "California", "94105", "1500000", "120"])  # fmt: skip
    (folder / "bare.csv").write_text("id,email\n" + "".join(f"{i},b{i}@example.com\n" for i in range(3)))
    path = folder / "crm.leadql"
    with leadql.connect(path) as ws:
        ws.execute(f"""
            CREATE SOURCE vendor FROM '{vendor}' KEY id MAP ({MAP}) PRICE 0.01 PER RECORD QUALITY 0.9;
            CREATE SOURCE bare FROM '{folder / "bare.csv"}' KEY id MAP (email = email)
              PRICE 0.001 PER RECORD QUALITY 0.6;
            ANALYZE;
            FIND 4 leads WITH email, company_name, title, industry, domain, street, city, state, zip, revenue,
              employees FROM SOURCE vendor BUDGET 1 INTO LIST hot;
            FIND 4 leads WITH email, phone FROM SOURCE vendor BUDGET 1 INTO LIST hot;
            FIND 3 leads WITH email FROM SOURCE bare BUDGET 1 INTO LIST cold""")
    return path


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    with leadql.connect(_build(tmp_path_factory.mktemp("crm"))) as ws:
        yield ws


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_salesforce_layout(crm, tmp_path) -> None:
    report = crm.export_list("hot", "salesforce", tmp_path / "sf.csv")
    assert (report.rows, report.layout, report.empty_columns, report.warnings) == (4, "salesforce", [], [])
    assert report["rows"] == 4  # reads like a dict too
    rows = _read(tmp_path / "sf.csv")
    assert list(rows[0]) == [c.header for c in SALESFORCE.columns] == [
        "First Name", "Last Name", "Email", "Phone", "Company", "Title", "Industry", "Website", "Street", "City",
        "State/Province", "Zip/Postal Code", "Country", "Annual Revenue", "No. of Employees", "Lead Source",
        "Lead Status", "Rating", "Description"]  # fmt: skip
    lead_ids = {r[0] for r in crm.execute("SELECT lead_id FROM hot").rows}
    assert len(rows) == len(lead_ids) == 4  # two deliveries of each lead, one row each
    for row in rows:
        i = int(row["Email"][1])
        assert row["Email"] == f"p{i}@example.com" and row["First Name"] == f"Ann{i}" and row["Last Name"] == f"O'Lee{i}"
        assert row["Phone"] == f"+1415555{1000 + i}"  # from the second delivery, merged
        assert row["Company"] == f'Smith, "Jones" & Co {i}'  # from the first
        assert (row["State/Province"], row["Zip/Postal Code"], row["Country"]) == ("CA", "94105", "United States")
        assert (row["Annual Revenue"], row["No. of Employees"], row["Website"]) == ("1500000", "120", f"acme{i}.com")
        assert (row["Lead Source"], row["Lead Status"], row["Rating"]) == ("Purchased List", "Open - Not Contacted", "Hot")
        lead = row["Description"].split(";")[0].removeprefix("LeadQL lead ")
        assert lead in lead_ids and "; list hot; quality 0.9; from vendor" in row["Description"]


def test_hubspot_layout_and_its_custom_columns(crm, tmp_path) -> None:
    report = crm.export_list("hot", "HubSpot", tmp_path / "hs.csv")
    assert report.layout == "hubspot" and report.empty_columns == ["LeadQL Score"]  # FIND lists have no score
    rows = _read(tmp_path / "hs.csv")
    assert list(rows[0]) == [c.header for c in HUBSPOT.columns]
    assert list(rows[0])[:13] == ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Job Title",
                                  "Industry", "Website URL", "Street Address", "City", "State/Region", "Postal Code",
                                  "Country/Region"]  # fmt: skip
    assert {(r["Lifecycle Stage"], r["Lead Status"], r["LeadQL Quality"], r["LeadQL Sources"], r["LeadQL List"])
            for r in rows} == {("Lead", "New", "0.9", "vendor", "hot")}  # fmt: skip
    assert {r["LeadQL Lead ID"] for r in rows} == {r[0] for r in crm.execute("SELECT lead_id FROM hot").rows}


def test_csv_layout_is_the_list_as_sql_shows_it(crm, tmp_path) -> None:
    report = crm.export_list("hot", "csv", tmp_path / "raw.csv")
    rows = _read(tmp_path / "raw.csv")
    assert report.rows == len(rows) == 8  # every delivery
    assert list(rows[0]) == crm.execute("SELECT * FROM hot").columns
    assert json.loads(rows[0]["provenance"])["email"].startswith("vendor/")
    sql = crm.execute("SELECT company_name FROM hot").rows
    assert [r["company_name"] for r in rows] == ["" if v is None else v for (v,) in sql]


def test_missing_data_is_reported(crm, tmp_path) -> None:
    report = crm.export_list("cold", "salesforce", tmp_path / "cold.csv")
    assert report.rows == 3
    assert report.empty_columns == ["First Name", "Last Name", "Phone", "Company", "Title", "Industry", "Website",
                                    "Street", "City", "State/Province", "Zip/Postal Code", "Country",
                                    "Annual Revenue", "No. of Employees"]  # fmt: skip
    assert report.warnings == ["3 of 3 rows have no Last Name, which Salesforce needs to import a lead",
                               "3 of 3 rows have no Company, which Salesforce needs to import a lead"]  # fmt: skip
    rows = _read(tmp_path / "cold.csv")
    assert {r["Rating"] for r in rows} == {"Warm"} and all(r["Email"].startswith("b") for r in rows)


def test_a_predict_list_exports_its_scores(tmp_path) -> None:
    from tests.test_predict import CONVERT, CRM_SCRIPT, _crm

    _crm(tmp_path, n=300, days=200)
    with leadql.connect(tmp_path / "p.leadql") as ws:
        ws.execute(CRM_SCRIPT.format(d=tmp_path))
        ws.execute(CONVERT + " LIMIT 5 INTO LIST scored")
        scores = [r[0] for r in ws.execute("SELECT score FROM scored").rows]
        report = ws.export_list("scored", "salesforce", tmp_path / "scored.csv")
        hub = ws.export_list("scored", "hubspot", tmp_path / "scored_hs.csv")
    rows = _read(tmp_path / "scored.csv")
    assert report.rows == 5 and all(r["Email"].endswith("@example.com") for r in rows)
    assert {r["Lead Source"] for r in rows} == {"Other"}  # scored from own data, not bought
    assert [r["Rating"] for r in rows] == ["Hot" if s >= 0.8 else "Warm" if s >= 0.5 else "Cold" for s in scores]
    assert all(f"score {round(s, 3)}" in r["Description"] for r, s in zip(rows, scores, strict=True))
    assert "LeadQL Quality" in hub.empty_columns and "LeadQL Score" not in hub.empty_columns


def test_export_errors_name_the_nearest(crm, tmp_path, monkeypatch) -> None:
    with pytest.raises(leadql.LeadQLNameError, match="no export layout named `salesfroce`") as caught:
        crm.export_list("hot", "salesfroce", tmp_path / "x.csv")
    assert caught.value.hint == "did you mean `salesforce`?"
    with pytest.raises(leadql.LeadQLNameError, match="no list named `hto`") as caught:
        crm.export_list("hto", "csv", tmp_path / "x.csv")
    assert caught.value.hint == "did you mean `hot`?"
    with pytest.raises(leadql.LeadQLNameError, match="no export layout named `excel`") as caught:
        crm.export_list("hot", "excel", tmp_path / "x.csv")
    assert caught.value.hint == "layouts: salesforce, hubspot, csv"
    for bad in (None, 3):
        with pytest.raises(leadql.LeadQLTypeError, match="an export layout is a name"):
            crm.export_list("hot", bad, tmp_path / "x.csv")
    with pytest.raises(leadql.LeadQLTypeError, match="a list name is text"):
        crm.export_list(["hot"], "csv", tmp_path / "x.csv")
    with pytest.raises(leadql.LeadQLTypeError, match="cannot be `x.parquet`") as caught:
        crm.export_list("hot", "csv", tmp_path / "x.parquet")  # would be CSV bytes in a .parquet
    assert "x.csv" in caught.value.hint
    with pytest.raises(leadql.LeadQLExecutionError, match="cannot write"):
        crm.export_list("hot", "csv", tmp_path)  # a folder
    assert not (tmp_path / "x.csv").exists() and not _leftovers(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert crm.export_list("hot", "hubspot").path == "hot.hubspot.csv" and (tmp_path / "hot.hubspot.csv").exists()


def test_export_from_the_command_line(tmp_path, capsys, monkeypatch) -> None:
    path = str(_build(tmp_path))
    target = tmp_path / "out" / "sf.csv"  # a folder that does not exist yet
    assert main(["-d", path, "export", "hot", "--layout", "salesforce", "-o", str(target)]) == 0
    assert f"wrote 4 leads of hot to {target} (salesforce layout)" in capsys.readouterr().out
    assert _read(target)[0]["Country"] == "United States"
    assert main(["-d", path, "export", "cold", "--layout", "salesforce", "-o", str(tmp_path / "c.csv")]) == 0
    captured = capsys.readouterr()
    assert "; no data for: First Name, Last Name, Phone" in captured.out
    assert "warning: 3 of 3 rows have no Company" in captured.err
    monkeypatch.chdir(tmp_path)
    assert main(["-d", path, "export", "hot"]) == 0  # the csv layout, to LIST.csv
    assert "wrote 8 leads of hot to hot.csv (csv layout)" in capsys.readouterr().out
    assert len(_read(tmp_path / "hot.csv")) == 8
    assert main(["-d", path, "export", "hto"]) == 1
    assert "did you mean `hot`?" in capsys.readouterr().err
    assert main(["-d", path, "export", "hot", "--layout", "excel"]) == 1
    assert "no export layout named `excel`" in capsys.readouterr().err
    assert main(["-d", str(tmp_path / "nope.leadql"), "export", "hot"]) == 2
    assert "no workspace" in capsys.readouterr().err
    assert not (tmp_path / "nope.leadql").exists()


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() -> None:
    from leadql.warehouse.export import _cell

    assert [_cell(v) for v in ("=HYPERLINK(\"x\")", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3")] == [
        "'=HYPERLINK(\"x\")", "'@SUM(A1)", "'+cmd|' /C calc'!A0", "'-2+3"]
    assert [_cell(v) for v in ("+1 (555) 010-2030", "-12.5", "plain", "a=b")] == [
        "+1 (555) 010-2030", "-12.5", "plain", "a=b"]  # phones and signed numbers import as they are
