"""Source selection: CP-SAT (`selection.solve`) against the greedy baseline (`selection.greedy`).

    python bench/bench_planner.py [--quick] [--reference-seconds 10] [--seed 1]

Synthetic but realistic pools, generated deterministically (seeded numpy): a 60-category
vocabulary with skewed popularity; a few broad, cheap, low-quality vendors, many narrow ones and
some premium ones; fill rates 0.3–0.99, qualities 0.6–0.98, costs in micro-dollars (records ×
price per record + an occasional per-query fee); one forced driver. Each requested category's
completeness target is 0.8–0.95 of what the whole pool could reach for it (as planner.py does).

Cells: pools of 10, 100, 1,000 and 5,000 sources × 5, 10, 20 and 50 requested categories, each
in three variants: `plain`; `q>=0.8` (a quality floor: only sources with quality >= 0.8 count for
a category); `budget` (a budget 3% below the cost of greedy's plain plan, so greedy has no plan).

Per cell: greedy's cost and time; CP-SAT's time (limit 1 s up to 10 categories, else 2 s),
status and proven gap (relative to the whole pool: `solve` reports a bound that also covers the
sources it pruned); cost ratio CP-SAT / greedy. For pools up to 1,000 sources a reference solve of
the whole, unpruned model (not timed) gives the true gap of the timed plan where it finishes.
Goals: ≤ 10 categories × 1,000 sources proven within 1% in under 1 s; 50 categories × 5,000
sources cheaper than greedy within the 2 s limit, with the remaining gap reported.

Columns: greedy's plan ($) and time; CP-SAT's plan ($), time, status, proven gap; `true`, the gap
to the reference's optimum (≤ when the reference did not prove it either; `infeas.` when the
reference proves there is no plan); ratio CP-SAT / greedy; `model`, sources in the final CP-SAT
model (of `candidates` in the JSON). Results also go to bench/results/planner.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from leadql.planner import selection  # noqa: E402
from leadql.planner.selection import Candidate, Problem  # noqa: E402

IDENTITY = ["email", "phone", "first_name", "last_name"]
NAMED = IDENTITY + [
    "title", "company", "industry", "employees", "revenue", "city", "state", "zip", "country",
    "linkedin", "seniority", "department", "income", "fico", "age", "homeowner", "home_value",
    "education", "marital", "children", "vehicle", "tech_stack", "funding", "website",
]  # fmt: skip
VOCAB = NAMED + [f"attr{i:02d}" for i in range(len(NAMED), 60)]
LEADS = 20_000  # candidate people the driver supplies; enrichment sources bought per reached one
SIZES = (10, 100, 1_000, 5_000)
CATEGORY_COUNTS = (5, 10, 20, 50)
VARIANTS = ("plain", "q>=0.8", "budget")
QUICK = [(100, 10), (1_000, 10), (5_000, 50)]


# ------------------------------------------------------------------------ synthetic pools


def pool(n: int, seed: int) -> list[dict]:
    """`n` sources (index 0 is the driver) as dicts: name, cost, fill, quality per category."""
    rng = np.random.default_rng([seed, n])
    popularity = 1.0 / np.arange(1, len(VOCAB) + 1) ** 0.8  # identity first, then a long tail
    popularity /= popularity.sum()
    broad = max(1, round(0.03 * n))
    premium = max(1, round(0.12 * n))
    sources = []
    for i in range(n):
        kind = "broad" if i < broad else "premium" if i < broad + premium else "narrow"
        if kind == "broad":
            size, fill, quality, price = rng.integers(25, 51), (0.3, 0.7), (0.6, 0.8), (0.001, 0.004)
            fee = 0.0
        elif kind == "premium":
            size, fill, quality, price = rng.integers(3, 11), (0.75, 0.99), (0.85, 0.98), (0.02, 0.05)
            fee = rng.uniform(50, 500) if rng.random() < 0.3 else 0.0
        else:
            size, fill, quality, price = rng.integers(1, 7), (0.4, 0.95), (0.65, 0.95), (0.003, 0.03)
            fee = rng.uniform(10, 100) if rng.random() < 0.2 else 0.0
        held = rng.choice(len(VOCAB), size=int(size), replace=False, p=popularity)
        source = {
            "name": f"{kind}{i:04d}",
            "fill": {VOCAB[k]: float(rng.uniform(*fill)) for k in held},
            "quality": {VOCAB[k]: float(rng.uniform(*quality)) for k in held},
            "reach": 1.0 if i == 0 else float(rng.uniform(0.3, 1.0)),
            "price": float(rng.uniform(*price)),
            "fee": float(fee),
        }
        sources.append(source)
    driver = sources[0]
    driver["name"] = "driver"
    for k in IDENTITY[:3]:  # the driver matched people by these: always filled
        driver["fill"][k], driver["quality"][k] = 0.99, 0.9
    # Every category of the catalog is sold by someone at quality >= 0.8.
    for k in VOCAB:
        if not any(s["quality"].get(k, 0) >= 0.8 for s in sources):
            s = sources[int(rng.integers(1, n))] if n > 1 else driver
            s["fill"][k], s["quality"][k] = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.8, 0.95))
    for s in sources:
        s["cost"] = int((LEADS * s["reach"] * s["price"] + s["fee"]) * selection.MONEY_SCALE)
    return sources


def request(n: int, m: int, seed: int) -> tuple[list[str], dict[str, float]]:
    """`m` requested categories (popular ones more likely) and each one's completeness level."""
    rng = np.random.default_rng([seed, n, m])
    popularity = 1.0 / np.arange(1, len(VOCAB) + 1) ** 0.5
    picked = rng.choice(len(VOCAB), size=m, replace=False, p=popularity / popularity.sum())
    categories = [VOCAB[k] for k in sorted(picked)]
    return categories, {k: float(rng.uniform(0.8, 0.95)) for k in categories}


def problem(sources: list[dict], categories: list[str], levels: dict[str, float],
            floor: float | None = None, budget: int | None = None) -> Problem:  # fmt: skip
    """A selection problem as planner._problem builds one: categories below the quality floor
    do not count; τ_k is the level times what every source together could reach."""
    wanted = set(categories)
    cands = []
    for i, s in enumerate(sources):
        quality = {k: q for k, q in s["quality"].items()
                   if k in wanted and (floor is None or q >= floor)}  # fmt: skip
        if not quality and i > 0:
            continue
        fill = {k: s["fill"][k] for k in quality}
        cands.append(Candidate(s["name"], s["cost"], fill, quality, forced=i == 0))
    completeness = {}
    for k in categories:
        missing = math.prod(1 - min(c.fill.get(k, 0.0), selection.MAX_FILL) for c in cands)
        completeness[k] = min(0.995, (1 - missing) * levels[k])
    return Problem(cands, list(categories), completeness, budget)


def cells(quick: bool) -> list[tuple[int, int]]:
    return QUICK if quick else [(n, m) for n in SIZES for m in CATEGORY_COUNTS]


# ------------------------------------------------------------------------ reference


def reference(prob: Problem, seconds: float, hint: tuple[int, ...] | None) -> tuple[int | None, float, str]:
    """The whole, unpruned model solved for longer: (best cost, proven bound, status)."""
    from ortools.sat.python import cp_model

    cands = prob.candidates
    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"x{i}") for i in range(len(cands))]
    for k in prob.categories:
        providers = [x[i] for i, c in enumerate(cands) if k in c.quality]
        if not providers:
            return None, math.inf, "INFEASIBLE"
        model.AddBoolOr(providers)
        terms = [(c.weight(k), x[i]) for i, c in enumerate(cands) if c.weight(k)]
        model.Add(sum(w * v for w, v in terms) >= prob.target(k))
    for i, c in enumerate(cands):
        if c.forced:
            model.Add(x[i] == 1)
    cost = sum(c.cost * x[i] for i, c in enumerate(cands))
    if prob.budget is not None:
        model.Add(cost <= prob.budget)
    model.Minimize(cost)
    for i in hint or ():
        model.AddHint(x[i], 1)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    solver.parameters.subsolvers.extend(["max_lp", "default_lp"])
    solver.parameters.random_seed = 1
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, math.inf if status == cp_model.INFEASIBLE else 0.0, name
    return int(solver.ObjectiveValue()), float(solver.BestObjectiveBound()), name


# ------------------------------------------------------------------------ run


def run_cell(n: int, m: int, variant: str, seed: int, ref_seconds: float) -> dict:
    sources = pool(n, seed)
    categories, levels = request(n, m, seed)
    floor = 0.8 if variant == "q>=0.8" else None
    budget = None
    if variant == "budget":
        base = selection.greedy(problem(sources, categories, levels, floor))
        budget = int(base.cost * 0.97) if base else None
    # Each method gets a problem of its own, so neither reuses the other's precomputed matrices.
    prob = problem(sources, categories, levels, floor, budget)
    gc.collect()
    started = time.perf_counter()
    greedy = selection.greedy(prob)
    greedy_s = time.perf_counter() - started
    limit = 1.0 if m <= 10 else 2.0
    prob = problem(sources, categories, levels, floor, budget)
    gc.collect()
    started = time.perf_counter()
    sol = selection.solve(prob, time_limit=limit)
    solve_s = time.perf_counter() - started
    row = {
        "sources": n, "categories": m, "variant": variant, "candidates": len(prob.candidates),
        "greedy_cost": greedy.cost if greedy else None, "greedy_s": round(greedy_s, 4),
        "limit_s": limit, "cpsat_s": round(solve_s, 4),
        "cpsat_cost": sol.cost if sol else None, "status": sol.status if sol else "NONE",
        "gap": round(sol.gap, 4) if sol else None, "considered": sol.considered if sol else None,
        "ratio": round(sol.cost / greedy.cost, 4) if sol and greedy else None,
    }  # fmt: skip
    if ref_seconds > 0 and n <= 1_000:
        ref_cost, ref_bound, ref_status = reference(prob, ref_seconds, sol.chosen if sol else None)
        row["ref_status"] = ref_status
        row["ref_cost"] = ref_cost
        row["ref_bound"] = ref_bound if math.isfinite(ref_bound) else None
        if sol and math.isfinite(ref_bound):
            row["true_gap"] = round(max(0.0, (sol.cost - ref_bound) / sol.cost), 4)
            # A proven bound must not exceed what the unpruned model can reach.
            row["bound_ok"] = ref_cost is None or sol.bound <= ref_cost + 1
    return row


def fmt_money(micro: int | None) -> str:
    return "-" if micro is None else f"{micro / selection.MONEY_SCALE:,.0f}"


def show(row: dict) -> str:
    ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
    gap = "-" if row["gap"] is None else f"{row['gap'] * 100:.2f}%"
    true_gap = "-"
    if "true_gap" in row:  # ≤: the reference did not prove its own optimum either
        true_gap = ("" if row["ref_status"] == "OPTIMAL" else "≤") + f"{row['true_gap'] * 100:.2f}%"
        true_gap += "" if row["bound_ok"] else "!"  # a bound above a known plan: a bug
    elif row.get("ref_status") == "INFEASIBLE":
        true_gap = "infeas." if row["cpsat_cost"] is None else "!"
    elif row.get("ref_cost") is not None and row["cpsat_cost"] is None:
        true_gap = "missed"
    return (f"{row['sources']:>6,} {row['categories']:>3} {row['variant']:<7} "
            f"{fmt_money(row['greedy_cost']):>9} {row['greedy_s'] * 1000:>7.1f} "
            f"{fmt_money(row['cpsat_cost']):>9} {row['cpsat_s'] * 1000:>7.1f} "
            f"{row['status']:<9} {gap:>6} {true_gap:>7} {ratio:>6} {row['considered'] or '-':>5}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="three cells only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-seconds", type=float, default=10.0,
                        help="limit of the untimed whole-pool reference solve (0: none)")  # fmt: skip
    args = parser.parse_args()
    selection.solve(problem(*_warm(args.seed)), time_limit=0.5)  # import and JIT-free warm-up
    print(f"{'pool':>6} {'cat':>3} {'variant':<7} {'greedy $':>9} {'ms':>7} {'cp-sat $':>9} {'ms':>7} "
          f"{'status':<9} {'gap':>6} {'true':>7} {'ratio':>6} {'model':>5}")  # fmt: skip
    rows = []
    started = time.perf_counter()
    for n, m in cells(args.quick):
        for variant in VARIANTS:
            row = run_cell(n, m, variant, args.seed, 0.0 if args.quick else args.reference_seconds)
            rows.append(row)
            print(show(row), flush=True)
    results = {"seed": args.seed, "cells": rows, "summary": summary(rows),
               "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    print(json.dumps(results["summary"], indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / ("planner_quick.json" if args.quick else "planner.json")).write_text(json.dumps(results, indent=2))


def _warm(seed: int) -> tuple[list[dict], list[str], dict[str, float]]:
    return (pool(10, seed), *request(10, 5, seed))


def summary(rows: list[dict]) -> dict:
    def met(r: dict, seconds: float) -> bool:
        """Within the time, and within 1% of the optimum or shown to have no plan."""
        no_plan = r["cpsat_cost"] is None and r.get("ref_status") in (None, "INFEASIBLE")
        return r["cpsat_s"] < seconds and (no_plan or r["gap"] <= 0.01)

    typical = [r for r in rows if r["sources"] == 1_000 and r["categories"] <= 10]
    largest = [r for r in rows if r["sources"] == 5_000 and r["categories"] == 50]
    ratios = [r["ratio"] for r in rows if r["ratio"]]
    return {
        "typical_1000_sources_le10_categories": {
            "cells": len(typical),
            "max_s": max((r["cpsat_s"] for r in typical), default=None),
            "max_gap": max((r["gap"] for r in typical if r["gap"] is not None), default=None),
            "goal_met": all(met(r, 1.0) for r in typical) if typical else None,
        },
        "5000_sources_50_categories": {
            "cells": len(largest),
            "ratios": [r["ratio"] for r in largest],
            "gaps": [r["gap"] for r in largest],
            "max_s": max((r["cpsat_s"] for r in largest), default=None),
            "goal_met": all(r["cpsat_s"] < 2.2 and (r["ratio"] is None or r["ratio"] < 1.0)
                            for r in largest) if largest else None,
        },
        "geomean_ratio_cpsat_vs_greedy": round(math.exp(np.mean(np.log(ratios))), 4) if ratios else None,
        "cells_greedy_no_plan": sum(1 for r in rows if r["greedy_cost"] is None),
        "cells_greedy_no_plan_cpsat_plan": sum(1 for r in rows if r["greedy_cost"] is None and r["cpsat_cost"]),
        "cells_no_plan_proven_by_reference": sum(1 for r in rows if r.get("ref_status") == "INFEASIBLE"),
        "max_true_gap": max((r["true_gap"] for r in rows if "true_gap" in r), default=None),
        "bounds_consistent_with_reference": all(r.get("bound_ok", True) for r in rows),
    }  # fmt: skip


if __name__ == "__main__":
    main()
