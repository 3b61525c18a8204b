"""Source selection: which vendors to buy from, as a CP-SAT model (OR-Tools), with a greedy baseline.

The model, for one driver and one completeness level (see planner.py for how those are swept):

    x_i ∈ {0,1}   buy from source i            y_ik ∈ {0,1}   i is the primary provider of k
    Σ_i y_ik = 1                  every requested category has one primary provider …
    y_ik ≤ x_i                    … that is bought from, and meets the quality floor (else no y_ik)
    Σ_i w_ik x_i ≥ T_k            completeness: P(k is filled) ≥ τ_k, linearised as in the notes:
                                  1 − Π(1 − c_ik) ≥ τ_k  ⇔  Σ −ln(1 − c_ik) ≥ −ln(1 − τ_k)
    Σ_i cost_i x_i ≤ budget
    minimise Σ cost_i x_i          (COST)   or   maximise Σ q_ik y_ik, then cost (QUALITY)

Weights are scaled to integers. Minimising cost, the y variables are not needed: "some bought
source provides k" is a clause, and the primary provider of k is the best-quality bought one.

Large pools (COST): the LP relaxation of the whole pool (GLOP) gives a lower bound z and reduced
costs rc_i; any plan that buys i costs at least z + max(rc_i, 0). CP-SAT models only the sources
with the smallest reduced costs (plus the driver and the hint), so a source left out can only
appear in plans costing ≥ z + rc_i, and the bound reported — min(CP-SAT's bound, the least such
value left out) — holds for the whole pool, not just the modelled part. When the first model's
best plan still leaves out sources that might beat it, they are added and the model solved again
(warm-started), time permitting.

Alternatives come from no-good cuts (Σ_{i∈S} x_i ≤ |S| − 1), each solve warm-started from the
last; CP-SAT has no solution pool for optimisation problems. Solver settings follow the
measurements in shared/notes/source-selection.md: with few workers the default portfolio lacks
the LP worker that raises the lower bound, so use one worker with `linearization_level=2`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MONEY_SCALE = 1_000_000  # costs are integer micro-dollars inside the model
LOG_SCALE = 1000
MAX_FILL = 0.999  # a 100%-filled column still misses a value now and then
PRUNE_ABOVE = 400  # larger pools keep only each category's most useful candidates
KEEP_PER_CATEGORY = 25
LP_ABOVE = 400  # larger pools are first solved as an LP (reduced-cost pruning)
MODEL_SIZE = 120  # sources in the first CP-SAT model of a large pool …
MODEL_LIMIT = 8000  # … and then every source that might beat its plan, up to this many


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
    status: str  # OPTIMAL (bound = cost) | FEASIBLE (see gap; ≤ gap_limit unless out of time) | GREEDY
    bound: float  # best proven lower bound on cost over the whole pool (COST objective)
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


# ------------------------------------------------------------------------ arrays


@dataclass
class _Arrays:
    """The problem as matrices (candidates × categories), computed once per problem."""

    key: tuple
    weight: np.ndarray  # int64 n×m, Candidate.weight
    provides: np.ndarray  # bool n×m, category in Candidate.quality
    cost: np.ndarray  # int64 n
    forced: np.ndarray  # bool n
    target: np.ndarray  # int64 m
    relaxed: Any = None  # _lp's answer, once asked (alternatives solve the same problem again)


def _arrays(problem: Problem) -> _Arrays:
    cands, cats = problem.candidates, problem.categories
    key = (tuple(cands), tuple(cats), tuple(problem.completeness.get(k) for k in cats))
    cached = problem.__dict__.get("_arrays")
    if cached is not None and cached.key == key:
        return cached
    column = {k: j for j, k in enumerate(cats)}
    rows: list[int] = []
    cols: list[int] = []
    fills: list[float] = []
    for i, c in enumerate(cands):
        for k in c.quality:
            j = column.get(k)
            if j is not None:
                rows.append(i)
                cols.append(j)
                fills.append(c.fill.get(k, 0.0))
    weight = np.zeros((len(cands), len(cats)), dtype=np.int64)
    provides = np.zeros((len(cands), len(cats)), dtype=bool)
    provides[rows, cols] = True
    # Candidate.weight, vectorised; values within rounding of an integer are recomputed exactly.
    fill = np.minimum(np.array(fills, dtype=float), MAX_FILL)
    scaled = -np.log1p(-np.maximum(fill, 0.0)) * LOG_SCALE
    values = np.where(fill > 0, np.floor(scaled), 0).astype(np.int64)
    for e in np.flatnonzero((fill > 0) & (np.abs(scaled - np.round(scaled)) < 1e-6)):
        values[e] = int(-math.log1p(-fill[e]) * LOG_SCALE)
    weight[rows, cols] = values
    out = _Arrays(key, weight, provides,
                  np.array([c.cost for c in cands], dtype=np.int64).reshape(len(cands)),
                  np.array([c.forced for c in cands], dtype=bool).reshape(len(cands)),
                  np.array([problem.target(k) for k in cats], dtype=np.int64).reshape(len(cats)))  # fmt: skip
    problem.__dict__["_arrays"] = out
    return out


# ------------------------------------------------------------------------ greedy baseline


def greedy(problem: Problem) -> Solution | None:
    """Cheapest cost per newly covered (completeness) weight, until every target is met; then
    drop sources made redundant. The baseline the benches compare with."""
    started = time.perf_counter()
    a = _arrays(problem)
    chosen: list[int] = [int(i) for i in np.flatnonzero(a.forced)]
    need = np.maximum(0, a.target - a.weight[chosen].sum(axis=0))
    open_ = ~a.forced
    price = np.maximum(a.cost, 1).astype(float)
    while need.any():
        gain = np.minimum(a.weight, need).sum(axis=1)
        able = open_ & (gain > 0)
        if not able.any():
            return None
        ratio = np.where(able, price / np.maximum(gain, 1), np.inf)
        best = int(np.argmin(ratio))  # the first of equals, as a scan in index order finds
        chosen.append(best)
        open_[best] = False
        need = np.maximum(0, need - a.weight[best])
    # Reverse delete: drop the costliest sources that are not needed.
    covered = a.weight[chosen].sum(axis=0)
    for i in sorted(chosen, key=lambda j: -problem.candidates[j].cost):
        if a.forced[i]:
            continue
        if (covered - a.weight[i] >= a.target).all():
            chosen.remove(i)
            covered = covered - a.weight[i]
    cost = sum(problem.candidates[i].cost for i in chosen)
    if problem.budget is not None and cost > problem.budget:
        return None
    primary = _primary(problem, chosen)
    if primary is None:
        return None
    return Solution(tuple(sorted(chosen)), cost, primary, "GREEDY", 0.0,
                    time.perf_counter() - started, "greedy", len(problem.candidates))  # fmt: skip


def _primary(problem: Problem, chosen: Iterable[int]) -> dict[str, int] | None:
    """Each category's best-quality bought source (the first of equals)."""
    out = {}
    chosen = sorted(chosen)
    for k in problem.categories:
        best = max((i for i in chosen if k in problem.candidates[i].quality),
                   key=lambda i: problem.candidates[i].quality[k], default=None)  # fmt: skip
        if best is None:
            return None
        out[k] = best
    return out


# ------------------------------------------------------------------------ pruning


def prune(problem: Problem, keep: int = KEEP_PER_CATEGORY) -> list[int]:
    """Indices worth modelling: per category the best few by weight per dollar and by quality,
    and enough of the heaviest to reach its target, plus forced ones. Small pools are kept
    whole."""
    n = len(problem.candidates)
    if n <= PRUNE_ABOVE:
        return list(range(n))
    a = _arrays(problem)
    kept = set(np.flatnonzero(a.forced).tolist())
    price = np.maximum(a.cost, 1).astype(float)
    for j, k in enumerate(problem.categories):
        able = np.flatnonzero(a.provides[:, j])
        w = a.weight[able, j]
        with_weight = able[w > 0]
        value = price[with_weight] / a.weight[with_weight, j]
        kept.update(with_weight[np.argsort(value, kind="stable")[:keep]].tolist())
        quality = np.array([-problem.candidates[i].quality[k] for i in able])
        kept.update(able[np.argsort(quality, kind="stable")[: max(3, keep // 5)]].tolist())
        # Enough weight to reach the target if the whole pool can.
        have = int(a.weight[sorted(kept), j].sum())
        if have < a.target[j]:
            for i in with_weight[np.argsort(-a.weight[with_weight, j], kind="stable")].tolist():
                if have >= a.target[j]:
                    break
                if i not in kept:
                    kept.add(i)
                    have += int(a.weight[i, j])
    return sorted(kept)


def _lp(a: _Arrays) -> tuple[float, np.ndarray] | None:
    """The LP relaxation over the whole pool (forced sources bought), solved with GLOP: its
    value and every candidate's reduced cost (−inf for forced ones), or None if it is infeasible.
    Coefficients are capped at the remaining target, which the integer problem allows and which
    tightens the LP."""
    from ortools.linear_solver.python import model_builder_helper as mbh

    n, m = a.weight.shape
    free = np.flatnonzero(~a.forced)
    base = int(a.cost[a.forced].sum())
    need = np.maximum(0, a.target - a.weight[a.forced].sum(axis=0))
    unprovided = ~a.provides[a.forced].any(axis=0)
    scale = float(max(1, int(a.cost.max(initial=1))))  # costs about 1 inside the LP
    lp = mbh.ModelBuilderHelper()
    k = len(free)
    columns = lp.add_var_array_with_bounds(np.zeros(k), np.ones(k), np.zeros(k, dtype=bool), "x")
    x = [mbh.Variable(lp, int(c)) for c in columns]
    lp.set_objective_coefficients(columns.tolist(), (a.cost[free] / scale).tolist())
    capped = np.minimum(a.weight[free], need)
    rows = [(capped[:, j], float(need[j])) for j in range(m) if need[j] > 0]
    rows += [(a.provides[free, j].astype(float), 1.0) for j in range(m) if unprovided[j]]
    for coefficients, lower in rows:
        used = np.flatnonzero(coefficients)
        row = lp.add_linear_constraint()
        lp.set_constraint_lower_bound(row, lower)
        lp.set_constraint_upper_bound(row, math.inf)
        lp.add_terms_to_constraint(row, [x[r] for r in used], coefficients[used].astype(float).tolist())
    solver = mbh.ModelSolverHelper("glop")
    solver.solve(lp)
    if solver.status() != mbh.SolveStatus.OPTIMAL:
        return None
    reduced = np.full(n, -np.inf)
    reduced[free] = np.asarray(solver.reduced_costs(), dtype=float) * scale
    return base + solver.objective_value() * scale, reduced


# ------------------------------------------------------------------------ CP-SAT


def solve(
    problem: Problem,
    *,
    time_limit: float = 2.0,
    hint: Sequence[int] | None = None,
    excluded: Sequence[Sequence[int]] = (),
    gap_limit: float = 0.01,
    seed: int = 7,
) -> Solution | None:
    """The best selection under the problem's constraints, or None if there is none (or none
    was found in time). Stops once proven within `gap_limit` of the optimum; the bound and gap
    reported hold for the whole pool, also when only part of it was modelled. Deterministic for a
    given seed when it finishes within `time_limit`."""
    started = time.perf_counter()
    a = _arrays(problem)
    if not a.provides.any(axis=0).all() or (a.weight.sum(axis=0) < a.target).any():
        return None
    if problem.objective == "QUALITY":
        return _solve_quality(problem, a, started, time_limit, hint, excluded, gap_limit, seed)
    n = len(problem.candidates)
    excluded = [tuple(s) for s in excluded]
    if n <= LP_ABOVE:
        found = _solve_cost(problem, a, list(range(n)), started, time_limit, hint, excluded,
                            gap_limit, seed)  # fmt: skip
        if found is None:
            return None
        return _solution(problem, *found, started, n, [])
    # A large pool: the LP relaxation first, then CP-SAT on the sources of least reduced cost.
    if a.relaxed is None:
        a.relaxed = (_lp(a),)
    relaxed = a.relaxed[0]
    if relaxed is None or (problem.budget is not None and relaxed[0] * (1 - 1e-7) - 1 > problem.budget):
        return None  # not even the relaxation has a plan (within the budget)
    z, reduced = relaxed
    lowest = z + np.maximum(reduced, 0)  # the least cost of a plan buying each candidate
    order = np.argsort(reduced, kind="stable")
    if hint is None:
        base = greedy(problem)
        hint = base.chosen if base else None
    index, outside = _model_set(a, lowest, order, MODEL_SIZE, hint)
    best: tuple[list[int], int, float] | None = None
    while True:
        found = _solve_cost(problem, a, index, started, time_limit, hint, excluded, gap_limit, seed)
        if found is not None:
            chosen, cost, bound = found
            bound = min(bound, outside)  # what the model proved holds for what it left out too
            if best is not None:
                bound = max(bound, best[2])  # each model's bound holds for the whole pool
                if cost >= best[1]:
                    chosen, cost = best[0], best[1]
            best = (chosen, cost, bound)
            hint = chosen
        # Sources left out might still beat the plan found by more than the gap limit (or, with
        # none found, be needed for one within the budget): model them too, warm-started.
        if best is not None:
            enough = best[1] * (1 - gap_limit)
            if best[2] >= enough or outside >= enough:
                break
            wanted = int(np.count_nonzero(lowest < enough))
        else:
            limit = math.inf if problem.budget is None else problem.budget
            if outside > limit:
                break  # nothing left out fits the budget: no plan at all
            wanted = int(np.count_nonzero(lowest <= limit))
        size = min(wanted, MODEL_LIMIT)
        if size <= len(index) or time_limit - (time.perf_counter() - started) < 0.05:
            break
        index, outside = _model_set(a, lowest, order, size, hint)
    if best is None:
        return None
    note = f"modelled {len(index):,} of {n:,} candidate sources (least LP reduced cost)"
    return _solution(problem, *best, started, len(index), [note])


def _solution(problem: Problem, chosen: list[int], cost: int, bound: float, started: float,
              considered: int, notes: list[str]) -> Solution | None:  # fmt: skip
    primary = _primary(problem, chosen)
    if primary is None:
        return None
    bound = min(bound, float(cost))
    status = "OPTIMAL" if bound >= cost - 1e-6 else "FEASIBLE"
    return Solution(tuple(chosen), cost, primary, status, bound, time.perf_counter() - started,
                    "cp-sat", considered, notes)  # fmt: skip


def _model_set(a: _Arrays, lowest: np.ndarray, order: np.ndarray, size: int,
               hint: Sequence[int] | None) -> tuple[list[int], float]:  # fmt: skip
    """The `size` candidates of least reduced cost, the forced ones and the hint; and the least
    cost of a plan buying any candidate left out."""
    keep = set(order[:size].tolist()) | set(np.flatnonzero(a.forced).tolist()) | set(hint or ())
    left = np.ones(len(lowest), dtype=bool)
    left[list(keep)] = False
    if not left.any():
        return sorted(keep), math.inf
    return sorted(keep), float(lowest[left].min()) * (1 - 1e-7) - 1  # margin for floating point


def _solver(time_limit: float, gap_limit: float, seed: int) -> Any:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, time_limit)
    params.num_workers = 1
    params.linearization_level = 2
    params.relative_gap_limit = gap_limit
    params.random_seed = seed
    return solver


def _solve_cost(problem: Problem, a: _Arrays, index: list[int], started: float, time_limit: float,
                hint: Sequence[int] | None, excluded: Sequence[Sequence[int]], gap_limit: float,
                seed: int) -> tuple[list[int], int, float] | None:  # fmt: skip
    """Minimum cost over the candidates in `index`: (chosen, cost, proven lower bound), or None
    if none was found."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = {i: model.NewBoolVar(f"x{i}") for i in index}
    forced = [i for i in index if a.forced[i]]
    for i in forced:
        model.Add(x[i] == 1)
    rows = np.array(index)
    sub_w, sub_p = a.weight[rows], a.provides[rows]
    need = np.maximum(0, a.target - a.weight[forced].sum(axis=0))
    unprovided = ~a.provides[forced].any(axis=0)
    for j in range(len(problem.categories)):
        if unprovided[j]:
            providers = [x[index[r]] for r in np.flatnonzero(sub_p[:, j])]
            if not providers:
                return None
            model.AddBoolOr(providers)
        if need[j] > 0:
            terms = [(int(min(sub_w[r, j], need[j])), x[index[r]]) for r in np.flatnonzero(sub_w[:, j])
                     if not a.forced[index[r]]]  # fmt: skip
            model.Add(cp_model.LinearExpr.WeightedSum([v for _, v in terms], [w for w, _ in terms])
                      >= int(need[j]))  # fmt: skip
    costs = [int(a.cost[i]) for i in index]
    cost = cp_model.LinearExpr.WeightedSum([x[i] for i in index], costs)
    _budget_cuts_hint(model, x, index, cost, problem.budget, excluded, hint)
    model.Minimize(cost)
    left = time_limit - (time.perf_counter() - started)
    solver = _solver(left, gap_limit, seed)
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen_idx = [i for i in index if solver.Value(x[i])]
    return chosen_idx, int(a.cost[chosen_idx].sum()), float(solver.BestObjectiveBound())


def _budget_cuts_hint(model: Any, x: dict[int, Any], index: Sequence[int], cost: Any,
                      budget: int | None, excluded: Sequence[Sequence[int]],
                      hint: Sequence[int] | None) -> None:  # fmt: skip
    """What both objectives share: the budget, a no-good cut per excluded selection (so
    alternatives differ), and the warm-start hint."""
    if budget is not None:
        model.Add(cost <= budget)
    for chosen in excluded:
        members = [x[i] for i in chosen if i in x]
        if len(members) == len(chosen) and members:
            model.Add(sum(members) <= len(members) - 1)
    if hint:
        wanted = set(hint)
        for i in index:
            model.AddHint(x[i], 1 if i in wanted else 0)


def _solve_quality(problem: Problem, a: _Arrays, started: float, time_limit: float,
                   hint: Sequence[int] | None, excluded: Sequence[Sequence[int]], gap_limit: float,
                   seed: int) -> Solution | None:  # fmt: skip
    """Maximise the primary providers' quality, then minimise cost at that quality."""
    from ortools.sat.python import cp_model

    index = prune(problem)
    model = cp_model.CpModel()
    x = {i: model.NewBoolVar(f"x{i}") for i in index}
    y: dict[tuple[int, str], Any] = {}
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
    _budget_cuts_hint(model, x, index, cost, problem.budget, excluded, hint)
    solver = _solver(time_limit, gap_limit, seed)
    scaled = {key: int(round(problem.candidates[key[0]].quality[key[1]] * 1000)) for key in y}
    model.Maximize(sum(scaled[key] * var for key, var in y.items()))
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    model.Add(sum(scaled[key] * var for key, var in y.items()) >= int(solver.ObjectiveValue()))
    model.ClearHints()
    for i in index:
        model.AddHint(x[i], int(solver.Value(x[i])))
    solver.parameters.max_time_in_seconds = max(0.05, time_limit - (time.perf_counter() - started))
    model.Minimize(cost)
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen_idx = tuple(i for i in index if solver.Value(x[i]))
    primary = {k: i for (i, k), var in y.items() if solver.Value(var)}
    total = sum(problem.candidates[i].cost for i in chosen_idx)
    status_name = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
    notes = []
    if len(index) < len(problem.candidates):
        notes.append(f"pruned {len(problem.candidates):,} candidate sources to {len(index):,}")
    return Solution(chosen_idx, total, primary, status_name, float(solver.BestObjectiveBound()),
                    time.perf_counter() - started, "cp-sat", len(index), notes)  # fmt: skip


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
