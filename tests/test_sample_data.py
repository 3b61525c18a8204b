"""The sample-data generator: deterministic, realistic, noisy in the advertised ways, loadable."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.normalizers import call_sql, install
from leadql.resources import stdlib_path
from leadql.sample import AS_OF, CATEGORIES, VENDORS, SampleData, crm, generate, truth_column
from leadql.sample import generator as gen
from leadql.sample.vendors import quote

PEOPLE = 2_000
SEED = 7
READERS = {"parquet": "read_parquet", "csv": "read_csv", "ndjson": "read_json"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> SampleData:
    return generate(tmp_path_factory.mktemp("sample"), people=PEOPLE, seed=SEED)


@pytest.fixture(scope="module")
def con(data):
    c = duckdb.connect()
    c.execute("SET enable_progress_bar = false")
    c.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{data.truth_path}')")
    c.execute(f"CREATE VIEW links AS SELECT * FROM read_parquet('{data.truth_links()}')")
    install(c)
    yield c
    c.close()


def source_sql(data: SampleData, name: str) -> str:
    spec = next(v for v in data.vendors if v.name == name)
    path = data.vendor_files[name]
    location = path / f"*.{spec.format}" if spec.is_folder else path
    return f"{READERS[spec.format]}('{location}')"


def categories() -> dict[str, tuple[str, str]]:
    """category -> (normaliser, type), from the stdlib."""
    text = (stdlib_path() / "categories.lql").read_text(encoding="utf-8")
    return {s.name.value: (s.normalizer.value, s.type.name) for s in leadql.parse(text)}


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def files(folder: Path) -> dict[str, bytes]:
    skip = {"catalog.lql", "manifest.json"}  # these name the folder
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_other_world(data, tmp_path) -> None:
    again = generate(tmp_path / "again", people=PEOPLE, seed=SEED)
    first, second = files(data.folder), files(again.folder)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    other = generate(tmp_path / "other", people=PEOPLE, seed=SEED + 1)
    assert other.truth_path.read_bytes() != data.truth_path.read_bytes()


@pytest.mark.slow
def test_chunks_and_worker_processes_do_not_change_the_output(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(gen, "CHUNK", 400)  # several chunks: ids, phones and emails cross them
    one = generate(tmp_path / "one", people=1_100, seed=3, workers=1)
    two = generate(tmp_path / "two", people=1_100, seed=3, workers=2)
    assert files(one.folder) == files(two.folder)
    truth = pq.read_table(one.truth_path).to_pandas()
    assert truth["person_id"].tolist() == list(range(1, 1_101))
    assert truth["email"].is_unique and truth["phone"].is_unique
    assert truth["work_email"].dropna().is_unique


# ----------------------------------------------------------------------------- files


def test_every_vendor_file_has_the_declared_columns(data, con) -> None:
    assert [v.name for v in data.vendors] == [v.name for v in VENDORS]
    assert len(VENDORS) == 12
    for spec in data.vendors:
        path = data.vendor_files[spec.name]
        assert path.exists(), spec.name
        assert path.is_dir() == spec.is_folder
        columns = [
            r[0]
            for r in con.execute(f"DESCRIBE SELECT * FROM {source_sql(data, spec.name)}").fetchall()
        ]
        assert columns == spec.file_columns(), spec.name
        assert set(spec.column_names.values()) <= set(columns)
        assert spec.key_column in columns
        nulls = con.execute(
            f"SELECT count(*) FROM {source_sql(data, spec.name)} "
            f"WHERE {quote(spec.key_column)} IS NULL"
        ).fetchone()[0]
        assert nulls == 0
    formats = {v.format for v in data.vendors}
    assert formats == {"parquet", "csv", "ndjson"}
    assert {"leads", "events", "customers", "closed_deals", "products", "orders"} == set(
        data.crm_files
    )
    assert all(p.exists() for p in data.crm_files.values())


def test_vendor_specs_are_plausible() -> None:
    for spec in VENDORS:
        assert Decimal("0.001") <= spec.price_per_record <= Decimal("0.05"), spec.name
        assert 0.5 <= spec.quality <= 0.99
        assert set(spec.categories) <= set(CATEGORIES)
        assert spec.updated <= AS_OF
    names = {v.name: v for v in VENDORS}
    assert names["primeleads"].quality == max(v.quality for v in VENDORS)
    assert names["listmart"].quality == min(v.quality for v in VENDORS)
    assert names["listmart"].price_per_record == min(v.price_per_record for v in VENDORS)
    assert min(v.updated for v in VENDORS).year <= AS_OF.year - 3  # a stale one
    assert any(v.price_per_query > 0 for v in VENDORS)
    assert any(v.states for v in VENDORS)  # a regional one


def test_coverage_and_who_each_vendor_holds(data, con) -> None:
    rows = con.execute(
        "SELECT vendor, count(DISTINCT person_id) FROM links GROUP BY vendor"
    ).fetchall()
    held = dict(rows)
    for spec in data.vendors:
        assert held[spec.name] / PEOPLE == pytest.approx(spec.coverage, abs=0.04), spec.name
        persons = f"(SELECT person_id FROM links WHERE vendor = '{spec.name}')"
        if spec.segment == "b2b":
            jobless = con.execute(
                f"SELECT count(*) FROM truth WHERE person_id IN {persons} AND company_id IS NULL"
            ).fetchone()[0]
            assert jobless == 0
        if spec.states:
            states = {
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT state FROM truth WHERE person_id IN {persons}"
                ).fetchall()
            }
            assert states <= set(spec.states)
    # different, overlapping subsets
    overlap = scalar(
        con,
        """
        SELECT count(*) FROM (SELECT person_id FROM links WHERE vendor = 'acme_credit'
                              INTERSECT SELECT person_id FROM links WHERE vendor = 'data_axle')""",
    )
    assert 0.2 * PEOPLE < overlap < 0.55 * PEOPLE


# ----------------------------------------------------------------------------- truth


def test_truth_is_normalised_and_valid(data, con) -> None:
    truth = pq.read_table(data.truth_path).to_pandas()
    assert len(truth) == PEOPLE and truth["person_id"].is_unique
    assert set(CATEGORIES) <= set(truth.columns)
    checks = {
        "email": r"^[a-z0-9][a-z0-9._+-]*@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$",
        "phone": r"^\+1[2-9][0-9]{2}[2-9][0-9]{6}$",
        "state": r"^[A-Z]{2}$",
        "zip": r"^[0-9]{5}$",
        "street": r"^[0-9]+ [A-Z0-9 ]+$",
        "domain": r"^[a-z0-9]+\.[a-z]{2,}$",
    }
    for column, pattern in checks.items():
        values = truth[column].dropna()
        bad = values[~values.str.match(pattern)]
        assert bad.empty, (column, bad.head().tolist())
    assert truth["email"].is_unique and truth["phone"].is_unique
    assert truth["fico"].between(300, 850).all()
    assert truth["age"].between(18, 95).all()
    assert (truth["hhi"] >= truth["income"]).all() and (truth["income"] > 0).all()
    assert set(truth["gender"]) <= {"F", "M", "X"}
    assert set(truth["marital_status"]) <= {"single", "married", "divorced", "widowed"}
    assert set(truth["seniority"].dropna()) <= {
        "entry",
        "senior",
        "manager",
        "director",
        "vp",
        "c-level",
    }
    employed = truth["company_id"].notna()
    company = [
        "company_name",
        "domain",
        "industry",
        "employees",
        "revenue",
        "title",
        "seniority",
        "department",
        "work_email",
    ]
    assert truth.loc[employed, company].notna().all().all()
    assert truth.loc[~employed, company].isna().all().all()
    assert 0.4 < employed.mean() < 0.8
    # realistic spreads
    assert 650 < truth["fico"].mean() < 760
    assert truth["state"].nunique() >= 40 and truth["state"].value_counts().index[0] == "CA"
    assert truth["first_name"].nunique() > 250 and truth["last_name"].nunique() > 500
    assert np.corrcoef(np.log(truth["income"]), truth["fico"])[0, 1] > 0.2
    # age agrees with the birth date on AS_OF
    age = con.execute(
        f"SELECT count(*) FROM truth WHERE date_diff('year', birth_date, DATE '{AS_OF}') - "
        f"CASE WHEN strftime(birth_date, '%m%d') > '{AS_OF:%m%d}' THEN 1 ELSE 0 END <> age"
    ).fetchone()[0]
    assert age == 0


def test_truth_is_a_fixed_point_of_the_normalisers(con) -> None:
    cats = categories()
    for category in CATEGORIES:
        normaliser, type_ = cats[category]
        value = f"TRY_CAST({call_sql(normaliser, category)} AS {type_})"
        changed = con.execute(
            f"SELECT count(*) FROM truth WHERE {category} IS NOT NULL AND "
            f"(({value}) IS NULL "
            f"OR lower(CAST(({value}) AS VARCHAR)) <> lower(CAST({category} AS VARCHAR)))"
        ).fetchone()[0]
        assert changed == 0, category


# ----------------------------------------------------------------------------- noise


def vendor_errors(data: SampleData, con, name: str) -> dict[str, tuple[int, float, float, int]]:
    """category -> (values, share wrong after normalising, share differing as written, rejected)."""
    spec = next(v for v in data.vendors if v.name == name)
    cats = categories()
    select = ", ".join(
        f'TRY_CAST({call_sql(cats[c][0], "(" + sql + ")")} AS {cats[c][1]}) AS "n_{c}", '
        f'CAST(({sql}) AS VARCHAR) AS "r_{c}"'
        for c, sql in spec.map_sql().items()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE v AS SELECT CAST({quote(spec.key_column)} AS VARCHAR) AS k, "
        f"{select} FROM {source_sql(data, name)}"
    )
    out = {}
    for c in spec.categories:
        tc, type_ = truth_column(spec, c), cats[c][1]
        if type_ == "varchar":
            same = f'lower(v."n_{c}") = lower(t.{tc})'
        elif type_ == "double":
            same = f'abs(v."n_{c}" - t.{tc}) <= 1e-6 * greatest(1, abs(t.{tc}))'
        else:
            same = f'v."n_{c}" = t.{tc}'
        out[c] = con.execute(
            f"""
            SELECT count(v."n_{c}"),
                   avg(CASE WHEN {same} THEN 0 ELSE 1 END) FILTER (WHERE v."n_{c}" IS NOT NULL),
                   avg(CASE WHEN v."r_{c}" = CAST(t.{tc} AS VARCHAR) THEN 0 ELSE 1 END)
                       FILTER (WHERE v."r_{c}" IS NOT NULL),
                   count(v."r_{c}") - count(v."n_{c}")
            FROM v JOIN (SELECT DISTINCT record_key, person_id FROM links WHERE vendor = '{name}') l
              ON l.record_key = v.k JOIN truth t USING (person_id)"""
        ).fetchone()
    return out


def test_errors_track_quality_and_formats_normalise(data, con) -> None:
    observed = {}
    for spec in data.vendors:
        errors = vendor_errors(data, con, spec.name)
        n = sum(e[0] for e in errors.values())
        wrong = sum(e[0] * e[1] for e in errors.values()) / n
        written = sum(e[0] * e[2] for e in errors.values()) / n
        rejected = sum(e[3] for e in errors.values())
        observed[spec.name] = wrong
        assert wrong == pytest.approx(1 - spec.quality, abs=0.05), spec.name
        # format noise is visible as written, and the normalisers undo nearly all of it
        assert written > wrong + 0.1, spec.name
        assert rejected <= 0.01 * n, spec.name
    ranking = sorted(observed, key=observed.get)
    assert ranking[0] == "primeleads" and ranking[-1] == "listmart"
    assert (
        np.corrcoef(
            [1 - v.quality for v in data.vendors], [observed[v.name] for v in data.vendors]
        )[0, 1]
        > 0.9
    )


def test_noise_has_the_advertised_kinds(data, con) -> None:
    def count(sql: str) -> int:
        return scalar(con, sql)

    listmart = source_sql(data, "listmart")
    joined = (
        f"FROM {listmart} v JOIN (SELECT DISTINCT record_key, person_id FROM links "
        f"WHERE vendor = 'listmart') l ON l.record_key = CAST(v.\"Record ID\" AS VARCHAR) "
        f"JOIN truth t USING (person_id)"
    )
    first = 'leadql_norm_person_name(v."First Name")'
    last = 'leadql_norm_person_name(v."Last Name")'
    # nicknames, swapped names, typos
    nicknames = count(
        f"SELECT count(*) {joined} "
        f"WHERE t.first_name IN ('William', 'Robert', 'Michael', 'James', 'Elizabeth') "
        f"AND {first} IN ('Bill', 'Will', 'Billy', 'Bob', 'Rob', 'Bobby', 'Mike', 'Jim', 'Liz')"
    )
    swapped = count(
        f"SELECT count(*) {joined} "
        f"WHERE lower({first}) = lower(t.last_name) AND lower({last}) = lower(t.first_name)"
    )
    typos = count(
        f"SELECT count(*) {joined} WHERE lower({first}) <> lower(t.first_name) AND "
        f"jaro_winkler_similarity(lower({first}), lower(t.first_name)) > 0.85"
    )
    assert nicknames > 0 and swapped > 0 and typos > 5
    # exact duplicate records inside one vendor
    assert count(f'SELECT count(*) - count(DISTINCT "Record ID") FROM {listmart}') > 0
    # phone, state and zip written in several ways
    phones = [
        r[0]
        for r in con.execute(f'SELECT "Phone" FROM {listmart} WHERE "Phone" IS NOT NULL').fetchall()
    ]
    shapes = {re.sub(r"[0-9]", "9", p) for p in phones}
    assert {"(999) 999-9999", "999.999.9999", "+9 999 999 9999", "9999999999"} <= shapes
    states = {r[0] for r in con.execute(f'SELECT DISTINCT "State" FROM {listmart}').fetchall()}
    assert "California" in states or "CALIFORNIA" in states
    assert any(s and s.islower() for s in states)
    zips = [
        str(r[0])
        for r in con.execute(f'SELECT "Zip" FROM {listmart} WHERE "Zip" IS NOT NULL').fetchall()
    ]
    assert any(re.fullmatch(r"[0-9]{5}-[0-9]{4}", z) for z in zips)
    homestead = source_sql(data, "homestead_records")
    # ZIP codes stored as numbers lost their leading zeros
    assert count(f"SELECT count(*) FROM {homestead} WHERE situs_zip < 10000") > 0
    # missing values
    assert count(f'SELECT count(*) FROM {listmart} WHERE "Email Address" IS NULL') > 0
    # the stale vendor has the old address of people who moved after its last refresh
    archive = next(v for v in data.vendors if v.name == "archive_direct")
    moved = scalar(
        con,
        f"""
        SELECT avg(CASE WHEN leadql_norm_zip(v."ZIP") = t.prev_zip THEN 1 ELSE 0 END)
        FROM {source_sql(data, "archive_direct")} v
        JOIN (SELECT DISTINCT record_key, person_id FROM links WHERE vendor = 'archive_direct') l
          ON l.record_key = CAST(v."ARCH_ID" AS VARCHAR)
        JOIN truth t USING (person_id)
        WHERE t.moved_at > DATE '{archive.updated}' AND v."ZIP" IS NOT NULL""",
    )
    assert moved > 0.6
    # vendor-specific record ids
    ids = [
        r[0]
        for r in con.execute(f"SELECT id FROM {source_sql(data, 'data_axle')} LIMIT 5").fetchall()
    ]
    assert all(re.fullmatch(r"AXL-[0-9]{6,}", i) for i in ids)


def test_truth_links_cover_every_vendor_record(data, con) -> None:
    links = pq.read_table(data.truth_links())
    assert links.column_names == ["vendor", "record_key", "person_id"]
    for spec in data.vendors:
        key = f"CAST({quote(spec.key_column)} AS VARCHAR)"
        missing = scalar(
            con,
            f"""
            SELECT count(*) FROM {source_sql(data, spec.name)}
            WHERE {key} NOT IN (SELECT record_key FROM links WHERE vendor = '{spec.name}')""",
        )
        assert missing == 0, spec.name
        keys, records = con.execute(
            f"SELECT count(DISTINCT {key}), count(*) FROM {source_sql(data, spec.name)}"
        ).fetchone()
        linked = scalar(con, f"SELECT count(*) FROM links WHERE vendor = '{spec.name}'")
        assert linked == keys <= records
    orphans = con.execute(
        "SELECT count(*) FROM links WHERE person_id NOT IN (SELECT person_id FROM truth)"
    ).fetchone()[0]
    assert orphans == 0
    # some people are held twice by one vendor under two ids
    twice = scalar(
        con,
        "SELECT count(*) FROM (SELECT vendor, person_id FROM links "
        "GROUP BY ALL HAVING count(*) > 1)",
    )
    assert twice > 0


# ----------------------------------------------------------------------------- catalog


def test_catalog_script_parses_and_loads(data) -> None:
    script = data.catalog_script()
    assert data.catalog_path.read_text(encoding="utf-8") == script
    statements = leadql.parse(script)
    assert len(statements) == len(data.vendors) + 6
    kinds = [type(s).__name__ for s in statements]
    assert kinds.count("CreateSource") == len(data.vendors) and kinds.count("CreateTable") == 6
    with leadql.connect() as ws:
        ws.execute(script)
        analyzed = {r[0]: r[2] for r in ws.execute("ANALYZE").rows}
        shown = ws.execute("SHOW SOURCES").to_pandas().set_index("name")
    assert set(analyzed) == {v.name for v in data.vendors} | set(data.crm_files)
    with duckdb.connect() as c:
        for spec in data.vendors:
            rows = c.execute(f"SELECT count(*) FROM {source_sql(data, spec.name)}").fetchone()[0]
            assert analyzed[spec.name] == rows
            assert shown.loc[spec.name, "price_per_record"] == pytest.approx(
                float(spec.price_per_record)
            )
            assert shown.loc[spec.name, "quality"] == pytest.approx(spec.quality)
            assert shown.loc[spec.name, "updated"] == spec.updated.isoformat()


def test_open_reads_back_what_generate_wrote(data) -> None:
    opened = SampleData.open(data.folder)
    assert opened == data
    assert opened.catalog_script() == data.catalog_script()


# ----------------------------------------------------------------------------- CRM signals


def test_planted_signals(data, con) -> None:
    c = data.crm_files
    con.execute(f"CREATE OR REPLACE TABLE leads AS SELECT * FROM read_parquet('{c['leads']}')")
    con.execute(f"CREATE OR REPLACE TABLE events AS SELECT * FROM read_csv('{c['events']}')")
    con.execute(
        f"CREATE OR REPLACE TABLE customers AS SELECT * FROM read_parquet('{c['customers']}')"
    )
    con.execute(f"CREATE OR REPLACE TABLE deals AS SELECT * FROM read_csv('{c['closed_deals']}')")
    assert {r[0] for r in con.execute("SELECT DISTINCT type FROM events").fetchall()} == {
        "response",
        "click",
        "call",
        "meeting",
        "conversion",
    }
    assert {r[0] for r in con.execute("SELECT DISTINCT source FROM events").fetchall()} == {
        "web",
        "email",
        "sales",
    }
    span = con.execute("SELECT min(created_at), max(created_at) FROM leads").fetchone()
    assert (span[1] - span[0]).days > 400 and span[1].date() <= AS_OF
    for table in ("events", "deals"):
        orphans = scalar(
            con, f"SELECT count(*) FROM {table} WHERE lead_id NOT IN (SELECT lead_id FROM leads)"
        )
        assert orphans == 0, table

    # conversion within 30 days: likelier after a recent response or meeting, and for higher incomes
    rates = dict(
        ((r[0], r[1]), r[2])
        for r in con.execute("""
        WITH anchors AS (
            SELECT unnest([TIMESTAMP '2026-04-01', TIMESTAMP '2026-06-01',
                           TIMESTAMP '2026-08-01']) AS at),
        per_lead AS (
            SELECT a.at, l.lead_id, t.income,
                   count(*) FILTER (WHERE e.type IN ('response', 'meeting')
                                    AND e.ts > a.at - INTERVAL 14 DAY AND e.ts <= a.at) AS recent,
                   count(*) FILTER (WHERE e.type = 'conversion'
                                    AND e.ts > a.at
                                    AND e.ts <= a.at + INTERVAL 30 DAY) AS converted,
                   count(*) FILTER (WHERE e.type = 'conversion' AND e.ts <= a.at) AS before
            FROM anchors a JOIN leads l ON l.created_at < a.at JOIN truth t USING (person_id)
            LEFT JOIN events e ON e.lead_id = l.lead_id
            GROUP BY ALL)
        SELECT recent > 0, income >= 60000, avg(CASE WHEN converted > 0 THEN 1 ELSE 0 END)
        FROM per_lead WHERE before = 0 GROUP BY ALL""").fetchall()
    )
    assert rates[(True, False)] > 2 * rates[(False, False)]
    assert rates[(True, True)] > 2 * rates[(False, True)]
    assert (
        rates[(True, True)] > rates[(True, False)] and rates[(False, True)] > rates[(False, False)]
    )

    # keyboard buyers: 25-45, earning 60-150k, more often in CA, WA, NY
    profile = dict(
        con.execute("""
        SELECT c.product = 'keyboard',
               avg(CASE WHEN t.age BETWEEN 25 AND 45 AND t.income BETWEEN 60000 AND 150000
                        THEN 1 ELSE 0 END)
        FROM customers c JOIN truth t USING (person_id) GROUP BY ALL""").fetchall()
    )
    assert profile[True] > 3 * profile[False]
    coast = dict(
        con.execute("""
        SELECT c.product = 'keyboard',
               avg(CASE WHEN t.state IN ('CA', 'WA', 'NY') THEN 1 ELSE 0 END)
        FROM customers c JOIN truth t USING (person_id) GROUP BY ALL""").fetchall()
    )
    assert coast[True] > 1.2 * coast[False]
    products = {r[0] for r in con.execute("SELECT DISTINCT product FROM customers").fetchall()}
    assert products == {"keyboard", "mouse", "monitor", "laptop"}


# ----------------------------------------------------------------------------- orders


@pytest.fixture(scope="module")
def shop(data, con):
    c = data.crm_files
    for name in ("customers", "products", "orders"):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{c[name]}')")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o AS
        SELECT o.*, p.category, p.name,
               row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at) AS nth,
               count(*) OVER (PARTITION BY customer_id) AS orders
        FROM orders o JOIN products p USING (product_id)""")
    return con


def test_products_and_orders_tables(data, shop) -> None:
    con = shop
    products = pq.read_table(data.crm_files["products"]).to_pandas()
    assert list(products.columns) == ["product_id", "name", "category", "price"]
    assert products["product_id"].tolist() == list(range(1, len(crm.CATALOG) + 1))
    assert 30 <= len(products) <= 60 and products["name"].is_unique
    assert set(products["category"]) == set(crm.CATEGORIES)
    for family, (lo, hi) in crm._PRICE.items():
        prices = products.loc[products["category"] == family, "price"]
        assert prices.between(lo, hi).all(), family
    orders = pq.read_table(data.crm_files["orders"])
    assert orders.column_names == [
        "order_id",
        "customer_id",
        "product_id",
        "ordered_at",
        "amount",
        "quantity",
        "returned",
    ]
    n, ids, first, last = con.execute(
        "SELECT count(*), count(DISTINCT order_id), min(order_id), max(order_id) FROM orders"
    ).fetchone()
    assert n == ids == last and first == 1
    # ids in time order, never on or after AS_OF
    assert (
        scalar(
            con,
            "SELECT count(*) FROM (SELECT ordered_at, lag(ordered_at) OVER "
            "(ORDER BY order_id) AS prev FROM orders) WHERE ordered_at < prev",
        )
        == 0
    )
    assert scalar(con, f"SELECT max(ordered_at) < DATE '{AS_OF}' FROM orders")
    # references resolve, every customer has orders
    assert (
        scalar(
            con,
            "SELECT count(*) FROM orders WHERE customer_id NOT IN "
            "(SELECT customer_id FROM customers)",
        )
        == 0
    )
    assert (
        scalar(
            con,
            "SELECT count(*) FROM orders WHERE product_id NOT IN (SELECT product_id FROM products)",
        )
        == 0
    )
    customers = scalar(con, "SELECT count(*) FROM customers")
    assert scalar(con, "SELECT count(DISTINCT customer_id) FROM orders") == customers
    assert 5 <= n / customers <= 15
    assert scalar(con, "SELECT min(amount) FROM orders") > 0
    assert scalar(con, "SELECT min(quantity) FROM orders") >= 1
    assert 0.03 < scalar(con, "SELECT avg(returned::INT) FROM orders") < 0.1
    # popularity is skewed: within each category the most popular product sells most
    top = con.execute("""
        SELECT category, arg_max(product_id, n) FROM (
            SELECT category, product_id, count(*) AS n FROM o GROUP BY ALL) GROUP BY ALL
    """).fetchall()
    first_of = {
        c: min(p for p, (_, pc, _) in enumerate(crm.CATALOG, 1) if pc == c) for c in crm.CATEGORIES
    }
    assert sum(first_of[c] == p for c, p in top) >= 4


def test_first_order_is_the_customers_purchase(shop) -> None:
    bad = scalar(
        shop,
        """
        SELECT count(*) FROM customers c LEFT JOIN o ON o.customer_id = c.customer_id
                                                    AND o.nth = 1
        WHERE o.ordered_at IS DISTINCT FROM c.bought_at OR o.amount IS DISTINCT FROM c.amount
           OR o.category IS DISTINCT FROM c.product OR o.quantity <> 1""",
    )
    assert bad == 0
    # only the first order is at bought_at: later ones come strictly after
    assert (
        scalar(
            shop,
            "SELECT count(*) FROM o JOIN customers c USING (customer_id) "
            "WHERE o.nth > 1 AND o.ordered_at <= c.bought_at",
        )
        == 0
    )


def test_orders_planted_signals(shop) -> None:
    con = shop
    # purchase rate and spend rise with income (hidden truth)
    per = con.execute(f"""
        SELECT ln(t.income), count(*) / (date_diff('day', c.bought_at, DATE '{AS_OF}') + 30),
               avg(o.amount / o.quantity) FILTER (WHERE o.nth > 1)
        FROM o JOIN customers c USING (customer_id) JOIN truth t USING (person_id)
        GROUP BY c.customer_id, t.income, c.bought_at""").fetchall()
    log_income, rate, _ = map(np.array, zip(*per, strict=True))
    assert np.corrcoef(log_income, rate)[0, 1] > 0.1
    income_q = dict(
        con.execute("""
        SELECT t.income >= (SELECT median(income) FROM truth t JOIN customers USING (person_id)),
               avg(o.amount / o.quantity)
        FROM o JOIN customers c USING (customer_id) JOIN truth t USING (person_id)
        WHERE o.nth > 1 AND o.category IN ('keyboard', 'mouse', 'accessory') GROUP BY ALL
    """).fetchall()
    )
    assert income_q[True] > 1.1 * income_q[False]
    # dropout: a returned repeat order is far more often the customer's last one
    last = dict(
        con.execute(f"""
        SELECT returned, avg(CASE WHEN nth = orders THEN 1 ELSE 0 END) FROM o
        WHERE nth > 1 AND ordered_at < DATE '{AS_OF}' - INTERVAL 270 DAY GROUP BY ALL
    """).fetchall()
    )
    assert last[True] > last[False] + 0.25
    # lemons are returned far more often
    lemon = dict(
        con.execute(f"""
        SELECT name IN {tuple(crm.LEMONS)}, avg(returned::INT) FROM o GROUP BY ALL""").fetchall()
    )
    assert lemon[True] > 4 * lemon[False]
    # seasonality: the holidays sell far more than the autumn before them
    nov_dec, sep_oct = con.execute("""
        SELECT count(*) FILTER (WHERE ordered_at >= '2025-11-01' AND ordered_at < '2026-01-01'),
               count(*) FILTER (WHERE ordered_at >= '2025-09-01' AND ordered_at < '2025-11-01')
        FROM o WHERE nth > 1""").fetchone()
    assert nov_dec > 1.3 * sep_oct
    # customers re-buy within their own categories, far beyond the global category mix
    (same,) = con.execute("""
        SELECT avg(CASE WHEN category = prev THEN 1 ELSE 0 END) FROM (
            SELECT category, lag(category) OVER (PARTITION BY customer_id ORDER BY nth) AS prev,
                   nth FROM o) WHERE nth > 2""").fetchone()
    chance = scalar(
        con,
        """
        SELECT sum(share * share) FROM (
            SELECT count(*) / sum(count(*)) OVER () AS share FROM o WHERE nth > 1 GROUP BY category)""",
    )
    assert same > 1.5 * chance


def test_orders_load_through_leadql(data) -> None:
    rows = pq.ParquetFile(data.crm_files["orders"]).metadata.num_rows
    with leadql.connect() as ws:
        ws.execute(data.catalog_script())
        assert ws.execute("SELECT count(*) FROM orders").rows == [(rows,)]
        joined = ws.execute(
            "SELECT count(*) FROM orders o JOIN products p ON p.product_id = o.product_id "
            "JOIN customers c ON c.customer_id = o.customer_id"
        ).rows
        assert joined == [(rows,)]
    script = data.catalog_script()
    assert "CREATE OR REPLACE TABLE products" in script and "KEY product_id" in script
    assert (
        "TIME COLUMN ordered_at KEY order_id REFERENCES "
        "(customer_id -> customers.customer_id, product_id -> products.product_id)" in script
    )
