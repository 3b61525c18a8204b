"""Source selection: which vendors to buy from, as a CP-SAT model (OR-Tools), with a greedy baseline.

The model, for one driver and one completeness level (see planner.py for how those are swept):

    x_i ∈ {0,1}   buy from source i            y_ik ∈ {0,1}   i is the primary provider of k
    Σ_i y_ik = 1                  every requested category has one primary provider …
    y_ik ≤ x_i                    … that is bought from, and meets the quality floor (else no y_ik)
    Σ_i w_ik x_i ≥ T_k            completeness: P(k is filled) ≥ τ_k, linearised as in the notes:
                                  1 − Π(1 − c_ik) ≥ τ_k  ⇔  Σ −ln(1 − c_ik) ≥ −ln(1 − τ_k)
    Σ_i cost_i x_i ≤ budget
    minimise Σ cost_i x_i          (COST)   or   maximise Σ q_ik y_ik, then cost (QUALITY)

Weights are scaled to integers. Alternatives come from no-good cuts (Σ_{i∈S} x_i ≤ |S| − 1),
each solve warm-started from the last; CP-SAT has no solution pool for optimisation problems.
Solver settings follow the measurements in shared/notes/source-selection.md: with few workers
the default portfolio lacks the LP worker that raises the lower bound, so use `max_lp`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MONEY_SCALE = 1_000_000  # costs are integer micro-dollars inside the model
LOG_SCALE = 1000
MAX_FILL = 0.999  # a 100%-filled column still misses a value now and then
PRUNE_ABOVE = 400  # larger pools keep only each category's most useful candidates
KEEP_PER_CATEGORY = 25


@dataclass(frozen=True)
class Candidate:
    """A source as the model sees it."""

    name: str
    cost: int  # micro-dollars if bought from in this plan
    fill: dict[str, float]  # category → P(this source fills it for a wanted person)
    quality: dict[str, float]  # category → quality, only where it meets the floor
    forced: bool = False  # the driver: always bought from

    def weight(self, category: str) -> int:
        c = min(self.fill.get(category, 0.0), MAX_FILL)
        return int(-math.log1p(-c) * LOG_SCALE) if c > 0 and category in self.quality else 0


@dataclass
class Problem:
    candidates: list[Candidate]
    categories: list[str]
    completeness: dict[str, float]  # τ_k: wanted P(category k filled)
    budget: int | None = None  # micro-dollars
    objective: str = "COST"  # COST | QUALITY

    def target(self, category: str) -> int:
        tau = min(self.completeness.get(category, 0.0), MAX_FILL)
        return math.ceil(-math.log1p(-tau) * LOG_SCALE) if tau > 0 else 0


@dataclass
class Solution:
    chosen: tuple[int, ...]
    cost: int
    primary: dict[str, int]  # category → candidate index
    status: str  # OPTIMAL | FEASIBLE | GREEDY
    bound: float  # best proven lower bound on cost (COST objective)
    seconds: float
    method: str
    considered: int = 0  # candidates in the model after pruning
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """Proven relative optimality gap (0 when optimal)."""
        if self.status == "OPTIMAL" or self.cost <= 0:
            return 0.0
        return max(0.0, (self.cost - self.bound) / self.cost)

    def names(self, problem: Problem) -> list[str]:
        return [problem.candidates[i].name for i in self.chosen]


# ------------------------------------------------------------------------ greedy baseline


def greedy(problem: Problem) -> Solution | None:
    """Cheapest cost per newly covered (completeness) weight, until every target is met; then
    drop sources made redundant. The baseline the benches compare with."""
    started = time.perf_counter()
    need = {k: problem.target(k) for k in problem.categories}
    chosen: list[int] = [i for i, c in enumerate(problem.candidates) if c.forced]
    for i in chosen:
        for k in need:
            need[k] = max(0, need[k] - problem.candidates[i].weight(k))
    remaining = [i for i in range(len(problem.candidates)) if i not in set(chosen)]
    while any(need.values()):
        best, best_ratio = None, math.inf
        for i in remaining:
            c = problem.candidates[i]
            gain = sum(min(need[k], c.weight(k)) for k in need if need[k])
            if gain <= 0:
                continue
            ratio = max(c.cost, 1) / gain
            if ratio < best_ratio:
                best, best_ratio = i, ratio
        if best is None:
            return None
        chosen.append(best)
        remaining.remove(best)
        for k in need:
            need[k] = max(0, need[k] - problem.candidates[best].weight(k))
    # Reverse delete: drop the costliest sources that are not needed.
    for i in sorted(chosen, key=lambda j: -problem.candidates[j].cost):
        if problem.candidates[i].forced:
            continue
        rest = [j for j in chosen if j != i]
        if all(sum(problem.candidates[j].weight(k) for j in rest) >= problem.target(k)
               for k in problem.categories):
            chosen = rest
    cost = sum(problem.candidates[i].cost for i in chosen)
    if problem.budget is not None and cost > problem.budget:
        return None
    primary = _primary(problem, chosen)
    if primary is None:
        return None
    return Solution(tuple(sorted(chosen)), cost, primary, "GREEDY", 0.0,
                    time.perf_counter() - started, "greedy", len(problem.candidates))  # fmt: skip


def _primary(problem: Problem, chosen: Iterable[int]) -> dict[str, int] | None:
    out = {}
    for k in problem.categories:
        best = max((i for i in chosen if k in problem.candidates[i].quality),
                   key=lambda i: problem.candidates[i].quality[k], default=None)  # fmt: skip
        if best is None:
            return None
        out[k] = best
    return out


# ------------------------------------------------------------------------ CP-SAT


def prune(problem: Problem, keep: int = KEEP_PER_CATEGORY) -> list[int]:
    """Indices worth modelling: per category the best few by weight per dollar and by quality,
    plus forced ones. Small pools are kept whole."""
    n = len(problem.candidates)
    if n <= PRUNE_ABOVE:
        return list(range(n))
    kept = {i for i, c in enumerate(problem.candidates) if c.forced}
    for k in problem.categories:
        able = [i for i, c in enumerate(problem.candidates) if c.weight(k) > 0]
        by_value = sorted(able, key=lambda i: problem.candidates[i].cost / problem.candidates[i].weight(k))
        by_quality = sorted(able, key=lambda i: -problem.candidates[i].quality[k])
        kept.update(by_value[:keep])
        kept.update(by_quality[: max(3, keep // 5)])
    return sorted(kept)


def solve(
    problem: Problem,
    *,
    time_limit: float = 2.0,
    hint: Sequence[int] | None = None,
    excluded: Sequence[Sequence[int]] = (),
    gap_limit: float = 0.01,
    seed: int = 7,
) -> Solution | None:
    """The best selection under the problem's constraints, or None if there is none."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    index = prune(problem)
    model = cp_model.CpModel()
    x = {i: model.NewBoolVar(f"x{i}") for i in index}
    y: dict[tuple[int, str], object] = {}
    for k in problem.categories:
        providers = [i for i in index if k in problem.candidates[i].quality]
        if not providers:
            return None
        for i in providers:
            y[i, k] = model.NewBoolVar(f"y{i}_{k}")
            model.AddImplication(y[i, k], x[i])
        model.AddExactlyOne(y[i, k] for i in providers)
        weights = [(problem.candidates[i].weight(k), i) for i in index]
        model.Add(sum(w * x[i] for w, i in weights if w) >= problem.target(k))
    for i in index:
        if problem.candidates[i].forced:
            model.Add(x[i] == 1)
    cost = sum(problem.candidates[i].cost * x[i] for i in index)
    if problem.budget is not None:
        model.Add(cost <= problem.budget)
    for chosen in excluded:
        members = [x[i] for i in chosen if i in x]
        if len(members) == len(chosen) and members:
            model.Add(sum(members) <= len(members) - 1)
    if hint:
        wanted = set(hint)
        for i in index:
            model.AddHint(x[i], 1 if i in wanted else 0)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, time_limit)
    params.num_workers = 1
    params.linearization_level = 2
    params.relative_gap_limit = gap_limit
    params.random_seed = seed
    if problem.objective == "QUALITY":
        scaled = {key: int(round(problem.candidates[key[0]].quality[key[1]] * 1000)) for key in y}
        model.Maximize(sum(scaled[key] * var for key, var in y.items()))
        status = solver.Solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        model.Add(sum(scaled[key] * var for key, var in y.items()) >= int(solver.ObjectiveValue()))
        for i in index:
            model.AddHint(x[i], int(solver.Value(x[i])))
        params.max_time_in_seconds = max(0.05, time_limit - (time.perf_counter() - started))
    model.Minimize(cost)
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen_idx = tuple(i for i in index if solver.Value(x[i]))
    primary = {k: i for (i, k), var in y.items() if solver.Value(var)}
    total = sum(problem.candidates[i].cost for i in chosen_idx)
    status_name = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
    bound = float(solver.BestObjectiveBound())
    notes = []
    if len(index) < len(problem.candidates):
        notes.append(f"pruned {len(problem.candidates):,} candidate sources to {len(index):,}")
    return Solution(chosen_idx, total, primary, status_name, bound, time.perf_counter() - started,
                    "cp-sat", len(index), notes)  # fmt: skip


def alternatives(problem: Problem, count: int, *, time_limit: float = 2.0) -> list[Solution]:
    """The best selection and then up to `count - 1` next-best different ones (no-good cuts,
    each solve warm-started from the greedy plan or the previous solution)."""
    out: list[Solution] = []
    base = greedy(problem)
    hint = base.chosen if base else None
    deadline = time.perf_counter() + time_limit
    for _ in range(count):
        left = deadline - time.perf_counter()
        if left <= 0.02 and out:
            break
        found = solve(problem, time_limit=left if not out else min(left, time_limit / 2),
                      hint=hint, excluded=[s.chosen for s in out])  # fmt: skip
        if found is None:
            break
        out.append(found)
        hint = found.chosen
    if not out and base is not None:
        out.append(base)
    return out
