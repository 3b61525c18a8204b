"""EXCLUDE LIST / TABLE / QUERY: never buy these people again.

The identity keys to suppress are gathered once per run into small tables in the in-memory
staging database, one per kind of key (email, phone, names + birth date, names + ZIP); the
executor then filters every source's records with one NULL-safe predicate, which DuckDB runs as
hash semi-joins. Keys are compared through the same expressions that give leads their ids
(identity.py), so "the same person" means the same thing in both places.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from leadql.catalog.definitions import SOURCE, TABLE, DataDef
from leadql.catalog.migrations import first_row
from leadql.connectors.base import quote_ident, quote_str
from leadql.errors import LeadQLNameError, LeadQLSemanticError, did_you_mean, unsupported
from leadql.warehouse.identity import KEYS, IdentityKey
from leadql.warehouse.lists import require_list
from leadql.warehouse.schema import (
    IDENTITY_TYPES,
    LEADS,
    LIST_LEADS,
    QUERY_RUNS,
    RUN_LEADS,
    RUNS,
    STAGE,
    data_table,
    ensure_stage,
)

_KEY_WORDS = "email, phone, first_name + last_name + zip or first_name + last_name + birth_date"


@dataclass
class Suppression:
    """The keys one run must not buy, held in staging tables until `drop`."""

    tables: dict[str, str] = field(default_factory=dict)  # key name → staging table
    count: int = 0  # keys held, all kinds together
    warnings: list[str] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """The kinds of key held (a kind whose columns the run cannot provide is not held)."""
        return list(self.tables)

    def predicate(self, available: set[str]) -> str | None:
        """SQL over unqualified canonical columns, TRUE when a record must be suppressed and
        never NULL (so `WHERE NOT (…)` keeps records whose keys are NULL); None when no held
        key can be computed from `available`."""
        have = {c.lower() for c in available}
        terms = [
            f"coalesce(({key.sql()}) IN (SELECT k FROM {self.tables[key.name]}), FALSE)"
            for key in KEYS
            if key.name in self.tables and set(key.columns) <= have
        ]
        return "(" + " OR ".join(terms) + ")" if terms else None

    def drop(self, con: Any) -> None:
        for table in self.tables.values():
            con.execute(f"DROP TABLE IF EXISTS {table}")
        self.tables = {}


def suppression(
    con: Any,
    catalog: Any,
    exclusions: list[tuple[str, str]],
    *,
    available: set[str],
    run_id: str,
    base_dir: Path | None = None,
) -> Suppression:
    """Materialise the keys of every excluded list and table for one run.

    `exclusions`: [("LIST" | "TABLE" | "QUERY", name)]. A LIST suppresses the keys of every lead
    it ever delivered (the `leads` dimension plus the identity values delivered in the list); a
    QUERY those of every lead its runs delivered (a saved query's runs remember them).
    A TABLE is read through its connector and canonical MAP, so its values are normalised like
    every source's. `available`: the canonical identity columns the run's records will carry;
    only keys built from those are held. Names are all checked before anything is read.
    """
    ensure_stage(con)
    have = {c.lower() for c in available}
    usable = [k for k in KEYS if set(k.columns) <= have]
    resolved: list[tuple[str, Any]] = []
    for kind, name in exclusions:
        if kind.upper() == "LIST":
            resolved.append(("LIST", require_list(con, name)))
        elif kind.upper() == "TABLE":
            resolved.append(("TABLE", _require_table(catalog, name)))
        elif kind.upper() == "QUERY":
            from leadql.scheduling.store import require_query

            resolved.append(("QUERY", require_query(catalog, name).name))
        else:
            raise unsupported(f"EXCLUDE {kind.upper()}", None, None)
    result = Suppression()
    token = re.sub(r"\W", "_", run_id)[:32] + "_" + uuid.uuid4().hex[:8]
    selects: dict[str, list[str]] = {k.name: [] for k in usable}
    scratch: list[str] = []
    try:
        for kind, obj in resolved:
            if kind == "LIST":
                _list_keys(con, obj, usable, selects)
            elif kind == "QUERY":
                _query_keys(obj, usable, selects)
            else:
                table = f"{STAGE}.{quote_ident(f'supp_{token}_src{len(scratch)}')}"
                scratch.append(table)
                result.warnings += _table_keys(con, catalog, obj, usable, selects, table, base_dir)
        for key in usable:
            if not selects[key.name]:
                continue
            table = f"{STAGE}.{quote_ident(f'supp_{token}_{key.name}')}"
            union = " UNION ALL ".join(selects[key.name])
            con.execute(f"CREATE TABLE {table} AS SELECT DISTINCT k FROM ({union}) WHERE k IS NOT NULL")
            held = first_row(con.execute(f"SELECT count(*) FROM {table}"))[0]
            if held:
                result.tables[key.name] = table
                result.count += held
            else:  # nothing to compare with: keep the predicate short
                con.execute(f"DROP TABLE {table}")
    except BaseException:
        result.drop(con)
        raise
    finally:
        for table in scratch:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _require_table(catalog: Any, name: str) -> DataDef:
    found = catalog.get_data(name, (TABLE,))
    if found is not None:
        return found  # type: ignore[no-any-return]
    if catalog.get_data(name, (SOURCE,)) is not None:
        raise LeadQLNameError(
            f"`{name}` is a vendor source, not one of your tables",
            hint="EXCLUDE TABLE takes a table made with CREATE TABLE; FROM SOURCES picks vendors",
        )
    raise LeadQLNameError(
        f"no table named `{name}`",
        hint=did_you_mean(name, catalog.names((TABLE,))) or "SHOW TABLES lists them",
    )


def _list_keys(con: Any, info: Any, usable: list[IdentityKey], selects: dict[str, list[str]]) -> None:
    """Keys of a list: its leads' remembered keys, and the identity values it delivered."""
    delivered = {c["name"].lower() for c in info.columns if c["name"].lower() in IDENTITY_TYPES}
    for key in usable:
        selects[key.name].append(
            f"SELECT {key.sql('l.')} AS k FROM {LEADS} AS l WHERE l.lead_id IN "
            f"(SELECT lead_id FROM {LIST_LEADS} WHERE list_id = {quote_str(info.list_id)})"
        )
        if set(key.columns) <= delivered:
            selects[key.name].append(f"SELECT {key.sql('d.')} AS k FROM {data_table(info.list_id)} AS d")


def _query_keys(name: str, usable: list[IdentityKey], selects: dict[str, list[str]]) -> None:
    """Keys of every lead any run of saved query `name` delivered (with or without a list)."""
    delivered = (
        f"SELECT rl.lead_id FROM {RUN_LEADS} AS rl JOIN {RUNS} AS r ON r.run_id = rl.run_id "
        f"JOIN {QUERY_RUNS} AS q ON q.query_run_id = r.query_run_id "
        f"WHERE q.name_key = {quote_str(name.lower())}"
    )
    for key in usable:
        selects[key.name].append(
            f"SELECT {key.sql('l.')} AS k FROM {LEADS} AS l WHERE l.lead_id IN ({delivered})"
        )


def _table_keys(
    con: Any,
    catalog: Any,
    defn: DataDef,
    usable: list[IdentityKey],
    selects: dict[str, list[str]],
    scratch: str,
    base_dir: Path | None,
) -> list[str]:
    """Read a table's identity categories once into `scratch`; return drift warnings."""
    from leadql.catalog import canonical
    from leadql.catalog.drift import check_schema
    from leadql.connectors import open_connector

    mapped = {m.lower() for m in defn.mappings}
    if not any(set(k.columns) <= mapped for k in KEYS):
        raise LeadQLSemanticError(
            f"table `{defn.name}` maps none of {_KEY_WORDS}, so it cannot suppress anyone",
            hint=f"MAP a column to one of them, e.g. CREATE OR REPLACE TABLE {defn.name} "
            f"FROM '{defn.location}' MAP (email = <column>)",
        )
    wanted = [k for k in usable if set(k.columns) <= mapped]
    if not wanted:
        return []  # the run's records carry none of the keys this table holds
    connector = open_connector(defn.location, defn.format, defn.options, base_dir or _base_dir(con))
    # check_schema only needs the connection from its context.
    from_sql, warnings = check_schema(SimpleNamespace(con=con), defn, connector)  # type: ignore[arg-type]
    columns = sorted({c for k in wanted for c in k.columns})
    select = canonical.canonical_select(defn, catalog.categories(), from_sql, only=columns)
    connector.run_read(con, lambda: con.execute(f"CREATE TABLE {scratch} AS {select}"))
    for key in wanted:
        selects[key.name].append(f"SELECT {key.sql('s.')} AS k FROM {scratch} AS s")
    return warnings


def _base_dir(con: Any) -> Path:
    """Where relative locations are read from: the workspace file's folder (as the workspace
    itself resolves them), or the working directory for an in-memory workspace."""
    row = first_row(con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ))  # fmt: skip
    return Path(row[0]).resolve().parent if row and row[0] else Path.cwd()
