"""Value fusion (leadql/executor/fusion.py) against a direct Python reading of its formula:

    C(v) = Σ_{records giving v} ln(N · q / (1 − q)),   P(winner) = e^C / (Σ e^C' + N + 1 − #observed)

with the winner the highest C, then the smaller value (as text)."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import duckdb
import pytest

from leadql.catalog.definitions import CategoryDef
from leadql.executor import fusion

CATEGORIES = {"email": CategoryDef("email"), "fico": CategoryDef("fico", "INTEGER"),
              "state": CategoryDef("state"), "income": CategoryDef("income", "DOUBLE")}  # fmt: skip
N = fusion.WRONG_VALUES


def _stage(con, name: str, rows: list[dict], columns: list[str]) -> str:
    """A staged table of one source: `_source`, `_record_key` and its category columns."""
    types = {"fico": "INTEGER", "income": "DOUBLE"}
    defs = ", ".join(["_source VARCHAR", "_record_key VARCHAR"] + [f"{c} {types.get(c, 'VARCHAR')}" for c in columns])
    con.execute(f"CREATE TABLE {name} ({defs})")
    for r in rows:
        con.execute(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in range(2 + len(columns)))})",
                    [r["_source"], r["_record_key"]] + [r.get(c) for c in columns])  # fmt: skip
    return name


def _entities(con, members: list[tuple[str, str, str]]) -> str:
    con.execute("CREATE TABLE entities (_source VARCHAR, _record_key VARCHAR, entity_id VARCHAR)")
    if members:
        con.executemany("INSERT INTO entities VALUES (?, ?, ?)", members)
    return "entities"


def _fused(con, records, wanted, only=None) -> dict[str, dict]:
    con.execute(fusion.fuse_sql(records, "entities", CATEGORIES, wanted, "fused", only=only))
    cur = con.execute("SELECT * FROM fused")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _expected(observations: list[tuple[str, float, str]]) -> tuple[str, float, set[str]] | None:
    """(winner as text, P, the records that can be its provenance) from (value, q, 'source/key')."""
    if not observations:
        return None
    score: dict[str, float] = {}
    for value, q, _ in observations:
        q = min(fusion.MAX_Q, max(fusion.MIN_Q, q))
        score[value] = score.get(value, 0.0) + math.log(N * q / (1 - q))
    winner = min(score, key=lambda v: (-score[v], v))
    top = score[winner]
    p = 1 / (sum(math.exp(c - top) for c in score.values()) + max(0, N + 1 - len(score)) * math.exp(-top))
    best_q = max(q for v, q, _ in observations if v == winner)
    return winner, p, {k for v, q, k in observations if v == winner and q == best_q}


def test_agreeing_sources_multiply_their_odds_and_disagreeing_split_by_quality() -> None:
    con = duckdb.connect()
    a = _stage(con, "a", [{"_source": "a", "_record_key": "1", "email": "x@y.com", "fico": 700},
                          {"_source": "a", "_record_key": "2", "email": "p@q.com", "fico": 650}], ["email", "fico"])  # fmt: skip
    b = _stage(con, "b", [{"_source": "b", "_record_key": "9", "email": "x@y.com", "fico": 720},
                          {"_source": "b", "_record_key": "8", "email": "p@q.com"}], ["email", "fico"])  # fmt: skip
    _entities(con, [("a", "1", "e1"), ("b", "9", "e1"), ("a", "2", "e2"), ("b", "8", "e2")])
    records = [fusion.StagedRecords("a", a, ("email", "fico"), {"email": 0.9, "fico": 0.93}, Decimal("0.10")),
               fusion.StagedRecords("b", b, ("email", "fico"), {"email": 0.8, "fico": 0.7}, Decimal("0.25"))]  # fmt: skip
    got = _fused(con, records, ["email", "fico"])
    e1, e2 = got["e1"], got["e2"]
    # agreement: C = w_a + w_b, P = e^C / (e^C + N)
    c = math.log(N * 0.9 / 0.1) + math.log(N * 0.8 / 0.2)
    assert e1["email"] == "x@y.com" and e1["_q_email"] == pytest.approx(math.exp(c) / (math.exp(c) + N))
    assert e1["_prov_email"] == "a/1"  # the more accurate source
    # disagreement: the more accurate source wins, at less than its own quality
    assert e1["fico"] == 700 and e1["_prov_fico"] == "a/1"
    assert e1["_q_fico"] == pytest.approx(_expected([("700", 0.93, "a/1"), ("720", 0.7, "b/9")])[1])
    assert e1["_q_fico"] < 0.93
    # one source alone: P is its quality
    assert e2["fico"] == 650 and e2["_q_fico"] == pytest.approx(0.93)
    assert e1["records"] == ["a/1", "b/9"] and e1["cost"] == Decimal("0.35")


def test_a_tie_goes_to_the_smaller_value_and_a_category_no_source_holds_is_null() -> None:
    con = duckdb.connect()
    a = _stage(con, "a", [{"_source": "a", "_record_key": "1", "state": "NY"}], ["state"])
    b = _stage(con, "b", [{"_source": "b", "_record_key": "1", "state": "CA"}], ["state"])
    _entities(con, [("a", "1", "e"), ("b", "1", "e")])
    records = [fusion.StagedRecords("a", a, ("state",), {"state": 0.8}, Decimal(0)),
               fusion.StagedRecords("b", b, ("state",), {"state": 0.8}, Decimal(0))]  # fmt: skip
    row = _fused(con, records, ["state", "income"])["e"]
    assert row["state"] == "CA" and row["_prov_state"] == "b/1"
    assert row["_q_state"] == pytest.approx(math.exp(math.log(40)) / (2 * 40 + N - 1))
    assert row["income"] is None and row["_q_income"] is None and row["_prov_income"] is None


def test_many_agreeing_records_do_not_overflow() -> None:
    con = duckdb.connect()
    rows = [{"_source": "a", "_record_key": str(k), "state": "CA"} for k in range(300)]
    a = _stage(con, "a", rows + [{"_source": "a", "_record_key": "x", "state": "NY"}], ["state"])
    _entities(con, [("a", r["_record_key"], "e") for r in rows] + [("a", "x", "e")])
    records = [fusion.StagedRecords("a", a, ("state",), {"state": 0.999}, Decimal(0))]
    row = _fused(con, records, ["state"])["e"]
    assert row["state"] == "CA" and row["_q_state"] == pytest.approx(1.0)
    con.execute("DELETE FROM a WHERE _record_key = 'x'")  # all agree: the one-value path
    row = _fused(con, records, ["state"])["e"]
    assert row["_q_state"] == pytest.approx(1.0) and row["_prov_state"] == "a/0"


def test_only_keeps_the_listed_entities_and_nothing_staged_gives_an_empty_table() -> None:
    con = duckdb.connect()
    a = _stage(con, "a", [{"_source": "a", "_record_key": str(k), "email": f"u{k}@x.com"} for k in range(3)],
               ["email"])  # fmt: skip
    _entities(con, [("a", str(k), f"e{k}") for k in range(3)])
    con.execute("CREATE TABLE keep AS SELECT 'e1' AS entity_id")
    records = [fusion.StagedRecords("a", a, ("email",), {"email": 0.9}, Decimal(1))]
    assert set(_fused(con, records, ["email"], only="keep")) == {"e1"}
    assert _fused(con, [], ["email"]) == {}
    # a table holding none of the wanted categories still counts its records and their cost
    row = _fused(con, records, ["fico"])["e2"]
    assert row["fico"] is None and row["records"] == ["a/2"] and row["cost"] == Decimal(1)


@pytest.mark.parametrize("seed", range(6))
def test_random_records_fuse_as_the_formula_says(seed: int) -> None:
    """Sources with duplicates, missing values, conflicts and one source twice (two staged tables)."""
    rng = random.Random(seed)
    con = duckdb.connect()
    wanted = ["email", "fico", "state"]
    sources = [("s0", "t0"), ("s1", "t1"), ("s2", "t2"), ("s0", "t3")]
    quality = {t: {c: rng.choice([0.005, 0.5, 0.7, 0.9, 0.9995]) for c in wanted} for _, t in sources}
    held = {t: rng.sample(wanted, rng.randint(0, 3)) for _, t in sources}
    members, observed = [], {}
    records = []
    for s, t in sources:
        rows = []
        for k in range(rng.randint(0, 40)):
            entity = f"e{rng.randint(0, 15)}"
            row = {"_source": s, "_record_key": f"{t}-{k}"}
            for c in held[t]:
                if rng.random() < 0.8:
                    row[c] = {"email": lambda: rng.choice(["a@x.com", "b@x.com"]),
                              "fico": lambda: rng.choice([600, 700, 710]),
                              "state": lambda: rng.choice(["CA", "NY", "TX"])}[c]()  # fmt: skip
                    observed.setdefault((entity, c), []).append((str(row[c]), quality[t][c], f"{s}/{row['_record_key']}"))
            members.append((s, row["_record_key"], entity))
            rows.append(row)
        _stage(con, t, rows, held[t])
        records.append(fusion.StagedRecords(s, t, tuple(held[t]), quality[t], Decimal("0.5")))
    _entities(con, members)
    got = _fused(con, records, wanted)
    assert set(got) == {e for _, _, e in members}
    for entity, row in got.items():
        mine = sorted(f"{s}/{k}" for s, k, e in members if e == entity)
        assert row["records"] == mine and row["cost"] == Decimal("0.5") * len(mine)
        for c in wanted:
            expected = _expected(observed.get((entity, c), []))
            if expected is None:
                assert row[c] is None and row["_q_" + c] is None
                continue
            value, p, provenance = expected
            assert str(row[c]) == value
            assert row["_q_" + c] == pytest.approx(p, rel=1e-9)
            assert row["_prov_" + c] in provenance


@pytest.mark.parametrize("seed", range(3))
def test_tables_of_one_record_per_entity_fuse_the_same_without_grouping(seed: int) -> None:
    """FIND buys one record per person from each source and says so (`one_per_entity`): the
    table is then read without grouping, with the same result."""
    rng = random.Random(seed)
    con = duckdb.connect()
    wanted = ["email", "fico", "state"]
    members, plain = [], []
    for t, s in enumerate(["s0", "s1", "s2"]):
        rows = []
        for k, entity in enumerate(rng.sample(range(30), 20)):  # each entity at most once
            row = {"_source": s, "_record_key": str(k), "email": rng.choice(["a@x.com", "b@x.com", None]),
                   "fico": rng.choice([600, 700, None]), "state": rng.choice(["CA", "NY"])}  # fmt: skip
            rows.append(row)
            members.append((s, str(k), f"e{entity}"))
        _stage(con, f"t{t}", rows, wanted)
        plain.append(fusion.StagedRecords(s, f"t{t}", tuple(wanted), {c: 0.6 + 0.1 * t for c in wanted}, Decimal("0.2")))
    _entities(con, members)
    grouped = _fused(con, plain, wanted)
    con.execute("DROP TABLE fused")
    flagged = [fusion.StagedRecords(r.source, r.table, r.categories, r.quality, r.price_record, one_per_entity=True)
               for r in plain]  # fmt: skip
    assert _fused(con, flagged, wanted) == grouped
