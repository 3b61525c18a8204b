"""A FIND plan: which sources, in which roles, with what is expected of each, and the exact
re-scoring of a source set (the solver works on a linear surrogate; plans are compared on this).

Execution order: the *driver* is scanned first with every predicate it can evaluate pushed down,
buying candidates; each *enrichment* source is then asked only for the people already found
(vendors price per matched record), so it pays for matches, not for its whole file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from leadql.planner.estimates import Overlaps, SourceProfile, freshness_factor
from leadql.planner.expressions import Predicate

CENT = Decimal("0.01")


def money(value: Decimal | float) -> Decimal:
    """Dollars rounded up to the cent, for estimates shown to users."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_CEILING)


@dataclass
class SourceUse:
    name: str
    role: str  # "driver" | "enrich"
    pushed: list[Predicate]
    provides: list[str]  # categories it is the primary provider of
    reach: float  # share of the candidates it is expected to hold
    expected_records: float  # records bought (for enrichment: only those filling a gap)
    expected_cost: Decimal
    price_record: Decimal
    price_query: Decimal
    # driver only: required categories no other source of the plan can fill, so a record
    # without them could never be delivered; the scan asks for them to be present
    present: list[str] = field(default_factory=list)


@dataclass
class Plan:
    driver: str
    uses: list[SourceUse]
    candidates: float  # driver records to buy
    supply: float  # driver records matching its pushed predicates
    expected_count: float
    cost: Decimal  # expected money
    quality: float  # expected row quality
    completeness: dict[str, float]  # category → P(filled)
    post_selectivity: float  # share of complete candidates passing predicates not pushed to the driver
    post_predicates: list[Predicate]
    solver: dict[str, Any] = field(default_factory=dict)
    why_not: str | None = None  # for alternatives: why the chosen plan beat it
    completeness_target: float = 0.0
    conversion_index: float = 1.0  # the driver's realised conversion index (it decides who is bought)
    # the rounds expected after the driver runs out of matching records, each a plan for the leads
    # still missing through another driver (planner._follow_ups); what the executor switches to
    follow_ups: list[Plan] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return [u.name for u in self.uses]

    def use(self, name: str) -> SourceUse:
        return next(u for u in self.uses if u.name == name)

    @property
    def pushed_sql(self) -> frozenset[str]:
        """The SQL of the predicates pushed down to the driver: what it ran dry under."""
        return frozenset(p.sql for p in self.use(self.driver).pushed)

    @property
    def total_count(self) -> float:
        """Expected leads over this plan's round and its follow-up rounds."""
        return self.expected_count + sum(f.expected_count for f in self.follow_ups)

    @property
    def total_cost(self) -> Decimal:
        """Expected money over this plan's round and its follow-up rounds (their query fees too)."""
        return self.cost + sum((f.cost for f in self.follow_ups), Decimal(0))

    @property
    def total_quality(self) -> float:
        """Expected quality over all its rounds: each round's quality weighted by its leads."""
        rounds = [self, *self.follow_ups]
        leads = sum(r.expected_count for r in rounds)
        if leads <= 0:
            return self.quality
        return sum(r.quality * r.expected_count for r in rounds) / leads

    @property
    def yield_rate(self) -> float:
        return self.expected_count / self.candidates if self.candidates else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "driver": self.driver, "sources": self.sources, "candidates": round(self.candidates),
            "expected_count": round(self.expected_count), "cost": str(self.cost),
            "quality": round(self.quality, 4), "solver": self.solver,
            "follow_ups": [f.summary() for f in self.follow_ups],
            "completeness": {k: round(v, 4) for k, v in self.completeness.items()},
        }  # fmt: skip


def score(
    driver: SourceProfile,
    chosen: list[SourceProfile],
    *,
    required: tuple[str, ...],
    predicates: list[Predicate],
    pooled_selectivity: Any,
    count: int | None,
    budget: Decimal | None,
    quality_floor: float | None,
    overlaps: Overlaps,
) -> Plan:
    """Expected count, money and quality of buying through `driver` and enriching from the rest.

    Independence is assumed between sources' coverage, as in the linearisation; overlaps come
    from the ANALYZE sketches (reach of each source into the driver's people).
    """
    pushed = driver.pushable(predicates, quality_floor)
    post = [p for p in predicates if p not in pushed]
    supply = driver.rows * driver.pass_rate(pushed)
    # categories a pushed predicate is never true without (not `email IS NULL OR …`)
    pushed_categories = {c for p in pushed for c in p.filled}
    # (such a category is present already: NULL never passes its predicate)
    present = [k for k in _only_from_driver(driver, chosen, required, quality_floor)
               if k not in pushed_categories]  # fmt: skip
    for k in present:
        supply *= driver.fill.get(k, 0.0)
    pushed_categories |= set(present)
    reaches = {s.name: overlaps.reach(driver, s) for s in chosen}
    completeness: dict[str, float] = {}
    attribute_quality: dict[str, float] = {}
    provides: dict[str, list[str]] = {s.name: [] for s in chosen}
    fills: dict[str, dict[str, float]] = {s.name: {} for s in chosen}  # P(it has a usable value)
    for k in required:
        missing = 1.0
        best_q, best_source = 0.0, None
        for s in chosen:
            q = s.quality.get(k)
            if q is None:
                continue
            q *= freshness_factor(s.age_days)
            if quality_floor is not None and q < quality_floor:
                continue
            if s.name == driver.name:
                fill = 1.0 if k in pushed_categories else s.fill.get(k, 0.0)
            else:
                fill = reaches[s.name] * s.fill.get(k, 0.0)
            fills[s.name][k] = min(fill, 1.0)
            missing *= 1 - min(fill, 1.0)
            if q > best_q:
                best_q, best_source = q, s.name
        completeness[k] = 1 - missing
        attribute_quality[k] = best_q
        if best_source:
            provides[best_source].append(k)
    post_sel = pooled_selectivity(post)
    per_candidate = math.prod(completeness.values()) * post_sel
    # Enrichment is bought only for the candidates that can be completed and whose looked-up
    # values can pass the conditions on one category (the executor prunes the rest before buying),
    # and from each source only where it fills a gap the driver and the sources bought from
    # before it leave (best quality first).
    enriched = math.prod(completeness.values()) * pooled_selectivity([p for p in post if len(p.categories) == 1])
    shares = gap_shares(driver, chosen, fills, completeness)
    fees = sum((s.price_query for s in chosen), Decimal(0))
    per_record = driver.price_record + sum(
        (s.price_record * Decimal(str(round(enriched * shares[s.name], 6))) for s in chosen if s.name != driver.name),
        Decimal(0),
    )
    if count is not None:
        candidates = count / per_candidate if per_candidate > 0 else 0.0  # nothing would qualify
    else:
        candidates = supply if per_candidate > 0 else 0.0
    candidates = min(candidates, supply)
    if budget is not None and per_record > 0:
        affordable = float((budget - fees) / per_record) if budget > fees else 0.0
        candidates = min(candidates, max(0.0, affordable))
    candidates = float(math.floor(candidates))
    expected = candidates * per_candidate
    if count is not None:
        expected = min(expected, count)
    uses = []
    for s in chosen:
        role = "driver" if s.name == driver.name else "enrich"
        records = candidates if role == "driver" else candidates * enriched * shares[s.name]
        cost = s.price_query + s.price_record * Decimal(str(round(records, 3)))
        uses.append(SourceUse(s.name, role, pushed if role == "driver" else [], provides[s.name],
                              reaches[s.name], records, money(cost), s.price_record, s.price_query,
                              present if role == "driver" else []))  # fmt: skip
    uses.sort(key=lambda u: (u.role != "driver", u.name))
    total = money(sum((u.expected_cost for u in uses), Decimal(0)))
    if budget is not None and total > budget:
        total = budget  # the executor stops buying at the budget
    quality = sum(attribute_quality.values()) / len(attribute_quality) if attribute_quality else 0.0
    return Plan(driver.name, uses, candidates, supply, expected, total, quality, completeness,
                post_sel, post, conversion_index=driver.conversion_index)  # fmt: skip


def _only_from_driver(driver: SourceProfile, chosen: list[SourceProfile], required: tuple[str, ...],
                      quality_floor: float | None) -> list[str]:  # fmt: skip
    """Required categories that only the driver can fill among the chosen sources (with values
    good enough for the quality floor). A driver record without one of them is never delivered:
    no enrichment could complete it, and the same person's complete record is a candidate
    itself. Buying such records was pure loss — e.g. 221 records bought for 100 leads when half
    the driver's emails are empty, where ordering by completeness still ran past the complete
    ones."""

    def fills(s: SourceProfile, k: str) -> bool:
        q = s.quality.get(k)
        if q is None:
            return False
        return quality_floor is None or q * freshness_factor(s.age_days) >= quality_floor

    return [k for k in required if fills(driver, k)
            and not any(fills(s, k) for s in chosen if s.name != driver.name)]


def gap_shares(driver: SourceProfile, chosen: list[SourceProfile], fills: dict[str, dict[str, float]],
                completeness: dict[str, float]) -> dict[str, float]:  # fmt: skip
    """Per enrichment source, the share of the completable candidates it sells a record for: those
    missing some category it holds, after the driver and the sources bought from before it (the
    executor's order: best declared quality first). Of the people whose `k` gets filled, those
    filled first by `s` are P(nobody before s has k) × P(s has k) / P(anyone has k)."""
    order = sorted((s for s in chosen if s.name != driver.name),
                   key=lambda s: (-(float(s.defn.quality) if s.defn.quality is not None else 0.0), s.name))  # fmt: skip
    missing = {k: 1 - fills[driver.name].get(k, 0.0) for k in completeness}
    shares = {}
    for s in order:
        none = 1.0
        for k, f in fills[s.name].items():
            if completeness[k] > 0:
                none *= 1 - min(1.0, missing[k] * f / completeness[k])
            missing[k] *= 1 - f
        shares[s.name] = 1 - none
    return shares
