"""The Lists Data Warehouse: schema migration, atomic list writes, stable lead ids,
suppression, and the SHOW / DESCRIBE / DROP statements over lists and runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

import leadql
from leadql.catalog import migrations
from leadql.warehouse import (
    RunRecord,
    SourceSpend,
    assign_lead_ids,
    check_list,
    list_exists,
    list_names,
    record_run,
    suppression,
    write_list,
)
from leadql.warehouse import lists as lists_module

T0 = datetime(2026, 3, 1, 9, 0, 0)
PROVENANCE = pa.map_(pa.string(), pa.string())


def run_record(run_id: str, list_name: str | None, *, delivered: int = 2, minutes: int = 0,
               status: str = "complete", spent: str = "1.50") -> RunRecord:
    started = T0 + timedelta(minutes=minutes)
    return RunRecord(
        run_id=run_id, statement=f"FIND {delivered} leads WITH email BUDGET 10", list_name=list_name,
        started_at=started, finished_at=started + timedelta(seconds=4), status=status,
        requested=delivered, delivered=delivered, budget=Decimal("10"), spent=Decimal(spent),
        spend=[SourceSpend("acme", delivered * 3, 1, Decimal(spent), Decimal("0.5"), Decimal("0"), 0.93)],
        plan={"sources": ["acme"]}, warnings=[],
    )  # fmt: skip


def delivered(lead_ids: list[str], **attributes: pa.Array | list) -> pa.Table:
    """A delivered list in the executor's layout: lead_id, attributes, [score], measures."""
    n = len(lead_ids)
    columns: dict[str, pa.Array | list] = {"lead_id": lead_ids, **attributes}
    columns.setdefault("quality", [0.9] * n)
    columns["cost"] = pa.array([Decimal("0.75")] * n, pa.decimal128(18, 6))
    columns["provenance"] = pa.array([[("email", f"acme/{i}")] for i in range(n)], PROVENANCE)
    columns["records"] = [[f"acme/{i}", f"beta/{i}"] for i in range(n)]
    if "score" in columns:  # measures keep their place after the attributes
        columns["score"] = columns.pop("score")
        columns["quality"] = columns.pop("quality")
        columns["cost"] = columns.pop("cost")
        columns["provenance"] = columns.pop("provenance")
        columns["records"] = columns.pop("records")
    return pa.table(columns)


def warehouse_snapshot(ws: leadql.Workspace) -> dict[str, object]:
    """Every LDW table's full contents, every list table and every view definition."""
    con = ws.con
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_leadql' "
        "AND database_name = current_database() ORDER BY table_name"
    ).fetchall()]  # fmt: skip
    snap: dict[str, object] = {}
    for table in tables:
        rows = con.execute(f'SELECT * FROM _leadql."{table}"').fetchall()
        snap[table] = sorted(rows, key=repr)
    snap["views"] = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
        "AND database_name = current_database() ORDER BY view_name"
    ).fetchall()
    return snap


# ------------------------------------------------------------------------ schema


def test_migration_from_version_1_keeps_the_catalog(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "w.leadql")
    csv = tmp_path / "dnc.csv"
    csv.write_text("email_col\nann@example.com\n", encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr(migrations, "LATEST", 1)
    with leadql.connect(path) as ws:
        ws.execute(f"CREATE TABLE dnc FROM '{csv}' MAP (email = email_col)")
        ws.execute("CREATE CATEGORY band TYPE varchar")
        assert ws.catalog.version == 1
    monkeypatch.undo()
    with leadql.connect(path) as ws:
        assert ws.catalog.version == migrations.LATEST >= 2
        assert [r[0] for r in ws.execute("SHOW TABLES").rows] == ["dnc"]
        assert "band" in {r[0] for r in ws.execute("SHOW CATEGORIES").rows}
        assert ws.execute("SELECT email_col FROM dnc").rows == [("ann@example.com",)]
        assert ws.execute("SHOW LISTS").rows == []
        write_list(ws.con, "first", run_record("r1", "first", delivered=1), delivered(["L1"], email=["a@x.com"]))
    with leadql.connect(path, read_only=True) as ro:  # the list survives reopening, read-only
        assert ro.execute("SELECT lead_id, email FROM first").rows == [("L1", "a@x.com")]
        assert [r[0] for r in ro.execute("SHOW LISTS").rows] == ["first"]
        assert ro.execute("DESCRIBE LIST first").rows[0][:3] == ("column", "lead_id", "VARCHAR")
        with pytest.raises(leadql.LeadQLExecutionError, match="read-only"):
            ro.execute("DROP LIST first")


# ------------------------------------------------------------------------ writing lists


def test_write_list_reads_back_with_typed_columns_in_order(ws) -> None:
    leads = delivered(
        ["L1", "L2"], first_name=["Ann", "Bob"], email=["ann@x.com", None],
        fico=pa.array([710, 690], pa.int32()), birth_date=pa.array([datetime(1980, 1, 2).date(), None]),
    )  # fmt: skip
    write_list(ws.con, "Fintech Q4", run_record("r1", "Fintech Q4"), leads)
    result = ws.execute('SELECT * FROM "fintech q4"')  # names are case-insensitive
    assert result.columns == ["lead_id", "first_name", "email", "fico", "birth_date", "quality",
                              "cost", "provenance", "records", "run_id"]  # fmt: skip
    types = {r[0]: r[1] for r in ws.con.execute('DESCRIBE "Fintech Q4"').fetchall()}
    assert types["fico"] == "INTEGER" and types["birth_date"] == "DATE"
    assert types["cost"] == "DECIMAL(18,6)" and types["provenance"] == "MAP(VARCHAR, VARCHAR)"
    assert types["records"] == "VARCHAR[]"
    assert result.rows[0][:5] == ("L1", "Ann", "ann@x.com", 710, datetime(1980, 1, 2).date())
    assert result.rows[1][-1] == "r1" and result.rows[1][5:7] == (0.9, Decimal("0.750000"))
    assert result.rows[0][7] == [("email", "acme/0")] and result.rows[0][8] == ["acme/0", "beta/0"]
    assert list_names(ws.con) == ["Fintech Q4"] and list_exists(ws.con, "FINTECH q4")
    # the fact table and the dimensions are queryable too
    assert ws.execute("SELECT count(*), sum(cost) FROM _leadql.list_leads").rows == [(2, Decimal("1.500000"))]
    assert ws.execute("SELECT lead_id, email FROM _leadql.leads ORDER BY lead_id").rows == [
        ("L1", "ann@x.com"), ("L2", None)]  # fmt: skip
    assert ws.execute("SELECT source, amount FROM _leadql.run_sources").rows == [("acme", Decimal("1.500000"))]


def test_append_adds_columns_and_reuses_lead_ids(ws) -> None:
    con = ws.con
    con.execute("ATTACH ':memory:' AS _stage")
    con.execute("""CREATE TABLE _stage.e1 AS SELECT * FROM (VALUES
        (1, 'ann@x.com', '+14155550100', 'Ann', 'Lee', DATE '1980-01-02', '94110'),
        (2, 'bob@x.com', NULL, 'Bob', 'Ray', NULL, '10001'))
        t(entity_id, email, phone, first_name, last_name, birth_date, zip)""")
    assigned = assign_lead_ids(con, "_stage.e1")
    ids1 = dict(con.execute(f"SELECT entity_id, lead_id FROM {assigned}").fetchall())
    first = delivered([ids1[1], ids1[2]], email=["ann@x.com", "bob@x.com"], fico=[710, 690])
    identities = con.sql(f"SELECT i.lead_id, e.* EXCLUDE (entity_id) FROM _stage.e1 e "
                         f"JOIN {assigned} i USING (entity_id)").to_arrow_table()  # fmt: skip
    write_list(con, "fin", run_record("r1", "fin"), first, identities=identities)
    # Run 2: Ann comes back with a new email but the same phone; Cy is new.
    con.execute("""CREATE TABLE _stage.e2 AS SELECT * FROM (VALUES
        (10, 'ann.lee@y.com', '+14155550100', 'Ann', 'Lee', NULL::DATE, NULL),
        (11, 'cy@x.com', NULL, 'Cy', 'Doe', NULL, NULL))
        t(entity_id, email, phone, first_name, last_name, birth_date, zip)""")
    ids2 = dict(con.execute(f"SELECT entity_id, lead_id FROM {assign_lead_ids(con, '_stage.e2')}").fetchall())
    assert ids2[10] == ids1[1]  # same phone → same lead
    assert ids2[11] not in (ids1[1], ids1[2])
    second = delivered([ids2[10], ids2[11]], email=["ann.lee@y.com", "cy@x.com"], fico=[715, 640],
                       income=[81000.0, 52000.0], score=[0.8, 0.6])  # fmt: skip
    write_list(con, "fin", run_record("r2", "fin", minutes=5), second)
    result = ws.execute("SELECT * FROM fin")
    assert result.columns == ["lead_id", "email", "fico", "income", "score", "quality", "cost",
                              "provenance", "records", "run_id"]  # fmt: skip
    assert [(r[0], r[3], r[4], r[-1]) for r in result.rows] == [
        (ids1[1], None, None, "r1"), (ids1[2], None, None, "r1"),
        (ids1[1], 81000.0, 0.8, "r2"), (ids2[11], 52000.0, 0.6, "r2"),
    ]  # fmt: skip
    # Ann keeps her first email in the leads dimension, gains nothing new, is seen again.
    ann = ws.execute(f"SELECT email, phone, zip, first_seen < last_seen FROM _leadql.leads "
                     f"WHERE lead_id = '{ids1[1]}'").rows  # fmt: skip
    assert ann == [("ann@x.com", "+14155550100", "94110", True)]
    shown = ws.execute("SHOW LISTS").rows
    assert shown[0][:5] == ("fin", 2, 4, 3, Decimal("3.000000"))


def test_a_crash_mid_write_leaves_the_warehouse_exactly_as_before(ws, monkeypatch) -> None:
    write_list(ws.con, "fin", run_record("r1", "fin"), delivered(["L1", "L2"], email=["a@x.com", "b@x.com"]))
    before = warehouse_snapshot(ws)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    # Appending (new column, new leads) and creating a list, each failing at its last step.
    for name in ("fin", "other"):
        monkeypatch.setattr(lists_module, "create_view", boom)
        with pytest.raises(leadql.LeadQLExecutionError, match="disk on fire") as caught:
            write_list(ws.con, name, run_record("r2", name),
                       delivered(["L1", "L3"], email=["a@x.com", "c@x.com"], fico=[700, 710]))  # fmt: skip
        assert "nothing was written" in caught.value.hint
        monkeypatch.undo()
        assert warehouse_snapshot(ws) == before
    # A failure in the middle (after the fact rows, before the leads dimension) too.
    monkeypatch.setattr(lists_module, "upsert_leads", boom)
    with pytest.raises(leadql.LeadQLExecutionError):
        write_list(ws.con, "fin", run_record("r3", "fin"), delivered(["L9"], email=["z@x.com"]))
    monkeypatch.undo()
    assert warehouse_snapshot(ws) == before
    assert ws.execute("SELECT count(*) FROM fin").rows == [(2,)]
    assert ws.execute("SELECT count(*) FROM _leadql.runs").rows == [(1,)]
    assert not ws.con.execute("SELECT * FROM duckdb_views() WHERE view_name = 'other'").fetchall()


def test_type_conflict_names_the_column_and_widening_is_fine(ws) -> None:
    con = ws.con
    write_list(con, "fin", run_record("r1", "fin"), delivered(["L1"], fico=pa.array([700], pa.int32()), zip=["94110"]))
    before = warehouse_snapshot(ws)
    bad = delivered(["L2"], fico=["seven hundred"], zip=["10001"])
    with pytest.raises(leadql.LeadQLTypeError, match="`fico` of type INTEGER.*VARCHAR"):
        write_list(con, "fin", run_record("r2", "fin"), bad)
    with pytest.raises(leadql.LeadQLTypeError, match="fico"):  # the same check, before buying
        check_list(con, "fin", {"fico": "VARCHAR"})
    assert warehouse_snapshot(ws) == before
    # A wider integer widens the column; a column of NULLs takes the list's type.
    write_list(con, "fin", run_record("r3", "fin"),
               delivered(["L3"], fico=pa.array([2**40], pa.int64()), zip=pa.nulls(1)))  # fmt: skip
    assert ws.execute("SELECT fico, zip FROM fin").rows == [(700, "94110"), (2**40, None)]
    assert {r[0]: r[1] for r in con.execute("DESCRIBE fin").fetchall()}["fico"] == "BIGINT"


def test_record_run_without_a_list_and_name_clashes(ws, tmp_path) -> None:
    record_run(ws.con, run_record("solo", None, status="failed", spent="0.40"))
    assert ws.execute("SHOW RUNS").rows == [
        ("solo", None, T0, "failed", 2, 2, Decimal("10.000000"), Decimal("0.400000"), 4.0, None)]  # fmt: skip
    with pytest.raises(leadql.LeadQLExecutionError, match="status"):
        record_run(ws.con, run_record("bad", None, status="done"))
    csv = tmp_path / "crm.csv"
    csv.write_text("email\na@x.com\n", encoding="utf-8")
    ws.execute(f"CREATE TABLE crm FROM '{csv}'")
    with pytest.raises(leadql.LeadQLNameError, match="a table named `crm` already exists"):
        write_list(ws.con, "CRM", run_record("r1", "CRM"), delivered(["L1"], email=["a@x.com"]))
    with pytest.raises(leadql.LeadQLNameError):
        check_list(ws.con, "crm", {})
    assert ws.execute("SHOW LISTS").rows == []


# ------------------------------------------------------------------------ statements


def test_show_describe_and_drop_list(ws) -> None:
    write_list(ws.con, "fin", run_record("r1", "fin"), delivered(["L1", "L2"], email=["a@x.com", None]))
    write_list(ws.con, "fin", run_record("r2", "fin", delivered=1, minutes=3, spent="0.25"),
               delivered(["L1"], email=["a@x.com"], score=[0.7]))  # fmt: skip
    write_list(ws.con, "retail", run_record("r3", "retail", minutes=9), delivered(["L5", "L6"], fico=[1, 2]))
    record_run(ws.con, run_record("r4", None, minutes=12))

    lists = ws.execute("SHOW LISTS")
    assert lists.columns == ["name", "runs", "leads", "distinct_leads", "spent", "created_at", "updated_at"]
    assert [r[:5] for r in lists.rows] == [("fin", 2, 3, 2, Decimal("1.750000")),
                                           ("retail", 1, 2, 2, Decimal("1.500000"))]  # fmt: skip
    runs = ws.execute("SHOW RUNS")
    assert runs.columns == ["run_id", "list", "started_at", "status", "requested", "delivered",
                            "budget", "spent", "seconds", "query"]  # fmt: skip
    assert [(r[0], r[1]) for r in runs.rows] == [("r1", "fin"), ("r2", "fin"), ("r3", "retail"), ("r4", None)]
    assert [r[0] for r in ws.execute("SHOW RUNS FIN").rows] == ["r1", "r2"]
    with pytest.raises(leadql.LeadQLNameError, match="no list or saved query named `fim`") as caught:
        ws.execute("SHOW RUNS fim")
    assert caught.value.hint == "did you mean `fin`?" and caught.value.column == 11

    described = ws.execute("DESCRIBE LIST fin")
    assert described.columns == ["section", "name", "type", "rows", "amount", "detail"]
    assert described.message == "list fin: 2 runs, spent $1.75"
    by_section = [(r[0], r[1], r[2]) for r in described.rows]
    assert by_section[:4] == [("column", "lead_id", "VARCHAR"), ("column", "email", "VARCHAR"),
                              ("column", "score", "DOUBLE"), ("column", "quality", "DOUBLE")]  # fmt: skip
    assert ("column", "email", "VARCHAR", 2, None, "added by run r1") in described.rows
    assert [r[1:5] for r in described.rows if r[0] == "run"] == [
        ("r1", "complete", 2, Decimal("1.500000")), ("r2", "complete", 1, Decimal("0.250000"))]  # fmt: skip
    assert [r[1:6] for r in described.rows if r[0] == "source"] == [
        ("acme", None, 9, Decimal("1.750000"), "2 runs, 2 queries")]  # fmt: skip
    with pytest.raises(leadql.LeadQLNameError, match="no list named `retial`") as caught:
        ws.execute("DESCRIBE LIST retial")
    assert caught.value.hint == "did you mean `retail`?" and caught.value.line == 1

    assert ws.execute("DROP LIST fin").message.startswith("dropped list fin")
    assert [r[0] for r in ws.execute("SHOW LISTS").rows] == ["retail"]
    with pytest.raises(leadql.LeadQLNameError, match="fin"):
        ws.execute("SELECT * FROM fin")
    # money spent is history: the runs stay, and still show under the list's name
    assert [r[0] for r in ws.execute("SHOW RUNS fin").rows] == ["r1", "r2"]
    assert ws.execute("SELECT count(*) FROM _leadql.list_leads").rows == [(2,)]
    assert ws.execute("SELECT count(*) FROM _leadql.run_sources").rows == [(4,)]
    assert not ws.con.execute(
        "SELECT * FROM duckdb_tables() WHERE schema_name = '_leadql' AND table_name LIKE 'list\\_%' ESCAPE '\\' "
        "AND table_name <> 'list_leads' AND table_name NOT IN "
        "(SELECT 'list_' || list_id FROM _leadql.lists)"
    ).fetchall()
    assert ws.execute("DROP LIST IF EXISTS fin").message == "no list fin; nothing dropped"
    with pytest.raises(leadql.LeadQLNameError, match="no list named `retai`") as caught:
        ws.execute("DROP LIST retai")
    assert caught.value.hint == "did you mean `retail`?"
    # the name is free again
    write_list(ws.con, "fin", run_record("r5", "fin", minutes=20), delivered(["L7"], city=["Reno"]))
    assert ws.execute("SELECT lead_id, city FROM fin").rows == [("L7", "Reno")]


# ------------------------------------------------------------------------ suppression


def test_suppression_by_list_and_table_is_null_safe(ws, tmp_path) -> None:
    con = ws.con
    con.execute("ATTACH ':memory:' AS _stage")
    write_list(con, "bought", run_record("r1", "bought"),
               delivered(["L1", "L2"], email=["ann@x.com", None], phone=[None, "+14155550100"]),
               identities=pa.table({"lead_id": ["L1", "L2"], "first_name": ["Ann", "Bob"],
                                    "last_name": ["Lee", "Ray"], "zip": ["94110", "10001"]}))  # fmt: skip
    csv = tmp_path / "dnc.csv"
    csv.write_text("email_col,note\n DNC@Example.COM ,x\n,blank\nnot an email,y\n", encoding="utf-8")
    ws.execute(f"CREATE TABLE dnc FROM '{csv}' MAP (email = email_col)")
    con.execute("""CREATE TABLE _stage.records AS SELECT * FROM (VALUES
        (1, 'ann@x.com', NULL, NULL, NULL, NULL),          -- bought (email)
        (2, NULL, '+14155550100', NULL, NULL, NULL),       -- bought (phone)
        (3, 'dnc@example.com', NULL, NULL, NULL, NULL),    -- do not contact (normalised)
        (4, NULL, NULL, 'BOB', 'ray', '10001'),            -- bought (names + zip)
        (5, NULL, NULL, 'Bob', 'Ray', NULL),               -- names alone are no key
        (6, NULL, NULL, NULL, NULL, NULL),                 -- no keys at all
        (7, 'new@x.com', '+14155550199', 'Cy', 'Doe', '94110'))
        t(rid, email, phone, first_name, last_name, zip)""")
    available = {"email", "phone", "first_name", "last_name", "zip"}
    supp = suppression(con, ws.catalog, [("LIST", "bought"), ("TABLE", "dnc")], available=available, run_id="r9")
    assert supp.count == 5  # 2 emails (list + table), 1 phone, 2 names + ZIP (identities)
    assert sorted(supp.kinds) == ["email", "name_zip", "phone"]
    predicate = supp.predicate(available)
    kept = con.execute(f"SELECT rid FROM _stage.records WHERE NOT {predicate} ORDER BY rid").fetchall()
    assert [r[0] for r in kept] == [5, 6, 7]
    dropped = con.execute(f"SELECT rid FROM _stage.records WHERE {predicate} ORDER BY rid").fetchall()
    assert [r[0] for r in dropped] == [1, 2, 3, 4]
    # Only the columns a source has are used; none usable → no predicate.
    assert "phone" not in supp.predicate({"email"})
    assert supp.predicate({"city"}) is None
    supp.drop(con)
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE database_name = '_stage' "
                           "AND table_name LIKE 'supp%'").fetchall()  # fmt: skip

    empty = suppression(con, ws.catalog, [], available=available, run_id="r10")
    assert empty.count == 0 and empty.predicate(available) is None

    ws.execute(f"CREATE TABLE notes FROM '{csv}'")
    with pytest.raises(leadql.LeadQLSemanticError, match="table `notes` maps none of email, phone") as caught:
        suppression(con, ws.catalog, [("TABLE", "notes")], available=available, run_id="r11")
    assert "MAP" in caught.value.hint
    with pytest.raises(leadql.LeadQLNameError, match="no list named `bougth`") as caught:
        suppression(con, ws.catalog, [("LIST", "bougth")], available=available, run_id="r12")
    assert caught.value.hint == "did you mean `bought`?"
    with pytest.raises(leadql.LeadQLNameError, match="no table named `dcn`") as caught:
        suppression(con, ws.catalog, [("TABLE", "dcn")], available=available, run_id="r13")
    assert caught.value.hint == "did you mean `dnc`?"
    with pytest.raises(leadql.LeadQLNameError, match="no saved query named `daily`"):
        suppression(con, ws.catalog, [("QUERY", "daily")], available=available, run_id="r14")


# ------------------------------------------------------------------------ lead ids


def test_assign_lead_ids_is_deterministic_and_scales(ws) -> None:
    con = ws.con
    n = 200_000
    con.execute(f"""CREATE TABLE ents AS SELECT i AS entity_id,
        CASE WHEN i % 3 <> 0 THEN 'p' || i || '@x.com' END AS email,
        CASE WHEN i % 2 = 0 THEN '+1' || (4150000000 + i) END AS phone,
        'Ann' || (i % 1000) AS first_name, 'Lee' || (i % 777) AS last_name,
        CASE WHEN i % 5 = 0 THEN DATE '1970-01-01' + (i % 20000)::INT END AS birth_date,
        CASE WHEN i % 7 <> 0 THEN lpad((i % 99999)::VARCHAR, 5, '0') END AS zip
        FROM range({n}) t(i)""")  # fmt: skip
    first = assign_lead_ids(con, "main.ents")
    second = assign_lead_ids(con, "main.ents")
    assert first != second
    rows = con.execute(f"SELECT entity_id, lead_id FROM {first} ORDER BY entity_id").fetchall()
    assert rows == con.execute(f"SELECT entity_id, lead_id FROM {second} ORDER BY entity_id").fetchall()
    assert len(rows) == n and len({r[1] for r in rows}) == n  # distinct keys → distinct ids
    assert all(len(r[1]) == 13 and r[1][0] == "L" and int(r[1][1:], 16) >= 0 for r in rows[:100])

    # Entities sharing a key share an id; a hash collision with a known lead is salted away.
    con.execute("""CREATE TABLE few AS SELECT * FROM (VALUES
        (1, 'ann@x.com', NULL, NULL, NULL, NULL::DATE, NULL), (2, 'ANN@x.com ', NULL, NULL, NULL, NULL, NULL),
        (3, NULL, NULL, 'Ann', 'Lee', DATE '1980-01-02', NULL), (4, NULL, NULL, NULL, NULL, NULL, NULL),
        (5, NULL, NULL, NULL, NULL, NULL, NULL))
        t(entity_id, email, phone, first_name, last_name, birth_date, zip)""")  # fmt: skip
    ids = dict(con.execute(f"SELECT * FROM {assign_lead_ids(con, 'main.few')}").fetchall())
    assert ids[1] == ids[2] and len({ids[1], ids[3], ids[4], ids[5]}) == 4
    # someone else already holds the id ann@x.com would hash to
    con.execute("INSERT INTO _leadql.leads VALUES (?, ?, ?, 'zed@x.com', NULL, NULL, NULL, NULL, NULL)",
                [ids[1], T0, T0])  # fmt: skip
    again = dict(con.execute(f"SELECT * FROM {assign_lead_ids(con, 'main.few')}").fetchall())
    assert again[1] == again[2] != ids[1] and again[3] == ids[3]
    # a known lead that lacks the key its id was derived from is recognised by the id
    con.execute("UPDATE _leadql.leads SET email = NULL")
    assert dict(con.execute(f"SELECT * FROM {assign_lead_ids(con, 'main.few')}").fetchall())[1] == ids[1]


def test_the_sql_examples_of_the_warehouse_docs_run(ws) -> None:
    import re

    from .conftest import ROOT

    leads = delivered(["L1", "L2"], email=["a@x.com", "b@x.com"], fico=[745, 700])
    write_list(ws.con, "fintech_q4", run_record("r1", "fintech_q4"), leads)
    write_list(ws.con, "Fintech Q4", run_record("r2", "Fintech Q4"), leads)
    record_run(ws.con, run_record("r3", None, status="failed"))
    text = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    ran = 0
    for block in blocks:
        if re.match(r"\s*(--[^\n]*\n\s*)*(SELECT|WITH)\b", block):
            assert ws.execute(block).columns, block
            ran += 1
    assert ran >= 7
    assert ws.execute("SELECT lead_id FROM fintech_q4 WHERE fico >= 740").rows == [("L1",)]
