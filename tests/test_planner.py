"""The FIND planner and executor on small hand-made vendors whose answers are known."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import leadql
from leadql.errors import LeadQLConstraintError, LeadQLError
from leadql.planner.estimates import _cdf, selectivity

N = 400


def _people(n: int = N) -> list[dict]:
    out = []
    for i in range(n):
        out.append({
            "first": f"Person{i}", "last": f"Family{i % 97}", "email": f"p{i}@example.com",
            "phone": f"+1415555{i:04d}", "zip": f"{94000 + i % 50:05d}", "state": "CA" if i % 2 else "NY",
            "fico": 550 + (i * 7) % 300, "income": 30000 + (i * 997) % 120000,
        })  # fmt: skip
    return out


def _write(path, rows: list[dict]) -> None:
    pacsv.write_csv(pa.Table.from_pylist(rows), path)


@pytest.fixture
def vendors(tmp_path):
    people = _people()
    # cheap: everyone's email and fico, but its fico is off by 40 for every 4th person
    _write(tmp_path / "cheap.csv", [
        {"id": f"C{i}", "first": p["first"], "last": p["last"], "email": p["email"], "zip": p["zip"],
         "state": p["state"], "fico": p["fico"] + (40 if i % 4 == 0 else 0)}
        for i, p in enumerate(people)
    ])  # fmt: skip
    # premium: half the people, right fico and income, expensive
    _write(tmp_path / "premium.csv", [
        {"id": f"P{i}", "first": p["first"], "last": p["last"], "email": p["email"], "zip": p["zip"],
         "fico": p["fico"], "income": p["income"]}
        for i, p in enumerate(people) if i % 2 == 0
    ])  # fmt: skip
    # incomes: most people's income and phone, cheap
    _write(tmp_path / "incomes.csv", [
        {"id": f"I{i}", "email": p["email"], "phone": p["phone"], "income": p["income"]}
        for i, p in enumerate(people) if i % 5 != 0
    ])  # fmt: skip
    old = (date.today() - timedelta(days=400)).isoformat()
    fresh = (date.today() - timedelta(days=5)).isoformat()
    script = f"""
    CREATE SOURCE cheap FROM '{tmp_path / "cheap.csv"}' KEY id
      MAP (first_name = first, last_name = last, email = email, zip = zip, state = state, fico = fico)
      PRICE 0.001 PER RECORD QUALITY 0.75 UPDATED '{fresh}';
    CREATE SOURCE premium FROM '{tmp_path / "premium.csv"}' KEY id
      MAP (first_name = first, last_name = last, email = email, zip = zip, fico = fico, income = income)
      PRICE 0.05 PER RECORD, 2 PER QUERY QUALITY 0.97 UPDATED '{fresh}';
    CREATE SOURCE incomes FROM '{tmp_path / "incomes.csv"}' KEY id
      MAP (email = email, phone = phone, income = income)
      PRICE 0.002 PER RECORD QUALITY 0.9 UPDATED '{old}';
    ANALYZE;
    """
    ws = leadql.connect()
    ws.execute(script)
    yield ws
    ws.close()


def test_selectivity_from_quantiles_and_top_values():
    stats = {"fico": {"quantiles": [300 + 27.5 * i for i in range(21)], "count": 100},
             "state": {"top": [["CA", 30], ["NY", 20]], "count": 100, "distinct": 10}}  # fmt: skip
    cdf = _cdf(stats["fico"])
    assert cdf(300, False) == 0.0 and cdf(850, True) == 1.0
    assert abs(cdf(575, True) - 0.5) < 0.01
    fico = leadql.parse("FIND 1 leads WHERE fico >= 575 BUDGET 1")[0].clauses.where
    assert abs(selectivity(fico, stats) - 0.5) < 0.02
    states = leadql.parse("FIND 1 leads WHERE state IN ('CA', 'NY') BUDGET 1")[0].clauses.where
    assert selectivity(states, stats) == pytest.approx(0.5)
    other = leadql.parse("FIND 1 leads WHERE state = 'TX' BUDGET 1")[0].clauses.where
    assert selectivity(other, stats) == pytest.approx(0.5 / 8)


def test_cost_plan_uses_cheap_driver_and_enriches_income(vendors):
    quote = vendors.execute("FIND 100 leads WITH email, fico, income BUDGET 50 ESTIMATE")
    chosen = quote.rows[0]
    assert chosen[1] is True
    plan = quote.plan
    # premium costs 25x more per record: the cheap pair covers every category
    assert set(plan.sources) == {"cheap", "incomes"} and plan.cost <= Decimal(50)
    assert plan.expected_count >= 100 * 0.98


def test_quality_objective_prefers_the_premium_source(vendors):
    cost = vendors.execute("FIND 50 leads WITH email, fico BUDGET 50 ESTIMATE").plan
    quality = vendors.execute("FIND 50 leads WITH email, fico BUDGET 50 OPTIMIZE FOR QUALITY ESTIMATE").plan
    assert "premium" in quality.sources
    assert quality.quality > cost.quality


def test_quality_floor_names_the_binding_category(vendors):
    with pytest.raises(LeadQLConstraintError) as info:
        vendors.execute("FIND 10 leads WITH email, phone BUDGET 50 QUALITY >= 0.95")
    assert "QUALITY >= 0.95 is not reachable for `phone`" in info.value.message
    assert "0.9" in info.value.message


def test_fresher_than_drops_stale_sources(vendors):
    plan = vendors.execute("FIND 20 leads WITH email, income BUDGET 50 FRESHER THAN 90 DAYS ESTIMATE").plan
    assert "incomes" not in plan.sources
    lines = "\n".join(r[0] for r in vendors.execute(
        "EXPLAIN FIND 20 leads WITH email, income BUDGET 50 FRESHER THAN 90 DAYS").rows)
    assert "incomes: updated" in lines


def test_find_resolves_enriches_and_fuses(vendors):
    result = vendors.execute("FIND 60 leads WITH email, fico, income WHERE fico >= 700 BUDGET 20")
    assert 0 < len(result) <= 60
    table = result.to_arrow().to_pylist()
    truth = {p["email"]: p for p in _people()}
    for row in table:
        person = truth[row["email"]]
        assert row["income"] == person["income"]
        assert row["fico"] >= 700
        sources = {r.split("/")[0] for r in row["records"]}
        assert len(sources) >= 2  # fico from one vendor, income from another
    assert result.cost <= Decimal(20)
    assert sum(Decimal(str(r["cost"])) for r in table) <= result.cost


def test_agreeing_sources_outvote_a_wrong_value(vendors):
    # cheap says fico + 40 for every 4th person; premium (quality .97) has the truth
    result = vendors.execute("FIND 40 leads WITH email, fico FROM SOURCES premium, cheap BUDGET 20 OPTIMIZE FOR QUALITY")
    truth = {p["email"]: p for p in _people()}
    for row in result.to_arrow().to_pylist():
        if any(r.startswith("premium/") for r in row["records"]):
            assert row["fico"] == truth[row["email"]]["fico"]


def test_budget_stops_buying_and_warns(vendors):
    result = vendors.execute("FIND 300 leads WITH email, fico BUDGET 0.05")
    assert result.cost <= Decimal("0.05")
    assert len(result) <= 50
    assert any("BUDGET" in w for w in result.warnings)


def test_find_without_count_buys_what_the_budget_allows(vendors):
    result = vendors.execute("FIND leads WITH email, fico WHERE state = 'CA' FROM SOURCES cheap BUDGET 0.1")
    assert result.cost <= Decimal("0.1")
    assert 0 < len(result) <= 100
    assert set(r["fico"] is not None for r in result.to_arrow().to_pylist()) == {True}


def test_unknown_and_ill_typed_names(vendors):
    with pytest.raises(LeadQLError, match="unknown category `ficoo`") as info:
        vendors.execute("FIND 1 leads WITH email WHERE ficoo > 1 BUDGET 1")
    assert "fico" in info.value.hint
    with pytest.raises(LeadQLError, match="must be true or false"):
        vendors.execute("FIND 1 leads WITH email WHERE 1 + 1 BUDGET 1")
    with pytest.raises(LeadQLError, match="cannot call `sqrt`"):
        vendors.execute("FIND 1 leads WITH email WHERE sqrt(fico) > 20 BUDGET 1")


def test_progress_events_reach_the_callback(vendors):
    events = []
    vendors.progress = events.append
    vendors.scan_threads = 2
    vendors.execute("FIND 30 leads WITH email, fico, income BUDGET 5")
    stages = {e["stage"] for e in events}
    assert "buy" in stages and "lookup" in stages
    assert all(e["rows"] > 0 and e["source"] in {"cheap", "premium", "incomes"} for e in events)


def test_exclude_table_suppresses_by_email_and_by_phone_found_in_enrichment(vendors, tmp_path):
    people = _people()
    # do not contact: the first 100 people by email, the next 100 by phone (which only the
    # `incomes` source holds: the driver cannot see it, fusion must)
    rows = [{"email": p["email"], "phone": None} for p in people[:100]]
    rows += [{"email": None, "phone": p["phone"]} for p in people[100:200]]
    _write(tmp_path / "dnc.csv", rows)
    vendors.execute(f"CREATE TABLE dnc FROM '{tmp_path / 'dnc.csv'}' MAP (email = email, phone = phone)")
    result = vendors.execute("FIND 150 leads WITH email, phone, fico EXCLUDE TABLE dnc BUDGET 10")
    assert len(result) > 0
    blocked_emails = {p["email"] for p in people[:100]}
    blocked_phones = {p["phone"] for p in people[100:200]}
    for row in result.to_arrow().to_pylist():
        assert row["email"] not in blocked_emails
        assert row["phone"] not in blocked_phones


def test_exclude_of_unknown_names_fails_before_spending(vendors):
    with pytest.raises(LeadQLError, match="no table named `dcn`"):
        vendors.execute("FIND 10 leads WITH email EXCLUDE TABLE dcn BUDGET 5 ESTIMATE")
    assert vendors.execute("SELECT count(*) FROM _leadql.runs").rows[0][0] == 0
