"""Automatic relational features (leadql.predict.features): values by hand, the leakage rule,
id-like columns, exclusions, the cap and the plan's JSON round trip. Every test runs twice:
windowed partials in SQL, and in the compiled pass (leadql.predict.bucketkernel)."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from leadql.catalog.definitions import Reference
from leadql.errors import LeadQLExecutionError
from leadql.predict import bucketkernel
from leadql.predict.features import FeatureDef, FeaturePlan, compute_features, plan_features
from leadql.predict.schema import Schema, TableMeta

T0 = datetime(2026, 3, 1)  # the main anchor


@pytest.fixture(autouse=True, params=["sql", "compiled"])
def partials_path(request, monkeypatch):
    """Run the test with the windowed partials in SQL, then in the compiled pass (any size)."""
    if request.param == "compiled":
        if not bucketkernel.AVAILABLE:
            pytest.skip("numba is not installed")
        monkeypatch.setattr(bucketkernel, "MIN_ROWS", 0)
        monkeypatch.setattr(bucketkernel, "CHUNK_BYTES", 4096)  # several chunks even here
    else:
        monkeypatch.setattr(bucketkernel, "AVAILABLE", False)
    return request.param


def ts(days: float) -> datetime:
    """T0 + days."""
    return T0 + timedelta(days=days)


def meta(con, name: str, key: str, time_column: str | None = None, refs=(), relation=None):
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE {relation or name}").fetchall()}
    return TableMeta(name, relation or name, cols, (key,), time_column, tuple(refs))


def make_schema(con, suffix: str = "") -> Schema:
    def m(name, key, time_column=None, refs=()):
        return meta(con, name, key, time_column, refs, relation=name + suffix)

    return Schema({
        "leads": m("leads", "lead_id", "created_at", [Reference("company_id", "companies", "company_id")]),
        "companies": m("companies", "company_id"),
        "events": m("events", "event_id", "ts", [Reference("lead_id", "leads", "lead_id")]),
        "orders": m("orders", "order_id", "ordered_at", [Reference("lead_id", "leads", "lead_id"),
                                                         Reference("product_id", "products", "product_id")]),
        "products": m("products", "product_id"),
        "order_items": m("order_items", "item_id", None, [Reference("order_id", "orders", "order_id")]),
    })  # fmt: skip


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE companies (company_id INTEGER, industry VARCHAR, employees INTEGER)")
    c.execute("INSERT INTO companies VALUES (100, 'tech', 50), (101, 'bank', 900)")
    c.execute("CREATE TABLE leads (lead_id INTEGER, created_at TIMESTAMP, channel VARCHAR, "
              "score DOUBLE, company_id INTEGER, external_ref VARCHAR)")
    leads = [(1, ts(-60), "web", 10.0, 100), (2, ts(-40), "ads", 20.0, 101),
             (3, ts(-10), "web", 30.0, 100)]
    leads += [(i, ts(-100 - i), ["web", "ads", "event"][i % 3], float(i), 100 + i % 2)
              for i in range(4, 40)]
    c.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, 'ref-' || ?::VARCHAR)",
                  [(*row, row[0]) for row in leads])
    c.execute("CREATE TABLE events (event_id INTEGER, lead_id INTEGER, ts TIMESTAMP, "
              "type VARCHAR, amount DOUBLE)")
    events = [
        (1, 1, ts(0), "meeting", 5.0),  # exactly at the anchor: counts
        (2, 1, ts(-7), "email", 1.0),  # exactly at anchor - 7d: not in the 7-day window
        (3, 1, ts(-3), "email", 2.0),
        (4, 1, ts(-29), "call", 4.0),
        (5, 1, ts(-45), "email", 8.0),
        (6, 1, ts(1), "meeting", 100.0),  # after the anchor: never counts at T0
        (7, 2, ts(-20), "email", 3.0),
    ]
    events += [(100 + i, 4 + i % 30, ts(-200 + i), ["email", "call", "meeting"][i % 3], 1.0)
               for i in range(60)]
    c.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
    c.execute("CREATE TABLE products (product_id INTEGER, category VARCHAR, price DOUBLE)")
    c.execute("INSERT INTO products VALUES (10, 'toys', 5.0), (11, 'books', 12.0), (12, 'toys', 7.0)")
    c.execute("CREATE TABLE orders (order_id INTEGER, lead_id INTEGER, ordered_at TIMESTAMP, "
              "product_id INTEGER, total DOUBLE)")
    c.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [
        (1, 1, ts(-2), 10, 50.0), (2, 1, ts(-40), 11, 20.0), (3, 1, ts(5), 12, 99.0),
        (4, 2, ts(-1), 12, 10.0),
    ])  # fmt: skip
    c.execute("CREATE TABLE order_items (item_id INTEGER, order_id INTEGER, qty INTEGER)")
    c.executemany("INSERT INTO order_items VALUES (?, ?, ?)",
                  [(1, 1, 2), (2, 1, 3), (3, 2, 1), (4, 3, 50), (5, 4, 4)])
    c.execute("CREATE TABLE anchors AS SELECT * FROM (VALUES (1, TIMESTAMP '2026-03-01'), "
              "(2, TIMESTAMP '2026-03-01'), (3, TIMESTAMP '2026-03-01')) t(entity_id, anchor_ts)")
    yield c
    c.close()


def features_at(con, plan, schema, anchors="anchors") -> dict[int, dict]:
    compute_features(con, plan, schema, anchors, "feat")
    cur = con.execute("SELECT * FROM feat")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def test_windows_counts_sums_and_boundaries(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(7, 30, None))
    f = features_at(con, plan, schema)[1]
    # lead 1 at T0: events at 0, -3, -7, -29, -45 (and +1, in the future)
    assert f["events__count__7d"] == 2  # 0 and -3; -7 is exactly on the open edge
    assert f["events__count__30d"] == 4
    assert f["events__count__all"] == 5
    assert f["events__amount__sum__7d"] == pytest.approx(7.0)
    assert f["events__amount__sum__30d"] == pytest.approx(12.0)
    assert f["events__amount__mean__30d"] == pytest.approx(3.0)
    assert f["events__amount__min__all"] == pytest.approx(1.0)
    assert f["events__amount__max__all"] == pytest.approx(8.0)  # not the future 100
    assert f["events__amount__max__7d"] == pytest.approx(5.0)
    # lead 3 has no events: counts and sums 0, means and recency NULL
    g = features_at(con, plan, schema)[3]
    assert g["events__count__all"] == 0 and g["events__amount__sum__30d"] == 0
    assert g["events__amount__mean__all"] is None and g["events__days_since_last"] is None


def test_recency_age_and_trend(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(7, 30, None))
    f = features_at(con, plan, schema)
    assert f[1]["events__days_since_last"] == pytest.approx(0.0)
    assert f[1]["events__days_since_first"] == pytest.approx(45.0)
    assert f[2]["events__days_since_last"] == pytest.approx(20.0)
    assert f[1]["leads__created_at__days_since"] == pytest.approx(60.0)
    assert f[3]["leads__created_at__days_since"] == pytest.approx(10.0)
    # trend over 7 days: (T0-7, T0] has 2 events, (T0-14, T0-7] has 1 (the one at exactly -7)
    assert f[1]["events__count__trend__7d"] == 1
    kinds = {d.name: d.kind for d in plan.features}
    assert kinds["events__count__trend__7d"] == "trend"
    assert kinds["events__days_since_last"] == "recency"
    assert kinds["leads__created_at__days_since"] == "age"


def test_categorical_frequencies_and_static_attributes(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    f = features_at(con, plan, schema)[1]
    assert f["events__type_is_email__count__30d"] == 2
    assert f["events__type_is_email__count__all"] == 3
    assert f["events__type_is_meeting__count__all"] == 1  # the future meeting is not seen
    assert f["events__type_is_email__share__all"] == pytest.approx(3 / 5)
    assert f["events__type__count_distinct__all"] == 3
    assert f["leads__channel"] == "web" and f["leads__score"] == pytest.approx(10.0)
    assert f["companies__industry"] == "tech"  # the entity's many-to-one dimension
    assert f["companies__employees"] == pytest.approx(50.0)
    by_name = {d.name: d for d in plan.features}
    assert by_name["leads__channel"].dtype == "categorical"
    assert by_name["events__type_is_email__count__30d"].value == "email"
    assert by_name["companies__industry"].path == ("leads.company_id -> companies.company_id",)


def test_two_hops(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    f = features_at(con, plan, schema)
    # orders.product_id -> products: categories of the lead's orders (the future one excluded)
    assert f[1]["orders__products__category_is_toys__count__all"] == 1
    assert f[1]["orders__products__category_is_books__count__all"] == 1
    assert f[1]["orders__products__category_is_books__count__30d"] == 0
    assert f[1]["orders__products__price__sum__all"] == pytest.approx(17.0)
    assert f[2]["orders__products__category_is_toys__count__30d"] == 1
    # order_items (no time of their own) take their order's time
    assert f[1]["orders__order_items__qty__sum__all"] == pytest.approx(6.0)
    assert f[1]["orders__order_items__qty__sum__30d"] == pytest.approx(5.0)
    assert f[1]["orders__order_items__count__all"] == 3
    paths = {d.name: d.path for d in plan.features}
    assert paths["orders__order_items__qty__sum__all"] == (
        "order_items.order_id -> orders.order_id", "orders.lead_id -> leads.lead_id")
    assert paths["orders__products__price__sum__all"] == (
        "orders.product_id -> products.product_id", "orders.lead_id -> leads.lead_id")


def test_identifiers_keys_and_timestamps_never_raw(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id")
    columns = {(d.table, d.column) for d in plan.features}
    for table, column in [("leads", "lead_id"), ("leads", "company_id"), ("leads", "external_ref"),
                          ("events", "event_id"), ("events", "lead_id"), ("orders", "product_id"),
                          ("products", "product_id"), ("order_items", "order_id")]:
        assert (table, column) not in columns
    assert any("leads.external_ref" in s and "identifier" in s for s in plan.skipped)
    compute_features(con, plan, schema, "anchors", "feat")
    types = {r[0]: r[1] for r in con.execute("DESCRIBE feat").fetchall()}
    for d in plan.features:
        assert "TIMESTAMP" not in types[d.name] and "DATE" not in types[d.name]
        assert types[d.name] == ("VARCHAR" if d.dtype == "categorical" else types[d.name])


def test_exclude_and_cap(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id",
                         exclude=[("leads", "score"), ("orders", "*")])
    names = [d.name for d in plan.features]
    assert "leads__score" not in names
    assert not any(d.table == "orders" or any(h.startswith("orders.") for h in d.path)
                   for d in plan.features)
    assert "orders__products: excluded" in plan.skipped
    assert "leads.score: excluded" in plan.skipped
    full = plan_features(con, schema, "leads", "lead_id")
    capped = plan_features(con, schema, "leads", "lead_id", max_features=12)
    assert len(capped.features) == 12 < len(full.features)
    assert sum("over the cap" in s for s in capped.skipped) == len(full.features) - 12
    kept = {d.name for d in capped.features}
    assert "events__count__30d" in kept  # counts come first
    assert "events__amount__max__7d" not in kept  # min/max last
    assert len(names) == len(set(names))


def test_plan_json_round_trip_gives_identical_output(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id")
    again = FeaturePlan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again == plan
    d = plan.features[0]
    assert FeatureDef.from_json(d.to_json()) == d
    compute_features(con, plan, schema, "anchors", "a1")
    compute_features(con, again, schema, "anchors", "a2")
    one = con.execute("SELECT * FROM a1 ORDER BY ALL").fetchall()
    two = con.execute("SELECT * FROM a2 ORDER BY ALL").fetchall()
    assert one == two
    cols = [r[0] for r in con.execute("DESCRIBE a1").fetchall()]
    assert cols == ["entity_id", "anchor_ts"] + [d.name for d in plan.features]


def test_one_row_per_anchor_row(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30,))
    con.execute("CREATE TABLE anchors2 AS SELECT * FROM (VALUES "
                "(2, TIMESTAMP '2026-03-01'), (1, TIMESTAMP '2026-03-01'), (2, TIMESTAMP '2026-03-01'), "
                "(1, TIMESTAMP '2026-03-02'), (999, TIMESTAMP '2026-03-01')) t(entity_id, anchor_ts)")
    seen = []
    compute_features(con, plan, schema, "anchors2", "feat", progress=lambda s, x: seen.append(x))
    rows = con.execute("SELECT entity_id, anchor_ts, events__count__30d FROM feat").fetchall()
    assert sorted((r[0], r[2]) for r in rows) == [(1, 4), (1, 4), (2, 1), (2, 1), (999, 0)]
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is True


def test_errors(con):
    schema = make_schema(con)
    with pytest.raises(LeadQLExecutionError, match="unknown entity table") as e:
        plan_features(con, schema, "customers", "id")
    assert e.value.hint
    with pytest.raises(LeadQLExecutionError, match="no column"):
        plan_features(con, schema, "leads", "nope")
    plan = plan_features(con, schema, "leads", "lead_id")
    con.execute("CREATE TABLE bad AS SELECT 1 AS lead_id, TIMESTAMP '2026-01-01' AS anchor_ts")
    with pytest.raises(LeadQLExecutionError, match="lacks column") as e:
        compute_features(con, plan, schema, "bad", "feat")
    assert "entity_id" in e.value.hint
    con.execute("CREATE TABLE bad2 AS SELECT 1 AS entity_id, 5 AS anchor_ts")
    with pytest.raises(LeadQLExecutionError, match="not a timestamp"):
        compute_features(con, plan, schema, "bad2", "feat")
    with pytest.raises(LeadQLExecutionError, match="cannot read"):
        compute_features(con, plan, schema, "no_such_relation", "feat")


def test_no_leakage_truncated_data_gives_the_same_features():
    """Features at anchor t on the full data equal features on data cut at t."""
    rng = random.Random(7)
    con = duckdb.connect()
    start = datetime(2025, 1, 1)
    con.execute("CREATE TABLE leads (lead_id INTEGER, created_at TIMESTAMP, channel VARCHAR, "
                "score DOUBLE, company_id INTEGER, external_ref VARCHAR)")
    con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?)", [
        (i, start + timedelta(days=rng.uniform(0, 60)), rng.choice(["web", "ads", "event"]),
         rng.uniform(0, 100), 100 + i % 2, f"r{i}") for i in range(60)])  # fmt: skip
    con.execute("CREATE TABLE companies AS SELECT * FROM (VALUES (100, 'tech', 5), (101, 'bank', 9)) "
                "t(company_id, industry, employees)")
    events = pa.table({  # noqa: F841 - read by DuckDB below
        "event_id": list(range(3000)),
        "lead_id": [rng.randrange(60) for _ in range(3000)],
        "ts": [start + timedelta(days=rng.uniform(0, 400)) for _ in range(3000)],
        "type": [rng.choice(["a", "b", "c", "d"]) for _ in range(3000)],
        "amount": [round(rng.uniform(0, 50), 2) for _ in range(3000)],
    })
    con.execute("CREATE TABLE events AS SELECT event_id::INTEGER AS event_id, "
                "lead_id::INTEGER AS lead_id, ts::TIMESTAMP AS ts, type, amount FROM events")
    con.execute("CREATE TABLE products AS SELECT * FROM (VALUES (10, 'toys', 5.0), (11, 'books', 12.0)) "
                "t(product_id, category, price)")
    con.execute("CREATE TABLE orders (order_id INTEGER, lead_id INTEGER, ordered_at TIMESTAMP, "
                "product_id INTEGER, total DOUBLE)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [
        (i, rng.randrange(60), start + timedelta(days=rng.uniform(0, 400)), rng.choice([10, 11]),
         rng.uniform(1, 90)) for i in range(400)])  # fmt: skip
    con.execute("CREATE TABLE order_items AS SELECT range AS item_id, range % 400 AS order_id, "
                "(range % 7)::INTEGER AS qty FROM range(900)")
    full = make_schema(con)
    plan = plan_features(con, full, "leads", "lead_id")
    assert len(plan.features) > 60
    anchors = [start + timedelta(days=d, hours=h) for d, h in [(90, 0), (250, 5), (390, 13)]]
    # an event exactly at each anchor (it counts on both sides)
    for i, t in enumerate(anchors):
        con.execute("INSERT INTO events VALUES (?, 1, ?, 'a', 1.5)", [10_000 + i, t])
    con.execute("CREATE TABLE anchors (entity_id INTEGER, anchor_ts TIMESTAMP)")
    con.executemany("INSERT INTO anchors VALUES (?, ?)", [(i, t) for t in anchors for i in range(60)])
    got = {(r["entity_id"], r["anchor_ts"]): r for r in _rows(con, plan, full, "anchors")}
    for k, t in enumerate(anchors):
        for name in ("events", "orders"):
            col = "ts" if name == "events" else "ordered_at"
            con.execute(f"CREATE OR REPLACE TABLE {name}_cut AS SELECT * FROM {name} "
                        f"WHERE {col} <= TIMESTAMP '{t}'")
        for name in ("leads", "companies", "products", "order_items"):
            con.execute(f"CREATE OR REPLACE VIEW {name}_cut AS SELECT * FROM {name}")
        con.execute(f"CREATE OR REPLACE TABLE anchors_{k} AS SELECT * FROM anchors "
                    f"WHERE anchor_ts = TIMESTAMP '{t}'")
        cut = make_schema(con, "_cut")
        for row in _rows(con, plan, cut, f"anchors_{k}"):
            ref = got[(row["entity_id"], row["anchor_ts"])]
            for d in plan.features:
                a, b = ref[d.name], row[d.name]
                if isinstance(a, float) or isinstance(b, float):
                    assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), d.name
                else:
                    assert a == b, d.name
    con.close()


def _rows(con, plan, schema, anchors):
    compute_features(con, plan, schema, anchors, "feat")
    cur = con.execute("SELECT * FROM feat")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_untimed_child_and_two_links_to_the_entity(con):
    con.execute("CREATE TABLE tags AS SELECT * FROM (VALUES (1, 1, 'vip', 3.0), (2, 1, 'cold', 1.0), "
                "(3, 2, 'vip', 2.0)) t(tag_id, lead_id, label, weight)")
    con.execute("CREATE TABLE referrals AS SELECT * FROM (VALUES (1, 1, 2, TIMESTAMP '2026-02-20'), "
                "(2, 3, 1, TIMESTAMP '2026-02-25')) t(ref_id, lead_id, referrer_id, made_at)")
    schema = make_schema(con)
    tables = dict(schema.tables)
    tables["tags"] = meta(con, "tags", "tag_id", None, [Reference("lead_id", "leads", "lead_id")])
    tables["referrals"] = meta(con, "referrals", "ref_id", "made_at", [
        Reference("lead_id", "leads", "lead_id"), Reference("referrer_id", "leads", "lead_id")])
    schema = Schema(tables)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    f = features_at(con, plan, schema)
    # a child without time: all its rows, no windows, no recency
    assert f[1]["tags__count__all"] == 2 and f[3]["tags__count__all"] == 0
    assert f[1]["tags__label_is_vip__count__all"] == 1
    assert f[1]["tags__weight__sum__all"] == pytest.approx(4.0)
    assert not any(d.table == "tags" and d.window_days is not None for d in plan.features)
    assert "tags__days_since_last" not in {d.name for d in plan.features}
    # two links from one table: the prefix says which
    assert f[1]["referrals_by_lead_id__count__30d"] == 1
    assert f[1]["referrals_by_referrer_id__count__30d"] == 1
    assert f[2]["referrals_by_referrer_id__count__30d"] == 1
    assert f[3]["referrals_by_lead_id__count__all"] == 1


def _last_and_gap(f: dict) -> dict:
    ends = ("__last", "__first", "__gap__mean", "__recency_over_gap", "__rate_per_day")
    return {k: v for k, v in f.items() if k.endswith(ends)}


def test_last_first_values_and_gaps_by_hand(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    by_name = {d.name: d for d in plan.features}
    assert by_name["events__type__last"].kind == "last"
    assert by_name["events__type__last"].dtype == "categorical"
    assert by_name["events__amount__first"].func == "first"
    assert by_name["events__amount__last"].dtype == "numeric"
    assert by_name["orders__gap__mean"].kind == "gap"
    assert {by_name[n].func for n in ("orders__gap__mean", "orders__recency_over_gap",
                                      "orders__rate_per_day")} == {
        "gap_mean", "recency_over_gap", "rate_per_day"}
    f = features_at(con, plan, schema)
    # lead 1's events at T0: 0 (meeting, 5), -3, -7, -29, -45 (email, 8); +1 is in the future
    one = f[1]
    assert one["events__type__last"] == "meeting"  # the row exactly at the anchor is the last
    assert one["events__amount__last"] == pytest.approx(5.0)  # not the future 100
    assert one["events__type__first"] == "email" and one["events__amount__first"] == pytest.approx(8.0)
    assert one["events__gap__mean"] == pytest.approx(45 / 4)  # gaps 16, 22, 4, 3
    assert one["events__recency_over_gap"] == pytest.approx(0.0)
    assert one["events__rate_per_day"] == pytest.approx(5 / (45 + 1))
    # lead 1's orders: -2 (50), -40 (20); the one at +5 (99) is in the future
    assert one["orders__total__last"] == pytest.approx(50.0)
    assert one["orders__total__first"] == pytest.approx(20.0)
    assert one["orders__gap__mean"] == pytest.approx(38.0)
    assert one["orders__recency_over_gap"] == pytest.approx(2 / 38)
    assert one["orders__rate_per_day"] == pytest.approx(2 / 41)
    # one row: last = first, no gap; the rate still exists
    two = f[2]
    assert two["events__type__last"] == two["events__type__first"] == "email"
    assert two["events__amount__last"] == pytest.approx(3.0)
    assert two["events__gap__mean"] is None and two["events__recency_over_gap"] is None
    assert two["events__rate_per_day"] == pytest.approx(1 / 21)
    # no rows: everything NULL
    assert all(v is None for v in _last_and_gap(f[3]).values())
    types = {r[0]: r[1] for r in con.execute("DESCRIBE feat").fetchall()}
    assert types["events__type__last"] == "VARCHAR" and types["events__amount__last"] == "DOUBLE"


def test_last_value_moves_with_the_anchor(con):
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    con.execute("CREATE TABLE anchors3 AS SELECT * FROM (VALUES (1, TIMESTAMP '2026-02-28'), "
                "(1, TIMESTAMP '2026-03-02'), (1, TIMESTAMP '2026-03-01 12:00:00'), "
                "(1, TIMESTAMP '2026-01-01')) t(entity_id, anchor_ts)")
    compute_features(con, plan, schema, "anchors3", "feat")
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT anchor_ts, events__type__last, events__amount__last, events__amount__first, "
        "events__gap__mean FROM feat").fetchall()}
    assert rows[ts(-1)] == ("email", 2.0, 8.0, pytest.approx(42 / 3))  # the event at -3
    assert rows[ts(0.5)] == ("meeting", 5.0, 8.0, pytest.approx(45 / 4))  # at 0
    assert rows[ts(1)] == ("meeting", 100.0, 8.0, pytest.approx(46 / 5))  # exactly at +1
    assert rows[ts(-59)] == (None, None, None, None)  # before any event


def test_last_value_ties_and_nulls(con):
    # lead 2: two events at -5 and two at -30; the greatest key wins a tie; a NULL is a value
    con.executemany("INSERT INTO events VALUES (?, 2, ?, ?, ?)", [
        (901, ts(-5), "call", 7.0), (900, ts(-5), "visit", 9.0),
        (950, ts(-30), "visit", None), (949, ts(-30), "call", 6.0),
    ])  # fmt: skip
    schema = make_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(30, None))
    for _ in range(2):  # the same answer every time
        two = features_at(con, plan, schema)[2]
        assert two["events__type__last"] == "call" and two["events__amount__last"] == 7.0
        assert two["events__type__first"] == "visit" and two["events__amount__first"] is None
        assert two["events__gap__mean"] == pytest.approx(25 / 4)  # -30, -30, -20, -5, -5
        assert two["events__recency_over_gap"] == pytest.approx(5 / (25 / 4))
    # without a key, a tie goes to the greatest value
    tables = dict(schema.tables)
    ev = tables["events"]
    tables["events"] = TableMeta(ev.name, ev.relation, ev.columns, (), ev.time_column, ev.references)
    two = features_at(con, plan, Schema(tables))[2]
    assert two["events__type__last"] == "visit" and two["events__amount__last"] == 9.0


def test_last_values_only_for_timed_children_and_ranked_high(con):
    con.execute("CREATE TABLE tags AS SELECT * FROM (VALUES (1, 1, 'vip', 3.0), (2, 1, 'cold', 1.0)) "
                "t(tag_id, lead_id, label, weight)")
    schema = make_schema(con)
    tables = dict(schema.tables)
    tables["tags"] = meta(con, "tags", "tag_id", None, [Reference("lead_id", "leads", "lead_id")])
    schema = Schema(tables)
    plan = plan_features(con, schema, "leads", "lead_id")
    lasts = {d.name for d in plan.features if d.kind in ("last", "gap")}
    assert {"events__type__last", "orders__total__last", "events__gap__mean"} <= lasts
    # not for rows of rows, dimensions of rows, or a child without time
    assert not any(n.startswith(("orders__order_items", "orders__products", "tags")) for n in lasts)
    assert all(d.path and len(d.path) == 1 for d in plan.features if d.kind in ("last", "gap"))
    capped = plan_features(con, schema, "leads", "lead_id", max_features=30)
    kept = {d.name for d in capped.features}
    assert {"events__type__last", "events__amount__last", "events__gap__mean",
            "events__recency_over_gap", "orders__total__last"} <= kept
    assert "events__amount__max__all" not in kept
