"""The catalog's schema, versioned. A workspace made by an older release is upgraded when it is
opened; one made by a newer release is refused rather than damaged.

Each migration is a list of statements applied in one transaction together with the new version
number, so a crash half-way leaves the workspace at the old version, intact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leadql.errors import LeadQLExecutionError

SCHEMA = "_leadql"  # not "leadql": DuckDB names a database file leadql.db "leadql" too

# (version, statements). Append only: never edit a migration that has shipped.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
            f"""CREATE TABLE {SCHEMA}.meta (
                key VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL)""",
            # Sources, tables and user categories. `definition` is JSON (see definitions.py);
            # `statement` is the text that created it, for DESCRIBE and history.
            f"""CREATE TABLE {SCHEMA}.objects (
                kind VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                definition VARCHAR NOT NULL,
                statement VARCHAR,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                PRIMARY KEY (kind, name))""",
            # What ANALYZE measured, one row per object per run (the newest is used).
            f"""CREATE TABLE {SCHEMA}.statistics (
                object_name VARCHAR NOT NULL,
                taken_at TIMESTAMP NOT NULL,
                row_count BIGINT NOT NULL,
                stats VARCHAR NOT NULL,
                PRIMARY KEY (object_name, taken_at))""",
        ],
    ),
    (
        2,
        # The Lists Data Warehouse (LDW), a star schema: the fact `list_leads` (one row per
        # delivered lead per list per run) around the dimensions `lists`, `runs` and `leads`;
        # `run_sources` is the spend ledger. Each list's delivered attribute values live in a
        # typed table `list_<list_id>` (same row_id as its fact rows) created by the writer,
        # and the view `main.<list name>` joins the two. See docs/warehouse.md.
        [
            # `name_key` is lower(name): list names are unique case-insensitively, like every
            # SQL name. `columns` is the delivered attributes in view order:
            # [{"name", "type", "run_id" (the run that added it)}].
            f"""CREATE TABLE {SCHEMA}.lists (
                list_id VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                name_key VARCHAR NOT NULL UNIQUE,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                columns JSON NOT NULL,
                scored BOOLEAN NOT NULL)""",
            # Every FIND that spent money. `list_name` keeps the name after DROP LIST removes
            # the list (money spent is history); `list_id` is NULL without INTO LIST.
            f"""CREATE TABLE {SCHEMA}.runs (
                run_id VARCHAR PRIMARY KEY,
                list_id VARCHAR,
                list_name VARCHAR,
                statement VARCHAR NOT NULL,
                started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL CHECK (status IN ('complete', 'partial', 'failed')),
                requested BIGINT,
                delivered BIGINT NOT NULL,
                budget DECIMAL(18,6) NOT NULL,
                spent DECIMAL(18,6) NOT NULL,
                plan JSON,
                warnings JSON)""",
            # The spend ledger, one row per source a run bought from. The source's price and
            # quality are snapshotted here rather than in a `sources` dimension: they are facts
            # of that purchase (a later CREATE OR REPLACE SOURCE must not rewrite what was
            # paid), and the current definitions already live in `objects`.
            f"""CREATE TABLE {SCHEMA}.run_sources (
                run_id VARCHAR NOT NULL,
                source VARCHAR NOT NULL,
                records_bought BIGINT NOT NULL,
                queries BIGINT NOT NULL,
                amount DECIMAL(18,6) NOT NULL,
                price_per_record DECIMAL(18,10) NOT NULL,
                price_per_query DECIMAL(18,10) NOT NULL,
                quality DOUBLE,
                PRIMARY KEY (run_id, source))""",
            # One row per real-world person ever delivered, with the canonical identity keys
            # that give the same person the same lead_id in later runs.
            f"""CREATE TABLE {SCHEMA}.leads (
                lead_id VARCHAR PRIMARY KEY,
                first_seen TIMESTAMP NOT NULL,
                last_seen TIMESTAMP NOT NULL,
                email VARCHAR,
                phone VARCHAR,
                first_name VARCHAR,
                last_name VARCHAR,
                birth_date DATE,
                zip VARCHAR)""",
            # The fact. `row_id` is unique across the warehouse, increases in delivery order and
            # joins the row to its attribute values in the list's typed table.
            f"""CREATE TABLE {SCHEMA}.list_leads (
                row_id BIGINT NOT NULL,
                list_id VARCHAR NOT NULL,
                run_id VARCHAR NOT NULL,
                lead_id VARCHAR NOT NULL,
                cost DECIMAL(18,6),
                quality DOUBLE,
                score DOUBLE,
                provenance MAP(VARCHAR, VARCHAR),
                records VARCHAR[])""",
        ],
    ),
    (
        3,
        [
            # Saved models (PREDICT ... AS MODEL, later patterns): every version is kept; the
            # pipeline is the pickled feature plan + fitted model, never rewritten.
            f"""CREATE TABLE {SCHEMA}.models (
                name VARCHAR NOT NULL,
                name_key VARCHAR NOT NULL,
                version INTEGER NOT NULL,
                kind VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                statement VARCHAR NOT NULL,
                task_type VARCHAR NOT NULL,
                algorithm VARCHAR NOT NULL,
                entity VARCHAR,
                prediction_time TIMESTAMP,
                train_from TIMESTAMP,
                train_to TIMESTAMP,
                train_rows BIGINT,
                valid_rows BIGINT,
                features JSON,
                metrics JSON,
                info JSON,
                pipeline BLOB NOT NULL,
                PRIMARY KEY (name_key, version))""",
            # Which version answers for a name (USE MODEL m VERSION n rolls back).
            f"""CREATE TABLE {SCHEMA}.model_heads (
                name_key VARCHAR PRIMARY KEY,
                version INTEGER NOT NULL)""",
            # Model-change events: created, retrained, rolled back, dropped. Append only.
            f"""CREATE TABLE {SCHEMA}.model_events (
                name_key VARCHAR NOT NULL,
                version INTEGER,
                happened_at TIMESTAMP NOT NULL,
                event VARCHAR NOT NULL,
                detail JSON)""",
        ],
    ),
    (
        4,
        [
            # The pattern or model (and its version) that scored a run's leads, so an outcome
            # recorded later can be traced to what produced the lead.
            f"ALTER TABLE {SCHEMA}.runs ADD COLUMN scorer_kind VARCHAR",
            f"ALTER TABLE {SCHEMA}.runs ADD COLUMN scorer_name VARCHAR",
            f"ALTER TABLE {SCHEMA}.runs ADD COLUMN scorer_version INTEGER",
            # SEGMENT LIST: each fact row's segment (NULL until the list is segmented) and the
            # newest segmentation of each list with its profile.
            f"ALTER TABLE {SCHEMA}.list_leads ADD COLUMN segment INTEGER",
            f"""CREATE TABLE {SCHEMA}.segmentations (
                list_id VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                segments INTEGER NOT NULL,
                by_columns JSON NOT NULL,
                silhouette DOUBLE,
                profile JSON NOT NULL,
                model BLOB)""",
            # RECORD OUTCOMES: closed deals linked to the delivery that produced each lead (list,
            # run, fact row, score and scorer are snapshotted when recorded). Append only.
            f"""CREATE TABLE {SCHEMA}.outcomes (
                outcome_id BIGINT PRIMARY KEY,
                batch_id VARCHAR NOT NULL,
                recorded_at TIMESTAMP NOT NULL,
                lead_id VARCHAR NOT NULL,
                outcome DOUBLE NOT NULL,
                happened_at TIMESTAMP,
                list_id VARCHAR,
                run_id VARCHAR,
                row_id BIGINT,
                score DOUBLE,
                scorer_kind VARCHAR,
                scorer_name VARCHAR,
                scorer_version INTEGER,
                records VARCHAR[],
                origin VARCHAR)""",
        ],
    ),
    (
        5,
        [
            # Saved queries live in `objects` (kind 'query'); their schedules and run history
            # here. Times are UTC; `timezone` is the zone AT and CRON are read in, `anchor` the
            # first occurrence EVERY counts from. A lease marks the job a scheduler is running
            # (owner "host:pid:token"); an expired lease, or one of a dead process, is taken over.
            f"""CREATE TABLE {SCHEMA}.schedules (
                name_key VARCHAR PRIMARY KEY,
                query_name VARCHAR NOT NULL,
                every_amount INTEGER,
                every_unit VARCHAR,
                at_time VARCHAR,
                cron VARCHAR,
                max_spend DECIMAL(18,6),
                max_spend_per VARCHAR,
                statement VARCHAR NOT NULL,
                timezone VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                anchor TIMESTAMP NOT NULL,
                next_run TIMESTAMP NOT NULL,
                attempt INTEGER NOT NULL,
                retry_at TIMESTAMP,
                lease_owner VARCHAR,
                lease_expires TIMESTAMP,
                last_run_id VARCHAR)""",
            # Every run of a saved query, manual or scheduled, including the ones that failed,
            # were capped by MAX SPEND, or were abandoned by a scheduler that died.
            f"""CREATE TABLE {SCHEMA}.query_runs (
                query_run_id VARCHAR PRIMARY KEY,
                query_name VARCHAR NOT NULL,
                name_key VARCHAR NOT NULL,
                trigger VARCHAR NOT NULL,
                scheduled_for TIMESTAMP,
                attempt INTEGER NOT NULL,
                owner VARCHAR,
                started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP,
                status VARCHAR NOT NULL,
                error VARCHAR,
                rows BIGINT,
                budget DECIMAL(18,6),
                spent DECIMAL(18,6),
                seconds DOUBLE,
                plan JSON,
                statement VARCHAR NOT NULL)""",
            # The FIND run a saved-query run made, and the leads each such run delivered (with
            # or without INTO LIST), so later runs of the query never buy them again.
            f"ALTER TABLE {SCHEMA}.runs ADD COLUMN query_run_id VARCHAR",
            f"""CREATE TABLE {SCHEMA}.run_leads (
                run_id VARCHAR NOT NULL,
                lead_id VARCHAR NOT NULL)""",
        ],
    ),
]

LATEST = MIGRATIONS[-1][0]


_OPEN: dict[int, int] = {}  # id(connection) → how many `transaction` blocks are open on it


@contextmanager
def transaction(con: Any) -> Iterator[None]:
    """Everything inside commits together, or not at all. A block opened inside another on the
    same connection joins the outer one, so a statement that makes several writes (a model
    version and a list) commits them as one: an error in any of them undoes all."""
    key = id(con)
    if _OPEN.get(key):
        _OPEN[key] += 1
        try:
            yield
        finally:
            _OPEN[key] -= 1
        return
    con.execute("BEGIN TRANSACTION")
    _OPEN[key] = 1
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
    finally:
        _OPEN.pop(key, None)


def first_row(cursor: Any) -> Any:
    """The first row of a DuckDB result, or None (fetching it all: DuckDB 2 refuses new work on a
    connection while a result is only partly read)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def current_version(con: Any) -> int:
    """The catalog version of an open database; 0 for a database without a catalog."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'meta'",
        [SCHEMA],
    ).fetchall()[0][0]
    if not exists:
        return 0
    row = first_row(con.execute(f"SELECT value FROM {SCHEMA}.meta WHERE key = 'schema_version'"))
    return int(row[0]) if row else 0


def migrate(con: Any, *, read_only: bool = False) -> int:
    """Bring the catalog to the latest version; return the version it is at."""
    version = current_version(con)
    if version > LATEST:
        raise LeadQLExecutionError(
            f"this workspace was made by a newer LeadQL (catalog version {version}; "
            f"this release knows up to {LATEST})",
            hint="upgrade LeadQL to open it",
        )
    if version == LATEST:
        return version
    if read_only:
        raise LeadQLExecutionError(
            f"this workspace needs an upgrade (catalog version {version} → {LATEST}) and is "
            "open read-only",
            hint="open it once without read_only to upgrade it",
        )
    for target, statements in MIGRATIONS:
        if target <= version:
            continue
        with transaction(con):
            for statement in statements:
                con.execute(statement)
            con.execute(
                f"INSERT OR REPLACE INTO {SCHEMA}.meta VALUES ('schema_version', ?)", [str(target)]
            )
        version = target
    return version
