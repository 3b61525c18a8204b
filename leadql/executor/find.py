"""Running a FIND plan: buy candidates, enrich them, resolve, fuse, filter, rank, deliver.

One run proceeds in rounds, each:

    r0 := Scan[driver]      pushed predicates, suppression, ORDER BY completeness, LIMIT by budget
    r1 := Lookup[enrich…]   in parallel: records sharing an identity key with the candidates (free)
    r2 := Resolve           the same people across all records held (resolution.py)
    r3 := Buy[enrich…]      only records of candidates' people that fill a missing category
    r4 := Fuse, Filter      one value per category (fusion.py), predicates, QUALITY, completeness

until n leads are delivered, the budget is spent or the supply is exhausted. A source that fails
after retries is dropped and the run re-planned without it, keeping every record already paid
for; a driver that runs out of matching records hands over to the next plan's driver.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from leadql.catalog.definitions import CategoryDef
from leadql.connectors.base import quote_ident, quote_str
from leadql.context import Context
from leadql.errors import LeadQLCancelledError, LeadQLError
from leadql.executor import fusion, scans
from leadql.executor.ledger import Ledger
from leadql.planner.binding import BoundFind
from leadql.planner.estimates import freshness_factor, judged
from leadql.planner.plan import Plan
from leadql.planner.planner import Planning, plan_find, supply_exhausted, tops_up, unseen_share
from leadql.result import Result

IDENTITY = ("email", "phone", "first_name", "last_name", "birth_date", "street", "city", "state", "zip")
IDENTITY_KEYS = ("email", "phone", "first_name", "last_name", "birth_date", "zip")  # lead ids, suppression
# Enrichment look-ups ask each source for records sharing one of these keys with a candidate:
# (name, categories needed on both sides, SQL over them). They cover resolution's blocking rules,
# so every record resolution could link is seen.
LOOKUP_KEYS = (
    ("email", frozenset({"email"}), "email"),
    ("phone", frozenset({"phone"}), "phone"),
    ("zip+last initial", frozenset({"zip", "last_name"}), "zip || '|' || left(lower(last_name), 1)"),
    ("zip+first initial", frozenset({"zip", "first_name"}), "zip || '|' || left(lower(first_name), 1)"),
    ("last name+zip3", frozenset({"zip", "last_name"}), "lower(last_name) || '|' || left(zip, 3)"),
    ("name+birth date", frozenset({"first_name", "last_name", "birth_date"}),
     "lower(first_name) || '|' || lower(last_name) || '|' || CAST(birth_date AS VARCHAR)"),
    ("zip+birth date", frozenset({"zip", "birth_date"}), "zip || '|' || CAST(birth_date AS VARCHAR)"),
)
MAX_ROUNDS = 6
OVERBUY = 1.10  # buy 10% more candidates than the expected yield needs
MAX_OVERBUY = 1.50  # ... and up to 50% more when another round's query fees cost more than that
MARGIN_SHARE = 0.25  # the margin spends at most this share of the fees another round would pay
MIN_YIELD = 0.02
SCORE_DEPTH = 4.0  # a pattern-ranked round buys up to this many times the candidates it needs


def _overbuy(expected: float, per_candidate: Decimal, fees: Decimal) -> float:
    """How many times the expected number of candidates a round buys. A round that falls short
    is followed by another, which pays every query fee of the plan again; the margin grows (to
    MAX_OVERBUY) while the extra candidates cost at most a quarter of those fees. With a $25
    query fee and candidates at half a cent, 200 leads cost $52.35 over two rounds where one
    round with a margin costs about $28."""
    if fees <= 0 or expected <= 0:
        return OVERBUY
    if per_candidate <= 0:
        return MAX_OVERBUY
    worth = float(fees / per_candidate) / expected  # extra candidates the fees would pay for, as a share
    return min(MAX_OVERBUY, max(OVERBUY, 1.0 + MARGIN_SHARE * worth))


@dataclass
class StepStats:
    """What one step did, for EXPLAIN ANALYZE."""

    name: str
    rows: int = 0
    cost: Decimal = Decimal(0)
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Round:
    """One round: candidates from the driver, the enrichment bought for them, fused."""

    number: int
    driver: str
    candidates: str = ""  # staging table of the driver records bought
    bought: list[tuple[str, str]] = field(default_factory=list)  # (source, staging table)
    entities: str = ""
    completable: str = ""  # entity ids whose every required category some held or looked-up record has
    scores: str = ""  # MATCHING / LIKE: entity_id, score (from every value held or looked up)
    fused: str = ""
    delivered: int = 0
    wanted: int = 0  # driver records the last scan asked for ...
    read: int = 0  # ... and those it returned


@dataclass
class RunState:
    run_id: str
    plan: Plan
    planning: Planning
    ledger: Ledger
    failed: dict[str, str] = field(default_factory=dict)  # source → error
    exhausted: set[str] = field(default_factory=set)  # drivers with no more matching records
    # driver → the predicates (SQL) it was scanned with when it ran dry: nobody it still holds passes them
    exhausted_under: dict[str, frozenset[str]] = field(default_factory=dict)
    steps: list[StepStats] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    delivered: int = 0
    rounds: int = 0
    yield_seen: float | None = None
    # what EXPLAIN ANALYZE shows: the plan the run started with and its alternatives (re-planning
    # replaces `plan` and the alternatives), then each re-plan: (after round, why, the new plan)
    first_plan: Plan | None = None
    first_alternatives: list[Plan] = field(default_factory=list)
    # (after round, why, the plan that took over, leads still needed, len(steps) at that moment)
    replans: list[tuple[int, str, Plan, int | None, int]] = field(default_factory=list)
    # drivers scanned within a round after its driver ran dry: (round, why, the plan, leads)
    top_ups: list[tuple[int, str, Plan, int]] = field(default_factory=list)


def run_find(ctx: Context, bound: BoundFind, planning: Planning, *, progress: Any = None) -> tuple[Result, RunState]:
    """Execute the chosen plan. Returns the result and the run's state (for EXPLAIN ANALYZE)."""
    return FindRun(ctx, bound, planning, progress).run()


class FindRun:
    def __init__(self, ctx: Context, bound: BoundFind, planning: Planning, progress: Any) -> None:
        self.ctx = ctx
        self.ws = ctx.ws
        self.con = ctx.con
        self.bound = bound
        self.categories: dict[str, CategoryDef] = bound.categories
        self.progress = progress
        assert bound.budget is not None
        run_id = uuid.uuid4().hex
        self.state = RunState(run_id, planning.chosen, planning, Ledger(bound.budget),
                              first_plan=planning.chosen, first_alternatives=list(planning.alternatives))
        self.started = datetime.now(timezone.utc).replace(tzinfo=None)
        self.threads = max(1, int(self.ws.scan_threads or _cores()))
        self.suppression: Any = None
        self._tables: list[str] = []  # staging tables to drop at the end
        self._one_per_person: set[str] = set()  # bought tables holding one record per person
        self.bought: list[tuple[str, str]] = []  # (source, staging table) of every record bought
        self.rounds_done: list[Round] = []
        # Fused columns: what was asked for plus the identity lead ids and suppression use.
        self._wanted = list(dict.fromkeys([*bound.required, *IDENTITY_KEYS]))
        self.scorer = bound.scorer

    # ------------------------------------------------------------------ the run
    def run(self) -> tuple[Result, RunState]:
        from leadql.warehouse import record_run, write_list

        state, bound = self.state, self.bound
        scans.attach_stage(self.con)
        status = "failed"
        try:
            if bound.into_list:  # a name clash or type conflict must stop us before buying
                from leadql.warehouse import check_list

                check_list(self.con, bound.into_list, {
                    c: self.categories[c.lower()].type for c in bound.required})
            if bound.exclusions:
                from leadql.warehouse import suppression

                self.suppression = suppression(self.con, self.ctx.catalog, bound.exclusions,
                                               available=set(IDENTITY), run_id=state.run_id)  # fmt: skip
                state.warnings += list(self.suppression.warnings)
            self._rounds()
            table, identities = self._deliver()
            state.delivered = table.num_rows
            self._explain_shortfall()
            status = "complete" if bound.count is None or table.num_rows >= bound.count else "partial"
            run = self._run_record(status, table.num_rows)
            self._check_cancel()  # the last moment an interrupt can stop the list being written
            if bound.into_list:
                write_list(self.con, bound.into_list, run, table, identities=identities)
            elif run.query_run_id is not None:  # a saved query remembers what it delivered
                record_run(self.con, run, delivered=table, identities=identities)
            else:
                record_run(self.con, run)
        except BaseException:
            if state.ledger.spent > 0:  # money moved: the run is history even when it failed
                try:
                    record_run(self.con, self._run_record("failed", 0))
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
            raise
        finally:
            self._cleanup()
        result = Result(table=table, warnings=state.warnings, plan=state.plan, cost=state.ledger.spent)
        result.message = self._message(table.num_rows)
        return result, state

    def _check_cancel(self) -> None:
        """Stop at a step boundary when ws.interrupt() came while no DuckDB query was running
        (DuckDB's own interrupt only stops a query in flight)."""
        if getattr(self.ctx.ws, "cancel_requested", False):
            raise LeadQLCancelledError("FIND was cancelled")

    def _rounds(self) -> None:
        state, bound = self.state, self.bound
        while state.rounds < MAX_ROUNDS:
            needed = None if bound.count is None else bound.count - state.delivered
            if needed is not None and needed <= 0:
                return
            plan = state.plan
            if plan.driver in state.exhausted or plan.driver in state.failed:
                if self._supply_exhausted() or not self._replan():
                    return
                continue
            self._check_cancel()
            state.rounds += 1
            round_ = Round(state.rounds, plan.driver)
            bought = self._buy_candidates(plan, needed, round_)
            if bought is None:  # the driver failed: plan again without it
                if not self._replan():
                    return
                continue
            if bought == 0:
                if state.ledger.remaining <= 0 or not self._can_buy_any(plan):
                    state.warnings.append(self._budget_warning())
                    return
                self._mark_exhausted(plan)
                continue
            self.rounds_done.append(round_)
            self._check_cancel()
            self._top_up(plan, needed, round_)
            self._enrich(plan, round_)
            round_.delivered = self._fuse_round(round_)
            state.delivered += round_.delivered
            state.yield_seen = max(MIN_YIELD, round_.delivered / max(1, bought))
            if needed is not None and round_.delivered >= needed:
                return
            if state.ledger.remaining <= 0 or not self._can_buy_any(plan):
                state.warnings.append(self._budget_warning())
                return
        if bound.count is not None and state.delivered < bound.count:
            state.warnings.append(f"stopped after {MAX_ROUNDS} rounds with {state.delivered:,} leads")

    # ------------------------------------------------------------------ buying candidates
    def _buy_candidates(self, plan: Plan, needed: int | None, round_: Round, *, top_up: bool = False) -> int | None:
        """Scan the driver; returns the number of records bought, None if the source failed.
        A `top_up` (see `_top_up`) buys only the candidates `needed` leads are expected from, and
        leaves what a failing source delivered to the round it tops up."""
        state = self.state
        driver = plan.use(plan.driver)
        defn = self._defn(plan.driver)
        ledger = state.ledger
        account = ledger.open(defn.name, defn.price_per_record, defn.price_per_query, _quality(defn))
        yield_rate = state.yield_seen or max(MIN_YIELD, plan.yield_rate)
        # Keep enough money to enrich what is bought: expected per-candidate enrichment cost (the
        # records the plan expects to buy from each enrichment source per candidate).
        fees = sum((u.price_query for u in plan.uses if u.name != plan.driver), Decimal(0))
        per_candidate = account.price_record + sum(
            (u.price_record * Decimal(str(round(_per_candidate(plan, u), 6))) for u in plan.uses if u.name != plan.driver),
            Decimal(0),
        )
        if needed is None:
            wanted = int(plan.supply) + 1
        else:
            expected = needed / yield_rate
            # a margin against another round's fees while the yield is the plan's estimate;
            # once a round has measured it, the usual 10%
            fees_again = account.price_query + fees if state.yield_seen is None else Decimal(0)
            factor = _overbuy(expected, per_candidate, fees_again) if not top_up else 1.0
            wanted = max(1, math.ceil(expected * factor))
        left = ledger.remaining - account.price_query - fees
        if per_candidate > 0:
            wanted = min(wanted, int(max(Decimal(0), left) / per_candidate))
        if wanted <= 0 or not ledger.can_query(defn.name):
            return 0
        where = [p.sql for p in driver.pushed] + [f"{quote_ident(k)} IS NOT NULL" for k in driver.present]
        available = set(defn.mappings)
        if self.suppression is not None:
            predicate = self.suppression.predicate(available & set(IDENTITY))
            if predicate:
                where.append(f"NOT coalesce(({predicate}), false)")
        bought = self._bought_keys_sql(defn.name)
        if bought:
            where.append(f"_record_key NOT IN ({bought})")
        where += self._not_already_held(available)
        order = " + ".join(f"({quote_ident(c)} IS NOT NULL)::INT" for c in self.bound.required if c in available)
        order_by = f"{order} DESC, " if order else ""
        if self.scorer is not None:
            # Buy the records the pattern likes best first (scored on what this source knows), and
            # more of them when the source knows little of what the pattern weighs: the rest is
            # looked up before enrichment is bought, and only the best-scoring people are kept.
            ranking = self.scorer.pattern.order_sql(set(self._columns(defn)))
            if ranking:
                order_by += f"({ranking}) DESC, "
            depth = self._score_depth(defn)
            affordable = int(max(Decimal(0), left) / per_candidate) if per_candidate > 0 else wanted * 2
            wanted = max(1, min(affordable, math.ceil(wanted * depth)))
        ledger.charge_query(defn.name)
        first_scan = not self.bought  # nothing bought yet in this run, from any source

        read = [0]  # records the scan returned (before duplicates and the budget cut)

        def keep(batch: Any) -> Any:
            """Pay for the batch's new records (as many as the budget allows) and stage only those:
            a retry re-reads records already held, which are neither paid nor staged twice."""
            import pyarrow as pa

            read[0] += batch.num_rows
            keys = batch.column("_record_key").to_pylist()
            fresh = ledger.new_keys(defn.name, keys)
            fresh = fresh[: ledger.affordable(defn.name, len(fresh))]
            ledger.charge_records(defn.name, fresh)
            if not fresh and ledger.affordable(defn.name, 1) == 0:
                return None  # the budget is spent: stop reading
            if len(fresh) == len(keys):  # all new, none repeated, all affordable: the usual case
                return batch
            allowed = set(fresh)
            mask = []
            for k in keys:
                mask.append(k in allowed)
                allowed.discard(k)
            return batch.filter(pa.array(mask, pa.bool_()))

        table = self._fresh(defn.name, f"r{round_.number}", "cands")
        request = scans.ScanRequest(
            defn, table, self._columns(defn), where=" AND ".join(f"({w})" for w in where) or None,
            order_by=order_by + "_record_key",
            limit=wanted, keep=keep, purpose="buy",
        )  # fmt: skip
        started = time.perf_counter()
        outcome = scans.run_scan(self.ws, request, self.categories, self.progress)
        self._tables.append(table)
        round_.wanted, round_.read = wanted, read[0]
        if outcome.rows:
            self.bought.append((defn.name, table))
            round_.bought.append((defn.name, table))
            round_.candidates = self._with_candidates(round_.candidates, table)
        state.steps.append(StepStats(f"Scan[{defn.name}]", outcome.rows, self._amount(defn.name),
                                     time.perf_counter() - started,
                                     f"round {state.rounds}, limit {wanted:,}"))  # fmt: skip
        if outcome.error is not None:
            state.failed[defn.name] = outcome.error.message
            state.warnings.append(f"source {defn.name} failed after {outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''} "
                                  f"({outcome.error.message}); re-planned without it")  # fmt: skip
            if outcome.rows and not top_up:  # what it delivered before failing is paid for: use it
                self._enrich(plan, round_)
                round_.delivered = self._fuse_round(round_)
                state.delivered += round_.delivered
                self.rounds_done.append(round_)
            return None
        if read[0] < wanted and ledger.affordable(defn.name, 1) > 0:
            self._mark_exhausted(plan)  # asked for more than it holds
            if first_scan:
                self._warn_short_supply(plan, read[0], wanted)
        return outcome.rows

    def _with_candidates(self, held: str, table: str) -> str:
        """The round's candidates: `table`, or with a top-up, both drivers' records in one table."""
        if not held:
            return table
        both = self._fresh("cands", "both")
        self.con.execute(f"CREATE TABLE {both} AS SELECT * FROM {held} UNION ALL BY NAME SELECT * FROM {table}")
        self._tables.append(both)
        return both

    def _top_up(self, plan: Plan, needed: int | None, round_: Round) -> None:
        """When the driver ran dry short of the candidates the round wanted, scan the next driver
        in the same round, before the look-ups: a round of its own would pay the enrichment's
        query fees again. The 150-lead sample case paid acme_credit's $25 fee twice ($51.99)
        because clickid held 518 of the 681 candidates the round wanted. Only a next plan whose
        enrichment sources this plan uses too is taken (one look-up then serves both drivers'
        people); the plan state is left as it was, so the next round re-plans as before."""
        state = self.state
        if needed is None or plan.driver not in state.exhausted or state.failed or self.scorer is not None:
            return
        if not any(u.price_query > 0 for u in plan.uses if u.role == "enrich"):
            return  # another round costs no fee again: no need to look for the next plan
        yield_rate = state.yield_seen or max(MIN_YIELD, plan.yield_rate)
        short = math.ceil((round_.wanted - round_.read) * yield_rate)
        if short < 1:
            return
        saved = (state.plan, list(state.planning.alternatives), list(state.replans), list(state.warnings))
        try:
            found = self._next_plan(short)
            new = state.plan
        finally:
            state.plan, state.planning.alternatives, state.replans, state.warnings = saved
        if not found or not tops_up(plan, new):
            return
        if new.driver in state.exhausted or new.driver in state.failed:
            return
        why = f"{plan.driver} ran out of matching records ({round_.read:,} of {round_.wanted:,} wanted)"
        state.top_ups.append((round_.number, why, new, short))
        self._buy_candidates(new, short, round_, top_up=True)

    def _warn_short_supply(self, plan: Plan, read: int, wanted: int) -> None:
        """The run's first scan returning a small fraction of what the driver's statistics
        promise usually means the file changed since ANALYZE (e.g. a column refilled with values
        that no longer normalise). Only said when nothing else thins the scan (no suppression;
        it is the first scan, so nobody is held yet), so the gap is the statistics'."""
        promised = min(wanted, plan.supply)
        if self.suppression is not None or promised < 20 or read * 10 >= promised:
            return
        # only where the promise is the statistics', not a guess: at most one pushed condition
        # (two are taken as independent), a plain comparison of a category with constants
        pushed = plan.use(plan.driver).pushed
        if len(pushed) > 1 or any(not judged(p.node, p.values) for p in pushed):
            return
        name = plan.driver
        self.state.warnings.append(
            f"{name} returned {read:,} matching record{'s' if read != 1 else ''} where its statistics "
            f"promise about {round(promised):,}: if its contents changed since it was analyzed, "
            f"run ANALYZE {name}")

    def _mark_exhausted(self, plan: Plan) -> None:
        self.state.exhausted.add(plan.driver)
        self.state.exhausted_under[plan.driver] = plan.pushed_sql

    def _supply_exhausted(self) -> bool:
        state = self.state
        return supply_exhausted(self.bound.predicates, state.planning.profiles, state.planning.excluded,
                                state.exhausted_under, state.failed)  # fmt: skip

    def _score_depth(self, defn: Any) -> float:
        """How many times more candidates than needed a pattern-ranked round buys, to keep the
        best-scoring: more when the driver knows little of what the pattern weighs (its order is
        then a weak guide). OPTIMIZE FOR COST buys at most twice what is needed; otherwise the
        money the BUDGET leaves is traded for a better list, up to SCORE_DEPTH times."""
        unknown = 1.0 - self.scorer.pattern.coverage(set(self._columns(defn)))
        most = 2.0 if self.bound.statement.clauses.optimize == "COST" else SCORE_DEPTH
        return 1.0 + (most - 1.0) * max(unknown, 0.5)

    def _not_already_held(self, available: set[str]) -> list[str]:
        """Skip people already bought in an earlier round (same email or phone)."""
        out = []
        for key in ("email", "phone"):
            if key not in available:
                continue
            parts = [f"SELECT {quote_ident(key)} AS k FROM {t}" for _, t in self.bought
                     if key in self._table_columns(t)]  # fmt: skip
            if parts:
                out.append(f"{quote_ident(key)} IS NULL OR {quote_ident(key)} NOT IN "
                           f"(SELECT k FROM ({' UNION ALL '.join(parts)}) WHERE k IS NOT NULL)")  # fmt: skip
        return out

    # ------------------------------------------------------------------ enrichment
    def _enrich(self, plan: Plan, round_: Round) -> None:
        state, ledger = self.state, self.state.ledger
        enrichers = [u for u in plan.uses if u.role == "enrich" and u.name not in state.failed]
        lookups: list[tuple[str, str]] = []
        requests = []
        keys_table = self._lookup_keys(round_.candidates)
        for use in enrichers:
            defn = self._defn(use.name)
            ledger.open(defn.name, defn.price_per_record, defn.price_per_query, _quality(defn))
            if not ledger.can_query(defn.name) or ledger.remaining <= 0:
                continue
            where = self._lookup_where(defn, keys_table)
            if where is None:
                continue
            ledger.charge_query(defn.name)
            table = self._fresh(defn.name, f"r{round_.number}", "lookup")
            self._tables.append(table)
            requests.append(scans.ScanRequest(defn, table, self._columns(defn), where=where, purpose="lookup"))
            lookups.append((defn.name, table))
        scoring = self._scoring_lookups(plan, keys_table, round_, requests)
        outcomes = scans.run_parallel(self.ws, requests, self.categories, threads=self.threads,
                                      progress=self.progress)  # fmt: skip
        for outcome in outcomes:
            state.steps.append(StepStats(f"Lookup[{outcome.source}]", outcome.rows, Decimal(0),
                                         outcome.seconds, f"round {state.rounds}"))  # fmt: skip
            if outcome.error is not None:
                state.failed[outcome.source] = outcome.error.message
                state.warnings.append(f"source {outcome.source} failed after {outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''} "
                                      f"({outcome.error.message}); continued without it")  # fmt: skip
        lookups = [(n, t) for n, t in lookups if n not in state.failed]
        scoring = [(n, t) for n, t in scoring if n not in state.failed]
        # every looked-up record shares a key with a candidate: the candidates anchor resolution
        round_.entities = self._resolve([round_.candidates] + [t for _, t in lookups + scoring], anchor=0)
        round_.completable = self._completable(round_, [t for _, t in lookups])
        if self.scorer is not None:
            round_.scores = self._score_round(round_, [t for _, t in lookups + scoring])
            self._keep_best(round_)
        for name, table in sorted(lookups, key=lambda item: -self._quality_rank(item[0])):
            self._buy_matches(name, table, round_)

    def _scoring_lookups(self, plan: Plan, keys: dict[str, str], round_: Round,
                         requests: list[Any]) -> list[tuple[str, str]]:  # fmt: skip
        """MATCHING / LIKE: also look the round's people up in pool sources outside the plan that
        know categories the pattern reads, so the score uses them. Nothing is bought from these,
        and sources charging per query are not asked (a look-up must stay free)."""
        if self.scorer is None:
            return []
        out = []
        used = set(plan.sources) | set(self.state.failed)
        for defn in self.bound.pool:
            if defn.name in used or defn.price_per_query > 0 or not set(defn.mappings) & set(self.bound.scoring):
                continue
            where = self._lookup_where(defn, keys)
            if where is None:
                continue
            table = self._fresh(defn.name, f"r{round_.number}", "score")
            self._tables.append(table)
            requests.append(scans.ScanRequest(defn, table, self._columns(defn), where=where, purpose="lookup"))
            out.append((defn.name, table))
        return out

    def _completable(self, round_: Round, lookups: list[str]) -> str:
        """The round's people who can be delivered: every required category has a value in a record
        already held or one looked up. Enrichment is bought for these only (looking is free,
        buying is not), so nobody is paid for who would be dropped for a missing attribute."""
        tables = [t for _, t in round_.bought] + lookups
        required = list(self.bound.required)
        # A condition on one category fails after fusion when none of the person's values of it
        # passes (the fused value is one of them): such people are not paid for either.
        single = [p for p in self.bound.predicates if len(p.categories) == 1]
        parts = []
        for t in tables:
            cols = self._table_columns(t)
            flags = [f"({quote_ident(c)} IS NOT NULL) AS {quote_ident('_has_' + c)}" if c in cols
                     else f"false AS {quote_ident('_has_' + c)}" for c in required]  # fmt: skip
            for i, p in enumerate(single):
                (c,) = p.categories
                flags += [f"({quote_ident(c)} IS NOT NULL) AS _held_{i}",
                          f"({quote_ident(c)} IS NOT NULL AND coalesce(({p.sql}), false)) AS _pass_{i}"] if c in cols \
                    else [f"false AS _held_{i}", f"false AS _pass_{i}"]  # fmt: skip
            parts.append(f"SELECT _source, _record_key, {', '.join(flags)} FROM {t}")
        checks = [f"bool_or(r.{quote_ident('_has_' + c)})" for c in required]
        checks += [f"(NOT bool_or(r._held_{i}) OR bool_or(r._pass_{i}))" for i in range(len(single))]
        checks = " AND ".join(checks) or "true"
        out = self._fresh("completable", str(round_.number))
        self.con.execute(f"""
            CREATE TABLE {out} AS SELECT e.entity_id FROM ({' UNION ALL '.join(parts)}) AS r
            JOIN {round_.entities} AS e ON e._source = r._source AND e._record_key = r._record_key
            GROUP BY e.entity_id HAVING {checks}
        """)  # fmt: skip
        self._tables.append(out)
        return out

    def _score_round(self, round_: Round, lookups: list[str]) -> str:
        """Score each of the round's people with the pattern, on every value the sources hold about
        them (records bought or only looked up: looking is free), taking per category the value of
        the best source. Scored inside DuckDB (the pattern compiled to SQL), or on the fetched Arrow
        rows in batches when it cannot be compiled."""
        import pyarrow as pa

        started = time.perf_counter()
        cats = [c for c in self.bound.scoring]
        tables = [t for _, t in round_.bought] + lookups
        quality = {}
        parts = []
        for t in tables:
            cols = self._table_columns(t)
            items = [f"({quote_ident(c)})::VARCHAR AS {quote_ident(c)}" if c in cols else f"NULL::VARCHAR AS {quote_ident(c)}"
                     for c in cats]  # fmt: skip
            parts.append(f"SELECT _source, _record_key{''.join(', ' + i for i in items)} FROM {t}")
        for defn in self.bound.pool:
            quality[defn.name] = self._quality_rank(defn.name)
        qualities = ", ".join(f"({quote_str(n)}, {q!r})" for n, q in quality.items()) or "(NULL, 0.0)"
        picks = ", ".join(f"TRY_CAST(arg_max(r.{quote_ident(c)}, q.q) FILTER (WHERE r.{quote_ident(c)} IS NOT NULL) "
                          f"AS {self.categories[c.lower()].type}) AS {quote_ident(c)}" for c in cats)  # fmt: skip
        values = self._fresh("values", str(round_.number))
        self._tables.append(values)
        self.con.execute(f"""
            CREATE TABLE {values} AS
            WITH q(_source, q) AS (VALUES {qualities})
            SELECT e.entity_id{', ' + picks if picks else ''}
            FROM ({' UNION ALL '.join(parts)}) AS r
            JOIN {round_.entities} AS e ON e._source = r._source AND e._record_key = r._record_key
            LEFT JOIN q ON q._source = r._source
            WHERE e.entity_id IN (SELECT entity_id FROM {round_.completable})
            GROUP BY e.entity_id ORDER BY e.entity_id
        """)  # fmt: skip
        pattern = self.scorer.pattern
        # A table scan keeps insertion order (DuckDB's preserve_insertion_order): ids and scores align.
        ids = self.con.sql(f"SELECT entity_id FROM {values}").to_arrow_table().column(0)
        scores = pattern.score_sql(self.con, values) if len(ids) else []
        if scores is None:  # a type the SQL compiler does not take: score the fetched rows
            scores = pattern.score_arrow(self.con.sql(f"SELECT * FROM {values}").to_arrow_table())
        out = self._fresh("scores", str(round_.number))
        self.con.register("_leadql_scores", pa.table({"entity_id": ids, "score": pa.array(scores, pa.float64())}))
        try:
            self.con.execute(f"CREATE TABLE {out} AS SELECT * FROM _leadql_scores")
        finally:
            self.con.unregister("_leadql_scores")
        self._tables.append(out)
        self.state.steps.append(StepStats("Score", len(ids), Decimal(0), time.perf_counter() - started,
                                          f"round {round_.number}"))  # fmt: skip
        return out

    def _keep_best(self, round_: Round) -> None:
        """Enrichment is bought only for the best-scoring people that can be completed (at least
        MIN SCORE), as many as the request still needs with a margin for later filters."""
        bound, scorer = self.bound, self.scorer
        needed = None if bound.count is None else bound.count - self.state.delivered
        conditions = [f"score >= {scorer.min_score!r}"] if scorer.min_score is not None else []
        limit = f"LIMIT {max(needed + 20, math.ceil(needed * 1.25))}" if needed is not None else ""
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        best = self._fresh("best", str(round_.number))
        self.con.execute(f"CREATE TABLE {best} AS SELECT entity_id FROM {round_.scores} {where} "
                         f"ORDER BY score DESC, entity_id {limit}")  # fmt: skip
        self._tables.append(best)
        round_.completable = best

    def _lookup_keys(self, candidates: str) -> dict[str, str]:
        """Per lookup key, a staged table of the candidates' values (read once, used by every
        enrichment source's lookup)."""
        columns = self._table_columns(candidates)
        out = {}
        for name, needs, expr in LOOKUP_KEYS:
            if not needs <= columns:
                continue
            table = self._fresh("keys", name)
            self.con.execute(f"CREATE TABLE {table} AS SELECT DISTINCT {expr} AS k FROM {candidates} "
                             f"WHERE {expr} IS NOT NULL")  # fmt: skip
            self._tables.append(table)
            out[name] = table
        return out

    def _lookup_where(self, defn: Any, keys: dict[str, str]) -> str | None:
        mapped = set(defn.mappings)
        parts = [f"({expr}) IN (SELECT k FROM {keys[name]})"
                 for name, needs, expr in LOOKUP_KEYS if name in keys and needs <= mapped]  # fmt: skip
        return " OR ".join(parts) if parts else None

    def _buy_matches(self, name: str, lookup: str, round_: Round) -> None:
        """Buy this source's records of the round's people, one per person, only where they fill
        a requested category the person still lacks; as many as the budget allows."""
        state, ledger = self.state, self.state.ledger
        cols = self._table_columns(lookup)
        required = [c for c in self.bound.required if c in cols]
        if not required:
            return
        held = [t for _, t in round_.bought]
        present = set().union(*(self._table_columns(t) for t in held)) if held else set()
        have = ", ".join(
            (f"bool_or({quote_ident(c)} IS NOT NULL)" if c in present else "false")
            + f" AS {quote_ident('_has_' + c)}" for c in required
        )
        union = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in held)
        gaps = " OR ".join(f"(NOT h.{quote_ident('_has_' + c)} AND l.{quote_ident(c)} IS NOT NULL)" for c in required)
        filled = " + ".join(f"(l.{quote_ident(c)} IS NOT NULL)::INT" for c in required)
        bought = self._bought_keys_sql(name)
        already = f"AND l._record_key NOT IN ({bought})" if bought else ""
        # A record that would be the person's only value for a filtered category must pass the
        # filter: otherwise the person fails it after fusion and the money is wasted.
        checks = [p for p in self.bound.predicates if p.categories <= set(cols)]
        verdicts = "".join(f", coalesce(({p.sql}), true) AS _pass_{i}" for i, p in enumerate(checks))
        failing = " OR ".join(
            "(" + " AND ".join(f"NOT h.{quote_ident('_has_' + c)} AND l.{quote_ident(c)} IS NOT NULL"
                               for c in sorted(p.categories)) + f" AND NOT l._pass_{i})"
            for i, p in enumerate(checks) if p.categories <= set(required)
        )  # fmt: skip
        wasted = f"AND NOT ({failing})" if failing else ""
        entities = round_.entities
        sql = f"""
            WITH held AS (SELECT e.entity_id, {have} FROM ({union}) AS r
                          JOIN {entities} AS e ON e._source = r._source AND e._record_key = r._record_key
                          GROUP BY e.entity_id),
            cand AS (SELECT l.*, h.entity_id AS _entity FROM (SELECT *{verdicts} FROM {lookup}) AS l
                     JOIN {entities} AS e ON e._source = l._source AND e._record_key = l._record_key
                     JOIN held AS h ON h.entity_id = e.entity_id
                     WHERE ({gaps}) {already} {wasted}
                       AND h.entity_id IN (SELECT entity_id FROM {round_.completable})
                     QUALIFY row_number() OVER (PARTITION BY h.entity_id ORDER BY {filled} DESC, l._record_key) = 1)
            SELECT * EXCLUDE (_entity{''.join(f', _pass_{i}' for i in range(len(checks)))}) FROM cand
        """
        target = self._fresh(name, f"r{round_.number}", "bought")
        self.con.execute(f"CREATE TABLE {target} AS {sql}")
        self._tables.append(target)
        keys = self.con.sql(f"SELECT _record_key FROM {target}").to_arrow_table().column(0).to_pylist()
        fresh = ledger.new_keys(name, keys)
        affordable = ledger.affordable(name, len(fresh))
        if affordable < len(fresh):  # the budget cuts: the records with the smallest keys are kept
            fresh = sorted(fresh)[:affordable]
        if len(fresh) < len(keys):  # the budget (or an earlier purchase) cuts the list
            import pyarrow as pa

            self.con.register("_leadql_keys", pa.table({"_record_key": pa.array(fresh, pa.string())}))
            try:
                self.con.execute(f"DELETE FROM {target} WHERE _record_key NOT IN (SELECT _record_key FROM _leadql_keys)")
            finally:
                self.con.unregister("_leadql_keys")
        if not fresh:
            return
        ledger.charge_records(name, fresh)
        self.bought.append((name, target))
        round_.bought.append((name, target))
        self._one_per_person.add(target)  # (fusion need not group it by person)
        state.steps.append(StepStats(f"Buy[{name}]", len(fresh), self._amount(name), 0.0,
                                     f"round {state.rounds}"))  # fmt: skip

    # ------------------------------------------------------------------ resolve, fuse, deliver
    def _resolve(self, tables: list[str], anchor: int | None = None) -> str:
        from leadql.executor.resolution import resolve

        out = self._fresh("entities", str(self.state.rounds))
        started = time.perf_counter()
        resolution = resolve(self.con, tables, model=self._linkage_model(), out=out, anchor=anchor)
        self._tables.append(out)
        self.state.steps.append(StepStats(
            "Resolve", resolution.entities, Decimal(0), time.perf_counter() - started,
            f"{resolution.records:,} records → {resolution.entities:,} people; "
            f"{resolution.matched_pairs:,} links of {resolution.candidate_pairs:,} compared",
        ))  # fmt: skip
        return out

    def _linkage_model(self) -> Any:
        if not hasattr(self, "_model"):
            from leadql.executor.linkage import load_model

            self._model = load_model(self.ctx.catalog)  # None: resolution uses the shipped default
        return self._model

    def _fuse_round(self, round_: Round) -> int:
        """Fuse the round's bought records into one row per person; the number that qualify."""
        state = self.state
        records = []
        for name, table in round_.bought:
            defn = self._defn(name)
            cols = self._table_columns(table)
            cats = tuple(c for c in defn.mappings if c in cols)
            profile = state.planning.profiles[name]  # planning profiled every source of the pool
            quality = {c: profile.quality[c] * freshness_factor(profile.age_days) for c in cats}
            if self.bound.quality is not None:  # values from data below the floor are not used
                cats = tuple(c for c in cats if c not in self.bound.required or quality[c] >= self.bound.quality)
            records.append(fusion.StagedRecords(name, table, cats, quality, defn.price_per_record,
                                                one_per_entity=table in self._one_per_person))  # fmt: skip
        out = self._fresh("fused", str(round_.number))
        started = time.perf_counter()
        # only those who can be delivered: the others lack a required category
        self.con.execute(fusion.fuse_sql(records, round_.entities, self.categories, self._wanted, out,
                                         only=round_.completable or None))  # fmt: skip
        self._tables.append(out)
        if round_.scores:
            scored = self._fresh("scored", str(round_.number))
            self.con.execute(f"CREATE TABLE {scored} AS SELECT f.*, s.score FROM {out} AS f "
                             f"LEFT JOIN {round_.scores} AS s ON s.entity_id = f.entity_id")  # fmt: skip
            self._tables.append(scored)
            out = scored
        round_.fused = out
        count = int(self.con.execute(f"SELECT count(*) FROM ({self._filtered_sql(out)})").fetchall()[0][0])
        state.steps.append(StepStats("Fuse", count, Decimal(0), time.perf_counter() - started,
                                     f"round {round_.number}"))  # fmt: skip
        return count

    def _filtered_sql(self, fused: str) -> str:
        bound = self.bound
        req = list(bound.required)
        conditions = [f"{quote_ident(c)} IS NOT NULL" for c in req]
        conditions += [f"({p.sql})" for p in bound.predicates]
        if self.scorer is not None:
            conditions.append("score IS NOT NULL")
            if self.scorer.min_score is not None:
                conditions.append(f"score >= {self.scorer.min_score!r}")
        if self.suppression is not None:
            predicate = self.suppression.predicate(set(self._wanted) & set(IDENTITY))
            if predicate:  # keys only enrichment revealed (a phone on a do-not-call list) count too
                conditions.append(f"NOT coalesce(({predicate}), false)")
        quality = "(" + " + ".join(f"coalesce({quote_ident('_q_' + c)}, 0)" for c in req) + f") / {len(req)}"
        sql = f"SELECT *, {quality} AS _quality FROM {fused} WHERE {' AND '.join(conditions)}"
        if bound.quality is not None:  # every delivered value must be at least that likely right
            floor = " AND ".join(f"{quote_ident('_q_' + c)} >= {bound.quality!r}" for c in req)
            sql = f"SELECT * FROM ({sql}) WHERE {floor}"
        return sql

    def _deliver(self) -> tuple[Any, Any]:
        """The delivered list (Arrow) and the identities of its leads (for the warehouse)."""
        from leadql.warehouse import assign_lead_ids

        bound = self.bound
        shown = list(bound.required)  # WITH, then the categories WHERE asked about
        limit = f"LIMIT {bound.count}" if bound.count is not None else ""
        fused = [r.fused for r in self.rounds_done if r.fused]
        if not fused:
            return self._empty(shown), None
        all_fused = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in fused)
        ident_cols = list(IDENTITY_KEYS)
        picked = self._fresh("picked", "final")
        rank = "score DESC, " if self.scorer is not None else ""
        self.con.execute(
            f"CREATE OR REPLACE TABLE {picked} AS SELECT * FROM ({self._filtered_sql(f'({all_fused})')}) "
            f"ORDER BY {rank}_quality DESC, cost, entity_id {limit}"
        )
        self._tables.append(picked)
        idents = ", ".join(
            quote_ident(c) for c in ident_cols
        )
        identity_table = self._fresh("identity", "final")
        self.con.execute(f"CREATE OR REPLACE TABLE {identity_table} AS SELECT entity_id, {idents} FROM {picked}")
        self._tables.append(identity_table)
        ids = assign_lead_ids(self.con, identity_table)
        self._tables.append(ids)
        provenance = ", ".join(f"p.{quote_ident('_prov_' + c)}" for c in shown)
        columns = ", ".join(f"p.{quote_ident(c)}" for c in shown)
        score = "round(p.score, 4) AS score, " if self.scorer is not None else ""
        order = f"{rank.replace('score', 'p.score')}p._quality DESC, p.cost"
        # two entities matching one known lead are one person: deliver it once (rare: checked first)
        repeated = self.con.execute(f"SELECT count(*) > count(DISTINCT lead_id) FROM {ids}").fetchall()[0][0]
        once = f"QUALIFY row_number() OVER (PARTITION BY i.lead_id ORDER BY {order}, p.entity_id) = 1" if repeated else ""
        table = self.con.sql(f"""
            SELECT i.lead_id, {columns}, {score}round(p._quality, 4) AS quality, p.cost, {provenance}, p.records
            FROM {picked} AS p JOIN {ids} AS i ON i.entity_id = p.entity_id
            {once}
            ORDER BY {order}, i.lead_id
        """).to_arrow_table()  # fmt: skip
        table = _with_provenance_map(table, shown)
        identities = self.con.sql(f"""
            SELECT i.lead_id, t.* EXCLUDE (entity_id) FROM {identity_table} AS t
            JOIN {ids} AS i ON i.entity_id = t.entity_id
        """).to_arrow_table()  # fmt: skip
        return table, identities

    def _empty(self, shown: list[str]) -> Any:
        cols = ", ".join(f"NULL::{self.categories[c.lower()].type} AS {quote_ident(c)}" for c in shown)
        if self.scorer is not None:
            cols += ", NULL::DOUBLE AS score"
        return self.con.sql(
            f"SELECT NULL::VARCHAR AS lead_id, {cols}, NULL::DOUBLE AS quality, NULL::DECIMAL(18,6) AS cost, "
            "NULL::MAP(VARCHAR, VARCHAR) AS provenance, NULL::VARCHAR[] AS records WHERE false"
        ).to_arrow_table()

    # ------------------------------------------------------------------ re-planning
    def _replan(self) -> bool:
        state, bound = self.state, self.bound
        needed = None if bound.count is None else bound.count - state.delivered
        if needed is not None and needed <= 0:
            return False
        before = state.plan
        if self._next_plan(needed):
            driver = before.driver
            why = (f"{driver} failed" if driver in state.failed else
                   f"{driver} ran out of matching records" if driver in state.exhausted else
                   f"{', '.join(sorted(set(before.sources) & set(state.failed)))} failed")
            state.replans.append((state.rounds, why, state.plan, needed, len(state.steps)))
            return True
        return False

    def _next_plan(self, needed: int | None) -> bool:
        state, bound = self.state, self.bound
        profiles = state.planning.profiles

        def runnable(p: Plan) -> bool:  # drivers that ran dry stay usable only as enrichment
            return p.driver not in state.exhausted and not set(p.sources) & set(state.failed)

        # The follow-up round the estimate counted on, when the driver ran dry as expected.
        follow = [p for p in state.plan.follow_ups if runnable(p)]
        if follow and not state.failed:
            state.plan = replace(follow[0], follow_ups=follow[1:])
            return True
        # The alternatives were estimated before any driver ran dry: count only the people the
        # drivers that did do not hold (a driver whose people were all found charged its $5 query
        # fee for nothing).
        candidates = [(p, replace(p, expected_count=p.expected_count * unseen_share(profiles, p.driver, state.exhausted)))
                      for p in state.planning.alternatives if runnable(p)]  # fmt: skip
        candidates = [(p, new) for p, new in candidates if new.expected_count >= 1]
        if candidates and not state.failed:
            state.plan = candidates[0][1]
            state.planning.alternatives.remove(candidates[0][0])
            return True
        try:
            planning = plan_find(self.ctx, bound, exclude_sources=frozenset(state.failed),
                                 budget=state.ledger.remaining, count=needed,
                                 not_drivers=frozenset(state.exhausted))  # fmt: skip
        except LeadQLError as e:
            state.warnings.append(f"no other plan: {e.message}")
            return False
        state.plan = planning.chosen
        state.planning.alternatives = planning.alternatives
        return True

    def _explain_shortfall(self) -> None:
        bound, state = self.bound, self.state
        if bound.count is None or state.delivered >= bound.count:
            return
        if any("BUDGET" in w or "ran out" in w or "failed" in w for w in state.warnings):
            return
        reasons = []
        if state.exhausted:
            reasons.append(f"{', '.join(sorted(state.exhausted))} had no more people matching the request")
        if bound.quality is not None:
            reasons.append(f"some people were dropped because a value was less likely right than QUALITY >= {bound.quality:g}")
        state.warnings.append(f"delivered {state.delivered:,} of the {bound.count:,} leads asked for"
                              + (": " + "; ".join(reasons) if reasons else ""))  # fmt: skip

    def _can_buy_any(self, plan: Plan) -> bool:
        return self.state.ledger.remaining >= min(
            (u.price_record + u.price_query for u in plan.uses), default=Decimal(0))

    # ------------------------------------------------------------------ helpers
    def _bought_keys_sql(self, source: str) -> str:
        """SQL listing the record keys already bought from `source` in this run ('' if none)."""
        tables = [t for s, t in self.bought if s == source]
        return " UNION ALL ".join(f"SELECT _record_key FROM {t}" for t in tables)

    def _defn(self, name: str) -> Any:
        return next(d for d in self.bound.pool if d.name == name)

    def _columns(self, defn: Any) -> list[str]:
        wanted = set(self.bound.required) | set(IDENTITY) | set(self.bound.scoring)
        return [c for c in defn.mappings if c in wanted]

    def _fresh(self, *parts: str) -> str:
        return scans.stage_name(self.state.run_id, *parts, uuid.uuid4().hex[:6])

    def _table_columns(self, table: str) -> set[str]:
        rows = self.con.execute(f"DESCRIBE {table}").fetchall()
        return {r[0] for r in rows}

    def _quality_rank(self, name: str) -> float:
        return _quality(self._defn(name)) or 0.0

    def _amount(self, name: str) -> Decimal:
        account = self.state.ledger.accounts.get(name)
        return account.amount if account else Decimal(0)

    def _budget_warning(self) -> str:
        bound, state = self.bound, self.state
        if bound.count is None:
            return f"spent ${state.ledger.spent} of BUDGET {bound.budget}"
        return (f"BUDGET {bound.budget} ran out after {state.delivered:,} of the {bound.count:,} leads asked for "
                f"(spent ${state.ledger.spent})")

    def _message(self, delivered: int) -> str:
        state, bound = self.state, self.bound
        by_source = ", ".join(f"{a.name} {a.records:,}" for a in state.ledger.accounts.values() if a.records)
        asked = f" of {bound.count:,}" if bound.count is not None else ""
        where = f" into list {bound.into_list}" if bound.into_list else ""
        return (f"found {delivered:,}{asked} leads{where} for ${state.ledger.spent} "
                f"(budget ${bound.budget}); records bought: {by_source or 'none'}")

    def _run_record(self, status: str, delivered: int) -> Any:
        from leadql.warehouse import RunRecord, SourceSpend

        state, bound = self.state, self.bound
        spend = [SourceSpend(a.name, a.records, a.queries, a.amount,
                             a.price_record, a.price_query, a.quality)
                 for a in state.ledger.accounts.values()]  # fmt: skip
        return RunRecord(
            run_id=state.run_id, statement=bound.statement.text or bound.text, list_name=bound.into_list,
            started_at=self.started, finished_at=datetime.now(timezone.utc).replace(tzinfo=None),
            status=status, requested=bound.count, delivered=delivered, budget=bound.budget,
            spent=state.ledger.spent, spend=spend, plan=state.plan.summary(), warnings=list(state.warnings),
            scorer_kind="pattern" if self.scorer is not None else None,
            scorer_name=self.scorer.name if self.scorer is not None else None,
            scorer_version=self.scorer.version if self.scorer is not None else None,
            query_run_id=self.ctx.query_run.query_run_id if self.ctx.query_run is not None else None,
        )  # fmt: skip

    def _cleanup(self) -> None:
        for table in self._tables:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {table}")
            except Exception:  # noqa: BLE001 - staging is in memory; never mask the real error
                pass
        if self.suppression is not None:
            try:
                self.suppression.drop(self.con)
            except Exception:  # noqa: BLE001
                pass


def _per_candidate(plan: Plan, use: Any) -> float:
    """Records the plan expects to buy from an enrichment source per driver candidate."""
    return use.expected_records / plan.candidates if plan.candidates >= 1 else use.reach


def _quality(defn: Any) -> float | None:
    return float(defn.quality) if defn.quality is not None else None


def _cores() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _with_provenance_map(table: Any, shown: list[str]) -> Any:
    """`table` with its `_prov_<category>` columns replaced by one `provenance` map (category →
    'source/key'), placed before `records`. Built in Arrow: DuckDB's map() costs 60 ms per
    40k rows of six categories, this about 5."""
    import numpy as np
    import pyarrow as pa

    names = ["_prov_" + c for c in shown]
    n, k = table.num_rows, len(shown)
    values = pa.concat_arrays([table.column(name).combine_chunks().cast(pa.string()) for name in names]) if k \
        else pa.array([], pa.string())  # fmt: skip
    # row-major: row r's entries are r, r + n, r + 2n, … of the column-after-column values
    order = (np.arange(n, dtype=np.int64)[:, None] + np.arange(k, dtype=np.int64)[None, :] * n).ravel()
    items = values.take(pa.array(order))
    keys = pa.array(list(shown) * n, pa.string())
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32) if k else np.zeros(n + 1, dtype=np.int32))
    provenance = pa.MapArray.from_arrays(offsets, keys, items)
    out = table.drop_columns(names)
    return out.add_column(out.schema.get_field_index("records"), "provenance", provenance)
