"""Per-source realised quality: how the leads a source contributed to actually converted.

Every recorded outcome that was linked to a delivery carries the delivered row's `records`
(`source/record_key` strings). Each source named there is credited with the outcome — a lead
merged from two vendors counts for both. The observed rate of a source with few outcomes is
noisy, so it is blended with the workspace-wide rate by a Beta prior centred on that rate and
worth `PRIOR_STRENGTH` pseudo-leads:

    blended = (wins + PRIOR_STRENGTH * overall) / (n + PRIOR_STRENGTH)
    index   = blended / overall            (1.0 = an average source)

With 30 pseudo-leads, five lost leads from a vendor move its index from 1.0 to about 0.86
(30 / 35, whatever the workspace rate), while 200 leads converting at 40% in a 20% workspace
move it to about 1.87.

The planner only acts on an index that is *decided*: the blended rate lies more than
`DECISION_SDS` posterior standard deviations from the workspace rate. Until then it plans as if
the index were 1.0 (EXPLAIN still shows it), so a bad week does not switch vendors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from leadql.catalog.migrations import current_version
from leadql.warehouse.schema import OUTCOMES

# The strength of the prior, in pseudo-leads: how many real outcomes weigh as much as the
# workspace-wide conversion rate does before any evidence about a source.
PRIOR_STRENGTH = 30.0
# How far (in posterior standard deviations) a source's blended rate must lie from the workspace
# rate before the planner trusts its index.
DECISION_SDS = 2.0


@dataclass(frozen=True)
class SourceEvidence:
    """What recorded outcomes say about one source."""

    source: str
    leads: int  # distinct leads with an outcome that this source contributed to
    wins: float  # sum of their outcomes (1.0 = won)
    observed: float  # wins / leads
    prior: float  # the workspace-wide conversion rate (the prior's mean)
    blended: float  # posterior mean under the Beta prior
    index: float  # blended / prior; 1.0 = average
    decided: bool = False  # the evidence is strong enough for the planner to act on

    @property
    def planning_index(self) -> float:
        """The index the planner uses: `index` once decided, else 1.0."""
        return self.index if self.decided else 1.0


def blend(wins: float, leads: int, overall: float, strength: float = PRIOR_STRENGTH) -> float:
    """The posterior mean conversion of a source under a Beta prior centred on `overall`."""
    return (wins + strength * overall) / (leads + strength) if leads + strength > 0 else overall


def decided(wins: float, leads: int, overall: float, strength: float = PRIOR_STRENGTH) -> bool:
    """Whether the posterior mean lies more than DECISION_SDS posterior standard deviations from
    the workspace rate (Beta(wins + strength·overall, losses + strength·(1 − overall)))."""
    if not 0 < overall < 1:
        return False
    alpha = wins + strength * overall
    beta = (leads - wins) + strength * (1 - overall)
    mean = alpha / (alpha + beta)
    sd = math.sqrt(mean * (1 - mean) / (alpha + beta + 1))
    return abs(mean - overall) > DECISION_SDS * sd


def has_outcomes(con: Any) -> bool:
    """Whether any outcome is recorded (cheap; False on catalogs older than outcomes)."""
    if current_version(con) < 4:
        return False
    return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM {OUTCOMES})").fetchall()[0][0])


def latest_outcomes_sql() -> str:
    """One row per lead and delivery: the latest outcome recorded for it (a deal first lost then
    won counts as won once, not twice)."""
    return f"""
        SELECT * FROM {OUTCOMES}
        QUALIFY row_number() OVER (
            PARTITION BY lead_id, coalesce(run_id, '')
            ORDER BY happened_at DESC NULLS LAST, outcome_id DESC) = 1"""


def source_evidence(con: Any) -> dict[str, SourceEvidence]:
    """Every source credited by a linked outcome, keyed by lower-cased source name."""
    if not has_outcomes(con):
        return {}
    latest = latest_outcomes_sql()
    overall_row = con.execute(
        f"SELECT count(*), sum(outcome) FROM ({latest}) WHERE records IS NOT NULL"
    ).fetchall()[0]
    n_all, wins_all = int(overall_row[0] or 0), float(overall_row[1] or 0.0)
    if n_all == 0:
        return {}
    overall = wins_all / n_all
    rows = con.execute(
        f"""
        WITH o AS ({latest}),
        credited AS (
            SELECT DISTINCT o.lead_id, o.run_id, o.outcome,
                   split_part(r.rec, '/', 1) AS source
            FROM o, unnest(o.records) AS r(rec)
            WHERE o.records IS NOT NULL AND r.rec IS NOT NULL AND r.rec <> '')
        SELECT source, count(*) AS leads, sum(outcome) AS wins
        FROM credited GROUP BY source ORDER BY source"""
    ).fetchall()
    out = {}
    for source, leads, wins in rows:
        leads, wins = int(leads), float(wins or 0.0)
        blended = blend(wins, leads, overall)
        index = blended / overall if overall > 0 else 1.0
        out[source.lower()] = SourceEvidence(source, leads, wins, wins / leads, overall, blended, index,
                                             decided(wins, leads, overall))
    return out
