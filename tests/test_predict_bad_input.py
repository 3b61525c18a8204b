"""PREDICT on bad or awkward input: every failure is a LeadQLError that leaves the registry and
the warehouse as they were, and odd-but-valid input (no entity chosen exists, a key that
repeats, a column named like the key) gives a well-formed answer."""

from __future__ import annotations

import pickle

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import leadql
from leadql.errors import LeadQLError, LeadQLNameError
from tests.test_predict import CONVERT, CRM_SCRIPT, _crm

REGRESS = "PREDICT SUM(events.amount, 0, 30, days) FOR EACH leads.lead_id"


@pytest.fixture(scope="module")
def small_crm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crm_small")
    _crm(folder, n=400)
    return folder


@pytest.fixture
def ws(small_crm, tmp_path):
    ws = leadql.connect(tmp_path / "ws.leadql")
    ws.execute(CRM_SCRIPT.format(d=small_crm))
    yield ws
    ws.close()


def _models(ws):
    return [(r[0], r[1]) for r in ws.execute("SHOW MODELS").rows]


def test_a_failed_list_write_saves_no_model_version(ws):
    ws.execute("PREDICT leads.tier FOR EACH leads.lead_id LIMIT 3 INTO LIST picks")  # prediction is text
    with pytest.raises(LeadQLError, match="column `prediction` of type VARCHAR") as caught:
        ws.execute(REGRESS + " AS MODEL spend LIMIT 3 INTO LIST picks")  # ... and here a number
    assert "DROP LIST picks" in caught.value.hint
    assert _models(ws) == []  # the version and the list are one transaction
    assert ws.execute("SELECT count(*) FROM picks").rows == [(3,)]
    ws.execute(REGRESS + " AS MODEL spend LIMIT 3 INTO LIST spenders")  # the workspace still works
    assert _models(ws) == [("spend", 1)]


def test_a_model_name_with_a_quote_goes_into_the_list_provenance(ws):
    ws.execute(CONVERT + " AS MODEL \"o'brien\" LIMIT 3 INTO LIST irish")
    (provenance,) = ws.execute("SELECT DISTINCT provenance['score'] FROM irish").rows[0]
    assert provenance == "o'brien"


def test_retrain_uses_the_parameter_values_the_model_was_trained_with(ws):
    first = ws.execute(CONVERT + " WHERE leads.tier = $tier AS MODEL pm LIMIT 3", {"tier": "gold"})
    again = ws.execute("RETRAIN MODEL pm")  # no params: the saved ones
    assert "with $tier" not in again.message
    rows = {r[0]: r[7] for r in ws.execute("SHOW MODEL HISTORY pm").rows}  # version → train_rows
    assert rows[1] == rows[2] == first.plan["examples"]
    other = ws.execute("RETRAIN MODEL pm", {"tier": "silver"})  # a new value is said out loud
    assert "with $tier = 'silver' (was 'gold')" in other.message
    described = dict(ws.execute("DESCRIBE MODEL pm").rows)
    assert described["parameter $tier"] == "'silver'"


def test_retrain_of_a_version_without_kept_parameters_asks_for_them(ws):
    ws.execute(CONVERT + " WHERE leads.tier = $tier AS MODEL old LIMIT 1", {"tier": "gold"})
    (blob,) = ws.con.execute("SELECT pipeline FROM _leadql.models WHERE name_key = 'old'").fetchall()[0]
    pipeline = pickle.loads(blob)
    del pipeline.params  # as pickled before the values were kept: the class default is gone too
    ws.con.execute("UPDATE _leadql.models SET pipeline = ? WHERE name_key = 'old'", [pickle.dumps(pipeline)])
    with pytest.raises(LeadQLNameError, match=r"trained with \$tier, and its value was not kept") as caught:
        ws.execute("RETRAIN MODEL old")
    assert "params={'tier': ...}" in caught.value.hint and caught.value.span is not None
    assert "(was" not in ws.execute("RETRAIN MODEL old", {"tier": "gold"}).message
    assert [r[0] for r in ws.execute("SHOW MODEL HISTORY old").rows] == [1, 2]


def test_a_repeated_key_value_counts_its_entity_once(ws, small_crm, tmp_path):
    leads = pq.read_table(small_crm / "leads.parquet")
    pq.write_table(pa.concat_tables([leads] + [leads.slice(10, 1)] * 3), tmp_path / "dup.parquet")
    ws.execute(f"CREATE OR REPLACE TABLE leads FROM '{tmp_path / 'dup.parquet'}' TIME COLUMN created_at KEY lead_id")
    chosen = ws.execute(CONVERT.replace("FOR EACH leads.lead_id", "FOR leads.lead_id IN (11, 12)"))
    assert sorted(chosen.to_pandas()["lead_id"]) == [11, 12]
    assert any("3 rows repeat a key value (e.g. 11)" in w for w in chosen.warnings)
    every = ws.execute(CONVERT)
    assert every.table.num_rows == 400


@pytest.mark.parametrize("query,columns", [
    (CONVERT, ["lead_id", "score", "rank", "reasons"]),
    (REGRESS, ["lead_id", "prediction", "rank", "reasons"]),
    ("PREDICT leads.tier FOR EACH leads.lead_id", ["lead_id", "prediction", "score", "rank", "reasons"]),
    ("PREDICT FIRST(events.type, 0, 30, days) RANK TOP 2 FOR EACH leads.lead_id",
     ["lead_id", "prediction", "score", "rank", "reasons"]),
    ("PREDICT LIST_DISTINCT(events.type, 0, 30, days) RANK TOP 2 FOR EACH leads.lead_id",
     ["lead_id", "type", "score", "rank", "reasons"]),
    ("PREDICT SUM(events.amount, 0, 30, days) FORECAST 2 TIMEFRAMES FOR EACH leads.lead_id",
     ["lead_id", "timeframe", "window_start", "window_end", "prediction", "rank", "reasons"]),
])  # fmt: skip
def test_no_entity_to_score_gives_the_usual_columns_and_an_empty_list(ws, query, columns):
    result = ws.execute(query.replace("FOR EACH leads.lead_id", "FOR leads.lead_id IN (99999)") + " INTO LIST nobody")
    assert result.table.num_rows == 0 and result.table.column_names == columns
    assert result.table.schema.field("lead_id").type == pa.int64()  # typed as the key column
    assert "0 leads into list nobody" in result.message
    assert ws.execute("SELECT count(*) FROM nobody").rows == [(0,)]


def test_a_model_keeps_its_task(ws):
    ws.execute(CONVERT + " AS MODEL conv LIMIT 1")
    with pytest.raises(LeadQLError, match="predicts yes/no .* this query predicts a number") as caught:
        ws.execute(REGRESS + " AS MODEL conv")
    assert "DROP MODEL conv" in caught.value.hint and caught.value.column > 1
    assert [r[0] for r in ws.execute("SHOW MODEL HISTORY conv").rows] == [1]
    ws.execute(CONVERT + " USING MODEL logistic AS MODEL CONV LIMIT 1")  # same task: a new version
    assert [(name.lower(), version) for name, version in _models(ws)] == [("conv", 2)]


def test_items_named_like_the_entity_key_get_the_table_name(ws):
    table = ws.execute(
        "PREDICT LIST_DISTINCT(events.lead_id, 0, 30, days) RANK TOP 2 FOR EACH leads.lead_id LIMIT 4"
    ).table
    assert table.column_names == ["lead_id", "events_lead_id", "score", "rank", "reasons"]


def test_a_prediction_time_before_any_history_is_a_clear_error(ws):
    for at in ("0001-01-01", "0001-03-01", "1990-01-01"):
        with pytest.raises(LeadQLError, match="the history is too short") as caught:
            ws.execute(CONVERT + f" AT '{at}'")
        assert "later AT" in caught.value.hint


@pytest.mark.parametrize("value,params,message", [
    ("'7'", None, "`leads.lead_id` is number, but '7' is text"),
    ("true", None, "`leads.lead_id` is number, but True is boolean"),
    ("$x", {"x": None}, "an entity id cannot be NULL"),
    ("2.5", None, "`leads.lead_id` holds whole numbers, but 2.5 is not one"),
])  # fmt: skip
def test_entity_values_of_the_wrong_kind_are_named_by_their_kind(ws, value, params, message):
    text = CONVERT.replace("FOR EACH leads.lead_id", f"FOR leads.lead_id = {value}")
    with pytest.raises(LeadQLError) as caught:
        ws.execute(text, params)
    assert message in caught.value.message
    assert caught.value.column == text.index(value) + 1


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_limit_from_a_parameter_follows_the_rule_for_a_literal(ws, n):
    with pytest.raises(LeadQLError, match=r"LIMIT \(\$n\) takes a whole number ≥ 1") as caught:
        ws.execute(CONVERT + "\n  LIMIT $n", {"n": n})
    assert (caught.value.line, caught.value.column) == (2, 9)


def test_a_comparison_with_null(ws):
    with pytest.raises(LeadQLError, match="`> NULL` is never true") as caught:
        ws.execute("PREDICT SUM(events.amount, 0, 30, days) > NULL FOR EACH leads.lead_id")
    assert "IS NULL" in caught.value.hint
    # `= NULL` is IS NULL, as in PQL: the last event in the window has no amount (never, here)
    quiet = ws.execute("PREDICT LAST(events.amount, 0, 30, days) = NULL FOR EACH leads.lead_id LIMIT 2")
    assert quiet.plan["positives"] < quiet.plan["examples"]


@pytest.mark.parametrize("clause,stop,hint", [
    ("WHERE leads.tier = 'platinum'", "0 pass WHERE", "loosen WHERE"),
    ("ASSUMING COUNT(events.* WHERE events.type = 'x', 0, 7, days) > 0", "0 satisfy ASSUMING", "loosen ASSUMING"),
])  # fmt: skip
def test_an_empty_training_table_says_which_condition_emptied_it(ws, clause, stop, hint):
    with pytest.raises(LeadQLError) as caught:
        ws.execute(f"PREDICT COUNT(events.*, 0, 30, days) > 0 FOR EACH leads.lead_id {clause}")
    assert "of the (entity, anchor) pairs, 3,609 exist, " + stop in caught.value.message
    assert hint in caught.value.hint


def test_a_target_without_values_says_so(ws):
    with pytest.raises(LeadQLError, match="0 have a target value") as caught:
        ws.execute("PREDICT AVG(events.amount WHERE events.type = 'x', 0, 30, days) FOR EACH leads.lead_id")
    assert "COUNT / SUM" in caught.value.hint


def _with_events(ws, small_crm, tmp_path, change) -> None:
    """Replace the events table with a changed copy (`change` edits a pandas frame)."""
    events = pq.read_table(small_crm / "events.parquet").to_pandas()
    pq.write_table(pa.Table.from_pandas(change(events), preserve_index=False), tmp_path / "events2.parquet")
    ws.execute(f"CREATE OR REPLACE TABLE events FROM '{tmp_path / 'events2.parquet'}' TIME COLUMN ts "
               "KEY event_id REFERENCES (lead_id -> leads.lead_id)")  # fmt: skip


def test_a_regression_target_that_is_infinite_or_constant_is_refused(ws, small_crm, tmp_path):
    with pytest.raises(LeadQLError, match="every one of the .* training examples has the target value 0"):
        ws.execute("PREDICT SUM(events.amount WHERE events.type = 'x', 0, 30, days) FOR EACH leads.lead_id")

    def infinite(events):
        events.loc[events.index[-40:], "amount"] = float("inf")
        return events

    _with_events(ws, small_crm, tmp_path, infinite)
    with pytest.raises(LeadQLError, match=r"the regression target is inf in \d+ of") as caught:
        ws.execute(REGRESS)
    assert "BETWEEN -1e300 AND 1e300" in caught.value.hint
    fixed = REGRESS.replace("events.amount,", "events.amount WHERE events.amount BETWEEN -1e300 AND 1e300,")
    assert ws.execute(fixed + " LIMIT 1").table.num_rows == 1  # the hint's fix works


def test_at_with_a_utc_offset_is_moved_to_utc(ws):
    result = ws.execute(CONVERT + " AT '2026-11-01 00:00:00+02:00' LIMIT 1")
    assert result.plan["prediction_time"] == "2026-10-31 22:00:00"


def test_at_after_the_data_and_a_far_future_row_are_explained(ws, small_crm, tmp_path):
    with pytest.raises(LeadQLError, match="AT 2031-01-01 00:00 is after the data") as caught:
        ws.execute(CONVERT + " AT '2031-01-01'")
    assert "leave AT out" in caught.value.hint

    def stray(events):
        row = events.iloc[[0]].copy()
        row["event_id"], row["ts"] = 10**9, pd.Timestamp("2200-01-01")
        return pd.concat([events, row])

    _with_events(ws, small_crm, tmp_path, stray)
    with pytest.raises(LeadQLError) as caught:  # the default AT is 2200: no label is positive
        ws.execute(CONVERT)
    assert "note: the latest timestamp in the data, 2200-01-01 00:00, is more than a year ahead" in caught.value.hint
    fine = ws.execute(CONVERT + " AT '2027-01-01' LIMIT 1")
    assert fine.warnings == []  # with AT the stray row sets nothing


def test_evaluate_and_explain_predict_say_they_save_nothing(ws):
    evaluated = ws.execute("EVALUATE " + CONVERT + " AS MODEL m INTO LIST l")
    assert evaluated.warnings == ["EVALUATE PREDICT saves nothing: AS MODEL m and INTO LIST l ignored "
                                  "(run the PREDICT itself to save)"]  # fmt: skip
    explained = ws.execute("EXPLAIN " + CONVERT + " INTO LIST l")
    assert explained.warnings == ["EXPLAIN PREDICT saves nothing: INTO LIST l ignored (run the PREDICT itself to save)"]
    assert _models(ws) == [] and ws.execute("SHOW LISTS").rows == []


def test_plot_needs_a_file_name(ws):
    ws.execute(CONVERT + " AS MODEL conv LIMIT 1")
    with pytest.raises(LeadQLError, match="PLOT needs a file name") as caught:
        ws.execute("EVALUATE MODEL conv PLOT ''")
    assert caught.value.span is not None
    with pytest.raises(LeadQLError, match="unknown file type `.txt`"):
        ws.execute("EVALUATE MODEL conv PLOT 'lift.txt'")
