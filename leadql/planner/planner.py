"""Planning a FIND: statistics → eligible sources → solver sweeps → scored alternatives → choice.

The solver (selection.py) picks enrichment sources for a fixed driver and completeness level; this
module sweeps drivers and levels, scores every distinct source set exactly (plan.py), and chooses
by the OPTIMIZE FOR objective. Constraints no plan can meet raise an error naming the binding
constraint and the best achievable value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from leadql.catalog.definitions import DataDef
from leadql.context import Context
from leadql.errors import LeadQLConstraintError, LeadQLError
from leadql.planner import selection
from leadql.planner.binding import BoundFind
from leadql.planner.estimates import (
    DEFAULT_SELECTIVITY,
    Overlaps,
    SourceProfile,
    freshness_factor,
    profile,
    selectivity,
)
from leadql.planner.expressions import Predicate
from leadql.planner.plan import Plan, gap_shares, money, score

# Completeness targets, as shares of the best each category can reach with every usable source:
# low levels buy more candidates and enrich less, high levels the reverse.
COMPLETENESS_LEVELS = (0.5, 0.8, 0.95)
MAX_COMPLETENESS = 0.995
MAX_DRIVERS = 4
ALTERNATIVES_PER_SOLVE = 2
PLANNING_SECONDS = 2.0
MAX_FOLLOW_UPS = 3  # follow-up rounds estimated after the driver runs out
SHOWN_ALTERNATIVES = 4
COMPOSED = 3  # plans besides the best that get their follow-up rounds when they run dry (_compose)
IDENTITY = ("email", "phone", "first_name", "last_name")


@dataclass
class Planning:
    chosen: Plan
    alternatives: list[Plan]
    profiles: dict[str, SourceProfile]
    excluded: dict[str, str]  # source → why it was not considered
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    solves: int = 0
    shortfall: list[str] = field(default_factory=list)  # expected: fewer leads than asked for, and why


def profiles_for(ctx: Context, bound: BoundFind) -> tuple[dict[str, SourceProfile], list[str]]:
    """Every pool source's profile; sources never analysed are analysed now (and the statistics
    kept, unless the workspace is read-only)."""
    from leadql.catalog.analyze import collect

    catalog = ctx.catalog
    out, warnings = {}, []
    missing: list[DataDef] = []
    for defn in bound.pool:
        stats = catalog.statistics(defn.name)
        if stats is None:
            missing.append(defn)
            continue
        out[defn.name] = profile(defn, stats[1], stats[2], bound.today)
    for defn in missing:
        stats = collect(ctx, defn)
        if not ctx.ws.read_only:
            catalog.save_statistics(defn.name, stats["row_count"], stats)
        out[defn.name] = profile(defn, stats["row_count"], stats, bound.today)
        warnings.append(f"source {defn.name} had no statistics; analysed it now (ANALYZE keeps them fresh)")
    _add_evidence(ctx, out)
    return out, warnings


def _add_evidence(ctx: Context, profiles: dict[str, SourceProfile]) -> None:
    """Each source's realised conversion index from recorded outcomes (skipped when none)."""
    from leadql.feedback.evidence import source_evidence

    evidence = source_evidence(ctx.con)
    for name, p in profiles.items():
        e = evidence.get(name.lower())
        if e is not None:
            p.conversion_index, p.realised_index, p.evidence_leads = e.planning_index, e.index, e.leads


def plan_find(ctx: Context, bound: BoundFind, *, exclude_sources: frozenset[str] = frozenset(),
              budget: Decimal | None = None, count: int | None = None,
              not_drivers: frozenset[str] = frozenset(), follow: bool = True,
              seconds: float = PLANNING_SECONDS,
              profiled: tuple[dict[str, SourceProfile], list[str]] | None = None) -> Planning:  # fmt: skip
    """Plans for `bound`. `exclude_sources`, `budget` and `count` let the executor re-plan after a
    failure with what is left. With `follow`, a chosen plan whose driver is expected to run out
    of matching records before `count` gets its follow-up rounds (`Plan.follow_ups`).
    `profiled`: the profiles (and their warnings) of an earlier call, not read again."""
    started = time.perf_counter()
    profiles, warnings = profiled or profiles_for(ctx, bound)
    warnings = list(bound.warnings) + warnings
    budget = bound.budget if budget is None else budget
    count = bound.count if count is None else count
    excluded: dict[str, str] = {n: "failed during this run" for n in exclude_sources}
    usable: dict[str, SourceProfile] = {}
    for name, p in profiles.items():
        if name in excluded:
            continue
        if not p.categories & set(bound.required):
            excluded[name] = "holds none of the categories asked for"
        elif bound.fresher_than_days is not None and (p.age_days is None or p.age_days > bound.fresher_than_days):
            excluded[name] = ("has no UPDATED date" if p.age_days is None
                              else f"updated {p.defn.updated}, {p.age_days:.0f} days ago")  # fmt: skip
        elif not p.categories & set(IDENTITY):
            excluded[name] = "holds no identity (email, phone or name) to match people by"
        else:
            usable[name] = p
    _check_reachable(ctx, bound, profiles, usable, excluded)

    pooled = _pooled_selectivity(bound, usable)
    overlaps = Overlaps(usable)
    rescore = _scorer(bound, usable, pooled, overlaps)
    drivers = _drivers(bound, usable, pooled, not_drivers)
    if not drivers:
        raise LeadQLConstraintError(
            "no source holds people matching the conditions", span=bound.statement.span, text=bound.text,
            hint="ANALYZE the sources if their data changed; loosen the WHERE conditions",
        )  # fmt: skip

    plans: dict[tuple[str, frozenset[str]], Plan] = {}
    solves = 0
    per_solve = seconds / max(1, len(drivers) * len(COMPLETENESS_LEVELS))
    for driver in drivers:
        for level in COMPLETENESS_LEVELS:
            problem, names = _problem(bound, driver, usable, level, pooled, count, budget, overlaps)
            if problem is None:
                continue
            solutions = selection.alternatives(problem, ALTERNATIVES_PER_SOLVE, time_limit=per_solve)
            solves += len(solutions)
            if not solutions:  # nothing meets this level within the budget: try without the budget
                problem.budget = None
                solutions = selection.alternatives(problem, 1, time_limit=per_solve)
            for sol in solutions:
                chosen = [usable[names[i]] for i in sol.chosen]
                key = (driver.name, frozenset(s.name for s in chosen))
                if key in plans:
                    continue
                plan = rescore(driver.name, [s.name for s in chosen], count, budget)
                plan.completeness_target = level
                plan.solver = {"method": sol.method, "status": sol.status, "gap": round(sol.gap, 4),
                               "seconds": round(sol.seconds, 4), "candidates": sol.considered,
                               "notes": sol.notes}  # fmt: skip
                plans[key] = plan
    if not plans:
        raise LeadQLConstraintError(
            "no set of sources covers every category asked for", span=bound.statement.span,
            text=bound.text, hint="EXPLAIN shows which sources hold what",
        )  # fmt: skip
    if not_drivers:  # drivers that ran dry: the people they hold were found then
        found = max(p.expected_count for p in plans.values())
        for plan in plans.values():
            plan.expected_count *= unseen_share(profiles, plan.driver, not_drivers)
        if found >= 1 and max(p.expected_count for p in plans.values()) < 1:
            raise LeadQLConstraintError(
                "the other sources hold nobody matching the request who was not found through "
                f"{', '.join(sorted(not_drivers))} already",
                span=bound.statement.span, text=bound.text,
                hint="add a source with other people, or loosen the WHERE conditions",
            )  # fmt: skip
    knows = _pattern_knowledge(bound, usable)
    ranked = _rank(list(plans.values()), bound.optimize, count, knows)
    if max(p.expected_count for p in ranked) < 1:
        _nothing_to_buy(bound, ranked, rescore, budget, warnings, usable)
    if follow and count is not None:
        def follow_ups(plan: Plan) -> list[Plan]:
            return _follow_ups(ctx, bound, plan, count, budget, exclude_sources, not_drivers,
                               (profiles, []), excluded)  # fmt: skip

        ranked = _compose(ranked, count, follow_ups, lambda ps: _rank(ps, bound.optimize, count, knows),
                          deadline=started + PLANNING_SECONDS)  # fmt: skip
    chosen, rest = ranked[0], ranked[1:SHOWN_ALTERNATIVES + 1]
    for alt in rest:
        alt.why_not = _why_not(chosen, alt, bound.optimize, count)
    shortfall = _shortfall(chosen, count, budget, rescore)
    return Planning(chosen, rest, profiles, excluded, warnings, time.perf_counter() - started, solves,
                    shortfall)  # fmt: skip


# ------------------------------------------------------------------------ pieces


def _check_reachable(ctx: Context, bound: BoundFind, profiles: dict[str, SourceProfile],
                     usable: dict[str, SourceProfile], excluded: dict[str, str]) -> None:  # fmt: skip
    """Every required category needs a usable source at the quality floor; otherwise say which
    constraint binds and what is the best achievable."""
    stmt = bound.statement
    for k in bound.required:
        holders = [p for p in profiles.values() if k in p.categories]
        if not holders:
            where = "in FROM SOURCES" if bound.statement.clauses.sources else "in the catalog"
            raise LeadQLConstraintError(
                f"no source {where} sells `{k}`", span=stmt.span, text=bound.text,
                hint="SHOW SOURCES lists what each source holds; CREATE SOURCE … MAP (" + k + " = …) adds one",
            )  # fmt: skip
        fresh = [p for p in holders if p.name in usable]
        if not fresh:
            if bound.fresher_than_days is not None:
                freshest = min((p for p in holders if p.age_days is not None), key=lambda p: p.age_days,
                               default=None)  # fmt: skip
                best = (f"the freshest source holding it ({freshest.name}) was updated "
                        f"{freshest.defn.updated}, {freshest.age_days:.0f} days ago" if freshest
                        else "no source holding it has an UPDATED date")  # fmt: skip
                span = stmt.clauses.fresher_than.span if stmt.clauses.fresher_than else stmt.span
                raise LeadQLConstraintError(
                    f"FRESHER THAN {bound.fresher_than_days:g} DAYS is not reachable for `{k}`: {best}",
                    span=span, text=bound.text, hint="allow older data or add a fresher source",
                )  # fmt: skip
            reasons = "; ".join(f"{p.name} {excluded.get(p.name, '')}" for p in holders)
            raise LeadQLConstraintError(f"no usable source holds `{k}` ({reasons})",
                                        span=stmt.span, text=bound.text)  # fmt: skip
        if bound.quality is not None:
            best = max(fresh, key=lambda p: p.quality[k] * freshness_factor(p.age_days))
            value = best.quality[k] * freshness_factor(best.age_days)
            if value < bound.quality:
                q = stmt.clauses.quality
                raise LeadQLConstraintError(
                    f"QUALITY >= {bound.quality:g} is not reachable for `{k}`: best source quality is "
                    f"{math.floor(value * 1000) / 1000:g} ({best.name})",
                    span=getattr(q, "span", None) or stmt.span, text=bound.text,
                    hint=f"lower QUALITY to {math.floor(value * 100) / 100:g} or add a better source of {k}",
                )  # fmt: skip


def _pooled_selectivity(bound: BoundFind, usable: dict[str, SourceProfile]) -> Any:
    """Selectivity of predicates evaluated after fusion: judged on the statistics of the
    best-quality source holding each predicate's categories."""
    def pooled(predicates: list[Predicate]) -> float:
        rate = 1.0
        for p in predicates:
            holders = [s for s in usable.values() if s.holds(p)]
            if not holders:
                rate *= DEFAULT_SELECTIVITY
                continue
            best = max(holders, key=lambda s: (min(s.quality.get(c, 0) for c in p.categories), s.rows))
            rate *= selectivity(p.node, best.stats.get("categories", {}), p.values)
        return rate

    return pooled


def _drivers(bound: BoundFind, usable: dict[str, SourceProfile], pooled: Any,
             not_drivers: frozenset[str] = frozenset()) -> list[SourceProfile]:
    """The most promising drivers: cheapest expected price per delivered lead if that source
    were read alone (predicates it cannot evaluate judged pooled), plus the largest supply."""
    ranked = []
    for p in usable.values():
        if p.name in not_drivers:
            continue
        pushed = p.pushable(bound.predicates, bound.quality)
        supply = p.rows * p.pass_rate(pushed)
        if supply < 1:
            continue
        post = [q for q in bound.predicates if q not in pushed]
        held = sum(1 for k in bound.required if k in p.categories)
        share = pooled(post) * (0.6 ** (len(bound.required) - held))
        leads = max(1.0, float(bound.count or supply * share or 1))
        per_lead = (float(p.price_record) + 1e-9) / max(share, 1e-9) + float(p.price_query) / leads
        ranked.append((per_lead, -supply, p.name, p, supply))
    ranked.sort(key=lambda r: r[:3])
    chosen = [r[3] for r in ranked[:MAX_DRIVERS]]
    biggest = max(ranked, key=lambda r: r[4], default=None)
    if biggest is not None and biggest[3] not in chosen:
        chosen.append(biggest[3])
    return chosen


def _problem(bound: BoundFind, driver: SourceProfile, usable: dict[str, SourceProfile], level: float,
             pooled: Any, count: int | None, budget: Decimal | None,
             overlaps: Overlaps) -> tuple[Any, list[str]]:  # fmt: skip
    pushed = driver.pushable(bound.predicates, bound.quality)
    post = [p for p in bound.predicates if p not in pushed]
    pushed_categories = {c for p in pushed for c in p.filled}
    supply = driver.rows * driver.pass_rate(pushed)
    names, cands = [], []
    for p in usable.values():
        is_driver = p.name == driver.name
        r = 1.0 if is_driver else overlaps.reach(driver, p)
        if not is_driver and r <= 0:
            continue
        fill, quality = {}, {}
        for k in bound.required:
            if k not in p.categories:
                continue
            q = p.quality[k] * freshness_factor(p.age_days)
            if bound.quality is not None and q < bound.quality:
                continue
            quality[k] = q
            fill[k] = 1.0 if is_driver and k in pushed_categories else r * p.fill.get(k, 0.0)
        if not quality and not is_driver:
            continue
        names.append(p.name)
        cands.append((p, r, fill, quality, is_driver))
    if not any(c[4] for c in cands):
        return None, names
    # τ_k: this level's share of the best completeness all usable sources together could reach.
    completeness = {}
    for k in bound.required:
        missing = math.prod(1 - min(fill.get(k, 0.0), selection.MAX_FILL) for _, _, fill, _, _ in cands)
        completeness[k] = min(MAX_COMPLETENESS, (1 - missing) * (1.0 if k in pushed_categories else level))
    share = math.prod(completeness.values()) * pooled(post)
    candidates = min(supply, count / share) if count is not None and share > 0 else supply
    # Enrichment records, as plan.score buys them: for the completable candidates, where the
    # source fills a gap the driver leaves (the gaps other enrichment sources fill are ignored
    # to keep the cost linear: an upper bound).
    enriched = math.prod(completeness.values()) * pooled([p for p in post if len(p.categories) == 1])
    driver_fill = next(fill for _, _, fill, _, is_driver in cands if is_driver)
    models = []
    for p, _, fill, quality, is_driver in cands:
        if is_driver:
            records = candidates
        else:
            gap = gap_shares(driver, [driver, p], {driver.name: driver_fill, p.name: fill}, completeness)
            records = candidates * enriched * gap[p.name]
        cost = p.price_query + p.price_record * Decimal(str(round(records, 3)))
        micro = min(int(cost * selection.MONEY_SCALE), 2**62)  # the solver's integers are 64-bit
        models.append(selection.Candidate(p.name, micro, fill, quality,
                                          forced=is_driver))  # fmt: skip
    limit = int(budget * selection.MONEY_SCALE) if budget is not None and count is not None else None
    return selection.Problem(models, list(bound.required), completeness, limit,
                             "QUALITY" if bound.optimize == "QUALITY" else "COST"), names


def _pattern_knowledge(bound: BoundFind, usable: dict[str, SourceProfile]) -> Any:
    """MATCHING / LIKE without an explicit OPTIMIZE FOR COST: plans whose driver knows more of
    what the pattern weighs rank first (in steps of 10%), then by the objective. The driver's
    records are bought in the pattern's order, so a driver that knows the pattern buys better
    leads for the same money."""
    scorer = bound.scorer
    if scorer is None or bound.statement.clauses.optimize == "COST":
        return None
    return lambda plan: round(scorer.pattern.coverage(set(usable[plan.driver].categories)), 1)


def _rank(plans: list[Plan], objective: str, count: int | None, knows: Any = None) -> list[Plan]:
    """Best first. Plans expected to deliver the count compete on the objective; when none can,
    plans within 5% of the largest expected count do (a few leads more are not worth any price)."""
    best_count = max(p.total_count for p in plans)
    target = count * 0.98 if count is not None else best_count * 0.95
    if count is not None and best_count < target:
        target = best_count * 0.95

    def meets(p: Plan) -> bool:
        return p.total_count >= target

    def per_convert(p: Plan) -> Decimal:  # money per expected converting lead
        return p.total_cost / Decimal(str(max(p.conversion_index, 1e-6)))

    if objective == "QUALITY":
        key: Any = lambda p: (not meets(p), -round(p.total_quality, 3), -round(p.conversion_index, 3),  # noqa: E731
                              p.total_cost, -p.total_count)
    elif objective == "COUNT":
        key = lambda p: (-round(p.total_count), -round(p.conversion_index, 3), p.total_cost, -p.total_quality)  # noqa: E731
    else:
        key = lambda p: (not meets(p), per_convert(p) if meets(p) else -p.total_count, -p.total_quality)  # noqa: E731
    if knows is not None:
        return sorted(plans, key=lambda p: (not meets(p), -knows(p), *key(p), p.driver, tuple(p.sources)))
    return sorted(plans, key=lambda p: (*key(p), p.driver, tuple(p.sources)))


def _compose(ranked: list[Plan], count: int, follow_ups: Any, rank: Any, *, deadline: float) -> list[Plan]:
    """`ranked` ranked again on what each plan delivers with its follow-up rounds. A plan whose
    driver runs out short of the count is not only what its own round buys: the executor goes on
    through the next driver. So the best plan and up to COMPOSED others that would run dry and
    cost less per lead get their follow-up rounds, and all compete on their totals. (Sample data,
    400 leads with BUDGET 200: one driver with an expensive extra source, $179, lost to a
    cheap driver that ran dry then two more drivers.) Plans that are not tried stay one round."""

    def per_lead(p: Plan) -> Decimal:
        return p.cost / Decimal(str(max(p.expected_count, 1e-9)))

    best = ranked[0]
    tried = [best] + sorted((p for p in ranked[1:] if _runs_dry_short(p, count) and p.expected_count >= 1
                             and per_lead(p) < per_lead(best)), key=per_lead)[:COMPOSED]  # fmt: skip
    took = 0.0
    for i, plan in enumerate(tried):
        # the best plan always gets its rounds; another only if as long again fits the deadline
        if i and time.perf_counter() + took > deadline:
            break
        if _runs_dry_short(plan, count):
            started = time.perf_counter()
            plan.follow_ups = follow_ups(plan)
            took = max(took, time.perf_counter() - started)
    return rank(ranked) if len(tried) > 1 else ranked


def _scorer(bound: BoundFind, usable: dict[str, SourceProfile], pooled: Any, overlaps: Overlaps) -> Any:
    """score() for this request: (driver, sources, count, budget) → the exactly scored Plan."""
    # MIN SCORE keeps only the share of the pool the pattern scores that high (from its background).
    scorer = bound.scorer
    passing = scorer.pattern.share_above(scorer.min_score) if scorer and scorer.min_score is not None else 1.0
    selectivity = pooled if passing >= 1.0 else (lambda predicates: pooled(predicates) * passing)

    def rescore(driver: str, sources: list[str], count: int | None, budget: Decimal | None) -> Plan:
        return score(usable[driver], [usable[n] for n in sources], required=bound.required,
                     predicates=bound.predicates, pooled_selectivity=selectivity, count=count,
                     budget=budget, quality_floor=bound.quality, overlaps=overlaps)  # fmt: skip

    return rescore


def _nothing_to_buy(bound: BoundFind, plans: list[Plan], rescore: Any, budget: Decimal | None,
                    warnings: list[str], usable: dict[str, SourceProfile]) -> None:  # fmt: skip
    """No plan delivers a lead: say whether the conditions or the budget are to blame (an error
    for FIND, a warning for ESTIMATE)."""
    one = [rescore(p.driver, p.sources, 1, None) for p in plans]
    possible = [p for p in one if p.candidates >= 1 and p.expected_count > 0]
    stmt = bound.statement
    empty = [k for k in bound.required if all(u.fill.get(k, 0.0) <= 0 for u in usable.values())]
    if not possible and empty:  # a WITH category nobody holds a value of
        named = next((a for a in stmt.clauses.attributes if a.value.lower() == empty[0].lower()), None)
        error = LeadQLConstraintError(
            f"no lead can satisfy the request: no usable source holds a value of {empty[0]}",
            span=named.span if named is not None else stmt.span, text=bound.text,
            hint=f"drop {empty[0]} from WITH, or add a source that fills it; ANALYZE if the data changed",
        )  # fmt: skip
    elif not possible:
        error = LeadQLConstraintError(
            "no lead can satisfy the request: the sources hold no people matching "
            + (bound.where_text or "it"),
            span=stmt.clauses.where.span if stmt.clauses.where is not None else stmt.span, text=bound.text,
            hint="check the conditions against DESCRIBE SOURCE's ranges; ANALYZE if the data changed",
        )  # fmt: skip
    else:
        cheapest = min(possible, key=lambda p: p.cost)
        fees = sum((u.price_query for u in cheapest.uses), Decimal(0))
        clause = stmt.clauses.budget
        error = LeadQLConstraintError(
            f"BUDGET {budget} cannot buy a single lead: the cheapest plan ({', '.join(cheapest.sources)}) "
            f"needs about ${cheapest.cost}" + (f", ${fees} of it in query fees" if fees else ""),
            span=clause.span if clause is not None else stmt.span, text=bound.text,
            hint=f"raise the BUDGET to at least ${cheapest.cost}, or allow other sources",
        )  # fmt: skip
    if not bound.estimate:
        raise error
    warnings.append(error.message)


def _why_not(chosen: Plan, alt: Plan, objective: str, count: int | None) -> str:
    """Why `alt` lost to `chosen`, on what each delivers over all its rounds."""
    reasons = []
    leads, theirs = chosen.total_count, alt.total_count
    if count is not None and theirs < min(count, leads) * 0.98:
        reasons.append(f"expects {theirs:,.0f} leads, not {min(count, leads):,.0f}")
    elif theirs < leads * 0.98:
        reasons.append(f"expects fewer leads ({theirs:,.0f} vs {leads:,.0f})")
    if alt.total_cost > chosen.total_cost:
        reasons.append(f"costs ${alt.total_cost - chosen.total_cost:,.2f} more")
    if alt.total_quality < chosen.total_quality - 0.0005:
        reasons.append(f"quality {alt.total_quality:.3f} < {chosen.total_quality:.3f}")
    if alt.conversion_index < chosen.conversion_index - 0.005:
        reasons.append(f"its driver's leads convert less (realised index {alt.conversion_index:.2f} "
                       f"< {chosen.conversion_index:.2f})")  # fmt: skip
    if not reasons:
        if objective == "QUALITY" and alt.quality <= chosen.quality:
            reasons.append("no better quality")
        else:
            reasons.append("tied; chosen by name order")
    return "; ".join(reasons)


def _about(expected: float) -> int:
    """An expected count as the whole number of leads the message shows ("about 5 of 5"): a
    shortfall is warned of only when that number is short."""
    return round(expected)


def _runs_dry_short(plan: Plan, count: int) -> bool:
    """Is `plan` expected to buy all its driver's matching records and still fall short of
    `count` leads (so that a follow-up round comes after it)?"""
    return plan.supply > 0 and plan.candidates >= math.floor(plan.supply) and _about(plan.expected_count) < count


def _follow_ups(ctx: Context, bound: BoundFind, chosen: Plan, count: int, budget: Decimal | None,
                exclude: frozenset[str], not_drivers: frozenset[str],
                profiled: tuple[dict[str, SourceProfile], list[str]], excluded: dict[str, str]) -> list[Plan]:  # fmt: skip
    """The rounds a run is expected to need after `chosen`'s driver runs out of matching records:
    each the best plan for the leads still missing, with the money left, through a driver not
    used yet — the plan the executor switches to. Without them the estimate left out the extra
    rounds and their query fees: 60 leads for $5.60 (and a shortfall warning), where the run
    delivered 100 for $11.00. No round follows once some condition has no supplier left (see
    `supply_exhausted`): the estimate used to count 495 more leads for $50.59 through a driver
    whose people could get `fico` only from the driver that had run dry. A round's leads are
    discounted by the share of its driver's people the drivers before it hold."""
    out: list[Plan] = []
    plan, drivers_out = chosen, set(not_drivers)
    exhausted_under: dict[str, frozenset[str]] = {}
    profiles = profiled[0]
    while len(out) < MAX_FOLLOW_UPS:
        if not _runs_dry_short(plan, count):
            break
        count = math.ceil(count - plan.expected_count)
        if budget is not None:
            budget -= plan.cost
            if budget <= 0:
                break
        drivers_out.add(plan.driver)
        exhausted_under[plan.driver] = plan.pushed_sql
        if supply_exhausted(bound.predicates, profiles, excluded, exhausted_under):
            break
        try:
            plan = plan_find(ctx, bound, exclude_sources=exclude, budget=budget, count=count,
                             not_drivers=frozenset(drivers_out), follow=False,
                             seconds=PLANNING_SECONDS / (2 * MAX_FOLLOW_UPS), profiled=profiled).chosen  # fmt: skip
        except LeadQLError:  # no other driver holds anyone: the run stops short
            break
        if plan.expected_count < 1:  # (counted on the people the drivers before it do not hold)
            break
        if not out and bound.scorer is None:
            plan = topped_up(chosen, plan)
        out.append(plan)
    return out


def tops_up(first: Plan, follow: Plan) -> bool:
    """Can `follow`'s driver be scanned in `first`'s round, before its look-ups? Yes when `first`
    uses every enrichment source of `follow` (one look-up serves both drivers' people) and one of
    them charges per query (a round of its own would pay that again)."""
    enrichers = [u for u in first.uses if u.role == "enrich"]
    theirs = {u.name for u in follow.uses if u.role == "enrich"}
    return theirs <= {u.name for u in enrichers} and any(u.price_query > 0 for u in enrichers)


def topped_up(first: Plan, follow: Plan) -> Plan:
    """`follow` as the executor runs it right after `first`'s driver ran dry: when `first` uses
    every enrichment source of `follow` and one of them charges per query, the follow-up driver is
    scanned in `first`'s round, before its look-ups (`FindRun._top_up`), so those fees are paid
    once: the follow-up's estimate leaves them out."""
    if not tops_up(first, follow):
        return follow
    theirs = [u for u in follow.uses if u.role == "enrich"]
    uses = [replace(u, expected_cost=max(Decimal(0), u.expected_cost - u.price_query)) if u.role == "enrich" else u
            for u in follow.uses]  # fmt: skip
    shared = sum((u.price_query for u in theirs), Decimal(0))
    return replace(follow, uses=uses, cost=max(Decimal(0), follow.cost - shared))


def unseen_share(profiles: dict[str, SourceProfile], driver: str, drivers_out: Iterable[str]) -> float:
    """The share of `driver`'s people that none of `drivers_out` holds. Those drivers ran dry under
    their pushed conditions, which every lead meets, so the people they hold were found then:
    a round through `driver` finds only the rest. Only a measured overlap counts (ANALYZE's
    strong-key sketches): assuming independence would discount disjoint vendors."""
    return math.prod(1 - (Overlaps.key_reach(profiles[driver], profiles[d]) or 0.0)
                     for d in drivers_out if d in profiles and d != driver)  # fmt: skip


def supply_exhausted(predicates: list[Predicate], profiles: dict[str, SourceProfile],
                     excluded: dict[str, str] | set[str], exhausted_under: dict[str, frozenset[str]],
                     failed: set[str] | frozenset[str] = frozenset()) -> bool:  # fmt: skip
    """True when some predicate can no longer be met by anyone new: every source able to evaluate
    it (and not excluded) failed or ran dry as a driver with it pushed down (`exhausted_under`:
    driver → the SQL of its pushed predicates). Another driver would only find people whose values
    for it must come from those sources, and every one of theirs that passes was found already."""
    for predicate in predicates:
        suppliers = [name for name, profile in profiles.items()
                     if predicate.categories <= profile.categories and name not in excluded]  # fmt: skip
        if suppliers and all(name in failed or predicate.sql in exhausted_under.get(name, ())
                             for name in suppliers):  # fmt: skip
            return True
    return False


def _shortfall(chosen: Plan, count: int | None, budget: Decimal | None, rescore: Any) -> list[str]:
    if count is None or _about(chosen.total_count) >= count:
        return []
    unlimited = rescore(chosen.driver, chosen.sources, count, None)
    expected = _about(chosen.total_count)
    if _about(unlimited.expected_count) >= count and budget is not None and not chosen.follow_ups:
        return [f"BUDGET {budget} buys about {expected:,} of the {count:,} leads asked for; "
                f"about ${money(unlimited.cost):,} would buy them all"]
    return [f"the sources hold about {expected:,} leads matching the request, "
            f"fewer than the {count:,} asked for"]
