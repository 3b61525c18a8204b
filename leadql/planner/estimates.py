"""The cost model's inputs: what ANALYZE measured, turned into per-source probabilities.

For each source: rows, per-category fill rate and quality, money per record and per query, age;
the selectivity of each pushed-down predicate (from quantiles and most common values); and how
far two sources hold the same people (from bottom-k sketches of email, phone and name+zip).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from leadql.catalog.definitions import DataDef
from leadql.catalog.sketches import Sketch, overlap
from leadql.grammar import ast
from leadql.planner.expressions import Predicate

DEFAULT_SELECTIVITY = 1 / 3  # for a condition the statistics cannot judge (as PostgreSQL does)
EQ_SELECTIVITY = 0.05
FRESH_DAYS = 30.0  # younger data counts as current
AGING_PER_YEAR = 0.10  # older data: the chance a value is still right falls about 10% a year


@dataclass
class SourceProfile:
    defn: DataDef
    rows: int
    fill: dict[str, float]
    quality: dict[str, float]  # per category: source quality, less the share normalisation rejected
    stats: dict[str, Any]
    age_days: float | None
    sketches: dict[str, Sketch] = field(default_factory=dict)
    # realised conversion of this source's leads vs the average (leadql/feedback/evidence.py): the
    # index the planner acts on (1.0 until the evidence is decided), the measured one, its support
    conversion_index: float = 1.0
    realised_index: float = 1.0
    evidence_leads: int = 0

    @property
    def name(self) -> str:
        return self.defn.name

    @property
    def price_record(self) -> Decimal:
        return self.defn.price_per_record

    @property
    def price_query(self) -> Decimal:
        return self.defn.price_per_query

    @property
    def categories(self) -> set[str]:
        return set(self.fill)

    def holds(self, predicate: Predicate) -> bool:
        return predicate.categories <= self.categories

    def pushable(self, predicates: list[Predicate], floor: float | None) -> list[Predicate]:
        """Predicates this source can evaluate on values good enough to keep: its values of every
        category involved meet the quality floor (else judging on them would drop or keep the
        wrong people; those predicates are evaluated after fusion instead)."""
        fresh = freshness_factor(self.age_days)
        return [p for p in predicates if self.holds(p) and
                (floor is None or all(self.quality[c] * fresh >= floor for c in p.categories))]

    def pass_rate(self, predicates: list[Predicate]) -> float:
        """Share of this source's records that satisfy every predicate (NULL fails)."""
        rate = 1.0
        used: set[str] = set()
        for p in predicates:
            rate *= selectivity(p.node, self.stats.get("categories", {}), p.values)
            used |= p.categories
        for category in used:
            rate *= self.fill.get(category, 0.0)
        return max(0.0, min(1.0, rate))


def profile(defn: DataDef, row_count: int, stats: dict[str, Any], today: date) -> SourceProfile:
    cats = stats.get("categories", {})
    base_quality = float(defn.quality) if defn.quality is not None else 0.8
    fill, quality = {}, {}
    for name in defn.mappings:
        entry = cats.get(name, {})
        fill[name] = float(entry.get("fill_rate", 0.0) or 0.0)
        count = entry.get("count") or 0
        failed = entry.get("failed") or 0
        rejected = failed / (count + failed) if (count + failed) else 0.0
        quality[name] = round(base_quality * (1 - rejected), 4)
    age = None
    if defn.updated:
        try:
            age = max(0.0, float((today - date.fromisoformat(str(defn.updated)[:10])).days))
        except ValueError:
            age = None
    sketches = {k: Sketch.from_json(v) for k, v in stats.get("sketches", {}).items()}
    return SourceProfile(defn, int(row_count), fill, quality, stats, age, sketches)


def freshness_factor(age_days: float | None) -> float:
    """How much a value's chance of being right has decayed with the data's age."""
    if age_days is None or age_days <= FRESH_DAYS:
        return 1.0
    return (1 - AGING_PER_YEAR) ** ((age_days - FRESH_DAYS) / 365.25)


STRONG_KEYS = ("email", "phone")
MIN_OVERLAP = 20  # shared keys needed before an overlap is trusted


class Overlaps:
    """How far sources hold the same people, from ANALYZE's bottom-k sketches.

    Where two sources share a strong key (email, phone), the share of one's keys found in the
    other, corrected for the other's fill rate. Elsewhere (no shared strong key, or keys that do
    not overlap, e.g. work vs personal emails), sources are taken as independent samples of one
    population: reach = the other's size / the population, estimated Lincoln–Petersen style
    (|A|·|B| / |A ∩ B|) from the trusted pairs. Name+zip keys are not trusted for this: typos,
    nicknames and moves hide most of their matches.
    """

    def __init__(self, profiles: dict[str, SourceProfile]) -> None:
        self.profiles = profiles
        self._cache: dict[tuple[str, str], float] = {}
        estimates = []
        items = list(profiles.values())
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                for key in STRONG_KEYS:
                    sa, sb = a.sketches.get(key), b.sketches.get(key)
                    if sa is None or sb is None:
                        continue
                    shared = overlap(sa, sb)
                    if shared >= MIN_OVERLAP:
                        estimates.append(sa.distinct * sb.distinct / shared)
        estimates.sort()
        biggest = max((p.rows for p in items), default=1)
        self.population = max(float(biggest), estimates[len(estimates) // 2] if estimates else biggest * 1.5)

    def reach(self, driver: SourceProfile, other: SourceProfile) -> float:
        """Estimated share of `driver`'s people that `other` also holds."""
        if driver.name == other.name:
            return 1.0
        key = (driver.name, other.name)
        if key not in self._cache:
            self._cache[key] = self._reach(driver, other)
        return self._cache[key]

    def _reach(self, driver: SourceProfile, other: SourceProfile) -> float:
        best = self.key_reach(driver, other)
        if best is None:
            best = other.rows / self.population
        return max(0.0, min(1.0, best))

    @staticmethod
    def key_reach(driver: SourceProfile, other: SourceProfile) -> float | None:
        """The share of `driver`'s people `other` holds, measured on a shared strong key; None
        where no key gives enough shared values to trust (`reach` then assumes independence)."""
        best = None
        for key in STRONG_KEYS:
            a, b = driver.sketches.get(key), other.sketches.get(key)
            if a is None or b is None or not a.distinct:
                continue
            shared = overlap(a, b)
            if shared < MIN_OVERLAP and shared < a.distinct * 0.02:
                continue
            share = shared / a.distinct / max(other.fill.get(key, 1.0), 0.05)
            best = share if best is None else max(best, share)
        return None if best is None else max(0.0, min(1.0, best))


# ------------------------------------------------------------------------ selectivity


def selectivity(node: ast.Expr, stats: dict[str, Any], values: dict[int, Any] | None = None) -> float:
    """Share of non-NULL records that satisfy `node`, from one source's category statistics.
    `values` holds the constants as compiled (parameters bound, text normalised)."""
    values = values or {}
    if isinstance(node, ast.BoolOp):
        parts = [selectivity(i, stats, values) for i in node.items]
        if node.op == "AND":
            return math.prod(parts)
        return 1 - math.prod(1 - p for p in parts)
    if isinstance(node, ast.Not):
        return 1 - selectivity(node.operand, stats, values)
    if isinstance(node, ast.IsNull):
        return 1.0 if node.negated else 0.0  # the category's fill rate is counted separately
    column, values, op = _shape(node, values)
    if column is None:
        return DEFAULT_SELECTIVITY
    if op in ("=", "!=") and values[0] is None:  # `= NULL` is IS NULL, `!= NULL` IS NOT NULL
        return 0.0 if op == "=" else 1.0
    if op == "not in" and None in values:  # SQL: x NOT IN (…, NULL) is never true
        return 0.0
    entry = stats.get(column.lower(), {})
    if op in ("between", "not between"):
        cdf = _cdf(entry)
        if cdf is None or values[0] is None or values[1] is None:
            share = DEFAULT_SELECTIVITY
        else:
            share = max(0.0, cdf(values[1], True) - cdf(values[0], False))
        return 1 - share if op == "not between" else share
    if op in ("<", "<=", ">", ">="):
        cdf = _cdf(entry)
        if cdf is None or values[0] is None:
            return DEFAULT_SELECTIVITY
        below = cdf(values[0], op in ("<=", ">"))
        return below if op in ("<", "<=") else 1 - below
    if op in ("=", "in", "!=", "not in"):
        share = sum(_equal_share(entry, v) for v in values)
        share = min(1.0, share)
        return 1 - share if op in ("!=", "not in") else share
    return DEFAULT_SELECTIVITY


def judged(node: ast.Expr, values: dict[int, Any] | None = None) -> bool:
    """Whether `selectivity` judges the condition from statistics (a category compared with
    constants), rather than guessing DEFAULT_SELECTIVITY (LIKE, functions, two categories)."""
    return _shape(node, values or {})[0] is not None


def _shape(node: ast.Expr, known: dict[int, Any]) -> tuple[str | None, list[Any], str]:
    """(category, constants, operator) for the simple shapes statistics can judge."""
    def const(n: ast.Expr) -> Any:
        if id(n) in known:
            return known[id(n)]
        if isinstance(n, ast.Literal):
            return n.value
        return _MISSING

    if isinstance(node, ast.Compare):
        left, right, op = node.left, node.right, node.op
        if not isinstance(left, ast.ColumnRef) and isinstance(right, ast.ColumnRef):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(left, ast.ColumnRef) and const(right) is not _MISSING:
            return left.column, [const(right)], "!=" if op == "<>" else op
    if isinstance(node, ast.InList) and isinstance(node.operand, ast.ColumnRef):
        values = [const(i) for i in node.items]
        if _MISSING not in values:
            return node.operand.column, values, "not in" if node.negated else "in"
    if isinstance(node, ast.Between) and isinstance(node.operand, ast.ColumnRef):
        low, high = const(node.low), const(node.high)
        if _MISSING not in (low, high):
            return node.operand.column, [low, high], "not between" if node.negated else "between"
    if isinstance(node, ast.ColumnRef):
        return node.column, [True], "="
    return None, [], ""


_MISSING = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(date.fromisoformat(value[:10]).toordinal())
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _cdf(entry: dict[str, Any]) -> Any:
    """P(value < x) (or <= x), interpolated between ANALYZE's 5% quantiles."""
    quantiles = entry.get("quantiles")
    if quantiles:
        points = [float(q) for q in quantiles]
    elif entry.get("min") is not None and entry.get("max") is not None:
        lo, hi = _number(entry["min"]), _number(entry["max"])
        if lo is None or hi is None:
            return None
        points = [lo + (hi - lo) * i / 20 for i in range(21)]
    else:
        return None
    steps = len(points) - 1

    def cdf(value: Any, inclusive: bool) -> float:
        x = _number(value)
        if x is None:
            return 0.5
        if x < points[0] or (x == points[0] and not inclusive):
            return 0.0
        if x > points[-1] or (x == points[-1] and inclusive):
            return 1.0
        lo = bisect.bisect_left(points, x) if not inclusive else bisect.bisect_right(points, x)
        lo = max(1, min(lo, steps))
        a, b = points[lo - 1], points[lo]
        within = 0.5 if b == a else (x - a) / (b - a)
        return (lo - 1 + within) / steps

    return cdf


def _equal_share(entry: dict[str, Any], value: Any) -> float:
    top = entry.get("top") or []
    count = entry.get("count") or 0
    if not count:
        return EQ_SELECTIVITY
    shown = sum(n for _, n in top)
    for v, n in top:
        if str(v).lower() == str(value).lower():
            return n / count
    distinct = entry.get("distinct") or 0
    rest = distinct - len(top)
    if top and rest <= 0:
        return 0.0  # every value is among the top ones, and this is not one of them
    if rest > 0:
        return max(0.0, (count - shown) / count) / rest
    if entry.get("min") is not None:  # numeric: uniform over distinct values
        return 1 / distinct if distinct else EQ_SELECTIVITY
    return EQ_SELECTIVITY
