"""Stable lead ids: the same person gets the same `lead_id` in every run and every list.

A person is recognised by a *strong identity key*: the same email, the same phone, the same
first + last name + birth date, or the same first + last name + ZIP. `assign_lead_ids` reuses
the id of a known lead (the `leads` dimension) that shares any strong key with an entity, and
otherwise derives a new id from a hash of the entity's best key, so that even runs that never
reach the warehouse (FIND without INTO LIST) name a person the same way. Suppression compares
the very same key expressions (see suppression.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadql.connectors.base import quote_ident, quote_str
from leadql.errors import LeadQLExecutionError
from leadql.warehouse.schema import IDENTITY_TYPES, LEADS, STAGE, ensure_stage


@dataclass(frozen=True)
class IdentityKey:
    """One way of recognising a person, as an SQL expression that is NULL when any part is."""

    name: str
    columns: tuple[str, ...]

    def sql(self, qualifier: str = "") -> str:
        parts = [_part(column, qualifier) for column in self.columns]
        return " || '|' || ".join(parts)


def _part(column: str, qualifier: str) -> str:
    ref = qualifier + quote_ident(column)
    if column == "birth_date":
        return f"CAST(TRY_CAST({ref} AS DATE) AS VARCHAR)"
    if column in ("phone", "zip"):
        return f"nullif(trim(CAST({ref} AS VARCHAR)), '')"
    return f"nullif(lower(trim(CAST({ref} AS VARCHAR))), '')"


# In order of strength: the first key an entity has is its "best" key, the one its new id is
# derived from, and a match on an earlier key wins over a match on a later one.
KEYS = (
    IdentityKey("email", ("email",)),
    IdentityKey("phone", ("phone",)),
    IdentityKey("name_birth_date", ("first_name", "last_name", "birth_date")),
    IdentityKey("name_zip", ("first_name", "last_name", "zip")),
)

MAX_SALT_ROUNDS = 8


def new_lead_id_sql(key_sql: str) -> str:
    """'L' + 12 hex characters of a hash of the key."""
    return f"'L' || substr(md5({key_sql}), 1, 12)"


def assign_lead_ids(con: Any, entities: str) -> str:
    """Give each entity of `entities` (entity_id, email, phone, first_name, last_name,
    birth_date, zip; any may be NULL) a lead_id; return the name of a new table (entity_id,
    lead_id) in the staging database.

    Deterministic: the same entities against the same `leads` dimension get the same ids.
    - An entity sharing a strong key with a known lead gets that lead's id; among several
      matches the strongest key wins, then the lead seen first, then the smallest id.
    - Otherwise its id is a hash of its best key ('e:' email, 'p:' phone, names + birth date,
      names + ZIP). Two entities of one run get the same new id only when their best keys are
      equal, i.e. they truly share a key (the executor may then fuse them; the warehouse keeps
      both rows). Two entities that each match the same known lead (through different keys)
      both get its id for the same reason. An entity with no strong key gets a hash of the
      table name and its entity_id: unique, but not recognisable in later runs.
    - A hash that collides with a known lead or with another key of this run is re-hashed with
      a salt ('#1', '#2', ...), the smallest colliding key keeping the plain hash.
    """
    ensure_stage(con)
    token = uuid.uuid4().hex[:12]
    work = f"{STAGE}.lead_ids_work_{token}"
    out = f"{STAGE}.lead_ids_{token}"
    keys_e = ", ".join(f"{k.sql('e.')} AS k{i}" for i, k in enumerate(KEYS))
    keys_l = ", ".join(f"{k.sql('l.')} AS k{i}" for i, k in enumerate(KEYS))
    # One equi-join per key, not one join on `a OR b` (which DuckDB runs as a nested loop).
    matches = " UNION ALL ".join(
        f"SELECT e.entity_id, l.lead_id, {i} AS strength, l.first_seen "
        f"FROM e JOIN l ON e.k{i} = l.k{i}"
        for i in range(len(KEYS))
    )
    best_key = "coalesce(" + ", ".join(
        f"'{k.name}:' || e.k{i}" for i, k in enumerate(KEYS)
    ) + f", 'entity:' || {quote_str(entities)} || ':' || CAST(e.entity_id AS VARCHAR))"
    best_kind = "CASE " + " ".join(
        f"WHEN e.k{i} IS NOT NULL THEN {i}" for i in range(len(KEYS))
    ) + " END"
    con.execute(f"""
        CREATE TABLE {work} AS
        WITH e AS (SELECT entity_id, {keys_e} FROM {entities} AS e),
             l AS (SELECT lead_id, first_seen, {keys_l} FROM {LEADS} AS l),
             m AS ({matches}),
             best AS (
                SELECT entity_id, min({{'s': strength, 'f': first_seen, 'l': lead_id}}).l AS lead_id
                FROM m GROUP BY entity_id)
        SELECT e.entity_id, best.lead_id IS NOT NULL AS matched, {best_key} AS best_key,
               {best_kind} AS best_kind,
               coalesce(best.lead_id, {new_lead_id_sql(best_key)}) AS lead_id
        FROM e LEFT JOIN best ON best.entity_id = e.entity_id
    """)  # fmt: skip
    try:
        _match_by_fingerprint(con, work, keys_l)
        _resolve_collisions(con, work)
        con.execute(f"CREATE TABLE {out} AS SELECT entity_id, lead_id FROM {work}")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {work}")
    return out


def _match_by_fingerprint(con: Any, work: str, keys_l: str) -> None:
    """A known lead whose id is the hash of an entity's best key, but whose row lacks that key
    (its list was written without identity columns), is the same person: reuse its id."""
    lacks = "CASE w.best_kind " + " ".join(
        f"WHEN {i} THEN l.k{i} IS NULL" for i in range(len(KEYS))
    ) + " ELSE FALSE END"
    con.execute(f"""
        UPDATE {work} AS w SET matched = TRUE
        FROM (SELECT lead_id, {keys_l} FROM {LEADS} AS l) AS l
        WHERE NOT w.matched AND w.lead_id = l.lead_id AND {lacks}
    """)  # fmt: skip


def _resolve_collisions(con: Any, work: str) -> None:
    """Re-hash new ids that name another known lead or a different key of this run."""
    for salt in range(1, MAX_SALT_ROUNDS + 1):
        colliding = f"""
            SELECT entity_id FROM (
                SELECT entity_id, lead_id, best_key,
                       min(best_key) OVER (PARTITION BY lead_id) AS keeper
                FROM {work} WHERE NOT matched) AS w
            WHERE best_key <> keeper
               OR lead_id IN (SELECT lead_id FROM {LEADS})
               OR lead_id IN (SELECT lead_id FROM {work} WHERE matched)"""
        count = con.execute(f"SELECT count(*) FROM ({colliding})").fetchall()[0][0]
        if not count:
            return
        salted = new_lead_id_sql(f"best_key || '#{salt}'")
        con.execute(f"UPDATE {work} SET lead_id = {salted} WHERE entity_id IN ({colliding})")
    raise LeadQLExecutionError("cannot derive unique lead ids: too many hash collisions")


def upsert_leads(con: Any, leads_sql: str, identity_sql: list[str], seen: datetime) -> None:
    """Add the delivered leads to the `leads` dimension, or mark them seen again (the caller
    holds the transaction).

    `leads_sql` is a FROM-clause with a lead_id column (every delivered lead gets a row);
    each of `identity_sql` has lead_id and any subset of the identity columns. A known lead
    keeps the keys it has; keys it lacked are filled in, so later runs recognise it by them.
    """
    parts = [f"SELECT CAST(lead_id AS VARCHAR) AS lead_id FROM {leads_sql}"]
    present: set[str] = set()
    for from_sql in identity_sql:
        columns = [c for c in IDENTITY_TYPES if c in _columns(con, from_sql)]
        present.update(columns)
        items = "".join(
            f", TRY_CAST({quote_ident(c)} AS {IDENTITY_TYPES[c]}) AS {c}" for c in columns
        )
        parts.append(f"SELECT CAST(lead_id AS VARCHAR) AS lead_id{items} FROM {from_sql}")
    picks = [
        f"max({c}) AS {c}" if c in present else f"CAST(NULL AS {t}) AS {c}"
        for c, t in IDENTITY_TYPES.items()
    ]
    source = " UNION ALL BY NAME ".join(parts)
    incoming = f"temp.{quote_ident('_leadql_incoming_' + uuid.uuid4().hex[:12])}"
    con.execute(
        f"CREATE TEMP TABLE {incoming} AS SELECT lead_id, {', '.join(picks)} "
        f"FROM ({source}) WHERE lead_id IS NOT NULL GROUP BY lead_id"
    )
    fill = ", ".join(f"{c} = coalesce({LEADS}.{c}, i.{c})" for c in IDENTITY_TYPES)
    con.execute(
        f"UPDATE {LEADS} SET last_seen = greatest(last_seen, ?), {fill} "
        f"FROM {incoming} AS i WHERE {LEADS}.lead_id = i.lead_id",
        [seen],
    )
    con.execute(
        f"INSERT INTO {LEADS} SELECT i.lead_id, ?, ?, {', '.join('i.' + c for c in IDENTITY_TYPES)} "
        f"FROM {incoming} AS i WHERE i.lead_id NOT IN (SELECT lead_id FROM {LEADS})",
        [seen, seen],
    )
    con.execute(f"DROP TABLE {incoming}")


def _columns(con: Any, from_sql: str) -> set[str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()
    return {r[0].lower() for r in rows}
