"""Reading sources into the run's staging tables: in parallel, streaming, retried.

Each scan runs on its own DuckDB cursor in a thread pool (DuckDB and Arrow release the GIL), reads
the source's canonical projection with the plan's predicates and projection pushed down, and
appends the Arrow batches to a staging table in the attached in-memory database `_stage` as they
arrive. A `keep` callback sees every batch first: it is where money is taken (and where a scan is
cut short when the budget runs out). A failing scan is retried with backoff; records already
kept stay kept, so a retry never pays twice (the ledger remembers keys).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from leadql.catalog import canonical
from leadql.catalog.definitions import CategoryDef, DataDef
from leadql.connectors.base import quote_ident, quote_str
from leadql.errors import LeadQLCancelledError, LeadQLError, LeadQLSourceError

STAGE = "_stage"
BATCH_ROWS = 50_000
ATTEMPTS = 3
BACKOFF_SECONDS = 0.05  # doubled after each failed attempt


def attach_stage(con: Any) -> None:
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STAGE}")


def stage_name(run_id: str, *parts: str) -> str:
    safe = "_".join("".join(ch if ch.isalnum() else "_" for ch in p.lower()) for p in parts)
    return f"{STAGE}.{quote_ident(f'r{run_id[:8]}_{safe}')}"


@dataclass
class ScanRequest:
    """One read of one source: `where` and `order_by` are SQL over canonical column names."""

    defn: DataDef
    table: str  # staging table to (create and) append to
    categories: Sequence[str]  # canonical categories to read (those the source maps)
    where: str | None = None
    order_by: str | None = None
    limit: int | None = None
    keep: Callable[[Any], Any] | None = None  # batch → the batch to stage (maybe cut), None to stop
    purpose: str = "scan"


@dataclass
class ScanOutcome:
    source: str
    table: str
    rows: int = 0
    seconds: float = 0.0
    attempts: int = 0
    error: LeadQLError | None = None
    errors: list[str] = field(default_factory=list)


def scan_sql(defn: DataDef, categories: dict[str, CategoryDef], from_sql: str, request: ScanRequest) -> str:
    only = list(request.categories)
    if request.where:
        select = canonical.filtered_canonical_select(defn, categories, from_sql, only=only, where=request.where)
    else:
        select = canonical.canonical_select(defn, categories, from_sql, only=only)
    sql = f"SELECT {quote_str(defn.name)} AS _source, c.* FROM ({select}) AS c"
    if request.order_by:
        sql += f" ORDER BY {request.order_by}"
    if request.limit is not None:
        sql += f" LIMIT {int(request.limit)}"
    return sql


def _drift(ws: Any, request: ScanRequest) -> LeadQLError | None:
    """The catalog's drift error when a source's columns are gone since CREATE (what ANALYZE
    says), else None."""
    from leadql.catalog.ddl import connector_for
    from leadql.catalog.drift import read_schema
    from leadql.context import Context

    ctx = Context(ws, {}, "")
    try:
        read_schema(ctx, request.defn, connector_for(ctx, request.defn))
    except LeadQLError as e:
        return e
    except Exception:  # noqa: BLE001 - the scan's own error is reported instead
        return None
    return None


def open_reader(ws: Any, cursor: Any, request: ScanRequest, categories: dict[str, CategoryDef]) -> Any:
    """An Arrow batch reader over the request (the one place a source is actually read)."""
    from leadql.catalog.ddl import connector_for
    from leadql.context import Context

    connector = connector_for(Context(ws, {}, ""), request.defn)
    from_sql = connector.relation(cursor)
    sql = scan_sql(request.defn, categories, from_sql, request)
    relation = connector.run_read(cursor, lambda: cursor.sql(sql))
    return connector.run_read(cursor, lambda: relation.to_arrow_reader(batch_size=BATCH_ROWS))


def materialize(ws: Any, cursor: Any, request: ScanRequest, categories: dict[str, CategoryDef]) -> int:
    """A read with nothing to decide per batch (no `keep`), done as one `CREATE TABLE … AS`
    inside DuckDB: no Arrow round trip through Python, and the call releases the GIL for its
    whole length, so scans in several threads really overlap. Returns the rows staged."""
    from leadql.catalog.ddl import connector_for
    from leadql.context import Context

    connector = connector_for(Context(ws, {}, ""), request.defn)
    from_sql = connector.relation(cursor)
    sql = scan_sql(request.defn, categories, from_sql, request)
    connector.run_read(cursor, lambda: cursor.execute(f"CREATE OR REPLACE TABLE {request.table} AS {sql}"))
    return int(cursor.execute(f"SELECT count(*) FROM {request.table}").fetchall()[0][0])


def run_scan(ws: Any, request: ScanRequest, categories: dict[str, CategoryDef],
             progress: Callable[[dict], None] | None = None) -> ScanOutcome:  # fmt: skip
    import duckdb

    outcome = ScanOutcome(request.defn.name, request.table)
    started = time.perf_counter()
    created = False
    for attempt in range(ATTEMPTS):
        outcome.attempts = attempt + 1
        cursor = ws.cursor(categories)
        healthy = False  # a connection left mid-result by an error is closed, not reused
        writer = ws._con.cursor()  # a streaming result keeps `cursor` busy: write through another
        try:
            if request.keep is None:
                outcome.rows = materialize(ws, cursor, request, categories)
                created = True
                if progress is not None:
                    progress({"stage": request.purpose, "source": request.defn.name, "rows": outcome.rows,
                              "total": request.limit})  # fmt: skip
                outcome.error = None
                healthy = True
                break
            reader = open_reader(ws, cursor, request, categories)
            if not created:
                _create(writer, request.table, reader.schema)
                created = True
            stopped = False
            for batch in reader:
                if request.keep is not None:
                    batch = request.keep(batch)
                    if batch is None:
                        stopped = True
                        break
                if batch.num_rows:
                    name = f"_leadql_batch_{uuid.uuid4().hex[:10]}"
                    writer.register(name, batch)
                    try:
                        writer.execute(f"INSERT INTO {request.table} BY NAME SELECT * FROM {name}")
                    finally:
                        writer.unregister(name)
                    outcome.rows += batch.num_rows
                    if progress is not None:
                        progress({"stage": request.purpose, "source": request.defn.name, "rows": outcome.rows,
                                  "total": request.limit})  # fmt: skip
                    if getattr(ws, "cancel_requested", False):
                        raise LeadQLCancelledError(f"the scan of {request.defn.name} was cancelled")
            if stopped and hasattr(reader, "close"):
                reader.close()
            outcome.error = None
            healthy = True
            break
        except (LeadQLError, duckdb.Error, OSError, ValueError) as e:
            if getattr(ws, "cancel_requested", False):  # Ctrl-C / ws.interrupt(): stop, do not retry
                raise LeadQLCancelledError(f"the scan of {request.defn.name} was cancelled") from None
            drifted = _drift(ws, request) if attempt == 0 else None  # one DESCRIBE: cheap
            if drifted is not None:  # the file changed under the catalog: no retry will help
                outcome.errors.append(drifted.message)
                outcome.error = drifted
                break
            message = e.message if isinstance(e, LeadQLError) else str(e).split("\n")[0]
            outcome.errors.append(message)
            outcome.error = e if isinstance(e, LeadQLError) else LeadQLSourceError(
                f"source {request.defn.name} failed: {message}", hint="check the source; the run retried it")
            if attempt + 1 < ATTEMPTS:
                time.sleep(BACKOFF_SECONDS * (2**attempt))
        finally:
            ws.release(cursor) if healthy else cursor.close()
            writer.close()
    if not created:  # never opened: an empty table keeps later steps simple
        cursor = ws.cursor(categories)
        try:
            _create_empty(cursor, request, categories)
        finally:
            ws.release(cursor)
    outcome.seconds = time.perf_counter() - started
    return outcome


def run_parallel(ws: Any, requests: list[ScanRequest], categories: dict[str, CategoryDef], *,
                 threads: int, progress: Callable[[dict], None] | None = None) -> list[ScanOutcome]:  # fmt: skip
    """Run the scans on up to `threads` threads; outcomes in request order.

    A source DuckDB reads itself (files, DuckDB databases) already spreads one scan over DuckDB's
    threads, so only `threads // DuckDB's threads` of those run at once: two such scans on two
    cores each took 5% longer together than one after the other. Sources whose reads wait
    (SQLite through Python, remote files) always overlap, with each other and with those."""
    if threads <= 1 or len(requests) <= 1:
        return [run_scan(ws, r, categories, progress) for r in requests]
    slots = threading.BoundedSemaphore(max(1, threads // max(1, _duckdb_threads(ws))))
    native = [_native(ws, r) for r in requests]

    def run(request: ScanRequest, is_native: bool) -> ScanOutcome:
        if not is_native:
            return run_scan(ws, request, categories, progress)
        with slots:
            return run_scan(ws, request, categories, progress)

    # reads that wait start first, so a thread blocked on `slots` never holds one of them back
    order = sorted(range(len(requests)), key=lambda i: native[i])
    with ThreadPoolExecutor(max_workers=min(threads, len(requests)), thread_name_prefix="leadql-scan") as pool:
        futures = {i: pool.submit(run, requests[i], native[i]) for i in order}
        return [futures[i].result() for i in range(len(requests))]


def _native(ws: Any, request: ScanRequest) -> bool:
    """Does DuckDB read this source itself (its scan parallel inside DuckDB)?"""
    from leadql.catalog.ddl import connector_for
    from leadql.context import Context

    try:
        return bool(connector_for(Context(ws, {}, ""), request.defn).capabilities.native)
    except LeadQLError:  # the scan reports it
        return False


def _duckdb_threads(ws: Any) -> int:
    try:
        return int(ws.con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    except Exception:  # noqa: BLE001 - an unknown setting: assume one thread
        return 1


def _create(cursor: Any, table: str, schema: Any) -> None:
    import pyarrow as pa

    name = f"_leadql_schema_{uuid.uuid4().hex[:10]}"
    cursor.register(name, pa.table({f.name: pa.array([], f.type) for f in schema}))
    try:
        cursor.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {name}")
    finally:
        cursor.unregister(name)


def _create_empty(cursor: Any, request: ScanRequest, categories: dict[str, CategoryDef]) -> None:
    columns = ["_source VARCHAR", f"{canonical.RECORD_KEY} VARCHAR"]
    columns += [f"{quote_ident(c)} {categories[c.lower()].type}" for c in request.categories]
    cursor.execute(f"CREATE OR REPLACE TABLE {request.table} ({', '.join(columns)})")
