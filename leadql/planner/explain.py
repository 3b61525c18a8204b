"""EXPLAIN, EXPLAIN ANALYZE and ESTIMATE output for FIND.

EXPLAIN prints the chosen plan as named steps with per-step estimates, the alternatives and why
each lost, and the sources left out; EXPLAIN ANALYZE runs the plan and adds what each step actually
did. ESTIMATE returns the plans as a table: a quote, nothing bought.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from leadql.planner.binding import BoundFind
from leadql.planner.plan import money
from leadql.planner.planner import Planning, tops_up
from leadql.result import Result


def estimate_result(bound: BoundFind, planning: Planning) -> Result:
    rows = []
    for rank, plan in enumerate([planning.chosen, *planning.alternatives], start=1):
        rows.append((
            rank, rank == 1, plan.driver, ", ".join(plan.sources), round(plan.total_count),
            float(plan.total_cost), round(plan.total_quality, 4), round(plan.candidates),
            plan.solver.get("status"), plan.why_not, 1 + len(plan.follow_ups),
        ))  # fmt: skip
    names = ["rank", "chosen", "driver", "sources", "expected_leads", "estimated_cost", "quality",
             "records_to_buy", "solver", "why_not", "rounds"]  # fmt: skip
    chosen = planning.chosen
    asked = f" of {bound.count:,}" if bound.count is not None else ""
    sources = list(dict.fromkeys(s for p in [chosen, *chosen.follow_ups] for s in p.sources))
    rounds = f" in {1 + len(chosen.follow_ups)} rounds" if chosen.follow_ups else ""
    message = (f"estimate: about {chosen.total_count:,.0f}{asked} leads for about ${chosen.total_cost}{rounds} "
               f"from {', '.join(sources)} (nothing bought)")  # fmt: skip
    return Result.from_rows(names, rows, message=message, warnings=list(planning.warnings) + planning.shortfall,
                            plan=chosen, cost=Decimal(0))  # fmt: skip


def explain_lines(bound: BoundFind, planning: Planning, state: Any = None) -> list[str]:
    # after a run, the plan it started with (re-plans are listed below the steps)
    plan = planning.chosen if state is None else (state.first_plan or state.plan)
    alternatives = planning.alternatives if state is None else state.first_alternatives
    lines = [_one_line(bound.statement.text or bound.text)]
    asked = f" of {bound.count:,}" if bound.count is not None else ""
    solver = plan.solver
    lines.append(f"Chosen plan: driver {plan.driver}; sources {', '.join(plan.sources)}")
    lines.append(
        f"  expected {plan.total_count:,.0f}{asked} leads, cost ${plan.total_cost}, quality {plan.total_quality:.3f}; "
        f"buys about {plan.candidates:,.0f} of {plan.supply:,.0f} matching {plan.driver} records"
    )  # fmt: skip
    before = plan
    for after in plan.follow_ups:
        if before is plan and bound.scorer is None and tops_up(plan, after):  # (planner.topped_up)
            fees = "scanned in the same round, before the look-ups: their query fees are paid once"
        else:
            fees = f"its query fees ${sum((u.price_query for u in after.uses), Decimal(0))}"
        lines.append(
            f"  then, when {before.driver} runs out (about {before.expected_count:,.0f} leads): driver {after.driver}; "
            f"sources {', '.join(after.sources)}: about {after.expected_count:,.0f} more leads for ${after.cost} "
            f"({fees})"
        )  # fmt: skip
        before = after
    if solver:
        lines.append(
            f"  solver: {solver.get('method')} {solver.get('status')}, optimality gap {solver.get('gap', 0):.1%}, "
            f"{solver.get('seconds', 0):.3f}s over {solver.get('candidates')} candidate sources; "
            f"planning {planning.seconds:.2f}s, {planning.solves} solves"
        )  # fmt: skip
        for note in solver.get("notes") or []:
            lines.append(f"  solver: {note}")
    scorer = bound.scorer
    if scorer is not None:
        pattern = scorer.pattern
        knows = pattern.coverage(set(planning.profiles[plan.driver].categories)) if plan.driver in planning.profiles else 0.0
        line = (f"Pattern: {scorer.label} ({pattern.algorithm} on {', '.join(pattern.categories)}); "
                f"driver {plan.driver} knows {knows:.0%} of its weight")  # fmt: skip
        if scorer.min_score is not None:
            line += f"; MIN SCORE {scorer.min_score:g} keeps ~{pattern.share_above(scorer.min_score):.0%} of the pool"
        lines.append(line)
    evidence = sorted((p.name, p.realised_index, p.evidence_leads, p.conversion_index != 1.0)
                      for p in planning.profiles.values() if p.evidence_leads)  # fmt: skip
    if evidence:
        lines.append("Realised conversion (index vs average, from recorded outcomes): " + ", ".join(
            f"{n} {i:.2f} ({k:,} leads{'' if used else ', not decisive yet'})" for n, i, k, used in evidence))
    # each plan's steps: the first plan's until the first re-plan, and so on
    cuts = [r[4] for r in state.replans] if state is not None else []
    steps = list(state.steps) if state is not None else []
    bounds = list(zip([0, *cuts], [*cuts, len(steps)], strict=True))
    actual = _actuals(steps[: bounds[0][1]], [])
    lines.append("Steps:")
    step = 0

    def add(text: str, key: str | None = None) -> None:
        nonlocal step
        line = f"  r{step} := {text}"
        if state is not None and key is not None:
            line += "  | actual: " + actual.get(key, "not run")
        lines.append(line)
        step += 1

    driver = plan.use(plan.driver)
    filters = " AND ".join([p.text(bound.text) for p in driver.pushed]
                           + [f"{k} IS NOT NULL" for k in driver.present]) or "none"
    suppress = ""
    if bound.exclusions:
        suppress = " minus " + ", ".join(f"{k} {n}" for k, n in bound.exclusions)
    order = "completeness, pattern score" if scorer is not None else "completeness"
    add(f"Scan[{plan.driver}] filters=({filters}){suppress} order={order} limit≈{plan.candidates:,.0f}"
        f"  est rows {plan.candidates:,.0f}, cost ${driver.expected_cost}", f"Scan[{plan.driver}]")
    enrichers = [u for u in plan.uses if u.role == "enrich"]
    for use in enrichers:
        provides = ", ".join(use.provides) or "corroboration"
        add(f"Lookup[{use.name}] records sharing an identity key with r0 (email, phone, zip+initial, "
            f"name+birth date) for {provides}"
            f"  est matches {plan.candidates * use.reach:,.0f} (reach {use.reach:.0%})",
            f"Lookup[{use.name}]")  # fmt: skip
    add("Resolve[all records] exact email/phone links, then Fellegi–Sunter (Splink) on names, birth date, "
        "address", "Resolve")
    if scorer is not None:
        keep = f" ≥ MIN SCORE {scorer.min_score:g}" if scorer.min_score is not None else ""
        add(f"Score[pattern {scorer.label}] every candidate on the values held or looked up; enrich only the "
            f"best{keep}", "Score")  # fmt: skip
    for use in enrichers:
        add(f"Buy[{use.name}] records of r0's people that fill a missing category"
            f"  est records {use.expected_records:,.0f}, cost ${use.expected_cost}", f"Buy[{use.name}]")
    add("Fuse[by entity] vote per value, weighted by source quality × freshness (ACCU)", "Fuse")
    conditions = [f"complete({', '.join(bound.required)})"]
    if plan.post_predicates:
        conditions.append(" AND ".join(p.text(bound.text) for p in plan.post_predicates)
                          + f" (est {plan.post_selectivity:.1%} pass)")  # fmt: skip
    elif bound.predicates:
        conditions.append("re-check " + bound.where_text)
    if bound.quality is not None:
        conditions.append(f"quality >= {bound.quality:g}")
    add(f"Filter[fused] {'; '.join(conditions)}")
    add(("Rank[filtered] score desc, quality desc, cost asc" if scorer is not None
         else "Rank[filtered] quality desc, cost asc") + (f"  Limit {bound.count:,}" if bound.count else ""))
    if bound.into_list:
        add(f"Sink[LIST {bound.into_list}] atomic append with provenance and spend")
    lines.append("Completeness expected: " + ", ".join(f"{k} {v:.0%}" for k, v in plan.completeness.items()))
    for number, why, new, leads in state.top_ups if state is not None else ():
        scan = f"Scan[{new.driver}]"
        lines.append(f"Topped up in round {number}: {why}; driver {new.driver} scanned in the same round for "
                     f"about {leads:,} more leads, before the look-ups (one query fee each)"
                     f"  | {scan} actual: {actual.get(scan, 'not run')}")  # fmt: skip
    for (after, why, new, needed, _), (lo, hi) in zip(state.replans if state is not None else (), bounds[1:],
                                                      strict=False):  # fmt: skip
        still = f" for the {needed:,} leads still needed" if needed is not None else ""
        done = _actuals(steps[lo:hi], steps[:lo])
        scan = f"Scan[{new.driver}]"
        others = "".join(f"; {name} {text}" for name, text in done.items()
                         if name.startswith(("Lookup[", "Buy[")))  # fmt: skip
        lines.append(f"Re-planned after round {after}: {why}; then driver {new.driver}; sources "
                     f"{', '.join(new.sources)}{still}"
                     f"  | {scan} actual: {done.get(scan, 'not run')}{others}")  # fmt: skip
    if alternatives:
        lines.append("Alternatives:")
        for i, alt in enumerate(alternatives, start=2):
            then = "".join(f", then {f.driver}" for f in alt.follow_ups)
            rounds = f" in {1 + len(alt.follow_ups)} rounds" if alt.follow_ups else ""
            lines.append(f"  #{i} driver {alt.driver}{then}; {', '.join(alt.sources)}: {alt.total_count:,.0f} leads{rounds}, "
                         f"${alt.total_cost}, quality {alt.total_quality:.3f} — lost: {alt.why_not}")  # fmt: skip
    if planning.excluded:
        lines.append("Not considered:")
        for name, why in sorted(planning.excluded.items()):
            lines.append(f"  {name}: {why}")
    if state is not None:
        ledger = state.ledger
        lines.append(f"Actual: {state.delivered:,} leads delivered in {state.rounds} round(s); spent ${ledger.spent} "
                     f"of ${ledger.budget} (estimated ${plan.total_cost})")  # fmt: skip
        for account in ledger.accounts.values():
            lines.append(f"  {account.name}: {account.records:,} records, {account.queries} queries, "
                         f"${account.records * account.price_record + account.queries * account.price_query}")
    warnings = list(planning.warnings) + (list(state.warnings) if state is not None else planning.shortfall)
    for w in warnings:
        lines.append(f"Warning: {w}")
    return lines


def explain_result(bound: BoundFind, planning: Planning, state: Any = None, result: Result | None = None) -> Result:
    lines = explain_lines(bound, planning, state)
    out = Result.from_rows(["explain"], [(line,) for line in lines], plan=planning.chosen if state is None else state.plan,
                           cost=state.ledger.spent if state is not None else Decimal(0))  # fmt: skip
    if result is not None:
        out.warnings = list(result.warnings)
    return out


def _actuals(steps: list[Any], before: list[Any]) -> dict[str, str]:
    """What each named step of `steps` did: rows, seconds and the money paid to its source by
    those steps (a step's cost is its source's running total, so what `before` had paid is
    taken off)."""
    out: dict[str, list[Any]] = {}
    for s in steps:
        out.setdefault(s.name, []).append(s)
    paid_before = {s.name: s.cost for s in before}
    text = {}
    for name, group in out.items():
        rows = sum(s.rows for s in group)
        seconds = sum(s.seconds for s in group)
        cost = group[-1].cost - paid_before.get(name, Decimal(0))
        text[name] = f"{rows:,} rows, ${money(cost)}, {seconds:.2f}s" + (f" ({len(group)} rounds)" if len(group) > 1 else "")
    return text


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 160 else flat[:157] + "..."

