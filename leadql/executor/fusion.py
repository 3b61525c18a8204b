"""Value fusion: one value per entity and category when sources disagree, with its probability.

Each source's value is a vote weighted by the source's accuracy for that category (its quality,
aged by freshness), as in the ACCU model of Dong, Berti-Equille & Srivastava ("Integrating
conflicting data: the role of source dependence", VLDB 2009):

    C(v) = Σ_{sources s giving v} ln(N · q_s / (1 − q_s))
    P(v) = e^C(v) / (Σ_{observed v'} e^C(v') + (N + 1 − #observed))

where N is the number of plausible wrong values (unobserved values score C = 0). One source with
quality 0.93 gives P = 0.93; two agreeing give 0.9994; two disagreeing split by their qualities.
The winner is the value with the highest C (ties: the smaller value, so results are stable).
Everything is one DuckDB statement over the staged records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from leadql.catalog.definitions import CategoryDef
from leadql.connectors.base import quote_ident, quote_str

WRONG_VALUES = 10  # N above
MIN_Q, MAX_Q = 0.01, 0.999


@dataclass(frozen=True)
class StagedRecords:
    """Bought records of one source: a staging table plus what the source's values are worth."""

    source: str
    table: str
    categories: tuple[str, ...]  # categories present in the table
    quality: dict[str, float]  # category → accuracy (quality × freshness)
    price_record: Decimal


def fuse_sql(records: Sequence[StagedRecords], entities: str, categories: dict[str, CategoryDef],
             wanted: Sequence[str], out: str, *, only: str | None = None) -> str:  # fmt: skip
    """SQL creating `out`: one row per entity with, for each wanted category, its fused value (typed),
    `_q_<category>` (probability it is right) and `_prov_<category>` ('source/key' it came from),
    plus `records` (every merged 'source/key') and `cost` (what its records cost).

    `only`: a table whose `entity_id`s are the entities to fuse (FIND: those that can be
    delivered); the others are left out."""
    if only is not None:
        entities = f"(SELECT * FROM {entities} WHERE entity_id IN (SELECT entity_id FROM {only}))"
    joined, observations, quality_rows, price_rows = [], [], [], []
    for i, r in enumerate(records):
        # Each table meets the entity map once; observations and membership both read that.
        joined.append(
            f"j{i} AS MATERIALIZED (SELECT m.entity_id, t.* FROM {r.table} AS t JOIN {entities} AS m "
            f"ON m._source = t._source AND m._record_key = t._record_key)"
        )  # fmt: skip
        price_rows.append(f"({quote_str(r.source)}, CAST({quote_str(str(r.price_record))} AS DECIMAL(18,6)))")
        present = [c for c in wanted if c in r.categories]
        for c in present:
            q = min(MAX_Q, max(MIN_Q, r.quality.get(c, 0.5)))
            quality_rows.append(f"({quote_str(r.source)}, {quote_str(c)}, {q!r})")
        if not present:
            continue
        # UNPIVOT drops NULL values: one (category, value) row per value a record holds.
        columns = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in present)
        observations.append(
            f"SELECT entity_id, category, value, _source, _record_key FROM (UNPIVOT ("
            f"SELECT entity_id, _source, _record_key, {columns} FROM j{i}"
            f") ON {', '.join(quote_ident(c) for c in present)} INTO NAME category VALUE value)"
        )  # fmt: skip
    members = " UNION ALL ".join(
        f"SELECT _source, _record_key, entity_id FROM j{i}" for i in range(len(records))
    )
    if not observations:
        observations.append("SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS category, NULL::VARCHAR AS value, "
                            "NULL::VARCHAR AS _source, NULL::VARCHAR AS _record_key WHERE false")  # fmt: skip
        quality_rows.append("(NULL, NULL, NULL)")
    n = WRONG_VALUES
    pivots = []
    for c in wanted:
        ctype = categories[c.lower()].type
        lit = quote_str(c)
        pivots += [
            f"TRY_CAST(max(value) FILTER (WHERE category = {lit}) AS {ctype}) AS {quote_ident(c)}",
            f"max(p) FILTER (WHERE category = {lit}) AS {quote_ident('_q_' + c)}",
            f"max(prov) FILTER (WHERE category = {lit}) AS {quote_ident('_prov_' + c)}",
        ]
    return f"""
CREATE OR REPLACE TABLE {out} AS
WITH {''.join(j + ', ' for j in joined)}quality(_source, category, q) AS (VALUES {', '.join(quality_rows)}),
prices(_source, price) AS (VALUES {', '.join(price_rows)}),
obs AS ({' UNION ALL '.join(observations)}),
votes AS (
    SELECT o.entity_id, o.category, o.value,
           sum(q.w) AS c,
           arg_max(o._source || '/' || o._record_key, q.q) AS prov
    FROM obs AS o JOIN (SELECT *, ln({n} * q / (1 - q)) AS w FROM quality) AS q
      ON q._source = o._source AND q.category = o.category
    GROUP BY ALL),
-- per entity and category the winner (highest C, then the smaller value) and its P: a grouping,
-- not a window (measured: a third less time)
scored AS (
    SELECT entity_id, category, arg_min(value, struct_pack(nc := -c, v := value)) AS value,
           exp(max(c)) / (sum(exp(c)) + greatest(0, {n} + 1 - count(*))) AS p,
           arg_min(prov, struct_pack(nc := -c, v := value)) AS prov
    FROM votes GROUP BY entity_id, category),
fused AS (
    SELECT entity_id, {', '.join(pivots) if pivots else 'NULL AS _none'}
    FROM scored GROUP BY entity_id),
merged AS (
    SELECT mm.entity_id, list(DISTINCT mm._source || '/' || mm._record_key) AS records,
           CAST(sum(pr.price) AS DECIMAL(18,6)) AS cost
    FROM ({members}) AS mm JOIN prices AS pr ON pr._source = mm._source
    GROUP BY mm.entity_id)
SELECT merged.entity_id, fused.* EXCLUDE (entity_id), list_sort(merged.records) AS records, merged.cost
FROM merged LEFT JOIN fused ON fused.entity_id = merged.entity_id
"""
