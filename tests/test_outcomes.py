"""The feedback loop: RECORD OUTCOMES links closed deals to the deliveries that produced them
(idempotently, atomically, with every bad input refused clearly), EVALUATE OUTCOMES reports
realised conversion by decile / source / run / list / segment, and a source's realised
conversion changes which source FIND buys from — but only once the evidence is decisive."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

import leadql
from leadql.errors import (
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSourceError,
    LeadQLSyntaxError,
    LeadQLTypeError,
)
from leadql.feedback import outcomes as outcomes_module
from leadql.feedback.evaluate import area_under_curve
from leadql.feedback.evidence import PRIOR_STRENGTH, source_evidence
from leadql.warehouse import RunRecord, write_list

T0 = datetime(2026, 3, 1, 9, 0, 0)


def run_record(run_id: str, name: str, n: int, minutes: int = 0, scorer: tuple | None = None) -> RunRecord:
    started = T0 + timedelta(minutes=minutes)
    kind, sname, version = scorer or (None, None, None)
    return RunRecord(
        run_id=run_id, statement=f"FIND {n} leads WITH income BUDGET 10", list_name=name,
        started_at=started, finished_at=started + timedelta(seconds=2), status="complete",
        requested=n, delivered=n, budget=Decimal("10"), spent=Decimal("1"),
        scorer_kind=kind, scorer_name=sname, scorer_version=version,
    )  # fmt: skip


def deliver(ws, name: str, run_id: str, lead_ids: list[str], *, minutes: int = 0, scores=None,
            records=None, scorer=None, **columns) -> None:  # fmt: skip
    n = len(lead_ids)
    data = {"lead_id": lead_ids, "income": [50_000.0 + i for i in range(n)], **columns}
    if scores is not None:
        data["score"] = pa.array([float(s) for s in scores], pa.float64())
    data["quality"] = [0.9] * n
    data["cost"] = pa.array([Decimal("0.5")] * n, pa.decimal128(18, 6))
    data["records"] = records if records is not None else [[f"vend/{lid}"] for lid in lead_ids]
    write_list(ws.con, name, run_record(run_id, name, n, minutes, scorer), pa.table(data))


def write_csv(path, header: str, rows: list[str]) -> str:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return str(path)


def stored(ws, columns: str = "lead_id, outcome, list_id, run_id, row_id, score") -> list[tuple]:
    return ws.con.execute(f"SELECT {columns} FROM _leadql.outcomes ORDER BY outcome_id").fetchall()


def count(ws) -> int:
    return ws.con.execute("SELECT count(*) FROM _leadql.outcomes").fetchall()[0][0]


@pytest.fixture
def ws(tmp_path):
    with leadql.connect(tmp_path / "ws.leadql") as workspace:
        yield workspace


@pytest.fixture
def two_runs(ws, tmp_path):
    """List `spring`: run r1 (L0..L9) at T0, run r2 (L0..L4 again, other scores) an hour later."""
    ids = [f"L{i}" for i in range(10)]
    deliver(ws, "spring", "r1", ids, scores=[i / 10 for i in range(10)], scorer=("pattern", "buyers", 1))
    deliver(ws, "spring", "r2", ids[:5], minutes=60, scores=[0.9 - i / 10 for i in range(5)],
            scorer=("pattern", "buyers", 2))  # fmt: skip
    return ws


# ------------------------------------------------------------------------ RECORD OUTCOMES


def test_outcomes_link_to_the_delivery_before_them(two_runs, tmp_path) -> None:
    ws = two_runs
    path = write_csv(tmp_path / "deals.csv", "lead_id,won,closed_at", [
        "L0,won,2026-03-01 09:30:00",  # before r2 started: r1's delivery
        "L1,WON,2026-03-01 11:00:00",  # after r2: r2's delivery
        "L2,lost,",  # no time: the latest delivery (r2)
        "L5,yes,2026-03-01 11:00:00",  # only ever in r1
        "L99,won,2026-03-01 11:00:00",  # never delivered
    ])  # fmt: skip
    result = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won AT closed_at")
    assert result.columns == ["recorded", "skipped", "matched", "unmatched", "won", "conversion_rate"]
    assert result.rows == [(5, 0, 4, 1, 4, 0.8)]
    assert "batch B" in result.message
    assert any("1 of 5" in w and "no delivered lead" in w for w in result.warnings)
    facts = {
        (r[0], r[1]): (r[2], r[3])
        for r in ws.con.execute("SELECT lead_id, run_id, row_id, score FROM _leadql.list_leads").fetchall()
    }
    rows = stored(ws, "lead_id, outcome, run_id, row_id, score, scorer_name, scorer_version, records, list_id")
    by_lead = {r[0]: r for r in rows}
    assert by_lead["L0"][2] == "r1" and by_lead["L0"][3:5] == facts[("L0", "r1")]
    assert by_lead["L1"][2] == "r2" and by_lead["L1"][3:5] == facts[("L1", "r2")]
    assert by_lead["L1"][5:7] == ("buyers", 2) and by_lead["L0"][5:7] == ("buyers", 1)
    assert by_lead["L2"][2] == "r2" and by_lead["L2"][1] == 0.0
    assert by_lead["L5"][2] == "r1" and by_lead["L5"][7] == ["vend/L5"]
    assert by_lead["L99"][2] is None and by_lead["L99"][8] is None and by_lead["L99"][1] == 1.0
    list_id = ws.con.execute("SELECT list_id FROM _leadql.lists WHERE name = 'spring'").fetchall()[0][0]
    assert {r[8] for r in rows if r[0] != "L99"} == {list_id}


def test_recording_the_same_file_twice_does_not_double_count(two_runs, tmp_path) -> None:
    ws = two_runs
    path = write_csv(tmp_path / "deals.csv", "lead_id,won", ["L0,1", "L1,0", "L1,0", "L3,1"])
    first = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    assert first.rows[0][:2] == (3, 1)  # the duplicate row in the file counts once
    again = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    assert again.rows[0][:2] == (0, 4) and "skipped 4 already recorded" in again.message
    assert count(ws) == 3
    write_csv(tmp_path / "deals.csv", "lead_id,won", ["L0,1", "L1,1", "L3,1"])  # L1 won later
    third = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    assert third.rows[0][:2] == (1, 2)
    assert count(ws) == 4
    assert len({r[0] for r in ws.con.execute("SELECT batch_id FROM _leadql.outcomes").fetchall()}) == 2


def test_outcome_spellings_booleans_and_dates(two_runs, tmp_path) -> None:
    ws = two_runs
    words = ["Won", "LOST", "yes", "No", "TRUE", "false", "1", "0"]
    path = write_csv(tmp_path / "w.csv", "lead_id,result",
                     [f"L{i},{w}" for i, w in enumerate(words)])  # fmt: skip
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME result")
    assert [r[1] for r in stored(ws)] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.table({
        "id": ["L8", "L9"], "closed": [True, False],
        "on": pa.array([datetime(2026, 3, 1).date(), None], pa.date32()),
    }), parquet)  # fmt: skip
    result = ws.execute(f"RECORD OUTCOMES FROM '{parquet}' KEY id OUTCOME closed AT on")
    assert result.rows[0][:5] == (2, 0, 2, 0, 1)
    # a date is the whole day: the run that started at 09:00 that day produced L8's lead
    assert stored(ws, "lead_id, run_id, happened_at")[-2:] == [("L8", "r1", datetime(2026, 3, 1)), ("L9", "r1", None)]


def test_key_by_email_matches_through_the_leads_dimension(ws, tmp_path) -> None:
    deliver(ws, "mail", "r1", ["La", "Lb"], email=["ann@example.com", "bob@example.com"])
    path = write_csv(tmp_path / "crm.csv", "email,won",
                     ["  Ann@Example.COM ,won", "bob@example.com,lost", "zed@example.com,won"])  # fmt: skip
    result = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY email OUTCOME won")
    assert result.rows[0][:5] == (3, 0, 2, 1, 2)
    rows = stored(ws, "lead_id, outcome, run_id")
    assert rows[:2] == [("La", 1.0, "r1"), ("Lb", 0.0, "r1")]
    assert rows[2][0].startswith("L") and rows[2][2] is None  # unknown person: a stable new id
    again = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY email OUTCOME won")
    assert again.rows[0][:2] == (0, 3)


def test_a_failure_half_way_records_nothing(two_runs, tmp_path, monkeypatch) -> None:
    ws = two_runs
    path = write_csv(tmp_path / "deals.csv", "lead_id,won", ["L0,1", "L1,0"])
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    write_csv(tmp_path / "deals.csv", "lead_id,won", ["L2,1", "L3,0"])

    def boom(*args: object) -> None:
        raise LeadQLExecutionError("disk full")

    monkeypatch.setattr(outcomes_module, "_summarise", boom)
    with pytest.raises(LeadQLExecutionError, match="disk full"):
        ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    assert [r[0] for r in stored(ws)] == ["L0", "L1"]
    monkeypatch.undo()
    assert ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won").rows[0][0] == 2


def test_bad_inputs_are_clear_errors(two_runs, tmp_path) -> None:
    ws = two_runs
    good = write_csv(tmp_path / "deals.csv", "lead_id,won,closed_at", ["L0,1,2026-03-02"])
    cases = [
        (f"RECORD OUTCOMES FROM '{tmp_path}/nope.csv' KEY lead_id OUTCOME won", LeadQLError, "nope.csv"),
        (f"RECORD OUTCOMES FROM '{good}' KEY lead_id", LeadQLSyntaxError, "needs OUTCOME"),
        (f"RECORD OUTCOMES FROM '{good}' KEY leadid OUTCOME won", LeadQLNameError, "lead_id"),
        (f"RECORD OUTCOMES FROM '{good}' KEY lead_id OUTCOME wom", LeadQLNameError, "did you mean `won`"),
        (f"RECORD OUTCOMES FROM '{good}' KEY lead_id OUTCOME won AT closed", LeadQLNameError, "closed_at"),
    ]
    for text, error, words in cases:
        with pytest.raises(error, match=words) as info:
            ws.execute(text)
        assert info.value.span is not None, text
    bad = write_csv(tmp_path / "bad.csv", "lead_id,won", ["L0,won", "L1,maybe", "L2,maybe", "L3,pending"])
    with pytest.raises(LeadQLTypeError, match=r"3 rows that are not an outcome, e\.g\. 'maybe', 'pending'"):
        ws.execute(f"RECORD OUTCOMES FROM '{bad}' KEY lead_id OUTCOME won")
    nums = write_csv(tmp_path / "nums.csv", "lead_id,won", ["L0,1", "L1,2"])
    with pytest.raises(LeadQLTypeError, match="1 rows that are not an outcome"):
        ws.execute(f"RECORD OUTCOMES FROM '{nums}' KEY lead_id OUTCOME won")
    blank = write_csv(tmp_path / "blank.csv", "lead_id,won", ["L0,1", "L1,"])
    with pytest.raises(LeadQLTypeError, match="empty in 1 rows"):
        ws.execute(f"RECORD OUTCOMES FROM '{blank}' KEY lead_id OUTCOME won")
    nokey = write_csv(tmp_path / "nokey.csv", "lead_id,won", ["L0,1", ",1"])
    with pytest.raises(LeadQLTypeError, match="1 rows have an empty KEY"):
        ws.execute(f"RECORD OUTCOMES FROM '{nokey}' KEY lead_id OUTCOME won")
    when = write_csv(tmp_path / "when.csv", "lead_id,won,closed_at", ["L0,1,yesterday"])
    with pytest.raises(LeadQLTypeError, match="not a date or time, e.g. 'yesterday'"):
        ws.execute(f"RECORD OUTCOMES FROM '{when}' KEY lead_id OUTCOME won AT closed_at")
    numeric_at = write_csv(tmp_path / "numat.csv", "lead_id,won,closed_at", ["L0,1,5"])
    with pytest.raises(LeadQLTypeError, match="not a date or time"):
        ws.execute(f"RECORD OUTCOMES FROM '{numeric_at}' KEY lead_id OUTCOME won AT closed_at")
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"lead_id": pa.array([], pa.string()), "won": pa.array([], pa.bool_())}), empty)
    with pytest.raises(LeadQLSourceError, match="no outcomes"):
        ws.execute(f"RECORD OUTCOMES FROM '{empty}' KEY lead_id OUTCOME won")
    zone = write_csv(tmp_path / "zone.csv", "lead_id,won,closed_at", ["L0,1,2026-03-02 10:00:00 Mars/Olympus"])
    with pytest.raises(LeadQLTypeError, match="not a date or time, e.g. '2026-03-02 10:00:00 Mars/Olympus'"):
        ws.execute(f"RECORD OUTCOMES FROM '{zone}' KEY lead_id OUTCOME won AT closed_at")
    with pytest.raises(LeadQLError, match="KEY and OUTCOME are both column `won`"):
        ws.execute(f"RECORD OUTCOMES FROM '{good}' KEY won OUTCOME won")
    listed = tmp_path / "listed.parquet"
    pq.write_table(pa.table({"lead_id": [["L0"], ["L1"]], "won": [True, False]}), listed)
    with pytest.raises(LeadQLTypeError, match=r"KEY column `lead_id` is VARCHAR\[\], not one value per row"):
        ws.execute(f"RECORD OUTCOMES FROM '{listed}' KEY lead_id OUTCOME won")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not really parquet at all")
    with pytest.raises(LeadQLError, match="corrupt.parquet"):
        ws.execute(f"RECORD OUTCOMES FROM '{corrupt}' KEY lead_id OUTCOME won")
    assert count(ws) == 0


def test_an_at_time_with_an_offset_or_zone_is_stored_in_utc(two_runs, tmp_path) -> None:
    ws = two_runs
    path = write_csv(tmp_path / "tz.csv", "lead_id,won,closed_at",
                     ["L0,1,2026-03-02T10:00:00+05:00", "L1,0,2026-03-02 10:00:00 Europe/Berlin",
                      "L2,1,2026-03-02 10:00:00"])  # fmt: skip
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won AT closed_at")
    rows = dict(ws.con.execute("SELECT lead_id, strftime(happened_at, '%H:%M') FROM _leadql.outcomes").fetchall())
    assert rows == {"L0": "05:00", "L1": "09:00", "L2": "10:00"}


def test_a_read_only_workspace_refuses(tmp_path) -> None:
    path = tmp_path / "ws.leadql"
    with leadql.connect(path) as ws:
        deliver(ws, "spring", "r1", ["L0"])
    deals = write_csv(tmp_path / "deals.csv", "lead_id,won", ["L0,1"])
    with leadql.connect(path, read_only=True) as ro:
        with pytest.raises(LeadQLExecutionError, match="read-only"):
            ro.execute(f"RECORD OUTCOMES FROM '{deals}' KEY lead_id OUTCOME won")
        assert "no outcomes recorded yet" in ro.execute("EVALUATE OUTCOMES").message


def test_relative_paths_resolve_against_the_workspace_folder(ws, tmp_path) -> None:
    deliver(ws, "spring", "r1", ["L0"])
    (tmp_path / "crm").mkdir()
    write_csv(tmp_path / "crm" / "deals.csv", "lead_id,won", ["L0,true"])
    assert ws.execute("RECORD OUTCOMES FROM 'crm/deals.csv' KEY lead_id OUTCOME won").rows[0][:3] == (1, 0, 1)


# ------------------------------------------------------------------------ EVALUATE OUTCOMES


@pytest.fixture
def scored(ws, tmp_path):
    """200 scored leads; each converts with probability = its score (seeded)."""
    rng = np.random.default_rng(5)
    n = 200
    ids = [f"S{i}" for i in range(n)]
    scores = rng.uniform(0, 1, n).round(4)
    won = (rng.uniform(0, 1, n) < scores).astype(int)
    half = n // 2
    deliver(ws, "hot", "h1", ids[:half], scores=scores[:half], scorer=("pattern", "buyers", 1),
            records=[["vendor_a/" + i] for i in ids[:half]])  # fmt: skip
    deliver(ws, "hot", "h2", ids[half:], minutes=10, scores=scores[half:], scorer=("pattern", "buyers", 2),
            records=[["vendor_b/" + i, "vendor_a/x" + i] for i in ids[half:]])  # fmt: skip
    path = write_csv(tmp_path / "hot.csv", "lead_id,won", [f"{i},{w}" for i, w in zip(ids, won, strict=True)])
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    return ws, scores, won


def test_by_decile_matches_a_hand_computation(scored) -> None:
    ws, scores, won = scored
    result = ws.execute("EVALUATE OUTCOMES OF LIST hot")
    assert result.columns == ["decile", "leads", "mean_score", "conversion", "lift"]
    order = np.argsort(-scores, kind="stable")
    overall = won.mean()
    assert len(result.rows) == 10
    for d, row in enumerate(result.rows):
        members = order[d * 20:(d + 1) * 20]
        assert row[:2] == (d + 1, 20)
        assert row[2] == pytest.approx(scores[members].mean(), abs=1e-4)
        assert row[3] == pytest.approx(won[members].mean(), abs=1e-4)
        assert row[4] == pytest.approx(won[members].mean() / overall, abs=1e-3)
    auc = roc_auc_score(won, scores)
    assert f"AUC {auc:.3f}" in result.message
    assert f"conversion {overall:.1%}" in result.message and "expected calibration error" in result.message
    assert result.rows[0][3] > result.rows[-1][3]  # scores rank: the top decile converts more


def test_auc_counts_ties_as_half() -> None:
    assert area_under_curve([0.5, 0.5], [1, 0]) == 0.5
    assert area_under_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert area_under_curve([0.2, 0.3], [1, 1]) is None


def test_by_run_list_segment_and_source(scored) -> None:
    ws, _, won = scored
    runs = ws.execute("EVALUATE OUTCOMES OF PATTERN buyers BY RUN")
    assert runs.columns == ["run_id", "list", "started_at", "scorer_kind", "scorer", "version", "leads", "won",
                            "conversion"]  # fmt: skip
    assert [(r[0], r[5], r[6], r[7]) for r in runs.rows] == [
        ("h1", 1, 100, int(won[:100].sum())), ("h2", 2, 100, int(won[100:].sum()))]  # fmt: skip
    lists = ws.execute("EVALUATE OUTCOMES BY LIST")
    assert lists.rows == [("hot", 200, int(won.sum()), round(won.mean(), 4))]
    segments = ws.execute("EVALUATE OUTCOMES OF LIST hot BY SEGMENT")
    assert segments.rows == [("hot", None, 200, int(won.sum()), round(won.mean(), 4))]
    sources = ws.execute("EVALUATE OUTCOMES BY SOURCE")
    rows = {r[0]: r for r in sources.rows}
    overall = won.mean()
    # vendor_a is credited with every lead (h2's rows merged a vendor_a record too)
    assert rows["vendor_a"][1:3] == (200, int(won.sum()))
    b_won = won[100:].sum()
    blended = (b_won + PRIOR_STRENGTH * overall) / (100 + PRIOR_STRENGTH)
    assert rows["vendor_b"][1:3] == (100, int(b_won))
    assert rows["vendor_b"][5] == pytest.approx(blended, abs=1e-4)
    assert rows["vendor_b"][6] == pytest.approx(blended / overall, abs=1e-3)
    assert source_evidence(ws.con)["vendor_b"].index == pytest.approx(blended / overall)
    only_b = ws.execute("EVALUATE OUTCOMES OF SOURCE vendor_b BY LIST")
    assert only_b.rows[0][1] == 100
    # a dropped list's outcomes are history: they stay, under the list's id
    (list_id,) = ws.con.execute("SELECT list_id FROM _leadql.lists WHERE name = 'hot'").fetchall()[0]
    ws.execute("DROP LIST hot")
    lists = ws.execute("EVALUATE OUTCOMES BY LIST")
    assert lists.rows == [(f"(dropped list {list_id})", 200, int(won.sum()), round(won.mean(), 4))]
    assert "200 linked outcomes" in lists.message
    segments = ws.execute("EVALUATE OUTCOMES BY SEGMENT")
    assert [r[2] for r in segments.rows] == [200]


def test_evaluate_unknown_names_and_nothing_recorded(ws, tmp_path) -> None:
    empty = ws.execute("EVALUATE OUTCOMES")
    assert len(empty) == 0 and "no outcomes recorded yet" in empty.message
    with pytest.raises(LeadQLNameError, match="no model named `nosuch`"):  # names first, outcomes or not
        ws.execute("EVALUATE OUTCOMES OF MODEL nosuch")
    deliver(ws, "spring", "r1", ["L0", "L1"], scorer=("pattern", "buyers", 1))
    deliver(ws, "other", "r2", ["L5"], minutes=5)
    path = write_csv(tmp_path / "d.csv", "lead_id,won", ["L0,1", "L1,0"])
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")
    with pytest.raises(LeadQLNameError, match="did you mean `spring`"):
        ws.execute("EVALUATE OUTCOMES OF LIST sprung")
    with pytest.raises(LeadQLNameError, match="did you mean `buyers`"):
        ws.execute("EVALUATE OUTCOMES OF PATTERN buyer")
    with pytest.raises(LeadQLSyntaxError, match="did you mean DECILE"):
        ws.execute("EVALUATE OUTCOMES BY DECADE")
    with pytest.raises(LeadQLNameError, match="no source named `nobody`"):
        ws.execute("EVALUATE OUTCOMES OF SOURCE nobody")
    nothing = ws.execute("EVALUATE OUTCOMES OF LIST other")
    assert len(nothing) == 0 and "no outcomes recorded for list other" in nothing.message
    unscored = ws.execute("EVALUATE OUTCOMES")  # no scores: BY SOURCE
    assert unscored.columns[0] == "source" and unscored.rows[0][:3] == ("vend", 2, 1)


# ------------------------------------------------------------------------ the planner learns


def vendor(path, prefix: str, n: int, offset: int) -> None:
    rng = np.random.default_rng(offset)
    pq.write_table(pa.table({
        "id": [f"{prefix}{i}" for i in range(n)],
        "email": [f"p{offset + i}@mail{offset}.com" for i in range(n)],
        "income": rng.integers(30_000, 150_000, n).astype(float),
    }), path)  # fmt: skip


@pytest.fixture
def vendors(ws, tmp_path):
    for name, offset in (("vendor_a", 0), ("vendor_b", 100_000)):
        vendor(tmp_path / f"{name}.parquet", name[-1], 1_000, offset)
        ws.execute(f"CREATE SOURCE {name} FROM '{tmp_path}/{name}.parquet' KEY id "
                   f"MAP (email = email, income = income) PRICE 0.01 PER RECORD QUALITY 0.9")  # fmt: skip
    ws.execute("ANALYZE")
    return ws


ESTIMATE = "FIND 50 leads WITH email, income BUDGET 100 ESTIMATE"


def explain_text(ws) -> str:
    return "\n".join(r[0] for r in ws.execute("EXPLAIN FIND 50 leads WITH email, income BUDGET 100").rows)


def outcomes_for(ws, tmp_path, name: str, source: str, wins: int, losses: int, start: int) -> None:
    """A delivered list of `wins + losses` leads from `source`, and their outcomes."""
    n = wins + losses
    ids = [f"{source}_{start + i}" for i in range(n)]
    deliver(ws, name, f"run_{name}", ids, minutes=start, records=[[f"{source}/{i}"] for i in ids])
    path = write_csv(tmp_path / f"{name}.csv", "lead_id,won",
                     [f"{lid},{1 if i < wins else 0}" for i, lid in enumerate(ids)])  # fmt: skip
    ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY lead_id OUTCOME won")


def test_realised_conversion_moves_find_to_the_better_source(vendors, tmp_path) -> None:
    ws = vendors
    before = ws.execute(ESTIMATE)
    first = before.rows[0][2]
    other = "vendor_b" if first == "vendor_a" else "vendor_a"
    assert before.rows[0][3] == first  # one source alone
    # the chosen source's leads convert at 5%, the other's at 40%, 200 leads each
    outcomes_for(ws, tmp_path, "bad", first, 10, 190, 0)
    outcomes_for(ws, tmp_path, "good", other, 80, 120, 500)
    evidence = source_evidence(ws.con)
    assert evidence[other].decided and evidence[other].index > 1.5
    assert evidence[first].decided and evidence[first].index < 0.5
    after = ws.execute(ESTIMATE)
    assert after.rows[0][2] == other
    lost = next(r for r in after.rows[1:] if r[2] == first)
    assert "realised index" in lost[9]
    explain = explain_text(ws)
    assert f"{other} {evidence[other].index:.2f} (200 leads)" in explain
    head = ws.execute(f"DESCRIBE SOURCE {other}").message
    assert f"realised conversion {evidence[other].index:.2f} (200 leads)" in head
    delivered = ws.execute("FIND 20 leads WITH email, income BUDGET 100 INTO LIST fresh")
    assert all(r.startswith(other + "/") for recs in delivered.to_arrow().column("records").to_pylist()
               for r in recs)  # fmt: skip


def test_five_bad_outcomes_do_not_flip_the_choice(vendors, tmp_path) -> None:
    ws = vendors
    first = ws.execute(ESTIMATE).rows[0][2]
    outcomes_for(ws, tmp_path, "elsewhere", "vendor_c", 20, 80, 0)  # sets the workspace rate: 20%
    outcomes_for(ws, tmp_path, "badweek", first, 0, 5, 300)
    evidence = source_evidence(ws.con)[first]
    assert evidence.leads == 5 and 0.8 < evidence.index < 0.9 and not evidence.decided
    assert ws.execute(ESTIMATE).rows[0][2] == first
    explain = explain_text(ws)
    assert "(5 leads, not decisive yet)" in explain


def test_outcomes_keyed_by_email_link_to_a_real_find_delivery(vendors, tmp_path) -> None:
    ws = vendors
    delivered = ws.execute("FIND 12 leads WITH email, income BUDGET 10 INTO LIST fresh").to_arrow()
    emails = delivered.column("email").to_pylist()[:6]
    ids = delivered.column("lead_id").to_pylist()[:6]
    path = write_csv(tmp_path / "crm.csv", "email,won",
                     [f"{e.upper()},{'won' if i % 2 == 0 else 'lost'}" for i, e in enumerate(emails)])  # fmt: skip
    result = ws.execute(f"RECORD OUTCOMES FROM '{path}' KEY email OUTCOME won")
    assert result.rows == [(6, 0, 6, 0, 3, 0.5)]
    facts = dict(ws.con.execute("SELECT lead_id, row_id FROM _leadql.list_leads").fetchall())
    rows = stored(ws, "lead_id, row_id, records")
    assert [r[0] for r in rows] == ids
    assert all(r[1] == facts[r[0]] and r[2] and r[2][0].split("/")[0] in ("vendor_a", "vendor_b") for r in rows)
    by_list = ws.execute("EVALUATE OUTCOMES OF LIST fresh BY LIST")
    assert by_list.rows == [("fresh", 6, 3, 0.5)]
