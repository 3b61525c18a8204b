"""Each connector: schema, scan with projection/filter/limit pushed down, and clear errors."""

from __future__ import annotations

import sqlite3

import duckdb
import fsspec
import pyarrow as pa
import pytest

from leadql.connectors import infer_format, open_connector
from leadql.errors import LeadQLSourceError


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture
def files(tmp_path, con):
    rows = "SELECT range AS id, 'name' || range AS name, range * 1.5 AS score FROM range(100)"
    con.execute(f"COPY ({rows}) TO '{tmp_path}/people.parquet'")
    con.execute(f"COPY ({rows}) TO '{tmp_path}/people.csv' (HEADER)")
    con.execute(f"COPY ({rows}) TO '{tmp_path}/people.tsv' (HEADER, DELIMITER '\t')")
    con.execute(f"COPY ({rows}) TO '{tmp_path}/people.ndjson' (FORMAT json)")
    con.execute(f"COPY ({rows}) TO '{tmp_path}/people.json' (FORMAT json, ARRAY true)")
    (tmp_path / "parts").mkdir()
    for i in range(3):
        con.execute(f"COPY (SELECT * FROM ({rows}) WHERE id % 3 = {i}) TO '{tmp_path}/parts/p{i}.parquet'")
    db = duckdb.connect(str(tmp_path / "crm.duckdb"))
    db.execute(f"CREATE TABLE people AS {rows}")
    db.execute("CREATE TABLE other AS SELECT 1 AS x")
    db.close()
    lite = sqlite3.connect(tmp_path / "crm.sqlite")
    lite.execute("CREATE TABLE people (id INTEGER, name TEXT, score REAL)")
    lite.executemany("INSERT INTO people VALUES (?, ?, ?)", [(i, f"name{i}", i * 1.5) for i in range(100)])
    lite.commit()
    lite.close()
    return tmp_path


CASES = [
    ("people.parquet", None, {}),
    ("people.csv", None, {"header": True}),
    ("people.tsv", None, {}),
    ("people.ndjson", None, {}),
    ("people.json", None, {}),
    ("parts/*.parquet", None, {}),
    ("parts", "parquet", {}),
    ("crm.duckdb", None, {"table": "people"}),
    ("crm.sqlite", None, {}),
]


@pytest.mark.parametrize("location,fmt,options", CASES, ids=[c[0] for c in CASES])
def test_schema_and_pushed_down_scan(files, con, location, fmt, options) -> None:
    connector = open_connector(location, fmt, options, files)
    schema = connector.schema(con)
    assert list(schema)[:3] == ["id", "name", "score"]
    batches = connector.scan(con, ["name"], "id >= 90 AND name LIKE 'name9%'", 5)
    table = batches.read_all()
    assert table.column_names == ["name"]
    assert table.num_rows == 5
    assert all(n.startswith("name9") for n in table.column("name").to_pylist())


def test_fsspec_memory_urls(con, files) -> None:
    fs = fsspec.filesystem("memory")
    for name in ("a.parquet", "b.parquet"):
        with fs.open(f"memory://vendor/{name}", "wb") as out:
            out.write((files / "people.parquet").read_bytes())
    with fs.open("memory://vendor/people.csv", "wb") as out:
        out.write((files / "people.csv").read_bytes())
    connector = open_connector("memory://vendor/*.parquet", None, {}, files)
    assert connector.schema(con)["id"] == "BIGINT"
    table = connector.scan(con, ["id"], "id < 3", None).read_all()
    assert sorted(table.column("id").to_pylist()) == [0, 0, 1, 1, 2, 2]
    csv = open_connector("memory://vendor/people.csv", None, {}, files)
    assert csv.scan(con, ["name"], "id = 7", None).read_all().column("name").to_pylist() == ["name7"]


def test_registered_data(con, files) -> None:
    con.register("prospects", pa.table({"email": ["a@x.com", "b@y.com"]}))
    connector = open_connector("python:prospects", None, {}, files)
    assert connector.schema(con) == {"email": "VARCHAR"}
    with pytest.raises(LeadQLSourceError, match="nothing is registered as `prospect`"):
        open_connector("python:prospect", None, {}, files).schema(con)


@pytest.mark.parametrize(
    "location,fmt,options,message",
    [
        ("missing.parquet", None, {}, "file not found: 'missing.parquet'"),
        ("nothing/*.csv", None, {}, "no file matches"),
        ("people.xyz", None, {}, "cannot tell the format"),
        ("s3://bucket/data.parquet", None, {}, "no filesystem for URL scheme s3://"),
        ("people.csv", None, {"delimter": ";"}, "no option `delimter`"),
        ("crm.duckdb", None, {}, "holds 2 tables; say which"),
        ("crm.duckdb", None, {"table": "peeple"}, "has no table `peeple`"),
        ("crm.sqlite", None, {"table": "nope"}, "has no table `nope`"),
        ("memory://nothing/here.parquet", None, {}, "no file matches"),
    ],
)
def test_clear_errors(files, con, location, fmt, options, message) -> None:
    with pytest.raises(LeadQLSourceError) as caught:
        open_connector(location, fmt, options, files).schema(con)
    assert message in caught.value.message


def test_suggestions_in_errors(files, con) -> None:
    with pytest.raises(LeadQLSourceError) as caught:
        open_connector("peeple.parquet", None, {}, files).schema(con)
    assert caught.value.hint == "did you mean `people.parquet`?"
    with pytest.raises(LeadQLSourceError) as caught:
        open_connector("people.csv", None, {"delimter": ";"}, files).schema(con)
    assert caught.value.hint == "did you mean `delimiter`?"


@pytest.mark.parametrize("name,fmt", [("bad.parquet", None), ("bad.duckdb", None), ("bad.sqlite", None), ("bad.json", None)])
def test_corrupt_files(files, con, name, fmt) -> None:
    (files / name).write_bytes(b"\x00\x01 definitely not a real file \xff" * 50)
    with pytest.raises(LeadQLSourceError) as caught:
        connector = open_connector(name, fmt, {}, files)
        connector.schema(con)
        connector.scan(con).read_all()
    assert name in caught.value.message


def test_sqlite_columns_of_mixed_types_do_not_crash(files, con) -> None:
    lite = sqlite3.connect(files / "mixed.sqlite")
    lite.execute("CREATE TABLE t (a INTEGER)")
    lite.executemany("INSERT INTO t VALUES (?)", [(1,), ("two",), (None,)])
    lite.commit()
    lite.close()
    table = open_connector("mixed.sqlite", None, {}, files).scan(con).read_all()
    assert table.column("a").to_pylist() == ["1", "two", None]


def test_format_inference() -> None:
    assert infer_format("x/y/data.csv.gz") == "csv"
    assert infer_format("s3://b/k/part-0.PARQUET") == "parquet"
    assert infer_format("events.jsonl") == "ndjson"
    assert infer_format("python:frame") == "python"


def test_fsspec_reads_are_reliable(con, files) -> None:
    """DuckDB reading through a registered fsspec filesystem failed intermittently on DuckDB
    2.0.0; LeadQL reads fsspec URLs through pyarrow datasets instead. Read many times to show it
    holds."""
    fs = fsspec.filesystem("memory")
    with fs.open("memory://reliable/p.parquet", "wb") as out:
        out.write((files / "people.parquet").read_bytes())
    for _ in range(60):
        connector = open_connector("memory://reliable/p.parquet", None, {}, files)
        assert connector.scan(con, ["id"], "id >= 50", None).read_all().num_rows == 50


@pytest.mark.parametrize(("content", "options", "message"), [
    ("", {}, "is empty: no header, no rows"),
    ("\n\n  \n", {}, "is empty"),
    ("rid,email\n1,a,b,c\n2\n", {}, "cannot make out the columns"),
    ("lead_id,won\nL1,1\nL2,0,extra,more\n", {}, "no header line DuckDB can read"),
])  # fmt: skip
def test_csv_files_duckdb_cannot_make_out_are_named_as_such(tmp_path, con, content, options, message) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(content)
    with pytest.raises(LeadQLSourceError, match=message) as caught:
        open_connector(str(path), "csv", options, tmp_path).schema(con)
    assert caught.value.hint


def test_a_headerless_csv_read_as_such_is_fine(tmp_path, con) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("1,a\n2,b\n")
    columns = open_connector(str(path), "csv", {"header": False}, tmp_path).schema(con)
    assert list(columns) == ["column0", "column1"]
