"""Model version history: input summaries and drift (PSI), what changed between versions in
SHOW MODEL HISTORY, and rollback restoring a version's exact scores."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.errors import LeadQLError
from leadql.predict import registry
from leadql.predict.labels import PredictSettings
from leadql.predict.versions import changes, describe, drift, input_summary, psi, score_version

T0 = datetime(2026, 1, 1)
DAYS = 240  # the first data set's history; the second adds 60 days with 8x larger amounts


# ------------------------------------------------------------------------ input summaries and drift


def _frame(seed: int, n: int = 4000, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.normal(50 + shift, 10, n),
        "visits": rng.poisson(0.4, n).astype("int64"),
        "state": rng.choice(["CA", "NY", "TX"], n, p=[0.5, 0.3, 0.2]),
        "vip": rng.random(n) < 0.2,
        "empty": np.full(n, np.nan),
    })  # fmt: skip


def _psi(rows: list[dict], feature: str) -> dict:
    return next(r for r in rows if r["feature"] == feature)


def test_summary_is_json_and_describes_each_kind_of_column():
    frame = _frame(1)
    frame.loc[:99, "income"] = np.nan
    summary = input_summary(frame)
    assert json.loads(json.dumps(summary)) == summary
    income = summary["features"]["income"]
    assert income["type"] == "numeric" and len(income["edges"]) == 9
    assert income["missing"] == pytest.approx(100 / 4000)
    assert sum(income["shares"]) + income["missing"] == pytest.approx(1.0)
    assert all(s == pytest.approx(0.1 * (1 - income["missing"]), abs=0.002) for s in income["shares"])
    assert income["mean"] == pytest.approx(frame["income"].mean())
    visits = summary["features"]["visits"]  # mostly zeros: fewer, exact bins
    assert visits["edges"][0] == 0.0 and visits["shares"][0] == pytest.approx((frame["visits"] == 0).mean())
    state = summary["features"]["state"]
    assert state["type"] == "categorical" and set(state["values"]) == {"CA", "NY", "TX"}
    assert summary["features"]["vip"]["type"] == "categorical"  # booleans are categories
    assert summary["features"]["vip"]["values"]["True"] == pytest.approx(frame["vip"].mean())
    empty = summary["features"]["empty"]
    assert empty["missing"] == 1.0 and empty["edges"] == [] and empty["mean"] is None
    # an Arrow table gives the same summary, and `columns` picks columns
    from_arrow = input_summary(pa.Table.from_pandas(frame, preserve_index=False), ["income", "state"])
    assert set(from_arrow["features"]) == {"income", "state"}
    assert from_arrow["features"]["income"] == income


def test_top_values_and_sampling_of_large_inputs():
    rng = np.random.default_rng(3)
    values = rng.choice([f"v{i}" for i in range(40)], 300_000)
    summary = input_summary(pd.DataFrame({"c": values, "x": rng.random(300_000)}))
    c = summary["features"]["c"]
    assert len(c["values"]) == 20 and c["distinct"] == 40
    assert sum(c["values"].values()) + c["other"] == pytest.approx(1.0)
    assert summary["rows"] == 300_000 and summary["sampled"] == 200_000
    assert input_summary(pd.DataFrame({"c": values}))["features"]["c"] == input_summary(
        pd.DataFrame({"c": values}))["features"]["c"]  # fixed seed  # fmt: skip


def test_identical_data_has_no_drift_and_a_shift_is_major():
    base = input_summary(_frame(1))
    same = drift(base, input_summary(_frame(1)))
    assert {r["feature"] for r in same} == {"income", "visits", "state", "vip", "empty"}
    assert all(r["psi"] == pytest.approx(0, abs=1e-9) and r["status"] == "none" for r in same)
    resampled = drift(base, input_summary(_frame(2)))  # another sample of the same distribution
    assert all(r["status"] == "none" for r in resampled), resampled
    shifted = drift(base, input_summary(_frame(2, shift=10)))  # one standard deviation
    assert _psi(shifted, "income")["psi"] > 0.25 and _psi(shifted, "income")["status"] == "major"
    assert shifted[0]["feature"] == "income"  # largest first
    assert _psi(shifted, "state")["status"] == "none"


def test_new_category_missing_values_and_all_missing_columns():
    old = _frame(1)
    new = _frame(2)
    new.loc[: len(new) // 3, "state"] = "WA"  # a third of the rows get a value never seen before
    new.loc[: len(new) // 2, "income"] = np.nan
    new["empty"] = np.random.default_rng(0).normal(size=len(new))  # an empty column fills up
    rows = drift(input_summary(old), input_summary(new))
    state = _psi(rows, "state")
    assert state["new_values"] == ["WA"] and state["status"] == "major"
    assert _psi(rows, "income")["status"] == "major"  # half the values went missing
    assert _psi(rows, "empty")["status"] == "major"
    back = drift(input_summary(new), input_summary(old))  # and values vanishing
    assert _psi(back, "empty")["status"] == "major" and _psi(back, "empty")["psi"] > 1
    assert drift(None, input_summary(old)) == [] and drift(input_summary(old), {}) == []
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0


def test_changes_between_two_rows():
    old = {"train_from": datetime(2026, 1, 1), "train_to": datetime(2026, 3, 1),
           "prediction_time": datetime(2026, 4, 1), "train_rows": 1000, "algorithm": "gbm",
           "task_type": "binary_classification",
           "features": {"features": [{"name": "income"}, {"name": "state"}]},
           "metrics": {"auc": 0.80, "brier": 0.10, "validation": "later slice"},
           "info": {"inputs": input_summary(_frame(1))}}  # fmt: skip
    new = dict(old, train_from=datetime(2026, 1, 31), train_to=datetime(2026, 3, 31),
               prediction_time=datetime(2026, 5, 1), train_rows=1200, algorithm="logistic",
               features={"features": [{"name": "income"}, {"name": "visits"}, {"name": "vip"}]},
               metrics={"auc": 0.812, "brier": 0.09, "pr_auc": 0.4},
               info={"inputs": input_summary(_frame(2, shift=10))})  # fmt: skip
    change = changes(old, new)
    assert change["window"] == {"from_days": 30, "to_days": 30}
    assert change["prediction_time_days"] == 30 and change["rows"]["delta"] == 200
    assert change["features_added"] == ["visits", "vip"] and change["features_removed"] == ["state"]
    assert set(change["metrics"]) == {"auc", "brier"}  # shared scalar metrics only
    assert change["metrics"]["auc"]["delta"] == pytest.approx(0.012)
    assert change["algorithm"] == {"before": "gbm", "after": "logistic"}
    assert change["drift"]["major"] >= 1 and change["drift"]["top"][0]["feature"] == "income"
    text = change["text"]
    for part in ("window +30 days", "rows +200", "algorithm gbm → logistic", "+2 features (visits, vip)",
                 "-1 feature (state)", "AUC +0.012", "Brier -0.010", "drifted (income PSI"):
        assert part in text, (part, text)
    unrecorded = changes(dict(old, info={}), new)
    assert unrecorded["drift"] == {"recorded": False} and "drift not recorded" in unrecorded["text"]
    assert describe(changes(old, dict(old))) == "same window; AUC unchanged; no drift (max PSI 0.00)"


# ------------------------------------------------------------------------ saved models end to end


def _crm(folder: Path, n: int = 500, seed: int = 4) -> None:
    """Leads whose meetings lead to conversions; `base/` has DAYS days of events, `later/` the same
    events plus 60 more days in which every amount is 8 times larger (an input shift)."""
    rng = np.random.default_rng(seed)
    days = DAYS + 60
    tier = rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5])
    created = rng.uniform(0, DAYS * 0.5, n)
    rate = rng.gamma(1.5, 1 / 12, n)
    meeting_p = rng.beta(1, 4, n)
    counts = rng.poisson(rate * (days - created))
    who = np.repeat(np.arange(n), counts)
    day = created[who] + rng.uniform(0, 1, who.size) * (days - created[who])
    meeting = rng.random(who.size) < meeting_p[who]
    hit = rng.random(who.size) < np.where(meeting, 0.35, 0.02) * np.where(tier[who] == "gold", 2.0, 1.0)
    day = np.concatenate([day, day[hit] + rng.uniform(1, 20, int(hit.sum()))])
    lead = np.concatenate([who, who[hit]]) + 1
    kind = np.concatenate([np.where(meeting, "meeting", "click"), np.full(int(hit.sum()), "conversion")])
    amount = rng.gamma(2, 50, day.size) * np.where(day > DAYS, 8.0, 1.0)
    order = np.argsort(day, kind="stable")
    events = pa.table({
        "event_id": np.arange(1, day.size + 1),
        "lead_id": lead[order],
        "ts": np.datetime64(T0, "s") + (day[order] * 86400).astype("timedelta64[s]"),
        "type": kind[order],
        "amount": amount[order],
    })  # fmt: skip
    leads = pa.table({
        "lead_id": np.arange(1, n + 1),
        "tier": tier,
        "created_at": np.datetime64(T0, "s") + (created * 86400).astype("timedelta64[s]"),
    })  # fmt: skip
    for name, last in (("base", DAYS), ("later", days)):
        (folder / name).mkdir(parents=True)
        pq.write_table(leads, folder / name / "leads.parquet")
        keep = events.filter(pa.compute.less_equal(events["ts"], pa.scalar(T0 + timedelta(days=last))))
        pq.write_table(keep, folder / name / "events.parquet")


SCRIPT = """
CREATE OR REPLACE TABLE leads FROM '{d}/leads.parquet' TIME COLUMN created_at KEY lead_id;
CREATE OR REPLACE TABLE events FROM '{d}/events.parquet' TIME COLUMN ts KEY event_id
  REFERENCES (lead_id -> leads.lead_id);
"""

CONVERT = ("PREDICT COUNT(events.* WHERE events.type = 'conversion', 0, 30, days) > 0 FOR EACH leads.lead_id "
           "USING MODEL logistic")  # fmt: skip


def _connect(path: Path) -> leadql.Workspace:
    ws = leadql.connect(path)
    ws.predict_settings = PredictSettings(max_anchors=3)
    return ws


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with model `conv` version 1 trained on `base/`, and its scores then."""
    folder = tmp_path_factory.mktemp("versions")
    import pyarrow.compute  # noqa: F401 - pa.compute in _crm

    _crm(folder)
    ws = _connect(folder / "ws.leadql")
    ws.execute(SCRIPT.format(d=folder / "base"))
    scores = ws.execute(CONVERT + " AS MODEL conv").to_pandas()
    ws.close()
    return folder, scores


@pytest.fixture
def ws(trained, tmp_path):
    folder, _ = trained
    shutil.copy(folder / "ws.leadql", tmp_path / "ws.leadql")
    ws = _connect(tmp_path / "ws.leadql")
    yield ws
    ws.close()


def _history(ws: leadql.Workspace) -> pd.DataFrame:
    return ws.execute("SHOW MODEL HISTORY conv").to_pandas()


def test_version_stores_its_input_summary(ws):
    v1 = registry.load_version(ws.con, "conv", 1)
    inputs = v1.info["inputs"]
    names = [f["name"] for f in v1.features["features"]]
    assert set(inputs["features"]) == set(names) and len(names) > 3
    assert inputs["rows"] == v1.train_rows  # every training example (a small table)
    history = _history(ws)
    assert list(history.columns) == ["version", "created_at", "in_use", "task", "algorithm", "train_from",
                                     "train_to", "train_rows", "metric", "value", "change", "changes",
                                     "drift", "events"]  # fmt: skip
    assert history["changes"].tolist() == ["first version"]
    assert history["drift"].isna().all()


def test_retrain_on_shifted_data_reports_window_metrics_and_drift(ws, trained):
    folder, _ = trained
    ws.execute(SCRIPT.format(d=folder / "later"))
    message = ws.execute("RETRAIN MODEL conv").message
    assert "version 2" in message and "inputs drifted" in message
    history = _history(ws)
    assert history["version"].tolist() == [1, 2] and history["in_use"].tolist() == [False, True]
    assert "created" in history["events"][0] and "retrained" in history["events"][1]
    text = history["changes"][1]
    assert text.startswith("window +60 days"), text
    assert "AUC " in text and " major (" in text and "features drifted" in text
    assert history["drift"][1] >= 0.25
    v1, v2 = registry.load_version(ws.con, "conv", 1), registry.load_version(ws.con, "conv", 2)
    change = changes(v1, v2)
    assert change["window"]["from_days"] == change["window"]["to_days"] == pytest.approx(60, abs=0.1)
    assert set(change["metrics"]) >= {"auc", "pr_auc", "brier"}
    assert change["metrics"]["auc"]["delta"] == pytest.approx(v2.metrics["auc"] - v1.metrics["auc"], abs=1e-6)
    flagged = {r["feature"] for r in drift(v1.info["inputs"], v2.info["inputs"]) if r["status"] == "major"}
    assert {"events__amount__sum__30d", "events__amount__mean__all"} <= flagged  # the shifted column
    # besides amounts only ages move (time went on 60 days); tier and event types did not change
    assert {f for f in flagged if "amount" not in f and "days_since" not in f and "trend" not in f} == set()
    stable = {"leads__tier", "events__type_is_meeting__share__all", "events__type__last"}
    assert {r["feature"]: r["status"] for r in drift(v1.info["inputs"], v2.info["inputs"])
            if r["feature"] in stable} == dict.fromkeys(stable, "none")  # fmt: skip
    assert history["change"][1] == pytest.approx(history["value"][1] - history["value"][0], abs=1e-4)


def test_retrain_on_the_same_data_has_no_major_drift(ws):
    ws.execute("RETRAIN MODEL conv")
    ws.execute("RETRAIN MODEL conv")
    history = _history(ws)
    assert history["version"].tolist() == [1, 2, 3]
    for text, value in zip(history["changes"][1:], history["drift"][1:], strict=True):
        assert text.startswith("same window") and "no drift" in text, text
        assert value < 0.1


def test_rollback_restores_version_1_scores_exactly(ws, trained):
    folder, before = trained
    before = before.sort_values("lead_id").reset_index(drop=True)
    t = registry.load_version(ws.con, "conv", 1).prediction_time
    ws.execute(SCRIPT.format(d=folder / "later"))  # 60 more days, all after version 1's time
    ws.execute("RETRAIN MODEL conv")
    retrained = score_version(ws, "conv", at=t).to_pandas().sort_values("lead_id").reset_index(drop=True)
    assert not np.array_equal(retrained["score"].to_numpy(), before["score"].to_numpy())
    message = ws.execute("USE MODEL conv VERSION 1").message
    assert "version 1 (was 2)" in message
    history = _history(ws)
    assert history["in_use"].tolist() == [True, False] and "rolled back" in history["events"][0]
    after = score_version(ws, "conv", at=t).to_pandas().sort_values("lead_id").reset_index(drop=True)
    assert after["lead_id"].tolist() == before["lead_id"].tolist()
    assert after["score"].tolist() == before["score"].tolist()  # exactly, not approximately
    assert after["rank"].tolist() == before["rank"].tolist()


def test_versions_saved_without_summaries_and_bad_names(ws):
    ws.con.execute("UPDATE _leadql.models SET info = json_object('anchors', json('[]')) WHERE version = 1")
    ws.execute("RETRAIN MODEL conv")
    history = _history(ws)
    assert history["changes"][0] == "first version; inputs not recorded"
    assert "drift not recorded" in history["changes"][1] and pd.isna(history["drift"][1])
    with pytest.raises(LeadQLError, match="unknown model `cnv`") as info:
        ws.execute("SHOW MODEL HISTORY cnv")
    assert "conv" in (info.value.hint or "") and info.value.span is not None
    with pytest.raises(LeadQLError, match="unknown model"):
        ws.execute("RETRAIN MODEL nothing")


def test_retrain_refuses_a_read_only_workspace(trained, tmp_path):
    folder, _ = trained
    shutil.copy(folder / "ws.leadql", tmp_path / "ws.leadql")
    ws = leadql.connect(tmp_path / "ws.leadql", read_only=True)
    try:
        assert _history(ws)["version"].tolist() == [1]  # reading the history is fine
        with pytest.raises(LeadQLError, match="read-only"):
            ws.execute("RETRAIN MODEL conv")
    finally:
        ws.close()
