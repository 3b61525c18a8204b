"""Patterns on generated data with a planted buyer profile: the pattern recovers the profile,
MATCHING beats plain selection at equal spend, LIKE learns for one request, versions roll back
exactly, and every mistake gets a clear error."""

from __future__ import annotations

import shutil
from decimal import Decimal

import duckdb
import numpy as np
import pytest

import leadql
from leadql.errors import LeadQLError
from leadql.predict import registry
from leadql.sample import generate

PEOPLE = 20_000
SEED = 7
BACKGROUND = 3_000  # background records per pattern (the default is 6,000): faster, still enough


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("patterns_sample")
    data = generate(folder / "data", people=PEOPLE, seed=SEED)
    base = folder / "base.leadql"
    with leadql.connect(base) as ws:
        ws.execute(data.catalog_script())
        ws.execute("ANALYZE")
        ws.pattern_background = BACKGROUND
        ws.execute("CREATE PATTERN keyboard_buyers FROM customers WHERE product = 'keyboard'")
    return data, base


@pytest.fixture
def ws(sample, tmp_path):
    data, base = sample
    path = tmp_path / "ws.leadql"
    shutil.copy(base, path)
    with leadql.connect(path) as workspace:
        workspace.pattern_background = BACKGROUND
        yield workspace


def _truth(sample):
    data, _ = sample
    return duckdb.connect().sql(f"SELECT * FROM read_parquet('{data.truth_path}')").df()


def _in_profile(frame) -> np.ndarray:
    """The planted keyboard-buyer profile (leadql/sample/crm.py)."""
    return (frame.age.between(25, 45) & frame.income.between(60_000, 150_000)).to_numpy()


def test_pattern_recovers_the_planted_profile(ws, sample):
    from sklearn.metrics import roc_auc_score

    pattern = registry.load_version(ws.con, "keyboard_buyers", kind=registry.PATTERN).payload()
    assert {"age", "income", "state"} <= set(pattern.categories)
    truth = _truth(sample)
    scores = pattern.score_frame(truth)
    assert 0 <= scores.min() and scores.max() <= 1
    # Held-out truth: every real person, scored on their true values, against the profile the
    # generator planted (the pattern never saw these labels).
    assert roc_auc_score(_in_profile(truth), scores) >= 0.8
    described = ws.execute("DESCRIBE PATTERN keyboard_buyers")
    kinds = {row[0] for row in described.rows}
    assert {"setting", "metric", "coefficient", "importance"} <= kinds
    assert any(row[1] == "auc" for row in described.rows)
    assert any(row[1].startswith("state = ") for row in described.rows)
    shown = ws.execute("SHOW PATTERNS")
    assert [r[0] for r in shown.rows] == ["keyboard_buyers"]


def _delivered_profile_share(sample, result) -> float:
    """Share of delivered leads whose real person is in the planted profile."""
    data, _ = sample
    con = duckdb.connect()
    con.register("links", con.read_parquet(str(data.truth_links())).to_arrow_table())
    con.register("truth", con.read_parquet(str(data.truth_path)).to_arrow_table())
    rows = [(i, rec) for i, recs in enumerate(result.to_arrow().column("records").to_pylist()) for rec in recs]
    con.execute("CREATE TABLE merged (i INT, rec VARCHAR)")
    con.executemany("INSERT INTO merged VALUES (?, ?)", rows)
    share = con.execute("""
        SELECT avg(p::INT) FROM (
            SELECT m.i, bool_or(t.age BETWEEN 25 AND 45 AND t.income BETWEEN 60000 AND 150000) AS p
            FROM merged m JOIN links l ON l.vendor || '/' || l.record_key = m.rec
            JOIN truth t ON t.person_id = l.person_id GROUP BY m.i)
    """).fetchone()[0]  # fmt: skip
    return float(share)


def test_matching_beats_plain_selection_at_equal_spend(ws, sample):
    budget = Decimal(30)
    matched = ws.execute(f"FIND 300 leads WITH email MATCHING keyboard_buyers BUDGET {budget}")
    plain = ws.execute(f"FIND 300 leads WITH email BUDGET {budget}")
    assert matched.cost <= budget and plain.cost <= budget
    assert len(matched) >= 250 and len(plain) >= 250
    scores = matched.to_arrow().column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)
    lift = _delivered_profile_share(sample, matched) / _delivered_profile_share(sample, plain)
    assert lift >= 1.5, lift
    # the run remembers which pattern version scored it
    runs = ws.execute("SELECT scorer_kind, scorer_name, scorer_version FROM _leadql.runs "
                      "WHERE scorer_kind IS NOT NULL").rows  # fmt: skip
    assert runs == [("pattern", "keyboard_buyers", 1)]


def test_min_score_and_mixed_request_into_a_list(ws):
    result = ws.execute("FIND 60 leads WITH email, age MATCHING keyboard_buyers MIN SCORE 0.6 "
                        "WHERE age BETWEEN 25 AND 60 BUDGET 40 INTO LIST kb_push")  # fmt: skip
    assert len(result) > 0
    table = result.to_pandas()
    assert (table.score >= 0.6).all()
    assert table.age.between(25, 60).all()
    stored = ws.execute("SELECT count(*), min(score) FROM kb_push").rows[0]
    assert stored[0] == len(result) and stored[1] >= 0.6


def test_like_learns_a_pattern_for_one_request(ws):
    result = ws.execute("FIND 40 leads WITH email LIKE customers WHERE product = 'keyboard' BUDGET 10")
    assert len(result) == 40
    scores = result.to_arrow().column("score").to_pylist()
    assert scores == sorted(scores, reverse=True)
    assert ws.execute("SHOW PATTERNS").rows[0][0] == "keyboard_buyers"  # nothing saved


def test_versions_and_rollback_restore_scores_exactly(ws, sample):
    frame = _truth(sample).head(2000)
    ws.execute("CREATE PATTERN narrow FROM customers WHERE product = 'keyboard' USING logistic WITH income, age")
    v1 = registry.load_version(ws.con, "narrow", kind=registry.PATTERN).payload().score_frame(frame)
    ws.execute("CREATE OR REPLACE PATTERN narrow FROM customers WHERE product = 'keyboard' USING gbm "
               "WITH income, age, state")  # fmt: skip
    v2 = registry.load_version(ws.con, "narrow", kind=registry.PATTERN).payload().score_frame(frame)
    assert not np.array_equal(v1, v2)
    message = ws.execute("USE PATTERN narrow VERSION 1").message
    assert "version 1" in message
    again = registry.load_version(ws.con, "narrow", kind=registry.PATTERN).payload().score_frame(frame)
    assert np.array_equal(again, v1)
    retrained = ws.execute("RETRAIN PATTERN narrow")
    assert "version 3" in retrained.message
    history = ws.execute("SHOW PATTERN HISTORY narrow")
    assert [r[0] for r in history.rows] == [1, 2, 3]


BAD = [
    ("FIND 10 leads WITH email MATCHING keyboard_buyer BUDGET 5", "unknown pattern", "keyboard_buyers"),
    ("FIND 10 leads WITH email MATCHING keyboard_buyers MIN SCORE 1.5 BUDGET 5", "between 0 and 1", "MIN SCORE 0.9"),
    ("CREATE PATTERN p FROM customer WHERE product = 'keyboard'", "unknown table", "customers"),
    ("CREATE PATTERN p FROM customers WHERE prodct = 'keyboard'", "no column", "product"),
    ("CREATE PATTERN p FROM customers WHERE product = 'typewriter'", "no examples", "WHERE"),
    ("CREATE PATTERN p FROM customers WITH email", "identifies people", "income"),
    ("CREATE PATTERN p FROM customers WITH incme", "unknown category", "income"),
    ("CREATE PATTERN p FROM customers USING xgboost", "unknown pattern algorithm", "logistic, gbm"),
    ("CREATE PATTERN keyboard_buyers FROM customers", "already exists", "OR REPLACE"),
    ("USE PATTERN keyboard_buyers VERSION 9", "no version 9", "versions: 1"),
    ("DESCRIBE PATTERN keybord_buyers", "unknown pattern", "keyboard_buyers"),
]


@pytest.mark.parametrize("statement,message,hint", BAD)
def test_bad_pattern_statements_get_clear_errors(ws, statement, message, hint):
    with pytest.raises(LeadQLError) as info:
        ws.execute(statement)
    rendered = info.value.render()
    assert message in rendered and hint in rendered, rendered
    assert "Traceback" not in rendered


def test_pattern_from_a_vendor_source_is_refused(ws):
    source = ws.execute("SHOW SOURCES").rows[0][0]
    with pytest.raises(LeadQLError, match="vendor source"):
        ws.execute(f"CREATE PATTERN p FROM {source}")


def test_drop_pattern_and_read_only_workspace(ws, sample, tmp_path):
    _, base = sample
    with leadql.connect(base, read_only=True) as ro:
        with pytest.raises(LeadQLError, match="read-only"):
            ro.execute("CREATE PATTERN other FROM customers WHERE product = 'keyboard'")
        assert ro.execute("SHOW PATTERNS").rows  # reading is fine
    ws.execute("DROP PATTERN keyboard_buyers")
    assert ws.execute("SHOW PATTERNS").rows == []
    assert "nothing dropped" in ws.execute("DROP PATTERN IF EXISTS keyboard_buyers").message


def test_explain_shows_the_pattern_steps(ws):
    lines = [r[0] for r in ws.execute(
        "EXPLAIN ANALYZE FIND 50 leads WITH email MATCHING keyboard_buyers MIN SCORE 0.55 BUDGET 10").rows]
    text = "\n".join(lines)
    assert "Pattern: keyboard_buyers v1 (logistic on " in text
    assert "MIN SCORE 0.55 keeps ~" in text
    assert "order=completeness, pattern score" in text
    score = next(line for line in lines if "Score[pattern keyboard_buyers v1]" in line)
    assert "| actual: " in score and "not run" not in score
    assert "Rank[filtered] score desc" in text
    quote = ws.execute("FIND 50 leads WITH email MATCHING keyboard_buyers MIN SCORE 0.55 BUDGET 10 ESTIMATE")
    assert quote.cost == 0


def test_retrain_learns_from_recorded_outcomes(ws):
    """Won leads the pattern scored join its examples, lost ones its background."""
    ws.execute("FIND 80 leads WITH email MATCHING keyboard_buyers BUDGET 10 INTO LIST kb_test")
    leads = [r[0] for r in ws.execute("SELECT lead_id FROM kb_test ORDER BY score DESC").rows]
    ws.con.execute("""
        INSERT INTO _leadql.outcomes (outcome_id, batch_id, recorded_at, lead_id, outcome, scorer_kind,
                                      scorer_name, scorer_version)
        SELECT row_number() OVER (), 'b1', now()::TIMESTAMP, lead_id, CASE WHEN i < 30 THEN 1 ELSE 0 END,
               'pattern', 'keyboard_buyers', 1
        FROM (SELECT unnest(?) AS lead_id, generate_subscripts(?, 1) AS i)
    """, [leads, leads])  # fmt: skip
    message = ws.execute("RETRAIN PATTERN keyboard_buyers").message
    won = min(29, len(leads))
    assert "version 2" in message and f"{won} won and {len(leads) - won} lost outcomes added" in message, message
    described = dict((r[1], r[3]) for r in ws.execute("DESCRIBE PATTERN keyboard_buyers").rows if r[0] == "setting")
    assert described["version"] == "versions 1, 2"
