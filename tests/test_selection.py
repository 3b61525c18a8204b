"""Source selection (leadql/planner/selection.py): CP-SAT against the greedy baseline on small
hand-made problems with known optima, constraints that leave no plan, alternatives, determinism,
pruning, and the honesty of the bound reported for large (LP-pruned) pools."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leadql.planner import selection
from leadql.planner.selection import Candidate, Problem, Solution

M = selection.MONEY_SCALE


def source(name: str, dollars: float, categories: str, *, fill: float = 0.9, quality: float = 0.9,
           forced: bool = False) -> Candidate:  # fmt: skip
    held = categories.split()
    return Candidate(name, int(dollars * M), {k: fill for k in held}, {k: quality for k in held}, forced)


def trap(budget: float | None = None) -> Problem:
    """Greedy buys `middle` first (cheapest per category), then needs `a_only` and `d_only`:
    $4.80. The optimum is `left` + `right`: $4.20."""
    cands = [
        source("driver", 0.5, "", forced=True),
        source("left", 2.1, "a b"),
        source("right", 2.1, "c d"),
        source("middle", 1.8, "b c"),
        source("a_only", 1.5, "a"),
        source("d_only", 1.5, "d"),
    ]
    cats = ["a", "b", "c", "d"]
    return Problem(cands, cats, {k: 0.85 for k in cats}, None if budget is None else int(budget * M))


def random_problem(n: int, m: int, seed: int, floor: float | None = None) -> Problem:
    """A pool like bench/bench_planner.py's, smaller and simpler: a few broad cheap vendors of
    low quality, many narrow ones; the driver first."""
    rng = np.random.default_rng(seed)
    vocab = [f"k{j:02d}" for j in range(60)]
    popularity = 1.0 / np.arange(1, 61) ** 0.8
    popularity /= popularity.sum()
    pool = []
    for i in range(n):
        broad = i < max(1, n // 30)
        size = int(rng.integers(25, 50)) if broad else int(rng.integers(1, 7))
        held = [vocab[j] for j in rng.choice(60, size=size, replace=False, p=popularity)]
        fill = {k: float(rng.uniform(0.3, 0.7) if broad else rng.uniform(0.4, 0.99)) for k in held}
        quality = {k: float(rng.uniform(0.6, 0.8) if broad else rng.uniform(0.65, 0.98)) for k in held}
        price = rng.uniform(0.001, 0.004) if broad else rng.uniform(0.003, 0.05)
        cost = int((20_000 * rng.uniform(0.3, 1.0) * price + (rng.uniform(10, 100) if rng.random() < 0.2 else 0)) * M)
        pool.append((cost, fill, {k: q for k, q in quality.items() if floor is None or q >= floor}))
    sold = sorted({k for _, _, quality in pool for k in quality})  # ask only for what is sold
    cats = [sold[j] for j in sorted(rng.choice(len(sold), size=min(m, len(sold)), replace=False))]
    cands = []
    for i, (cost, fill, quality) in enumerate(pool):
        quality = {k: q for k, q in quality.items() if k in cats}
        cands.append(Candidate(f"s{i}", cost, {k: fill[k] for k in quality}, quality, forced=i == 0))
    completeness = {}
    for k in cats:
        reach = 1 - math.prod(1 - min(c.fill.get(k, 0), selection.MAX_FILL) for c in cands)
        completeness[k] = reach * float(rng.uniform(0.8, 0.95))
    return Problem(cands, cats, completeness)


def reference(problem: Problem, seconds: float = 20.0) -> tuple[int, float]:
    """The whole, unpruned model, solved for longer: (its best plan's cost, its proven bound)."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.NewBoolVar("") for _ in problem.candidates]
    for k in problem.categories:
        model.AddBoolOr([x[i] for i, c in enumerate(problem.candidates) if k in c.quality])
        model.Add(sum(c.weight(k) * x[i] for i, c in enumerate(problem.candidates))
                  >= problem.target(k))  # fmt: skip
    for i, c in enumerate(problem.candidates):
        if c.forced:
            model.Add(x[i] == 1)
    cost = sum(c.cost * x[i] for i, c in enumerate(problem.candidates))
    if problem.budget is not None:
        model.Add(cost <= problem.budget)
    model.Minimize(cost)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE), solver.StatusName(status)
    return int(solver.ObjectiveValue()), solver.BestObjectiveBound()


def covers(problem: Problem, chosen: tuple[int, ...]) -> bool:
    return all(sum(problem.candidates[i].weight(k) for i in chosen) >= problem.target(k)
               and any(k in problem.candidates[i].quality for i in chosen)
               for k in problem.categories)  # fmt: skip


# ------------------------------------------------------------------------ small problems


def test_solve_finds_the_optimum_greedy_misses():
    problem = trap()
    found, base = selection.solve(problem), selection.greedy(problem)
    assert found.status == "OPTIMAL" and found.gap == 0.0
    assert found.names(problem) == ["driver", "left", "right"]
    assert found.cost == int(0.5 * M) + 2 * int(2.1 * M)
    assert base.status == "GREEDY"
    assert base.names(problem) == ["driver", "middle", "a_only", "d_only"]
    assert base.cost > found.cost
    assert covers(problem, found.chosen) and covers(problem, base.chosen)
    assert found.primary == {"a": 1, "b": 1, "c": 2, "d": 2}


def test_weights_follow_the_log_linearised_completeness():
    problem = trap()
    # -ln(1 - 0.9) · 1000 = 2302.6 → 2302; τ 0.85 → ⌈1897.1⌉ = 1898: one source covers a category
    assert problem.candidates[1].weight("a") == 2302 and problem.target("a") == 1898
    assert problem.candidates[1].weight("c") == 0
    two_weak = Problem([source("driver", 0, "", forced=True), source("w1", 1, "a", fill=0.6),
                        source("w2", 1, "a", fill=0.6), source("w3", 1, "a", fill=0.6)],
                       ["a"], {"a": 0.85})  # fmt: skip
    assert len(selection.solve(two_weak).chosen) == 1 + 3  # 916 · 2 < 1898 ≤ 916 · 3


def test_the_model_uses_exactly_candidate_weight():
    """The matrices the solver and greedy work on hold Candidate.weight, even for fill rates whose
    scaled log lands on an integer (where a vectorised log could round the other way)."""
    fills = [1 - math.exp(-w / selection.LOG_SCALE) for w in range(1, 3000, 7)] + [0.0, 0.5, 1.0]
    held = [f"k{j}" for j in range(len(fills))]
    cand = Candidate("x", 1, dict(zip(held, fills, strict=True)), {k: 0.9 for k in held[:-5]})
    arrays = selection._arrays(Problem([cand], held, {}))
    assert arrays.weight[0].tolist() == [cand.weight(k) for k in held]
    assert arrays.provides[0].tolist() == [k in cand.quality for k in held]


def test_budget_below_the_optimum_leaves_no_plan():
    assert selection.solve(trap(budget=4.6)) is None  # optimum is $4.70 with the driver
    assert selection.greedy(trap(budget=4.6)) is None
    within = selection.solve(trap(budget=4.7))
    assert within is not None and within.cost <= int(4.7 * M)
    assert selection.greedy(trap(budget=4.7)) is None  # greedy's plan costs $5.30


def test_quality_floor_with_no_eligible_source_leaves_no_plan():
    problem = trap()
    # the planner drops categories below the floor from `quality`: nobody sells d well enough
    problem.candidates[2] = source("right", 2.1, "c")
    problem.candidates[5] = Candidate("d_only", int(1.5 * M), {}, {})
    assert selection.solve(problem) is None
    assert selection.greedy(problem) is None
    assert selection.alternatives(problem, 3) == []


def test_forced_driver_is_always_bought():
    problem = trap()
    problem.candidates[0] = source("driver", 100.0, "", forced=True)
    for sol in (selection.solve(problem), selection.greedy(problem), *selection.alternatives(problem, 3)):
        assert 0 in sol.chosen
        assert sol.cost >= 100 * M


def test_alternatives_are_distinct_and_not_cheaper_than_the_best():
    problem = trap()
    alts = selection.alternatives(problem, 4, time_limit=5.0)
    assert len(alts) == 4
    assert len({a.chosen for a in alts}) == 4
    costs = [a.cost for a in alts]
    assert costs == sorted(costs)
    assert alts[0].cost == selection.solve(problem).cost
    for earlier, later in zip(alts, alts[1:], strict=False):
        assert not set(earlier.chosen) <= set(later.chosen)  # no-good cuts exclude supersets
    assert all(covers(problem, a.chosen) for a in alts)


def test_quality_objective_prefers_the_better_primary_provider():
    cands = [source("driver", 0, "", forced=True), source("cheap", 1, "a", quality=0.7),
             source("good", 3, "a", quality=0.95)]  # fmt: skip
    problem = Problem(cands, ["a"], {"a": 0.85}, objective="QUALITY")
    assert selection.solve(problem).names(problem) == ["driver", "good"]
    problem.objective = "COST"
    assert selection.solve(problem).names(problem) == ["driver", "cheap"]


def test_gap_is_zero_when_optimal_and_relative_otherwise():
    optimal = selection.solve(trap())
    assert optimal.status == "OPTIMAL" and optimal.gap == 0.0 and optimal.bound == optimal.cost
    feasible = Solution((0,), 200, {}, "FEASIBLE", 150.0, 0.1, "cp-sat")
    assert feasible.gap == pytest.approx(0.25)
    assert Solution((0,), 200, {}, "OPTIMAL", 150.0, 0.1, "cp-sat").gap == 0.0
    assert Solution((0,), 0, {}, "FEASIBLE", 0.0, 0.1, "cp-sat").gap == 0.0


def test_greedy_matches_the_plain_python_baseline():
    """The vectorised greedy makes the same choices as the straightforward loop it replaced."""

    def plain(problem: Problem) -> tuple[int, ...] | None:
        cands = problem.candidates
        need = {k: problem.target(k) for k in problem.categories}
        chosen = [i for i, c in enumerate(cands) if c.forced]
        for i in chosen:
            for k in need:
                need[k] = max(0, need[k] - cands[i].weight(k))
        remaining = [i for i in range(len(cands)) if i not in chosen]
        while any(need.values()):
            gains = [(max(cands[i].cost, 1) / g, i) for i in remaining
                     if (g := sum(min(need[k], cands[i].weight(k)) for k in need)) > 0]  # fmt: skip
            if not gains:
                return None
            best = min(gains)[1]
            chosen.append(best)
            remaining.remove(best)
            for k in need:
                need[k] = max(0, need[k] - cands[best].weight(k))
        for i in sorted(chosen, key=lambda j: -cands[j].cost):
            rest = [j for j in chosen if j != i]
            if not cands[i].forced and all(sum(cands[j].weight(k) for j in rest) >= problem.target(k)
                                           for k in problem.categories):  # fmt: skip
                chosen = rest
        if not all(any(k in cands[i].quality for i in chosen) for k in problem.categories):
            return None  # a category without a provider among the chosen
        return tuple(sorted(chosen))

    plans = 0
    for seed in range(8):
        problem = random_problem(60, 8, seed, floor=0.8 if seed % 2 else None)
        base = selection.greedy(problem)
        assert (base.chosen if base else None) == plain(problem)
        plans += base is not None
    assert plans == 8
    assert selection.greedy(trap()).chosen == plain(trap())


# ------------------------------------------------------------------------ large pools


@pytest.fixture(scope="module")
def pool_1000() -> Problem:
    return random_problem(1_000, 10, seed=42)


def test_prune_keeps_the_driver_and_feasibility(pool_1000):
    problem = pool_1000
    kept = selection.prune(problem)
    assert 0 in kept and len(kept) < len(problem.candidates)
    assert kept == sorted(set(kept))
    sub = Problem([problem.candidates[i] for i in kept], problem.categories, problem.completeness)
    for k in problem.categories:
        assert sum(c.weight(k) for c in sub.candidates) >= sub.target(k)
    assert selection.solve(sub, time_limit=2.0) is not None
    small = random_problem(50, 5, seed=1)
    assert selection.prune(small) == list(range(50))


def test_large_pool_beats_greedy_with_an_honest_bound(pool_1000):
    problem = pool_1000
    found, base = selection.solve(problem, time_limit=2.0), selection.greedy(problem)
    assert found.cost <= base.cost
    assert covers(problem, found.chosen) and 0 in found.chosen
    assert found.considered < len(problem.candidates)  # modelled a part of the pool …
    assert found.gap <= 0.01 and found.bound <= found.cost
    best, bound = reference(problem)
    assert found.bound <= best and bound <= found.cost  # … yet its bound holds for all of it
    if found.status == "OPTIMAL":
        assert found.cost <= best


def test_large_pool_with_a_weak_lp_still_reports_a_valid_bound():
    problem = random_problem(400, 20, seed=7, floor=0.8)  # no broad vendors: a weak LP
    found = selection.solve(problem, time_limit=3.0)
    best, bound = reference(problem)
    assert found.bound <= best and bound <= found.cost
    assert found.cost <= selection.greedy(problem).cost


def test_large_pool_budgets(pool_1000):
    problem = Problem(pool_1000.candidates, pool_1000.categories, pool_1000.completeness)
    best = selection.solve(problem, time_limit=2.0)
    problem.budget = int(best.bound * 0.98)  # below anything the pool can do
    assert selection.solve(problem, time_limit=2.0) is None
    problem.budget = best.cost
    within = selection.solve(problem, time_limit=2.0)
    assert within is not None and within.cost <= best.cost


def test_solve_is_deterministic(pool_1000):
    small = trap()
    assert selection.solve(small).chosen == selection.solve(small).chosen
    runs = [selection.solve(pool_1000, time_limit=5.0) for _ in range(2)]
    assert runs[0].seconds < 5.0  # finished within its limit, so not cut short by the clock
    first, second = runs
    assert (first.chosen, first.cost, first.bound, first.status) == (
        second.chosen, second.cost, second.bound, second.status)
    fresh = Problem(list(pool_1000.candidates), pool_1000.categories, dict(pool_1000.completeness))
    assert selection.solve(fresh, time_limit=5.0).chosen == first.chosen


def test_alternatives_on_a_large_pool(pool_1000):
    alts = selection.alternatives(pool_1000, 3, time_limit=3.0)
    assert len(alts) >= 2
    assert len({a.chosen for a in alts}) == len(alts)
    assert all(covers(pool_1000, a.chosen) and 0 in a.chosen for a in alts)
    assert alts[0].cost <= selection.greedy(pool_1000).cost
