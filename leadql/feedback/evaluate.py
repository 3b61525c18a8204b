"""EVALUATE OUTCOMES: how the delivered leads really converted, by score decile, source, run,
list or segment, from the outcomes RECORD OUTCOMES stored (the latest outcome per lead and
delivery counts)."""

from __future__ import annotations

from typing import Any

from leadql.catalog.definitions import SOURCE
from leadql.catalog.migrations import first_row
from leadql.connectors.base import quote_str
from leadql.context import Context
from leadql.errors import LeadQLNameError, did_you_mean
from leadql.feedback.evidence import PRIOR_STRENGTH, blend, has_outcomes, latest_outcomes_sql
from leadql.grammar import ast
from leadql.result import Result
from leadql.warehouse.schema import LIST_LEADS, LISTS, RUNS

DECILES = 10


def evaluate_outcomes(ctx: Context, stmt: ast.EvaluateOutcomes) -> Result:
    con = ctx.con
    where, scope = _scope(ctx, stmt)  # an unknown name is an error even before any outcome
    if not has_outcomes(con):
        return Result.from_rows(
            ["leads", "won", "conversion"], [],
            message="no outcomes recorded yet: RECORD OUTCOMES FROM 'file' KEY lead_id OUTCOME won loads them",
        )  # fmt: skip
    base = f"SELECT * FROM ({latest_outcomes_sql()}) AS o WHERE {where}"
    n, with_score = first_row(con.execute(f"SELECT count(*), count(score) FROM ({base})"))
    if n == 0:
        return Result.from_rows(["leads", "won", "conversion"], [], message=f"no outcomes recorded for {scope}")
    by = stmt.by or ("DECILE" if with_score else "SOURCE")
    if by == "DECILE":
        return _by_decile(con, base, scope)
    if by == "SOURCE":
        return _by_source(con, base, scope)
    return _by_group(con, base, scope, by)


def _scope(ctx: Context, stmt: ast.EvaluateOutcomes) -> tuple[str, str]:
    """The WHERE condition over outcomes `o` selecting OF …, and its description."""
    con = ctx.con
    if stmt.of_kind is None or stmt.of_name is None:
        return "true", "all outcomes"
    name = stmt.of_name.value
    kind = stmt.of_kind
    if kind == "LIST":
        rows = con.execute(f"SELECT list_id, name FROM {LISTS}").fetchall()
        hit = [r[0] for r in rows if r[1].lower() == name.lower()]
        if not hit:
            raise ctx.fail(LeadQLNameError, f"no list named `{name}`", stmt.of_name,
                           hint=did_you_mean(name, [r[1] for r in rows]) or "SHOW LISTS lists them")  # fmt: skip
        return f"o.list_id = {quote_str(hit[0])}", f"list {name}"
    if kind in ("MODEL", "PATTERN"):
        known = {r[0] for r in con.execute(
            f"SELECT DISTINCT scorer_name FROM {RUNS} WHERE lower(scorer_kind) = ? AND scorer_name IS NOT NULL",
            [kind.lower()]).fetchall()}  # fmt: skip
        saved = {r[0] for r in con.execute(
            "SELECT DISTINCT name FROM _leadql.models WHERE lower(kind) = ?", [kind.lower()]).fetchall()}  # fmt: skip
        if name.lower() not in {k.lower() for k in known | saved}:
            raise ctx.fail(LeadQLNameError, f"no {kind.lower()} named `{name}` scored a delivered list",
                           stmt.of_name, hint=did_you_mean(name, known | saved))  # fmt: skip
        return (f"lower(o.scorer_kind) = {quote_str(kind.lower())} AND lower(o.scorer_name) = "
                f"{quote_str(name.lower())}", f"{kind.lower()} {name}")  # fmt: skip
    sources = set(ctx.catalog.names((SOURCE,)))
    credited = {r[0] for r in con.execute(
        f"SELECT DISTINCT split_part(r, '/', 1) FROM ({latest_outcomes_sql()}), unnest(records) AS t(r)"
    ).fetchall()} if has_outcomes(con) else set()  # fmt: skip
    if name.lower() not in {s.lower() for s in sources | credited}:
        raise ctx.fail(LeadQLNameError, f"no source named `{name}`", stmt.of_name,
                       hint=did_you_mean(name, sources | credited) or "SHOW SOURCES lists them")  # fmt: skip
    prefix = quote_str(name.lower() + "/")
    return (f"EXISTS (SELECT 1 FROM unnest(o.records) AS t(r) WHERE starts_with(lower(t.r), {prefix}))",
            f"source {name}")


def _rate(won: float, n: int) -> float | None:
    return round(won / n, 4) if n else None


def _by_decile(con: Any, base: str, scope: str) -> Result:
    rows = con.execute(f"SELECT score, outcome FROM ({base}) WHERE score IS NOT NULL").fetchall()
    if not rows:
        return Result.from_rows(["decile", "leads", "mean_score", "conversion", "lift"], [],
                                message=f"no scored outcomes for {scope}; try BY SOURCE")  # fmt: skip
    scores = [float(r[0]) for r in rows]
    outcomes = [float(r[1]) for r in rows]
    n = len(rows)
    overall = sum(outcomes) / n
    # decile 1 holds the highest scores; ties stay in one decile (ordered by score only)
    order = sorted(range(n), key=lambda i: -scores[i])
    table = []
    ece = 0.0
    for d in range(DECILES):
        members = order[d * n // DECILES:(d + 1) * n // DECILES]
        if not members:
            continue
        mean_score = sum(scores[i] for i in members) / len(members)
        rate = sum(outcomes[i] for i in members) / len(members)
        ece += len(members) / n * abs(mean_score - rate)
        lift = rate / overall if overall > 0 else None
        table.append((d + 1, len(members), round(mean_score, 4), round(rate, 4),
                      round(lift, 3) if lift is not None else None))  # fmt: skip
    auc = area_under_curve(scores, outcomes)
    probabilities = all(0.0 <= s <= 1.0 for s in scores)
    parts = [f"{scope}: {n} scored leads with outcomes, {int(sum(outcomes))} won, conversion {overall:.1%}"]
    parts.append(f"AUC {auc:.3f}" if auc is not None else "AUC n/a (every outcome is the same)")
    parts.append(f"expected calibration error {ece:.3f}" if probabilities
                 else "calibration n/a (scores are not probabilities)")  # fmt: skip
    return Result.from_rows(["decile", "leads", "mean_score", "conversion", "lift"], table,
                            message="; ".join(parts))  # fmt: skip


def area_under_curve(scores: list[float], outcomes: list[float]) -> float | None:
    """ROC AUC of `scores` against 0/1 `outcomes` (Mann–Whitney, ties count one half)."""
    pairs = sorted(zip(scores, outcomes, strict=True))
    positives = sum(1 for _, y in pairs if y >= 0.5)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if pairs[k][1] >= 0.5)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _by_source(con: Any, base: str, scope: str) -> Result:
    everything = first_row(con.execute(
        f"SELECT count(*), coalesce(sum(outcome), 0) FROM ({latest_outcomes_sql()}) WHERE records IS NOT NULL"))
    prior = float(everything[1]) / everything[0] if everything[0] else 0.0
    rows = con.execute(
        f"""
        WITH credited AS (
            SELECT DISTINCT o.lead_id, o.run_id, o.outcome, split_part(t.r, '/', 1) AS source
            FROM ({base}) AS o, unnest(o.records) AS t(r) WHERE o.records IS NOT NULL)
        SELECT source, count(*), sum(outcome) FROM credited GROUP BY source ORDER BY source"""
    ).fetchall()
    table = []
    for source, n, won in rows:
        won = float(won or 0.0)
        blended = blend(won, int(n), prior)
        table.append((source, int(n), int(won), _rate(won, int(n)), round(prior, 4), round(blended, 4),
                      round(blended / prior, 3) if prior > 0 else 1.0))  # fmt: skip
    unmatched = first_row(con.execute(f"SELECT count(*) FROM ({base}) WHERE records IS NULL"))[0]
    message = (f"{scope}: conversion by source; blended with the workspace rate {prior:.1%} as "
               f"{PRIOR_STRENGTH:g} pseudo-leads; every source in a lead's records is credited")  # fmt: skip
    if unmatched:
        message += f"; {unmatched} outcomes match no delivery and are left out"
    return Result.from_rows(["source", "leads", "won", "realised_rate", "prior_rate", "blended_rate",
                             "conversion_index"], table, message=message)  # fmt: skip


# a dropped list's outcomes stay (they are history): shown under the list's id
_LIST_NAME = "coalesce(l.name, '(dropped list ' || o.list_id || ')')"


def _by_group(con: Any, base: str, scope: str, by: str) -> Result:
    if by == "RUN":
        sql = f"""
            SELECT o.run_id, r.list_name, r.started_at, o.scorer_kind, o.scorer_name, o.scorer_version,
                   count(*), sum(o.outcome)
            FROM ({base}) AS o JOIN {RUNS} AS r ON r.run_id = o.run_id
            GROUP BY ALL ORDER BY r.started_at, o.run_id"""
        columns = ["run_id", "list", "started_at", "scorer_kind", "scorer", "version", "leads", "won"]
    elif by == "LIST":
        sql = f"""
            SELECT {_LIST_NAME}, count(*), sum(o.outcome)
            FROM ({base}) AS o LEFT JOIN {LISTS} AS l ON l.list_id = o.list_id
            WHERE o.list_id IS NOT NULL GROUP BY ALL ORDER BY 1"""
        columns = ["list", "leads", "won"]
    else:
        sql = f"""
            SELECT {_LIST_NAME}, ll.segment, count(*), sum(o.outcome)
            FROM ({base}) AS o LEFT JOIN {LIST_LEADS} AS ll ON ll.row_id = o.row_id
            LEFT JOIN {LISTS} AS l ON l.list_id = o.list_id
            WHERE o.list_id IS NOT NULL GROUP BY ALL ORDER BY 1, 2 NULLS LAST"""
        columns = ["list", "segment", "leads", "won"]
    table = []
    for row in con.execute(sql).fetchall():
        *keys, n, won = row
        won = float(won or 0.0)
        table.append((*keys, int(n), int(won), _rate(won, int(n))))
    n, won = first_row(con.execute(f"SELECT count(run_id), coalesce(sum(outcome) FILTER (WHERE run_id IS NOT NULL), 0) "
                                   f"FROM ({base})"))  # fmt: skip
    message = f"{scope}: conversion by {by.lower()}; {n} linked outcomes, {int(won)} won"
    if n:
        message += f", conversion {float(won) / n:.1%}"
    return Result.from_rows([*columns, "conversion"], table, message=message)
