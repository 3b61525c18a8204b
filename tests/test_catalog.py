"""Catalog statements end to end: CREATE/DROP/SHOW/DESCRIBE, ANALYZE, PROFILE, migrations."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest

import leadql
from leadql.catalog import migrations
from leadql.catalog.sketches import Sketch, jaccard, overlap


@pytest.fixture
def data(tmp_path):
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT range AS record_id, 'ann' || range AS fname, 'lee' AS lname,
        ' User' || range || '@Example.COM ' AS email_addr, 550 + range % 300 AS credit_score,
        CASE range % 4 WHEN 0 THEN 'California' WHEN 1 THEN 'ny' WHEN 2 THEN 'TX' ELSE 'Narnia' END AS st,
        lpad(CAST(10000 + range AS VARCHAR), 5, '0') AS zip5
        FROM range(2000)) TO '{tmp_path}/acme.parquet'""")
    # A second vendor sharing half of acme's people (by email).
    con.execute(f"""COPY (SELECT range + 1000 AS id, 'user' || (range + 1000) || '@example.com' AS mail,
        '(415) 555-' || lpad(CAST(range % 10000 AS VARCHAR), 4, '0') AS phone_number
        FROM range(2000)) TO '{tmp_path}/beta.csv' (HEADER)""")
    con.execute(f"""COPY (SELECT range AS lead_id, 'user' || range || '@example.com' AS email, range % 70 AS age,
        CASE WHEN range % 3 = 0 THEN 'web' ELSE 'event' END AS channel,
        TIMESTAMP '2026-01-01' + INTERVAL (range % 300) DAY AS created_at FROM range(3000)) TO '{tmp_path}/leads.parquet'""")
    con.execute(f"""COPY (SELECT range * 2 AS lead_id, (range % 3 = 0) AS won FROM range(1000))
        TO '{tmp_path}/deals.parquet'""")
    con.close()
    return tmp_path


ACME = """CREATE SOURCE acme_credit FROM 'acme.parquet' KEY record_id
  MAP (first_name = fname, last_name = lname, email = email_addr, fico = credit_score, state = st, zip = zip5)
  PRICE 0.004 PER RECORD, 25 PER QUERY QUALITY 0.93 UPDATED '2026-10-01'"""
BETA = """CREATE SOURCE beta FROM 'beta.csv' KEY id MAP (email = mail, phone = phone_number)
  PRICE 2 PER 1000 RECORDS QUALITY 0.8"""


@pytest.fixture
def ws(data):
    with leadql.connect(str(data / "sales.leadql")) as workspace:
        yield workspace


def test_create_show_describe_drop(ws) -> None:
    assert "created source acme_credit" in ws.execute(ACME).message
    ws.execute(BETA)
    shown = ws.execute("SHOW SOURCES").to_pandas().set_index("name")
    assert list(shown.index) == ["acme_credit", "beta"]
    assert shown.loc["acme_credit", "price_per_record"] == pytest.approx(0.004)
    assert shown.loc["acme_credit", "price_per_query"] == pytest.approx(25)
    assert shown.loc["beta", "price_per_record"] == pytest.approx(0.002)
    assert shown.loc["acme_credit", "quality"] == pytest.approx(0.93)
    described = ws.execute("DESCRIBE SOURCE acme_credit")
    assert "$0.004/record + $25/query" in described.message
    assert {"email", "fico", "state", "record_id"} <= set(described.to_pandas()["name"])
    assert "dropped source beta" == ws.execute("DROP SOURCE beta").message
    assert list(ws.execute("SHOW SOURCES").to_pandas()["name"]) == ["acme_credit"]


def test_names_clash_and_replace(ws) -> None:
    ws.execute(ACME)
    with pytest.raises(leadql.LeadQLNameError, match="already exists") as caught:
        ws.execute(ACME)
    assert "CREATE OR REPLACE" in caught.value.hint
    ws.execute(ACME.replace("CREATE SOURCE", "CREATE OR REPLACE SOURCE").replace("QUALITY 0.93", "QUALITY 0.5"))
    assert ws.execute("SHOW SOURCES").rows[0][6] == pytest.approx(0.5)
    with pytest.raises(leadql.LeadQLNameError, match="a source named `acme_credit` already exists"):
        ws.execute("CREATE TABLE acme_credit FROM 'leads.parquet'")


def test_map_errors_point_at_the_mistake(ws) -> None:
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute(ACME.replace("credit_score", "credit_scor"))
    assert caught.value.message == "`acme_credit` has no column `credit_scor`"
    assert caught.value.hint == "did you mean `credit_score`?"
    assert caught.value.text[caught.value.span.start : caught.value.span.end] == "credit_scor"
    with pytest.raises(leadql.LeadQLNameError, match="no category named `fcio`"):
        ws.execute(ACME.replace("fico =", "fcio ="))
    with pytest.raises(leadql.LeadQLTypeError, match="MAP expression for fico"):
        ws.execute(ACME.replace("fico = credit_score", "fico = fname - 1"))
    with pytest.raises(leadql.LeadQLNameError, match="no column `rid`"):
        ws.execute(ACME.replace("KEY record_id", "KEY rid"))
    assert ws.execute("SHOW SOURCES").rows == []  # nothing was written


def test_normalisation_is_applied_and_counted(ws) -> None:
    ws.execute(ACME)
    ws.execute("ANALYZE SOURCE acme_credit")
    stats = ws.catalog.statistics("acme_credit")[2]["categories"]
    assert stats["state"]["failed"] == 500  # 'Narnia' is not a state
    assert stats["state"]["fill_rate"] == pytest.approx(0.75)
    assert {v for v, _ in stats["state"]["top"]} == {"CA", "NY", "TX"}
    assert stats["email"]["top"][0][0].startswith("user")  # trimmed, lower-cased
    assert stats["fico"]["min"] == 550 and stats["fico"]["max"] == 849
    assert stats["fico"]["quantiles"][10] == pytest.approx(700, abs=15)  # approximate quantiles


def test_analyze_sketches_estimate_overlap(ws) -> None:
    ws.execute(ACME)
    ws.execute(BETA)
    result = ws.execute("ANALYZE")
    assert sorted(r[0] for r in result.rows) == ["acme_credit", "beta"]
    a = Sketch.from_json(ws.catalog.statistics("acme_credit")[2]["sketches"]["email"])
    b = Sketch.from_json(ws.catalog.statistics("beta")[2]["sketches"]["email"])
    assert a.distinct == pytest.approx(2000, rel=0.1) and b.distinct == pytest.approx(2000, rel=0.1)
    assert jaccard(a, b) == pytest.approx(1000 / 3000, abs=0.05)
    assert overlap(a, b) == pytest.approx(1000, rel=0.12)
    assert "phone" in ws.catalog.statistics("beta")[2]["sketches"]


def test_sketch_estimates_on_large_sets() -> None:
    import random

    rng = random.Random(7)
    universe = [rng.getrandbits(64) for _ in range(60_000)]
    a = Sketch.from_hashes(universe[:40_000])
    b = Sketch.from_hashes(universe[20_000:])
    assert a.distinct == pytest.approx(40_000, rel=0.1)
    assert jaccard(a, b) == pytest.approx(20_000 / 60_000, abs=0.05)
    assert overlap(a, b) == pytest.approx(20_000, rel=0.15)


def test_tables_references_views_and_profile(ws) -> None:
    ws.execute("CREATE TABLE leads FROM 'leads.parquet' KEY lead_id TIME COLUMN created_at")
    ws.execute("CREATE TABLE deals FROM 'deals.parquet' REFERENCES (lead_id -> leads.lead_id)")
    assert ws.execute("SELECT count(*) FROM leads").rows == [(3000,)]  # own tables read with SQL
    with pytest.raises(leadql.LeadQLNameError, match="not a table"):
        ws.execute("CREATE TABLE x FROM 'deals.parquet' REFERENCES (lead_id -> leeds.lead_id)")
    with pytest.raises(leadql.LeadQLExecutionError, match="referenced by deals"):
        ws.execute("DROP TABLE leads")
    profile = ws.execute("PROFILE TABLE leads AGAINST deals.won").to_pandas().set_index("name")
    # won = every third deal, deals on even lead ids: channel ('web' on every third lead) predicts it.
    assert profile.loc["channel", "measure"] == "auc"
    assert profile.loc["channel", "predictive_power"] > 0.9
    assert profile.loc["age", "predictive_power"] < 0.7
    assert "rows by month" in ws.execute("PROFILE TABLE leads").message


def test_profile_a_source_against_a_table_by_email(ws) -> None:
    ws.execute(ACME)
    ws.execute("CREATE TABLE leads FROM 'leads.parquet' KEY lead_id")
    result = ws.execute("PROFILE SOURCE acme_credit AGAINST leads.channel")
    frame = result.to_pandas().set_index("name")
    assert frame.loc["fico", "measure"] in ("mutual_info", "auc")
    with pytest.raises(leadql.LeadQLNameError, match="has no column `chanel`"):
        ws.execute("PROFILE SOURCE acme_credit AGAINST leads.chanel")


def test_schema_change_since_create_is_caught(ws, data) -> None:
    ws.execute(ACME)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT range AS record_id, 'x' AS fname FROM range(5)) TO '{data}/acme.parquet'")
    con.close()
    with pytest.raises(leadql.LeadQLSourceError, match="changed since it was created") as caught:
        ws.execute("ANALYZE SOURCE acme_credit")
    assert "credit_score" in caught.value.message
    assert "CREATE OR REPLACE SOURCE" in caught.value.hint


def test_categories(ws) -> None:
    standard = {r[0] for r in ws.execute("SHOW CATEGORIES").rows}
    assert {"email", "phone", "fico", "company_name", "title", "seniority"} <= standard
    ws.execute("CREATE CATEGORY band TYPE varchar NORMALIZE AS upper(trim(value)) DESCRIPTION 'credit band'")
    ws.execute("CREATE SOURCE b2 FROM 'acme.parquet' MAP (band = ' x' || lname) PRICE 0 PER RECORD QUALITY 1")
    ws.execute("ANALYZE SOURCE b2")
    assert ws.catalog.statistics("b2")[2]["categories"]["band"]["top"][0][0] == "XLEE"
    with pytest.raises(leadql.LeadQLNameError, match="standard category"):
        ws.execute("CREATE CATEGORY email TYPE varchar")
    with pytest.raises(leadql.LeadQLNameError, match="no normaliser named `emial`"):
        ws.execute("CREATE CATEGORY work_email NORMALIZE WITH emial")
    with pytest.raises(leadql.LeadQLExecutionError, match="mapped by b2"):
        ws.execute("DROP CATEGORY band")
    with pytest.raises(leadql.LeadQLTypeError, match="not a type"):
        ws.execute("CREATE CATEGORY bad TYPE notatype")


def test_catalog_persists_and_failed_statements_change_nothing(data) -> None:
    path = str(data / "keep.leadql")
    with leadql.connect(path) as ws:
        ws.execute(ACME)
        with pytest.raises(leadql.LeadQLError):
            ws.execute(f"{BETA}; CREATE SOURCE broken FROM 'nope.csv' PRICE 0 PER RECORD QUALITY 1")
    with leadql.connect(path) as ws:
        names = [r[0] for r in ws.execute("SHOW SOURCES").rows]
        # BETA ran before the failing statement; the failing one left nothing behind.
        assert names == ["acme_credit", "beta"]


def test_read_only_workspaces(data) -> None:
    path = str(data / "ro.leadql")
    with leadql.connect(path) as ws:
        ws.execute(ACME)
    with leadql.connect(path, read_only=True) as ro:
        assert ro.execute("SHOW SOURCES").rows[0][0] == "acme_credit"
        with pytest.raises(leadql.LeadQLExecutionError, match="open read-only"):
            ro.execute(BETA)
        # a second reader in another process at the same time
        script = textwrap.dedent(f"""
            import leadql
            with leadql.connect({path!r}, read_only=True) as ws:
                print(ws.execute("SHOW SOURCES").rows[0][0])
        """)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "acme_credit", out.stderr


def test_migrations_upgrade_old_and_refuse_newer(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "old.leadql")
    with leadql.connect(path) as ws:
        ws.execute("CREATE CATEGORY band TYPE varchar")
    # A later release adds a migration: opening the old workspace applies it and keeps the data.
    extra = (migrations.LATEST + 1, [f"ALTER TABLE {migrations.SCHEMA}.objects ADD COLUMN note VARCHAR"])
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, extra])
    monkeypatch.setattr(migrations, "LATEST", extra[0])
    with leadql.connect(path) as ws:
        assert ws.catalog.version == extra[0]
        assert "band" in {r[0] for r in ws.execute("SHOW CATEGORIES").rows}
    monkeypatch.undo()
    with pytest.raises(leadql.LeadQLExecutionError, match="made by a newer LeadQL"):
        leadql.connect(path)


def test_spark_engine_is_a_clear_error() -> None:
    with pytest.raises(leadql.LeadQLUnsupportedError, match="Spark"):
        leadql.connect(None, engine="spark", spark="sc://localhost:15002")


def test_sources_with_time_and_reference_columns_analyze_and_profile(ws) -> None:
    ws.execute("CREATE TABLE leads FROM 'leads.parquet' KEY lead_id")
    ws.execute(
        "CREATE SOURCE dsrc FROM 'deals.parquet' REFERENCES (lead_id -> leads.lead_id) "
        "MAP (fico = lead_id) PRICE 0 PER RECORD QUALITY 1"
    )
    ws.execute("CREATE SOURCE ts FROM 'leads.parquet' TIME COLUMN created_at PRICE 0 PER RECORD QUALITY 1")
    ws.execute("ANALYZE")
    assert ws.catalog.statistics("ts")[2]["rows_by_month"][0][0] == "2026-01"
    frame = ws.execute("PROFILE SOURCE dsrc AGAINST leads.channel").to_pandas()
    assert "fico" in set(frame["name"])


def test_analyze_saves_nothing_when_one_target_fails(ws, data) -> None:
    ws.execute(ACME)
    ws.execute(BETA)
    (data / "beta.csv").write_text("other\n1\n")
    with pytest.raises(leadql.LeadQLSourceError):
        ws.execute("ANALYZE")
    assert ws.catalog.statistics("acme_credit") is None


def test_type_changes_are_warned_about(ws, data) -> None:
    ws.execute(ACME)
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT range AS record_id, 'ann' AS fname, 'lee' AS lname, 'a@b.com' AS email_addr,
        CAST(700 AS VARCHAR) AS credit_score, 'CA' AS st, '94105' AS zip5 FROM range(10)) TO '{data}/acme.parquet'""")
    con.close()
    result = ws.execute("ANALYZE SOURCE acme_credit")
    assert any("credit_score was" in w for w in result.warnings)


def test_selecting_from_a_source_explains_why_not(ws) -> None:
    ws.execute(ACME)
    with pytest.raises(leadql.LeadQLNameError) as caught:
        ws.execute("SELECT count(*) FROM acme_credit")
    assert "bought with FIND" in caught.value.hint


def test_id_like_columns_do_not_look_predictive(ws) -> None:
    ws.execute("CREATE TABLE leads FROM 'leads.parquet' KEY lead_id")
    frame = ws.execute("PROFILE TABLE leads AGAINST leads.age").to_pandas().set_index("name")
    assert frame.loc["email", "predictive_power"] < 0.1  # unique per row: no information


def test_remote_tsv_and_json_array(ws, data) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("memory://remote/people.tsv", "w") as f:
        f.write("id\tname\n1\tann\n2\tbob\n")
    with fs.open("memory://remote/people.json", "w") as f:
        f.write('[{"id": 1, "email": "a@x.com"}, {"id": 2, "email": "b@x.com"}]')
    ws.execute("CREATE TABLE t1 FROM 'memory://remote/people.tsv'")
    assert ws.catalog.get_data("t1").columns == {"id": "BIGINT", "name": "VARCHAR"}
    ws.execute("CREATE TABLE t2 FROM 'memory://remote/people.json'")
    assert set(ws.catalog.get_data("t2").columns) == {"id", "email"}
    ws.execute("CREATE TABLE t3 FROM 'memory://remote/people.tsv' FORMAT csv OPTIONS (delimiter = '\\t')")
    assert set(ws.catalog.get_data("t3").columns) == {"id", "name"}
    with pytest.raises(leadql.LeadQLSourceError, match="no option `union_by_name`"):
        ws.execute("CREATE TABLE t4 FROM 'memory://remote/x/*.parquet' OPTIONS (union_by_name = true)")


def test_a_time_column_must_hold_times(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": [1, 2], "email": ["a@b.com", "c@d.com"], "n": [1, 2],
                             "ts": ["2026-01-01", "2026-01-02 10:00"]}), path)  # fmt: skip
    ws = leadql.connect()
    text = f"CREATE OR REPLACE TABLE t FROM '{path}' KEY id TIME COLUMN "
    with pytest.raises(leadql.LeadQLTypeError, match="holds text that is not a date or time, e.g. 'a@b.com'") as caught:
        ws.execute(text + "email")
    assert caught.value.column == len(text) + 1
    with pytest.raises(leadql.LeadQLTypeError, match="TIME COLUMN `n` is BIGINT, not a date or timestamp"):
        ws.execute(text + "n")
    ws.execute(text + "ts")  # text that reads as times is fine
    assert ws.execute("SHOW TABLES").rows[0][0] == "t"
