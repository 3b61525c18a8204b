"""The compiled feature partials (leadql.predict.bucketkernel) against the SQL ones, on data
chosen to break one of them: NULLs, NaN, infinities, ties, rows on window edges, infinite
times, anchor keys of another type, windows that round to one edge, and one entity with many
rows and anchors. (tests/test_features.py runs its hand-checked tests on both paths too.)"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import duckdb
import pytest

from leadql.catalog.definitions import Reference
from leadql.predict import bucketkernel
from leadql.predict.features import plan_features
from leadql.predict.schema import Schema
from tests.test_features import _rows, meta

pytestmark = pytest.mark.skipif(not bucketkernel.AVAILABLE, reason="numba is not installed")


@pytest.fixture(autouse=True)
def compiled_for_any_size(monkeypatch):
    monkeypatch.setattr(bucketkernel, "MIN_ROWS", 0)
    monkeypatch.setattr(bucketkernel, "CHUNK_BYTES", 4096)  # several chunks even here




def test_compiled_partials_equal_the_sql_on_awkward_data(monkeypatch):
    """NULLs, NaN and infinities, rows tied in time, rows exactly on window edges and at anchors,
    rows after every anchor, entities without rows, chunks splitting nothing: the compiled pass
    gives what the SQL gives, feature by feature."""
    rng = random.Random(11)
    con = duckdb.connect()
    start = datetime(2025, 1, 1)
    con.execute("CREATE TABLE leads (lead_id VARCHAR, created_at TIMESTAMP, channel VARCHAR)")
    con.executemany("INSERT INTO leads VALUES (?, ?, ?)", [
        (f"L{i}", start + timedelta(days=rng.uniform(0, 30)), rng.choice(["web", "ads"]))
        for i in range(80)])  # fmt: skip
    anchors = [start + timedelta(days=d) for d in (60, 90, 120, 150, 300)]
    rows = []
    for n in range(4000):
        lead = f"L{rng.randrange(70)}"  # leads 70..79 have no rows
        pick = rng.random()
        if pick < 0.1:  # exactly on an anchor or on a window edge before one
            t = rng.choice(anchors) - timedelta(days=rng.choice([0, 7, 30, 90, 365]))
        elif pick < 0.15:  # ties: several rows at one time
            t = start + timedelta(days=100, hours=rng.randrange(3))
        else:
            t = start + timedelta(days=rng.uniform(0, 400), microseconds=rng.randrange(10**6))
        amount = rng.choice([None, float("nan"), float("inf"), -float("inf"), 0.0]) \
            if rng.random() < 0.08 else round(rng.uniform(-50, 500), 3)
        kind = None if rng.random() < 0.05 else rng.choice(["a", "b", "c", "d", "e"])
        rows.append((n, lead, t, kind, amount))
    con.execute("CREATE TABLE events (event_id INTEGER, lead_id VARCHAR, ts TIMESTAMP, "
                "type VARCHAR, amount DOUBLE)")
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE anchors (entity_id VARCHAR, anchor_ts TIMESTAMP)")
    con.executemany("INSERT INTO anchors VALUES (?, ?)",
                    [(f"L{i}", t) for i in range(80) for t in anchors if rng.random() < 0.8])
    schema = Schema({
        "leads": meta(con, "leads", "lead_id", "created_at"),
        "events": meta(con, "events", "event_id", "ts", [Reference("lead_id", "leads", "lead_id")]),
    })
    plan = plan_features(con, schema, "leads", "lead_id", windows=(7, 30, 90, 365, None))
    calls = []
    real = bucketkernel.partials_table
    monkeypatch.setattr(bucketkernel, "partials_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    compiled = {(r["entity_id"], r["anchor_ts"]): r for r in _rows(con, plan, schema, "anchors")}
    assert calls, "the compiled pass did not run"
    monkeypatch.setattr(bucketkernel, "AVAILABLE", False)
    sql = {(r["entity_id"], r["anchor_ts"]): r for r in _rows(con, plan, schema, "anchors")}
    assert compiled.keys() == sql.keys() and len(sql) > 300
    windowed = [d for d in plan.features if d.table == "events"]
    assert {d.func for d in windowed} >= {"count", "sum", "mean", "min", "max", "share", "count_trend"}
    for key, ref in sql.items():
        got = compiled[key]
        for d in plan.features:
            a, b = ref[d.name], got[d.name]
            if isinstance(a, float) and isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (a != a and b != b) \
                    or a == b, (key, d.name, a, b)
            else:
                assert a == b, (key, d.name, a, b)
    con.close()


def test_compiled_partials_sort_rows_the_engine_returned_out_of_order():
    """The compiled pass checks that the rows arrive sorted by (entity, time), and sorts them if not."""
    import numpy as np

    chunk = {"r0": np.array([1, 1, 4, 4, 4]), "us": np.array([5, 9, 3, 1, 2]), "v0": np.arange(5.0)}
    fixed = bucketkernel._in_order(chunk)
    assert fixed["us"].tolist() == [5, 9, 1, 2, 3] and fixed["v0"].tolist() == [0, 1, 3, 4, 2]
    ordered = {"r0": np.array([1, 2, 2]), "us": np.array([9, 1, 1])}
    assert bucketkernel._in_order(ordered) is ordered


def _both_paths(con, plan, schema, anchors, monkeypatch):
    """Features by the compiled pass and by the SQL, keyed by (entity, anchor)."""
    monkeypatch.setattr(bucketkernel, "MIN_ROWS", 0)
    compiled = {(r["entity_id"], r["anchor_ts"]): r for r in _rows(con, plan, schema, anchors)}
    monkeypatch.setattr(bucketkernel, "AVAILABLE", False)
    sql = {(r["entity_id"], r["anchor_ts"]): r for r in _rows(con, plan, schema, anchors)}
    monkeypatch.setattr(bucketkernel, "AVAILABLE", True)
    return compiled, sql


def _events_schema(con):
    return Schema({
        "leads": meta(con, "leads", "lead_id", "created_at"),
        "events": meta(con, "events", "event_id", "ts", [Reference("lead_id", "leads", "lead_id")]),
    })


@pytest.mark.parametrize("case", ["infinite times", "anchor keys that coerce", "windows equal to the microsecond",
                                  "a window of a billion days"])
def test_the_two_paths_agree_on_edge_cases_a_review_found(monkeypatch, case):
    """Infinite row times and anchors (epoch_us gives NULL for them: the compiled pass read
    1970), anchor keys '1' and '01' of one INTEGER lead (the SQL counted its rows twice),
    windows that round to one edge, and a window past the int64 range of microseconds."""
    con = duckdb.connect()
    con.execute("CREATE TABLE leads AS SELECT * FROM (VALUES (1, TIMESTAMP '2025-01-01', 'a'), "
                "(2, TIMESTAMP '2025-01-01', 'b')) t(lead_id, created_at, ch)")
    rows = ["(1, 1, TIMESTAMP '2025-03-01', 'x', 1.0)", "(2, 1, TIMESTAMP '2025-03-05', 'y', 2.0)",
            "(3, 2, TIMESTAMP '2025-03-02', 'x', 4.0)"]
    anchors = ["(1, TIMESTAMP '2025-03-10')", "(2, TIMESTAMP '2025-03-10')"]
    windows: tuple = (7, None)
    if case == "infinite times":
        rows += ["(4, 1, '-infinity'::TIMESTAMP, 'y', 8.0)", "(5, 2, 'infinity'::TIMESTAMP, 'x', 16.0)"]
        anchors += ["(2, 'infinity'::TIMESTAMP)"]
    elif case == "anchor keys that coerce":
        anchors = ["('1', TIMESTAMP '2025-03-10')", "('01', TIMESTAMP '2025-03-10')", "('2', TIMESTAMP '2025-03-10')"]
    elif case == "windows equal to the microsecond":
        windows = (0.3, 0.1 + 0.2, 7, None)
    else:
        windows = (7, 1e9, None)
    con.execute("CREATE TABLE events AS SELECT * FROM (VALUES " + ", ".join(rows)
                + ") t(event_id, lead_id, ts, kind, amount)")
    con.execute("CREATE TABLE anchors AS SELECT * FROM (VALUES " + ", ".join(anchors) + ") t(entity_id, anchor_ts)")
    schema = _events_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=windows)
    compiled, sql = _both_paths(con, plan, schema, "anchors", monkeypatch)
    assert compiled.keys() == sql.keys()
    for key, ref in sql.items():
        for d in plan.features:
            a, b = ref[d.name], compiled[key][d.name]
            assert a == b or (isinstance(a, float) and isinstance(b, float)
                              and (math.isclose(a, b, rel_tol=1e-9) or a != a and b != b)), (case, key, d.name, a, b)
    if case == "anchor keys that coerce":  # lead 1 has two rows, whichever way its key is written
        assert {sql[(k, datetime(2025, 3, 10))]["events__count__all"] for k in ("1", "01")} == {2}
    if case == "infinite times":  # the -infinity row is the first; the +infinity one counts only at +infinity
        assert sql[(1, datetime(2025, 3, 10))]["events__count__all"] == 3
        assert sql[(2, datetime(2025, 3, 10))]["events__count__all"] == 1
    con.close()


def test_the_compiled_pass_adds_old_rows_once_per_entity_not_once_per_anchor(monkeypatch):
    """One entity, 20,000 rows, 2,000 anchors: the rows older than the longest window are kept
    as running partials (before, every anchor re-read them: 4.6x the time at 40,000 x 40,000)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE leads AS SELECT 1 AS lead_id, TIMESTAMP '2020-01-01' AS created_at")
    con.execute("CREATE TABLE events AS SELECT i AS event_id, 1 AS lead_id, TIMESTAMP '2020-01-01' "
                "+ INTERVAL ((i * 7919) % (5 * 365 * 86400)) SECOND AS ts, (i % 97)::DOUBLE AS amount "
                "FROM range(20000) t(i)")
    con.execute("CREATE TABLE anchors AS SELECT 1 AS entity_id, TIMESTAMP '2020-01-01' "
                "+ INTERVAL (j * 78840) SECOND AS anchor_ts FROM range(2000) t(j)")
    schema = _events_schema(con)
    plan = plan_features(con, schema, "leads", "lead_id", windows=(7, 30, None))
    compiled, sql = _both_paths(con, plan, schema, "anchors", monkeypatch)
    for key, ref in sql.items():
        for name in ("events__count__all", "events__amount__sum__all", "events__amount__max__all",
                     "events__amount__min__30d", "events__count__7d"):
            a, b = ref[name], compiled[key][name]
            assert a == b or math.isclose(a, b, rel_tol=1e-9), (key, name, a, b)
    con.close()
