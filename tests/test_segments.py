"""SEGMENT LIST: k-means over a list's BY columns, k given or chosen by silhouette, each row's
segment stored (and given to rows appended later), the profile of every segment, and every
bad-input path."""

from __future__ import annotations

import json
import pickle
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

import leadql
from leadql.errors import (
    LeadQLConstraintError,
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLSyntaxError,
    LeadQLTypeError,
)
from leadql.segments import OTHER
from leadql.warehouse import RunRecord, write_list

T0 = datetime(2026, 3, 1, 9, 0, 0)
# Three well-separated groups of (income, age): sizes 240, 150, 90.
CENTRES = [(45_000.0, 28.0), (95_000.0, 46.0), (160_000.0, 63.0)]
SIZES = [240, 150, 90]


def run_record(run_id: str, name: str, rows: int, minutes: int = 0) -> RunRecord:
    started = T0 + timedelta(minutes=minutes)
    return RunRecord(
        run_id=run_id, statement=f"FIND {rows} leads WITH income BUDGET 10", list_name=name,
        started_at=started, finished_at=started + timedelta(seconds=2), status="complete",
        requested=rows, delivered=rows, budget=Decimal("10"), spent=Decimal("1"),
    )  # fmt: skip


def deliver(ws: leadql.Workspace, name: str, run_id: str, start: int = 0, **columns: object) -> None:
    """Write one run of `columns` (equal-length lists or arrays) into list `name`."""
    n = len(next(iter(columns.values())))  # type: ignore[arg-type]
    table = pa.table({
        "lead_id": [f"L{start + i}" for i in range(n)], **columns,
        "quality": np.linspace(0.6, 0.95, n), "cost": pa.array([Decimal("0.5")] * n, pa.decimal128(18, 6)),
    })  # fmt: skip
    write_list(ws.con, name, run_record(run_id, name, n, minutes=start), table)


def planted(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """income, age and the planted label of every row, the groups shuffled together."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), SIZES)
    rng.shuffle(labels)
    income = np.array([CENTRES[g][0] for g in labels]) + rng.normal(0, 6_000, len(labels))
    age = np.array([CENTRES[g][1] for g in labels]) + rng.normal(0, 3, len(labels))
    return income.round(0), age.round(0).astype(np.int64), labels


@pytest.fixture
def fin(ws):
    income, age, labels = planted()
    deliver(ws, "fin", "r1", income=income, age=age)
    return ws, labels


def segments_of(ws: leadql.Workspace, name: str) -> list[int]:
    return [r[0] for r in ws.execute(f"SELECT segment FROM {name}").rows]


def snapshot(ws: leadql.Workspace) -> dict[str, object]:
    con = ws.con
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_leadql' "
        "AND database_name = current_database() ORDER BY table_name"
    ).fetchall()]  # fmt: skip
    snap: dict[str, object] = {t: sorted(con.execute(f'SELECT * FROM _leadql."{t}"').fetchall(), key=repr) for t in tables}
    snap["views"] = con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
        "AND database_name = current_database() ORDER BY view_name"
    ).fetchall()
    return snap


# ------------------------------------------------------------------------ clustering


def test_automatic_k_finds_the_planted_clusters(fin) -> None:
    ws, labels = fin
    assert "segment" not in ws.execute("SELECT * FROM fin LIMIT 1").columns  # never segmented
    result = ws.execute("SEGMENT LIST fin BY income, age")
    assert result.columns == ["segment", "size", "share", "income", "age", "distinguishing"]
    assert [r[0] for r in result.rows] == [1, 2, 3]
    assert [r[1] for r in result.rows] == SIZES  # numbered by decreasing size
    assert sum(r[2] for r in result.rows) == pytest.approx(1.0, abs=1e-3)
    for row, (income, age) in zip(result.rows, CENTRES, strict=True):
        assert row[3] == pytest.approx(income, rel=0.03) and row[4] == pytest.approx(age, abs=1.5)
    assert result.rows[2][5].startswith("income +") and "sd (mean" in result.rows[2][5]
    assert result.rows[0][5].split(";")[0].split()[1].startswith("-")  # the poorest, youngest
    # every k tried is reported with its silhouette, and the message names the choice
    assert result.message.startswith("3 segments by income, age (k chosen by silhouette: k=2 ")
    assert all(f"k={k} " in result.message for k in range(2, 11))
    silhouette = float(result.message.rsplit("silhouette ", 1)[1])
    assert silhouette > 0.6
    assert adjusted_rand_score(labels, segments_of(ws, "fin")) >= 0.9
    assert ws.execute("SELECT segment, count(*) FROM fin GROUP BY 1 ORDER BY 1").rows == [
        (1, 240), (2, 150), (3, 90)
    ]  # fmt: skip
    stored = ws.con.execute(
        "SELECT segments, by_columns, silhouette, profile FROM _leadql.segmentations"
    ).fetchall()
    assert len(stored) == 1 and stored[0][0] == 3 and json.loads(stored[0][1]) == ["income", "age"]
    assert stored[0][2] == pytest.approx(silhouette, abs=0.01)
    profile = json.loads(stored[0][3])
    assert [s["size"] for s in profile["segments"]] == SIZES and len(profile["silhouettes"]) == 9


def test_given_k_is_deterministic_and_the_newest_segmentation_wins(fin) -> None:
    ws, labels = fin
    first = ws.execute("SEGMENT LIST fin INTO 4 SEGMENTS BY income, age")
    assert len(first.rows) == 4 and first.message.startswith("4 segments by income, age, silhouette")
    once = segments_of(ws, "fin")
    again = ws.execute("SEGMENT LIST fin INTO 4 SEGMENTS BY income, age")
    assert again.rows == first.rows and segments_of(ws, "fin") == once
    sizes = [r[1] for r in first.rows]
    assert sizes == sorted(sizes, reverse=True)
    ws.execute("SEGMENT LIST fin INTO 3 SEGMENTS BY age, income")
    assert adjusted_rand_score(labels, segments_of(ws, "fin")) >= 0.9
    assert ws.con.execute("SELECT count(*), max(segments) FROM _leadql.segmentations").fetchall() == [(1, 3)]
    # the same data in another list with another order of BY columns gives the same partition
    income, age, _ = planted()
    deliver(ws, "copy", "r2", start=1000, age=age, income=income)
    ws.execute("SEGMENT LIST copy INTO 3 SEGMENTS BY income, age")
    assert segments_of(ws, "copy") == segments_of(ws, "fin")


def test_text_columns_are_one_hot_and_rare_values_become_other(ws) -> None:
    rng = np.random.default_rng(5)
    n = 300
    group = rng.integers(0, 2, n)
    state = np.where(group == 0, "CA", "TX").astype(object)
    state[:25] = [f"S{i:02d}" for i in range(25)]  # 25 rare states: 20 levels + other in all
    group[:25] = 2
    income = np.where(group == 1, 120_000.0, 50_000.0) + rng.normal(0, 4_000, n)
    deliver(ws, "mix", "r1", state=state.tolist(), income=income)
    result = ws.execute("SEGMENT LIST mix INTO 2 SEGMENTS BY state, income")
    assert result.columns == ["segment", "size", "share", "state", "income", "distinguishing"]
    tops = {r[3].split()[0] for r in result.rows}
    assert tops == {"CA", "TX"} and all(r[3].endswith("%") for r in result.rows)
    assert any("state=" in r[5] for r in result.rows)
    model = pickle.loads(ws.con.execute("SELECT model FROM _leadql.segmentations").fetchall()[0][0])
    levels = model.features[0].levels
    assert len(levels) == 21 and levels[-1] == OTHER and levels[:2] in (["CA", "TX"], ["TX", "CA"])
    by_state = dict(ws.execute(
        "SELECT state, count(DISTINCT segment) FROM mix WHERE state IN ('CA', 'TX') GROUP BY 1"
    ).rows)  # fmt: skip
    assert by_state == {"CA": 1, "TX": 1}


def test_missing_values_are_imputed_with_a_warning(ws) -> None:
    income, age, labels = planted()
    income_list: list[float | None] = income.tolist()
    for i in (3, 17, 44):
        income_list[i] = None
    region: list[str | None] = ["north" if g else "south" for g in labels]
    region[0] = region[9] = None
    deliver(ws, "gaps", "r1", income=pa.array(income_list, pa.float64()), age=age, region=region)
    result = ws.execute("SEGMENT LIST gaps INTO 3 SEGMENTS BY income, age, region")
    assert any(w.startswith("3 missing values of `income` imputed with its median ") for w in result.warnings)
    assert "2 missing values of `region` imputed with its most frequent value 'north'" in result.warnings
    assert not any("`age`" in w for w in result.warnings)
    assert ws.execute("SELECT count(*) FROM gaps WHERE segment IS NULL").rows == [(0,)]
    # an infinite number counts as missing; a missing boolean becomes the most frequent value
    deliver(ws, "odd", "r2", start=1000, v=pa.array([1.0, 2.0, float("inf"), 10.0, 11.0, None]),
            flag=[True, False, None, True, True, False])  # fmt: skip
    result = ws.execute("SEGMENT LIST odd INTO 2 SEGMENTS BY v, flag")
    assert result.warnings == ["2 missing or infinite values (1 infinite) of `v` imputed with its median 6.0",
                               "1 missing value of `flag` imputed with its most frequent value true"]
    assert sorted(r[3] for r in result.rows) == [1.5, 10.5]  # the means ignore the missing values


def test_dates_booleans_and_measures(ws) -> None:
    rng = np.random.default_rng(2)
    n = 200
    old = np.arange(n) < 120
    signup = [date(2020, 1, 1) + timedelta(days=int(d)) for d in np.where(old, 0, 1500) + rng.integers(0, 60, n)]
    owner = (old ^ (rng.random(n) < 0.05)).tolist()
    deliver(ws, "dates", "r1", signup=signup, owner=owner)
    result = ws.execute("SEGMENT LIST dates INTO 2 SEGMENTS BY signup, owner, quality")
    assert result.columns == ["segment", "size", "share", "signup", "owner", "quality", "distinguishing"]
    first, second = result.rows
    assert abs(first[1] - 120) <= 3 and isinstance(first[3], date) and first[3] < date(2020, 3, 1)
    assert second[3] > date(2024, 1, 1) and first[4] > 0.8 > 0.2 > second[4]
    assert "signup +" in first[6] and "days" in first[6]  # older: a larger age
    assert "owner +" in first[6] and "true" in first[6]
    ws.execute("SEGMENT LIST dates INTO 2 SEGMENTS BY cost, signup")  # DECIMAL measure works


# ------------------------------------------------------------------------ stored segments


def test_rows_appended_later_join_their_nearest_segment(fin) -> None:
    ws, _ = fin
    ws.execute("SEGMENT LIST fin BY income, age")  # segments 1, 2, 3: the 45k, 95k, 160k groups
    deliver(ws, "fin", "r2", start=5000, income=[46_000.0, 158_000.0, 96_000.0, 44_000.0],
            age=[29, 61, 45, 27])  # fmt: skip
    got = ws.execute("SELECT segment FROM fin WHERE run_id = 'r2' ORDER BY lead_id").rows
    assert [g[0] for g in got] == [1, 3, 2, 1]
    # a run that does not deliver a BY column: the column's median fills in
    deliver(ws, "fin", "r3", start=6000, income=[159_000.0])
    assert ws.execute("SELECT segment FROM fin WHERE run_id = 'r3'").rows[0][0] is not None
    # a list never segmented gets no segment column from later runs
    deliver(ws, "plain", "r4", start=7000, income=[1.0, 2.0])
    assert "segment" not in ws.execute("SELECT * FROM plain").columns


def test_a_failure_mid_way_leaves_the_list_unchanged(fin, monkeypatch) -> None:
    import leadql.segments as segments

    ws, _ = fin
    before = snapshot(ws)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(segments, "create_view", boom)  # after the segments are written
    with pytest.raises(LeadQLError, match="disk full"):
        ws.execute("SEGMENT LIST fin INTO 3 SEGMENTS BY income, age")
    assert snapshot(ws) == before
    monkeypatch.undo()
    ws.execute("SEGMENT LIST fin INTO 3 SEGMENTS BY income, age")
    segmented = snapshot(ws)
    monkeypatch.setattr(segments, "create_view", boom)
    with pytest.raises(LeadQLError):
        ws.execute("SEGMENT LIST fin INTO 2 SEGMENTS BY age")
    assert snapshot(ws) == segmented
    assert sorted(set(segments_of(ws, "fin"))) == [1, 2, 3]


def test_a_read_only_workspace_refuses(tmp_path) -> None:
    path = str(tmp_path / "ws.duckdb")
    income, age, _ = planted()
    with leadql.connect(path) as ws:
        deliver(ws, "fin", "r1", income=income, age=age)
    with leadql.connect(path, read_only=True) as ro:
        with pytest.raises(LeadQLExecutionError, match="read-only"):
            ro.execute("SEGMENT LIST fin BY income")
        assert "segment" not in ro.execute("SELECT * FROM fin LIMIT 1").columns


# ------------------------------------------------------------------------ bad input


def test_unknown_list_and_columns_suggest_the_nearest(fin) -> None:
    ws, _ = fin
    with pytest.raises(LeadQLNameError, match="no list named `fn`") as e:
        ws.execute("SEGMENT LIST fn BY income")
    assert e.value.hint == "did you mean `fin`?" and e.value.column == 14
    with pytest.raises(LeadQLNameError, match="list `fin` has no column `incme`") as e:
        ws.execute("SEGMENT LIST fin BY age, incme")
    assert e.value.hint == "did you mean `income`?" and e.value.column == 26
    with pytest.raises(LeadQLNameError, match="no column `score`") as e:
        ws.execute("SEGMENT LIST fin BY score")
    assert "scored" in e.value.hint
    with pytest.raises(LeadQLSemanticError, match="`Income` is named twice") as e:
        ws.execute("SEGMENT LIST fin BY income, age, Income")
    assert e.value.column == 34
    for column in ("lead_id", "provenance", "run_id"):
        with pytest.raises(LeadQLTypeError, match=f"cannot segment by `{column}`"):
            ws.execute(f"SEGMENT LIST fin BY income, {column}")
    with pytest.raises(LeadQLSyntaxError, match="at least 2"):
        ws.execute("SEGMENT LIST fin INTO 1 SEGMENTS BY income")


def test_too_few_rows_or_points_and_unusable_columns(ws) -> None:
    deliver(ws, "tiny", "r1", income=[1.0, 2.0, 3.0], tags=pa.array([["a"], ["b"], ["c"]]))
    with pytest.raises(LeadQLConstraintError, match="has 3 rows, too few for 4 segments") as e:
        ws.execute("SEGMENT LIST tiny INTO 4 SEGMENTS BY income")
    assert e.value.hint == "ask for at most 3 segments"
    with pytest.raises(LeadQLTypeError, match=r"cannot segment by `tags` of type VARCHAR\[\]"):
        ws.execute("SEGMENT LIST tiny BY tags")
    deliver(ws, "same", "r2", start=10, income=[5.0] * 6, note=pa.array([None] * 6, pa.string()),
            city=["Reno", "Reno", "Reno", "Reno", "Reno", "Elko"])  # fmt: skip
    with pytest.raises(LeadQLConstraintError, match="all 6 rows of list `same` have the same `income`"):
        ws.execute("SEGMENT LIST same BY income")
    with pytest.raises(LeadQLConstraintError, match="`note` of list `same` has no value in any row"):
        ws.execute("SEGMENT LIST same BY income, note")
    with pytest.raises(LeadQLConstraintError, match="only 2 distinct combinations"):
        ws.execute("SEGMENT LIST same INTO 3 SEGMENTS BY income, city")
    result = ws.execute("SEGMENT LIST same BY city")  # k = 2 is all it can try
    assert [r[1] for r in result.rows] == [5, 1]
    deliver(ws, "one", "r3", start=20, income=[1.0])
    with pytest.raises(LeadQLConstraintError, match="has 1 row, too few to segment"):
        ws.execute("SEGMENT LIST one BY income")
    assert ws.con.execute("SELECT count(*) FROM _leadql.segmentations").fetchall() == [(1,)]


def test_find_into_a_segmented_list_assigns_the_new_run(tmp_path) -> None:
    from leadql.sample import generate

    data = generate(tmp_path / "data", people=800, seed=7)
    with leadql.connect(str(tmp_path / "ws.leadql")) as ws:
        ws.execute(data.catalog_script())
        ws.execute("ANALYZE")
        ws.execute("FIND 60 leads WITH email, fico, income, state BUDGET 40 INTO LIST fin")
        result = ws.execute("SEGMENT LIST fin INTO 3 SEGMENTS BY fico, income, state")
        assert sum(r[1] for r in result.rows) == 60 and len(result.rows) == 3
        # the next run does not deliver `state`: its rows are assigned with the median / mode
        ws.execute("FIND 20 leads WITH email, fico, income BUDGET 40 EXCLUDE LIST fin INTO LIST fin")
        counts = ws.execute(
            "SELECT count(*), count(segment), count(DISTINCT run_id) FROM fin"
        ).rows  # fmt: skip
        assert counts[0][1] == counts[0][0] > 60 and counts[0][2] == 2
        assert ("column", "segment", "INTEGER") in [r[:3] for r in ws.execute("DESCRIBE LIST fin").rows]


def test_numbers_of_any_magnitude_segment_as_their_scaled_copies_do(ws) -> None:
    """Values near 1e200 overflow a variance; the column is scaled by a power of two first, so
    the segments are those of the same values at an ordinary scale."""
    rng = np.random.default_rng(4)
    base = np.concatenate([rng.normal(0, 1, 30), rng.normal(10, 1, 30)])
    deliver(ws, "huge", "r1", v=base * 1e200)
    deliver(ws, "plain", "r2", start=1000, v=base)
    huge = ws.execute("SEGMENT LIST huge INTO 2 SEGMENTS BY v")
    plain = ws.execute("SEGMENT LIST plain INTO 2 SEGMENTS BY v")
    assert [r[1] for r in huge.rows] == [r[1] for r in plain.rows]  # the same segment sizes
    by_lead = dict(ws.execute("SELECT lead_id, segment FROM huge").rows)
    assert len(set(by_lead.values())) == 2


def test_infinite_values_are_imputed_and_said_to_be(ws) -> None:
    values = [float(i) for i in range(40)]
    values[3], values[7], values[9] = float("inf"), float("-inf"), float("nan")
    deliver(ws, "odd", "r1", v=values)
    result = ws.execute("SEGMENT LIST odd INTO 2 SEGMENTS BY v")
    assert any(w.startswith("3 missing or infinite values (2 infinite) of `v` imputed") for w in result.warnings)
