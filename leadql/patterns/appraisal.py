"""Appraisal: what the source pool knows about given people, without buying anything.

A pattern learns from people described by the categories vendors sell (income, age, fico …),
but the examples are usually the company's own customers, known only by name, email and phone.
Appraisal looks each example up in every pool source by its identity keys (looking is free;
only buying costs money, as in FIND's enrichment step), resolves the records into people and
fuses their values (leadql/executor/fusion.py). The same is done for a background sample of
the pool, so positives and background are described the same way and the model cannot learn
from how the two were collected.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from leadql.catalog.definitions import CategoryDef, DataDef
from leadql.connectors.base import quote_ident, quote_str
from leadql.executor import fusion, scans
from leadql.executor.find import LOOKUP_KEYS
from leadql.planner.estimates import freshness_factor

IDENTITY_CATEGORIES = ("email", "phone", "first_name", "last_name", "birth_date", "zip")
OWN_QUALITY = 0.95  # the company's own records: right with this probability, like a good vendor


@dataclass
class Appraised:
    """One row per seed record: its key, whether any vendor record matched it, the fused values."""

    table: Any  # pyarrow.Table: _record_key, _matched (vendor records linked), one column per feature
    seeds: int
    matched: int


class Appraiser:
    """Looks people up in `sources` and fuses `features` for them; staging tables are dropped by
    `close()` (use as a context manager)."""

    def __init__(self, ctx: Any, sources: list[DataDef], features: list[str],
                 categories: dict[str, CategoryDef], *, progress: Any = None) -> None:  # fmt: skip
        self.ctx = ctx
        self.ws = ctx.ws
        self.con = ctx.con
        self.features = list(features)
        self.categories = categories
        wanted = set(features) | set(IDENTITY_CATEGORIES)
        # Only sources that can both be matched by identity and tell something about a feature.
        self.sources = [s for s in sources
                        if set(s.mappings) & set(features) and set(s.mappings) & set(IDENTITY_CATEGORIES)]  # fmt: skip
        self.columns = {s.name: [c for c in s.mappings if c in wanted] for s in self.sources}
        self.progress = progress
        self.run_id = uuid.uuid4().hex
        self.tables: list[str] = []
        self.threads = max(1, int(getattr(self.ws, "scan_threads", 0) or 2))
        scans.attach_stage(self.con)

    def __enter__(self) -> Appraiser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for table in self.tables:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {table}")
            except Exception:  # noqa: BLE001 - staging is in memory; never mask the real error
                pass
        self.tables = []

    def fresh(self, *parts: str) -> str:
        name = scans.stage_name(self.run_id, *parts, uuid.uuid4().hex[:6])
        self.tables.append(name)
        return name

    def table_columns(self, table: str) -> set[str]:
        return {r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()}

    # ------------------------------------------------------------------ seeds
    def sample(self, total: int, seed: int = 0) -> list[str]:
        """A background sample of the pool: about `total` records spread over the sources by
        their size (deterministic for a seed), one staged table per source."""
        sizes = {}
        for s in self.sources:
            stats = self.ctx.catalog.statistics(s.name)
            sizes[s.name] = max(1, stats[1]) if stats else 1
        whole = sum(sizes.values()) or 1
        parts = []
        for s in self.sources:
            take = max(50, round(total * sizes[s.name] / whole))
            table = self.fresh(s.name, "sample")
            request = scans.ScanRequest(s, table, self.columns[s.name],
                                        order_by=f"hash(_record_key || '{seed}')", limit=take,
                                        purpose="sample")  # fmt: skip
            outcome = scans.run_scan(self.ws, request, self.categories, self.progress)
            if outcome.error is not None:
                raise outcome.error
            parts.append(table)
        return parts

    # ------------------------------------------------------------------ appraisal
    def appraise(self, seeds: list[str]) -> Appraised:
        """Fused feature values for every record of the `seeds` tables (staged, each holding one
        `_source`: a pool source's sample or the examples, with `_record_key` and canonical
        columns). A pool source is not asked again for its own sampled records."""
        seeds = [t for t in seeds if t]
        union = self.fresh("seeds")
        self.con.execute(f"CREATE TABLE {union} AS "
                         + " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in seeds))  # fmt: skip
        columns = self.table_columns(union)
        keys = {}
        for name, needs, expr in LOOKUP_KEYS:
            if needs <= columns:
                table = self.fresh("keys", name)
                self.con.execute(f"CREATE TABLE {table} AS SELECT DISTINCT {expr} AS k FROM {union} "
                                 f"WHERE {expr} IS NOT NULL")  # fmt: skip
                keys[name] = table
        requests, lookups = [], []
        for s in self.sources:
            mapped = set(s.mappings)
            parts = [f"({expr}) IN (SELECT k FROM {keys[name]})"
                     for name, needs, expr in LOOKUP_KEYS if name in keys and needs <= mapped]  # fmt: skip
            if not parts:
                continue
            where = "(" + " OR ".join(parts) + ")"
            where += (f" AND _record_key NOT IN (SELECT _record_key FROM {union} "
                      f"WHERE _source = {quote_str(s.name)})")  # fmt: skip
            table = self.fresh(s.name, "lookup")
            requests.append(scans.ScanRequest(s, table, self.columns[s.name], where=where, purpose="appraise"))
            lookups.append((s, table))
        outcomes = scans.run_parallel(self.ws, requests, self.categories, threads=self.threads,
                                      progress=self.progress)  # fmt: skip
        failed = {o.source for o in outcomes if o.error is not None}
        lookups = [(s, t) for s, t in lookups if s.name not in failed]

        from leadql.executor.linkage import load_model
        from leadql.executor.resolution import resolve

        entities = self.fresh("entities")
        resolve(self.con, seeds + [t for _, t in lookups], model=load_model(self.ctx.catalog), out=entities)
        pool = {s.name: s for s in self.sources}
        records = []
        for table in seeds:
            row = self.con.execute(f"SELECT any_value(_source) FROM {table}").fetchone()
            name = row[0] if row and row[0] is not None else "examples"
            cats = tuple(c for c in self.features if c in self.table_columns(table))
            q = self._quality(pool[name]) if name in pool else OWN_QUALITY
            records.append(fusion.StagedRecords(name, table, cats, {c: q for c in cats}, Decimal(0)))
        for s, table in lookups:
            cats = tuple(c for c in self.features if c in self.columns[s.name])
            q = self._quality(s)
            records.append(fusion.StagedRecords(s.name, table, cats, {c: q for c in cats}, Decimal(0)))
        fused = self.fresh("fused")
        self.con.execute(fusion.fuse_sql(records, entities, self.categories, self.features, out=fused))
        features = ", ".join(f"f.{quote_ident(c)}" for c in self.features)
        looked_up = " UNION ALL ".join(f"SELECT _source, _record_key FROM {t}" for _, t in lookups)
        vendor = (f"count(*) FILTER (WHERE (e._source, e._record_key) IN (SELECT (_source, _record_key) "
                  f"FROM ({looked_up})))" if lookups else "0")  # fmt: skip
        table = self.con.sql(f"""
            WITH links AS (SELECT e.entity_id, {vendor} AS vendor_records FROM {entities} AS e
                           GROUP BY e.entity_id)
            SELECT s._source, s._record_key, coalesce(l.vendor_records, 0) AS _matched, {features}
            FROM {union} AS s
            JOIN {entities} AS e ON e._source = s._source AND e._record_key = s._record_key
            LEFT JOIN links AS l ON l.entity_id = e.entity_id
            LEFT JOIN {fused} AS f ON f.entity_id = e.entity_id
            ORDER BY s._source, s._record_key
        """).to_arrow_table()  # fmt: skip
        matched = sum(1 for v in table.column("_matched").to_pylist() if v)
        return Appraised(table, table.num_rows, matched)

    @staticmethod
    def _quality(source: DataDef) -> float:
        base = float(source.quality) if source.quality is not None else 0.8
        age = None
        if source.updated:
            try:
                age = (date.today() - date.fromisoformat(str(source.updated)[:10])).days
            except ValueError:
                age = None
        return base * freshness_factor(age)
