"""PREDICT end to end: labels checked by hand, window boundaries, empty-window rules, ASSUMING,
each task type, the model registry, and the leakage guard (scores AT t are the same on the full
data and on the data cut at t)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.context import Context
from leadql.errors import LeadQLError
from leadql.grammar.parser import parse
from leadql.predict.binding import bind_predict
from leadql.predict.labels import PredictSettings, build_examples, prediction_time, training_anchors

T0 = datetime(2026, 1, 1)


# ------------------------------------------------------------------------ tiny hand-made data


def _tiny(tmp_path: Path) -> leadql.Workspace:
    """3 leads, a handful of events at exact boundary times."""
    leads = pa.table({
        "lead_id": [1, 2, 3],
        "channel": ["web", "event", "web"],
        "created_at": [T0, T0, T0 + timedelta(days=50)],
    })  # fmt: skip
    d = timedelta(days=1)
    at = T0 + timedelta(days=100)  # the prediction time used below
    events = pa.table({
        "event_id": list(range(1, 9)),
        "lead_id": [1, 1, 1, 2, 2, 3, 1, 2],
        "ts": [
            at - 30 * d,            # lead 1: exactly at the newest anchor (at - 30d): past, not target
            at - 30 * d + d,        # lead 1: inside the newest target window
            at,                     # lead 1: exactly at the end of the newest window: counts
            at - 30 * d - d / 2,    # lead 2: half a day before the newest anchor: the filter window
            at - 60 * d + d,        # lead 2: inside the second anchor's target window
            at - 10 * d,            # lead 3: after the newest window closed? no: (a, a+30] holds it
            T0 + d,                 # lead 1: early history
            at + d,                 # lead 2: after the prediction time: never seen
        ],
        "type": ["conversion", "conversion", "conversion", "response", "conversion", "conversion",
                 "response", "conversion"],
        "amount": [10.0, 20.0, 30.0, None, 5.0, 7.0, None, 100.0],
    })  # fmt: skip
    pq.write_table(leads, tmp_path / "leads.parquet")
    pq.write_table(events, tmp_path / "events.parquet")
    ws = leadql.connect()
    ws.execute(f"""
        CREATE TABLE leads FROM '{tmp_path / "leads.parquet"}' TIME COLUMN created_at KEY lead_id;
        CREATE TABLE events FROM '{tmp_path / "events.parquet"}' TIME COLUMN ts KEY event_id
          REFERENCES (lead_id -> leads.lead_id);
    """)
    return ws


def _examples(ws: leadql.Workspace, query: str, settings: PredictSettings | None = None) -> tuple[list[datetime], dict]:
    stmt = parse(query)[0]
    ctx = Context(ws, {}, query)
    bound = bind_predict(ctx, stmt)
    at = prediction_time(ws.con, bound)
    anchors = training_anchors(ws.con, bound, at, settings or PredictSettings(max_anchors=3))
    build_examples(ws.con, bound, anchors, "ex", training=True)
    rows = ws.con.sql("SELECT entity_id, anchor_ts, label FROM ex ORDER BY anchor_ts DESC, entity_id").fetchall()
    return anchors, {(e, a): label for e, a, label in rows}


AT = "AT '2026-04-11'"  # T0 + 100 days


def test_anchors_step_back_by_the_window_and_labels_only_closed_windows(tmp_path):
    ws = _tiny(tmp_path)
    anchors, _ = _examples(ws, f"PREDICT COUNT(events.*, 0, 30, days) > 0 FOR EACH leads.lead_id {AT}")
    at = T0 + timedelta(days=100)
    # the newest anchor's window (a, a + 30] ends exactly at the prediction time
    assert anchors == [at - timedelta(days=30), at - timedelta(days=60), at - timedelta(days=90)]


def test_window_boundaries_exclusive_start_inclusive_end(tmp_path):
    ws = _tiny(tmp_path)
    anchors, ex = _examples(
        ws, f"PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) FOR EACH leads.lead_id {AT}"
    )
    a0, a1, a2 = anchors
    # lead 1 at a0: the event exactly at a0 is past (not counted); a0+1d and a0+30d count
    assert ex[(1, a0)] == 2
    assert ex[(2, a0)] == 0  # its only later conversion is after the prediction time
    assert ex[(3, a0)] == 1
    assert ex[(2, a1)] == 1
    # lead 3 was created at T0+50d: it does not exist at a1 = T0+40d or a2 = T0+10d
    assert (3, a1) not in ex and (3, a2) not in ex
    # the event exactly at a0 ends a1's window (a1, a0]: it counts there
    assert ex[(1, a1)] == 1
    # COUNT of an empty window is 0, not a dropped example
    assert ex[(1, a2)] == 0


def test_empty_window_drops_avg_but_sum_is_zero(tmp_path):
    ws = _tiny(tmp_path)
    anchors, avg = _examples(ws, f"PREDICT AVG(events.amount, 0, 30, days) FOR EACH leads.lead_id {AT}")
    a0 = anchors[0]
    assert avg[(1, a0)] == pytest.approx(25.0)  # (20 + 30) / 2
    assert avg[(1, anchors[1])] == pytest.approx(10.0)  # the amount-10 event ends a1's window
    assert (1, anchors[2]) not in avg  # empty window: no AVG, the example is dropped
    _, total = _examples(ws, f"PREDICT SUM(events.amount, 0, 30, days) FOR EACH leads.lead_id {AT}")
    assert total[(1, anchors[2])] == 0


def test_entity_filter_looks_back_and_assuming_restricts_training(tmp_path):
    ws = _tiny(tmp_path)
    anchors, ex = _examples(
        ws,
        "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0 FOR EACH leads.lead_id "
        f"WHERE COUNT(events.* WHERE events.type = 'response', -1, 0, days) > 0 {AT}",
    )
    # only lead 2 responded in the day before a0 (half a day before it)
    assert set(ex) == {(2, anchors[0])}
    assert ex[(2, anchors[0])] is False
    anchors, ex = _examples(
        ws,
        "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0 FOR EACH leads.lead_id "
        f"ASSUMING COUNT(events.* WHERE events.amount >= 20, 0, 30, days) > 0 {AT}",
    )
    assert set(ex) == {(1, anchors[0])}  # the only (lead, anchor) where a 20+ event followed


def test_static_filter_on_entity_columns(tmp_path):
    ws = _tiny(tmp_path)
    anchors, ex = _examples(
        ws, f"PREDICT COUNT(events.*, 0, 30, days) > 0 FOR EACH leads.lead_id WHERE leads.channel = 'web' {AT}"
    )
    assert {e for e, _ in ex} == {1, 3}


def test_history_too_short_is_a_clear_error(tmp_path):
    ws = _tiny(tmp_path)
    with pytest.raises(LeadQLError, match="history is too short"):
        _examples(ws, f"PREDICT COUNT(events.*, 0, 365, days) > 0 FOR EACH leads.lead_id {AT}")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("PREDICT COUNT(evnts.*, 0, 30) > 0 FOR EACH leads.lead_id", "unknown table `evnts`"),
        ("PREDICT COUNT(events.*, 0, 30) > 0 FOR EACH leads.led_id", "no column `led_id`"),
        ("PREDICT SUM(events.type, 0, 30) FOR EACH leads.lead_id", "SUM needs a numeric column"),
        ("PREDICT COUNT(events.* WHERE events.kind = 'x', 0, 30) > 0 FOR EACH leads.lead_id", "no column `kind`"),
        ("PREDICT COUNT(events.*, 0, 30) > 'many' FOR EACH leads.lead_id", "cannot compare number with text"),
        ("PREDICT COUNT(events.*, 0, 30) > 0 FOR EACH events.lead_id", "not the key of `events`"),
        ("PREDICT COUNT(leads.*, 0, 30) > 0 FOR EACH events.event_id", "does not link"),
        ("PREDICT COUNT(events.*, 0, 30) > 0 FOR leads.lead_id IN ('a')", "is number"),
    ],
)
def test_binding_errors_point_at_the_problem(tmp_path, query, message):
    ws = _tiny(tmp_path)
    with pytest.raises(LeadQLError, match=message) as info:
        ws.execute(query)
    assert info.value.span is not None or info.value.hint


# ------------------------------------------------------------------------ generated CRM data


def _crm(folder: Path, n: int = 1500, seed: int = 3, days: int = 400) -> None:
    """Leads with a planted signal: each lead has its own activity rate and meeting propensity
    (so its past predicts its future); conversions follow meetings within 20 days, twice as
    often for tier 'gold'."""
    rng = np.random.default_rng(seed)
    tier = rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5])
    created_days = rng.uniform(0, days * 0.6, n)
    rate = rng.gamma(1.5, 1 / 15, n)  # events per day
    meeting_p = rng.beta(1, 4, n)
    counts = rng.poisson(rate * (days - created_days))
    who = np.repeat(np.arange(n), counts)
    at_day = created_days[who] + rng.uniform(0, 1, who.size) * (days - created_days[who])
    meeting = rng.random(who.size) < meeting_p[who]
    p = np.where(meeting, 0.35, 0.01) * np.where(tier[who] == "gold", 2.0, 1.0)
    hit = rng.random(who.size) < p
    conv_who = who[hit]
    conv_day = at_day[hit] + rng.uniform(1, 20, conv_who.size)
    lead = np.concatenate([who, conv_who]) + 1
    day = np.concatenate([at_day, conv_day])
    kind = np.concatenate([np.where(meeting, "meeting", "click"), np.full(conv_who.size, "conversion")])
    amount = np.concatenate([rng.gamma(2, 50, who.size), rng.gamma(3, 200, conv_who.size)])
    keep = day <= days
    order = np.argsort(day[keep], kind="stable")
    to_ts = np.datetime64(T0, "s") + (day[keep][order] * 86400).astype("timedelta64[s]")
    events = pa.table({
        "event_id": np.arange(1, int(keep.sum()) + 1),
        "lead_id": lead[keep][order],
        "ts": to_ts,
        "type": kind[keep][order],
        "amount": amount[keep][order],
    })  # fmt: skip
    leads = pa.table({
        "lead_id": np.arange(1, n + 1),
        "email": [f"lead{i}@example.com" for i in range(1, n + 1)],
        "tier": tier,
        "created_at": np.datetime64(T0, "s") + (created_days * 86400).astype("timedelta64[s]"),
    })  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(leads, folder / "leads.parquet")
    pq.write_table(events, folder / "events.parquet")


CRM_SCRIPT = """
CREATE OR REPLACE TABLE leads FROM '{d}/leads.parquet' TIME COLUMN created_at KEY lead_id;
CREATE OR REPLACE TABLE events FROM '{d}/events.parquet' TIME COLUMN ts KEY event_id
  REFERENCES (lead_id -> leads.lead_id);
"""

CONVERT = "PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0 FOR EACH leads.lead_id"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crm")
    _crm(folder)
    return folder


@pytest.fixture
def crm_ws(crm, tmp_path):
    ws = leadql.connect(tmp_path / "ws.leadql")
    ws.execute(CRM_SCRIPT.format(d=crm))
    yield ws
    ws.close()


def test_binary_predict_learns_the_planted_signal(crm_ws):
    result = crm_ws.execute(CONVERT + " LIMIT 50")
    table = result.to_pandas()
    assert list(table.columns[:3]) == ["lead_id", "score", "rank"]
    assert "reasons" in table.columns
    assert len(table) == 50
    assert table["rank"].tolist() == list(range(1, 51))
    assert table["score"].is_monotonic_decreasing
    assert ((table["score"] >= 0) & (table["score"] <= 1)).all()
    assert result.plan["examples"] > 1000
    metrics = crm_ws.execute("EVALUATE " + CONVERT).to_pandas()
    auc = float(metrics.loc[metrics["metric"] == "auc", "value"].iloc[0])
    assert auc > 0.7  # conversions follow meetings: recent meetings are visible in features


def test_model_registry_lifecycle(crm_ws, tmp_path):
    crm_ws.execute(CONVERT + " USING MODEL logistic AS MODEL conv LIMIT 5")
    models = crm_ws.execute("SHOW MODELS").to_pandas()
    assert models["name"].tolist() == ["conv"] and models["version"].tolist() == [1]
    described = dict(crm_ws.execute("DESCRIBE MODEL conv").rows)
    assert described["task"] == "binary_classification" and described["algorithm"] == "logistic"
    evaluation = crm_ws.execute(f"EVALUATE MODEL conv PLOT '{tmp_path / 'lift.png'}'")
    assert {"auc", "pr_auc"} <= set(evaluation.to_pandas()["metric"])
    assert (tmp_path / "lift.png").stat().st_size > 1000
    importance = crm_ws.execute("EXPLAIN MODEL conv").to_pandas()
    assert len(importance) > 3 and importance["importance"].iloc[0] >= importance["importance"].iloc[-1]
    crm_ws.execute("RETRAIN MODEL conv")
    history = crm_ws.execute("SHOW MODEL HISTORY conv").to_pandas()
    assert history["version"].tolist() == [1, 2]
    assert history["in_use"].tolist() == [False, True]
    crm_ws.execute("USE MODEL conv VERSION 1")
    assert crm_ws.execute("SHOW MODEL HISTORY conv").to_pandas()["in_use"].tolist() == [True, False]
    with pytest.raises(LeadQLError, match="no version 7"):
        crm_ws.execute("USE MODEL conv VERSION 7")
    with pytest.raises(LeadQLError, match="unknown model `cnv`") as info:
        crm_ws.execute("EVALUATE MODEL cnv")
    assert "conv" in (info.value.hint or "")
    crm_ws.execute("DROP MODEL conv")
    assert crm_ws.execute("SHOW MODELS").rows == []


def test_regression_and_static_multiclass(crm_ws):
    spend = crm_ws.execute(
        "PREDICT SUM(events.amount WHERE events.type = 'conversion', 0, 30, days) FOR EACH leads.lead_id LIMIT 10"
    ).to_pandas()
    assert list(spend.columns[:3]) == ["lead_id", "prediction", "rank"]
    assert spend["prediction"].is_monotonic_decreasing
    first = crm_ws.execute(
        "PREDICT FIRST(events.type, 0, 30, days) FOR EACH leads.lead_id LIMIT 5"
    )  # the type of the next event: a text aggregation, so one of several classes
    assert "one of several classes" in first.message
    assert set(first.to_pandas()["prediction"]) <= {"click", "meeting", "conversion"}
    tiers = crm_ws.execute("PREDICT leads.tier FOR EACH leads.lead_id").to_pandas()
    assert set(tiers["prediction"]) <= {"gold", "silver", "bronze"}
    assert len(tiers) == 1500


def test_chosen_entities_only(crm_ws):
    table = crm_ws.execute(CONVERT.replace("FOR EACH leads.lead_id", "FOR leads.lead_id IN (3, 5, 8)")).to_pandas()
    assert sorted(table["lead_id"]) == [3, 5, 8]


def test_into_list_writes_scored_leads(crm_ws):
    result = crm_ws.execute(CONVERT + " LIMIT 20 INTO LIST hot")
    assert "20 leads into list hot" in result.message
    rows = crm_ws.execute("SELECT * FROM hot ORDER BY score DESC").to_pandas()
    assert len(rows) == 20 and rows["email"].str.endswith("@example.com").all()
    # a saved model's run names it, so outcomes recorded later trace back to the version
    crm_ws.execute(CONVERT + " AS MODEL conv LIMIT 5 INTO LIST hot")
    runs = crm_ws.execute("SELECT scorer_kind, scorer_name, scorer_version FROM _leadql.runs "
                          "WHERE list_name = 'hot' ORDER BY started_at").rows  # fmt: skip
    assert runs == [(None, None, None), ("model", "conv", 1)]


def test_leakage_guard_scores_at_t_ignore_later_data(crm, tmp_path):
    """Train and score AT t on the full data and on the data cut at t: identical scores."""
    t = T0 + timedelta(days=300)
    cut = tmp_path / "cut"
    cut.mkdir()
    leads = pq.read_table(crm / "leads.parquet")
    events = pq.read_table(crm / "events.parquet")
    import pyarrow.compute as pc

    pq.write_table(leads.filter(pc.less_equal(leads["created_at"], pa.scalar(t))), cut / "leads.parquet")
    pq.write_table(events.filter(pc.less_equal(events["ts"], pa.scalar(t))), cut / "events.parquet")
    query = CONVERT + f" AT '{t.isoformat(sep=' ')}'"
    scores = []
    for folder in (crm, cut):
        ws = leadql.connect()
        ws.execute(CRM_SCRIPT.format(d=folder))
        scores.append(ws.execute(query).to_pandas().sort_values("lead_id").reset_index(drop=True))
        ws.close()
    full, truncated = scores
    assert len(full) == len(truncated) > 100
    assert full["lead_id"].tolist() == truncated["lead_id"].tolist()
    np.testing.assert_allclose(full["score"], truncated["score"], rtol=0, atol=1e-12)


# ------------------------------------------------------------------------ orders: ranking


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from leadql import sample

    folder = tmp_path_factory.mktemp("shop")
    data = sample.generate(folder / "sample", people=5000, seed=5, vendors=())
    ws = leadql.connect(folder / "shop.leadql")
    ws.execute(data.catalog_script())
    yield ws
    ws.close()


def test_ranking_beats_popularity_on_planted_category_affinity(shop):
    query = "LIST_DISTINCT(orders.product_id, 0, 30, days) RANK TOP 3 FOR EACH customers.customer_id"
    table = shop.execute(f"PREDICT {query}").to_pandas()
    assert list(table.columns) == ["customer_id", "product_id", "score", "rank", "reasons"]
    assert table["reasons"].str.contains("=").all()  # "pair_count_all=3 (+0.12); ..."
    per_customer = table.groupby("customer_id")["rank"].agg(list)
    assert all(ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 3 for ranks in per_customer)
    assert table.groupby("customer_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    metrics = dict((m, v) for m, v, _ in shop.execute(f"EVALUATE PREDICT {query}").rows)
    assert metrics["k"] == 3
    assert metrics["candidate_recall"] > 0.9
    # customers re-buy within their preferred categories: history beats global popularity
    assert metrics["map_at_k"] > metrics["baseline_map_at_k"]


def test_static_multiclass_beats_the_majority_class(shop):
    metrics = dict((m, v) for m, v, _ in shop.execute(
        "EVALUATE PREDICT customers.product FOR EACH customers.customer_id").rows)  # fmt: skip
    majority = shop.execute(
        "SELECT max(n) / sum(n) FROM (SELECT count(*) AS n FROM customers GROUP BY product)"
    ).rows[0][0]
    assert metrics["accuracy"] > majority


def test_too_little_history_to_train_is_a_clear_error(tmp_path):
    ws = _tiny(tmp_path)
    with pytest.raises(LeadQLError) as info:
        ws.execute(f"PREDICT COUNT(events.*, 0, 30, days) > 0 FOR EACH leads.lead_id {AT}")
    assert info.value.hint  # says how many rows / positives there are and what to do


def test_windows_need_a_time_column(tmp_path):
    ws = _tiny(tmp_path)
    ws.execute(f"CREATE OR REPLACE TABLE plain FROM '{tmp_path / 'events.parquet'}' KEY event_id "
               "REFERENCES (lead_id -> leads.lead_id)")  # fmt: skip
    with pytest.raises(LeadQLError, match="has no TIME COLUMN") as info:
        ws.execute("PREDICT COUNT(plain.*, 0, 30, days) > 0 FOR EACH leads.lead_id")
    assert "TIME COLUMN" in info.value.hint


def test_vendor_sources_are_not_mined(tmp_path):
    ws = _tiny(tmp_path)
    ws.execute(f"CREATE SOURCE vendor FROM '{tmp_path / 'events.parquet'}' KEY event_id "
               "PRICE 0.01 PER RECORD QUALITY 0.9")  # fmt: skip
    with pytest.raises(LeadQLError, match="vendor source"):
        ws.execute("PREDICT COUNT(vendor.*, 0, 30, days) > 0 FOR EACH leads.lead_id")


def test_read_only_workspace_refuses_as_model_but_predicts(crm, tmp_path):
    path = tmp_path / "ro.leadql"
    with leadql.connect(path) as ws:
        ws.execute(CRM_SCRIPT.format(d=crm))
    with leadql.connect(path, read_only=True) as ws:
        with pytest.raises(LeadQLError, match="read-only"):
            ws.execute(CONVERT + " AS MODEL m")
        assert len(ws.execute(CONVERT + " LIMIT 3")) == 3


def test_scores_computed_in_sql_equal_scikit_learns(crm_ws, monkeypatch):
    from leadql.predict import pipeline, treewalk

    query = CONVERT + " AT '2026-12-01'"
    monkeypatch.setattr(treewalk, "AVAILABLE", False)  # with numba, gbm scores skip the SQL path
    monkeypatch.setattr(pipeline, "SQL_SCORING_ROWS", 10**12)
    by_sklearn = crm_ws.execute(query).to_pandas().sort_values("lead_id")
    monkeypatch.setattr(pipeline, "SQL_SCORING_ROWS", 0)
    by_sql = crm_ws.execute(query).to_pandas().sort_values("lead_id")
    assert by_sql["lead_id"].tolist() == by_sklearn["lead_id"].tolist()
    np.testing.assert_allclose(by_sql["score"], by_sklearn["score"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("query", [
    CONVERT + " AT '2026-12-01'",
    "PREDICT SUM(events.amount, 0, 30, days) FORECAST 2 TIMEFRAMES FOR EACH leads.lead_id AT '2026-12-01'",
])  # fmt: skip
def test_results_do_not_depend_on_the_order_rows_are_fetched_in(crm_ws, monkeypatch, query):
    """Scoring fetches its rows in any order (no wide sort in DuckDB); ranks break score ties by
    (anchor, entity) as over the ordered rows, so results are the same whatever the order."""
    from leadql.predict import pipeline

    real = pipeline.features_frame
    monkeypatch.setattr(pipeline, "features_frame", lambda *a, **k: real(*a, **{**k, "ordered": True}))
    ordered = crm_ws.execute(query).to_pandas()

    def reversed_when_scoring(*a, **k):  # training (label=True) keeps its ordered rows
        frame = real(*a, **{**k, "ordered": True})
        return frame if k.get("label") else frame.iloc[::-1].reset_index(drop=True)

    monkeypatch.setattr(pipeline, "features_frame", reversed_when_scoring)
    reversed_rows = crm_ws.execute(query).to_pandas()
    pd.testing.assert_frame_equal(ordered, reversed_rows)
    assert ordered["rank"].duplicated().sum() == (0 if "FORECAST" not in query else len(ordered) - ordered["lead_id"].nunique())


def test_a_table_whose_time_column_is_gone_says_so(tmp_path):
    from leadql.errors import LeadQLSourceError

    ws = _tiny(tmp_path)
    events = pq.read_table(tmp_path / "events.parquet").drop(["ts"])
    pq.write_table(events, tmp_path / "events.parquet")
    with pytest.raises(LeadQLSourceError, match="changed since it was created") as info:
        ws.execute("PREDICT COUNT(events.*, 0, 30, days) > 0 FOR EACH leads.lead_id")
    assert "CREATE OR REPLACE TABLE events" in info.value.hint


# ------------------------------------------------------------------------ FORECAST, CLASSIFY, top classes


def test_forecast_labels_shift_by_the_window_and_need_a_closed_window(tmp_path):
    from leadql.predict import forecast
    from leadql.predict.pipeline import _Temps

    ws = _tiny(tmp_path)
    query = f"PREDICT SUM(events.amount, 0, 10, days) FORECAST 3 TIMEFRAMES FOR EACH leads.lead_id {AT}"
    stmt = parse(query)[0]
    bound = bind_predict(Context(ws, {}, query), stmt)
    at = prediction_time(ws.con, bound)
    anchors = training_anchors(ws.con, bound, at, PredictSettings(max_anchors=6))
    assert anchors[0] == at - timedelta(days=10) and len(anchors) == 6
    temps = _Temps(ws.con)
    assert forecast.build_forecast_examples(ws.con, bound, at, anchors, "fx", temps) == 3
    rows = ws.con.sql("SELECT entity_id, anchor_ts, forecast_timeframe, label FROM fx").fetchall()
    got = {(e, (at - a).days, i): label for e, a, i, label in rows}
    # lead 1: 10.0 at at-30 (the exclusive start of (at-30, at-20]), 20.0 at at-29, 30.0 at at
    assert got[(1, 30, 0)] == 20.0  # (at-30, at-20]
    assert got[(1, 30, 1)] == 0.0  # (at-20, at-10]: an empty SUM is 0
    assert got[(1, 30, 2)] == 30.0  # (at-10, at]: the end is inclusive
    assert got[(3, 20, 0)] == 7.0 and got[(3, 20, 1)] == 0.0  # lead 3's 7.0 at at-10 closes (at-20, at-10]
    # a shifted window must have closed by the prediction time: timeframe i needs anchor ≤ at-10(i+1)
    assert {d for (_, d, i) in got if i == 2} == {30, 40, 50, 60}
    assert {d for (_, d, i) in got if i == 1} == {20, 30, 40, 50, 60}
    assert max(d for (e, d, _) in got if e == 3) == 50  # lead 3 exists from at-50 on
    temps.drop()


def test_forecast_returns_contiguous_timeframes_per_entity(crm_ws):
    result = crm_ws.execute(
        "PREDICT SUM(events.amount, 0, 30, days) FORECAST 4 TIMEFRAMES FOR EACH leads.lead_id LIMIT 5"
    )
    table = result.to_pandas()
    assert list(table.columns) == ["lead_id", "timeframe", "window_start", "window_end", "prediction", "rank",
                                   "reasons"]
    assert table.groupby("lead_id")["reasons"].nunique().eq(1).all() and table["reasons"].str.len().gt(0).all()
    assert table["lead_id"].nunique() == 5 and len(table) == 20  # LIMIT counts entities
    assert "forecast" in result.message and "scored 5 leads" in result.message
    for _, rows in table.groupby("lead_id"):
        assert list(rows["timeframe"]) == [1, 2, 3, 4]
        assert (rows["window_end"] - rows["window_start"] == timedelta(days=30)).all()
        assert (rows["window_start"].iloc[1:].to_numpy() == rows["window_end"].iloc[:-1].to_numpy()).all()
    totals = table.groupby("lead_id").agg(total=("prediction", "sum"), rank=("rank", "first")).sort_values("rank")
    assert totals["total"].is_monotonic_decreasing and list(totals["rank"]) == [1, 2, 3, 4, 5]
    # the planted per-lead activity rate makes the future predictable
    metrics = dict((m, v) for m, v, _ in crm_ws.execute(
        "EVALUATE PREDICT SUM(events.amount, 0, 30, days) FORECAST 4 TIMEFRAMES FOR EACH leads.lead_id").rows)  # fmt: skip
    assert metrics["r2"] > 0.2 and metrics["trained_timeframes"] == 4


def test_explain_predict_says_how_forecasts_and_top_classes_are_read(crm_ws):
    plan = [r[0] for r in crm_ws.execute(
        "EXPLAIN PREDICT SUM(events.amount, 0, 30, days) FORECAST 4 TIMEFRAMES FOR EACH leads.lead_id").rows]  # fmt: skip
    assert any(line.startswith("forecast: 4 timeframes (T+0+i·30, T+30+i·30] days") for line in plan)
    plan = [r[0] for r in crm_ws.execute("EXPLAIN PREDICT leads.tier RANK TOP 2 FOR EACH leads.lead_id").rows]
    assert "read out: the 2 likeliest class(es) per entity of a multiclass model" in plan


def test_forecast_refuses_more_rows_than_it_can_return(crm_ws):
    with pytest.raises(LeadQLError) as caught:
        crm_ws.execute("PREDICT COUNT(events.*, 0, 1, days) FORECAST 10000 TIMEFRAMES FOR EACH leads.lead_id")
    assert "15,000,000 rows" in caught.value.message and "LIMIT" in caught.value.hint


def test_rank_top_k_of_first_gives_the_likeliest_classes(crm_ws):
    table = crm_ws.execute(
        "PREDICT FIRST(events.type, 0, 30, days) RANK TOP 2 FOR EACH leads.lead_id"
    ).to_pandas()
    assert list(table.columns) == ["lead_id", "prediction", "score", "rank", "reasons"]
    assert table["reasons"].str.contains("=").all()  # "feature=value (+0.12); ..."
    per_lead = table.groupby("lead_id")
    assert (per_lead["rank"].agg(list).map(lambda r: r == [1, 2])).all()
    assert (per_lead["score"].sum() <= 1 + 1e-9).all()
    assert per_lead["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert set(table["prediction"]) <= {"click", "meeting", "conversion"}
    assert per_lead["prediction"].nunique().eq(2).all()


def test_classify_a_column_and_a_list_of_items(crm_ws):
    tiers = crm_ws.execute("PREDICT leads.tier CLASSIFY FOR EACH leads.lead_id LIMIT 7").to_pandas()
    assert len(tiers) == 7 and (tiers["rank"] == 1).all() and tiers["score"].is_monotonic_decreasing
    labels = crm_ws.execute(
        "PREDICT LIST_DISTINCT(events.type, 0, 30, days) CLASSIFY FOR leads.lead_id IN (3, 5, 8, 13)"
    ).to_pandas()
    assert list(labels.columns) == ["lead_id", "type", "prediction", "score", "rank", "reasons"]
    assert labels["prediction"].all() and (labels["score"] >= 0.5).all()  # the labels predicted to apply
    top = crm_ws.execute(
        "PREDICT LIST_DISTINCT(events.type, 0, 30, days) CLASSIFY TOP 3 FOR leads.lead_id IN (3, 5, 8, 13)"
    ).to_pandas()
    assert (top.groupby("lead_id").size() == 3).all()  # three candidate types each, applying or not
    assert (top["prediction"] == (top["score"] >= 0.5)).all()


def test_a_class_target_with_too_many_values_is_a_clear_error(crm_ws):
    with pytest.raises(LeadQLError) as caught:  # every amount would be a class of its own
        crm_ws.execute("PREDICT LAST(events.amount, 0, 30, days) RANK TOP 2 FOR EACH leads.lead_id")
    assert "distinct values" in caught.value.message and "at most 100" in caught.value.message
    assert "numeric aggregation" in caught.value.hint


def test_forecast_into_list_keeps_one_row_per_lead(crm_ws):
    crm_ws.execute("PREDICT SUM(events.amount, 0, 30, days) FORECAST 3 TIMEFRAMES FOR EACH leads.lead_id "
                   "LIMIT 8 INTO LIST spend_forecast")  # fmt: skip
    rows = crm_ws.execute("SELECT timeframe, count(*) FROM spend_forecast GROUP BY ALL").rows
    assert rows == [(1, 8)]  # each lead once, with its next timeframe
