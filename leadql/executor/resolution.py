"""Entity resolution for FIND: which staged vendor records are the same real-world person.

`resolve()` reads the staged tables and writes one row per input record with its `entity_id`.
Every step is set-based (DuckDB SQL or vectorised numpy); no Python loop runs per record.

1. Stack: each record gets a dense id (its table's rowid plus an offset) and the hashes of its
   deterministic keys, in one temporary table of integers and keys.
2. Deterministic links on strong keys, each a GROUP BY and a join back (linear; never a join
   on `a OR b`): equal email, equal phone — each only between records whose names agree, since
   households share phones and a mistyped address can be someone else's — and equal full name
   (either order) with equal birth date. A key held by more than `KEY_GROUP_CAP` records is
   junk (a placeholder, a switchboard), not an identity, and links nothing.
3. Connected components of those links (vectorised union-find). A linked component holding a
   record of every input table is *settled*: it has nothing left to absorb, so pairs of two
   settled records are never compared; when every record is settled (every table shares
   emails), Splink is not started at all. One table on its own (deduplicated) settles nothing:
   its records are exactly what may hold a person twice.
4. The other records, and the settled ones sharing a blocking key with them, are prepared for
   comparison (cleaned names, nickname sets, e-mail user part, ...; see linkage.py).
5. Splink 5 blocks them with `linkage.BLOCKING_KEYS` (a UNION ALL of equi-joins, skipping pairs
   inside one deterministic component) and scores every candidate pair with the trained
   Fellegi-Sunter model, in a private in-memory DuckDB: it never writes to the workspace and
   works inside the caller's open transaction. The prior is refitted to the records at hand;
   pairs at or above `threshold` are accepted.
6. Accepted links are filtered before clustering: a pair holding two different mailboxes at one
   domain (`EMAIL_VETO_SQL`) is never linked and phones differing in more than one digit cost
   `PHONE_PENALTY` bits; a link between two settled components is dropped and a weak one (below
   `STRONG_LINK`) is kept only as a component's single best link, so look-alike strangers do
   not chain, and below `GROUP_LINK` it does not join two clusters of several records that
   share a source (two people of one name); a cluster still holding two conflicting mailboxes
   is rebuilt greedily from its links, strongest first. Connected components of the remaining
   links give the entities; `entity_id` is the smallest `_source || '/' || _record_key` of the
   component.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadql.errors import LeadQLExecutionError
from leadql.executor import linkage
from leadql.executor.linkage import (
    LinkageModel,
    default_model,
    load_model,
    save_model,
    train,
    train_after_analyze,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "IDENTITY_CATEGORIES",
    "KEY_GROUP_CAP",
    "LinkageModel",
    "Resolution",
    "candidate_pairs",
    "default_model",
    "load_model",
    "resolve",
    "save_model",
    "train",
    "train_after_analyze",
]

IDENTITY_CATEGORIES = (
    "email", "phone", "first_name", "last_name", "birth_date", "street", "city", "state", "zip",
)  # fmt: skip
_TYPES = {c: "DATE" if c == "birth_date" else "VARCHAR" for c in IDENTITY_CATEGORIES}
KEY_GROUP_CAP = 50  # more records than this sharing one email/phone: not a personal identifier
PRIOR_RANGE = 8.0  # the refitted prior stays within this factor of the model's

# Two different mailboxes at one domain are two people: the user parts differ only in digits
# (p12@ vs p17@, a numbered account) or, at a personal provider, by more than two typos. Such a
# pair is never linked probabilistically, nor joined in one cluster through other records. (A
# work address guessed in another pattern, jsmith@ vs john.smith@ at one company, is no veto.)
_PERSONAL = "(" + ", ".join(linkage._lit(d) for d in linkage.PERSONAL_MAIL) + ")"
# per record (over a relation with `rid`, `email`, `phone`): the columns the checks compare
STRONG_KEYS_SQL = (
    "SELECT rid, phone, email, _dom, _user, regexp_replace(_user, '[^a-z]', '', 'g') AS _letters, "
    "regexp_replace(_user, '[^0-9]', '', 'g') AS _digits, _dom IN " + _PERSONAL + " AS _personal "
    "FROM (SELECT rid, phone, email, lower(split_part(email, '@', 1)) AS _user, "
    "lower(split_part(email, '@', 2)) AS _dom FROM {})"
)
EMAIL_VETO_SQL = (
    "coalesce(l.email <> r.email AND l._dom = r._dom AND ("
    "(l._letters = r._letters AND l._digits <> r._digits) OR "
    "(l._personal AND damerau_levenshtein(l._user, r._user) > 2)), false)"
)
# Phones differing in more than one digit: a heavy penalty (bits off the match weight), not a
# veto — vendors often hold a stale number of the right person.
PHONE_CONFLICT_SQL = (
    "coalesce(l.phone <> r.phone AND damerau_levenshtein(l.phone, r.phone) > 1, false)"
)
PHONE_PENALTY = 6.0
# A probabilistic link at least this likely may join any two unsettled clusters; a weaker one
# only as a component's single best link (see _Run.select_links). Measured on generated data
# (20k people): best links only cost 2.5 points of recall, all links 2 points of precision.
STRONG_LINK = 0.999
# A weak link between two clusters of several records each (two groups of one name, say) must be
# at least this likely: one look-alike pair should not merge two people's whole record sets.
# Measured on FEBRL 2: the two "lucas bowerman" groups (different birth years and towns) joined
# at 0.896.
GROUP_LINK = 0.95
# The default match threshold: the lowest that keeps pairwise precision on generated data
# (20k people, 12 vendors, seed 11) at the 0.997 that 0.9 had before names took their
# frequencies from the data at hand (linkage._register_tf): 0.8 gives P 0.9977, R 0.865 there.
DEFAULT_THRESHOLD = 0.8


@dataclass
class Resolution:
    """What `resolve()` wrote and what it took.

    `table` has one row per input record: `_source`, `_record_key`, `entity_id` (the smallest
    `_source || '/' || _record_key` of its entity) and `match_probability`: the record's best
    accepted link into its entity — 1.0 for a deterministic link, Splink's probability for a
    probabilistic one, NULL for a record that matched nothing (a singleton entity).

    `candidate_pairs`: pairs Splink compared (after blocking); `matched_pairs`: the pairs inside
    deterministic components (linked by strong keys, directly or through one another) plus the
    probabilistic links accepted. `details` (for EXPLAIN ANALYZE): seconds per step, links per
    deterministic rule, settled/open records, candidate pairs per blocking rule, the model's
    and the refitted prior.
    """

    table: str
    records: int
    entities: int
    candidate_pairs: int
    matched_pairs: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# SQL building blocks shared with training (linkage.py)
# ------------------------------------------------------------------------------------------


def clean_name_sql(expr: str) -> str:
    """A name for comparing: lower case, accents stripped, spaces, dots, apostrophes and
    hyphens dropped ("O'Neil" = "oneil", "Mary-Jane" = "maryjane"); NULL when nothing is left.
    (A name of plain letters skips the regular expression: 40 % faster on typical names.)"""
    x = f"CAST({expr} AS VARCHAR)"
    full = f"nullif(regexp_replace(lower(strip_accents({x})), '[\\s''.\\-]+', '', 'g'), '')"
    return f"CASE WHEN regexp_full_match({x}, '[A-Za-z]+') THEN lower({x}) ELSE {full} END"


def name_key_sql(fn: str, ln: str) -> str:
    """Both names in sorted order (so a swapped first/last name gives the same key)."""
    return f"CASE WHEN {fn} IS NOT NULL AND {ln} IS NOT NULL THEN least({fn}, {ln}) || ' ' || greatest({fn}, {ln}) END"


def column_types(con: Any, table: str) -> dict[str, tuple[str, str]]:
    """lower-case name -> (actual name, DuckDB type) of every column of `table`."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()
    except Exception as e:  # noqa: BLE001 - duckdb.Error, but also a bad name
        raise LeadQLExecutionError(
            f"entity resolution cannot read staged table {table}: {str(e).splitlines()[0]}",
            hint="stage the vendor records before resolving them",
        ) from None
    return {r[0].lower(): (r[0], str(r[1]).upper()) for r in rows}


def _typed(column: tuple[str, str], wanted: str) -> str:
    """The column as `wanted` type: as it is when it has that type (a cast costs time)."""
    name, type_sql = column
    return _q(name) if type_sql == wanted else f"TRY_CAST({_q(name)} AS {wanted})"


def _name_parts(name: str) -> list[str]:
    """`a.b."c.d"` -> ['a', 'b', 'c.d']: a qualified name split at dots outside quotes."""
    parts, current, quoted, i = [], "", False, 0
    while i < len(name):
        ch = name[i]
        if ch == '"':
            if quoted and name[i + 1 : i + 2] == '"':
                current += '"'
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return [p.strip() for p in parts]


def _has_rowid(con: Any, table: str) -> bool:
    """Is `table` exactly one base table (which has a rowid)? Asked of the catalog: a failing
    probe query would abort the caller's open transaction."""
    parts = _name_parts(table)
    if not 1 <= len(parts) <= 3 or not all(parts):
        return False
    names = ["table_name", "schema_name", "database_name"][: len(parts)]
    where = " AND ".join(f"lower({column}) = lower(?)" for column in names)
    if len(parts) == 1:
        where += " AND schema_name = current_schema()"
    count = con.execute(
        f"SELECT count(*) FROM duckdb_tables() WHERE {where}", list(reversed(parts))
    ).fetchall()
    return count[0][0] == 1


def stack_sql(con: Any, tables: Sequence[str], *, limit: int | None = None) -> tuple[str, int]:
    """One SELECT stacking every input with all identity categories (NULL where a table lacks
    one), the table's position `_t`, a record id `rid`, and the cleaned names `fn`, `ln` with
    their order-free name key `nk`; and the number of ids used (ids are < it, maybe with gaps).

    Ids are the table's rowid plus an offset per table when its rowids are a contiguous range
    (numbering rows in a sorted order or with row_number() costs seconds per million rows, and
    the ids' order does not matter: entity ids are chosen by key, not by id); row_number()
    otherwise (views; tables with deleted rows or rows added in the open transaction). `limit`
    bounds the rows read per table (training samples)."""
    parts = []
    offset = 0
    for i, table in enumerate(tables):
        columns = column_types(con, table)
        for needed in ("_source", "_record_key"):
            if needed not in columns:
                raise LeadQLExecutionError(
                    f"staged table {table} has no {needed} column",
                    hint="entity resolution needs _source and _record_key on every input",
                )
        dense = None
        if limit is None and _has_rowid(con, table):
            count, low, high = con.execute(
                f"SELECT count(*), min(rowid), max(rowid) FROM {table}"
            ).fetchall()[0]
            if (
                not count or high - low + 1 == count
            ):  # rows added in an open transaction count from 2**62
                dense = int(count), int(low or 0)
        if dense is not None:
            size = dense[0]
            rid, source = f"rowid - {dense[1]} + {offset}", table
        else:
            cap = f" LIMIT {int(limit)}" if limit is not None else ""
            size = int(
                con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table}{cap})").fetchall()[0][0]
            )
            rid, source = f"row_number() OVER () - 1 + {offset}", f"(SELECT * FROM {table}{cap})"
        items = [
            f"{rid} AS rid",
            f"{_typed(columns['_source'], 'VARCHAR')} AS _source",
            f"{_typed(columns['_record_key'], 'VARCHAR')} AS _record_key",
            f"{i} AS _t",
        ]
        for category in IDENTITY_CATEGORIES:
            if category in columns:
                items.append(f"{_typed(columns[category], _TYPES[category])} AS {category}")
            else:
                items.append(f"CAST(NULL AS {_TYPES[category]}) AS {category}")
        parts.append(f"(SELECT {', '.join(items)} FROM {source})")
        offset += size
    if not parts:
        items = ["CAST(NULL AS BIGINT) AS rid", "CAST(NULL AS VARCHAR) AS _source",
                 "CAST(NULL AS VARCHAR) AS _record_key", "0 AS _t"]  # fmt: skip
        items += [f"CAST(NULL AS {_TYPES[c]}) AS {c}" for c in IDENTITY_CATEGORIES]
        parts.append(f"(SELECT {', '.join(items)} WHERE false)")
    union = " UNION ALL ".join(parts)
    fn, ln = clean_name_sql("first_name"), clean_name_sql("last_name")
    sql = (
        f"SELECT * EXCLUDE (_fn, _ln), _fn AS fn, _ln AS ln, {name_key_sql('_fn', '_ln')} AS nk "
        f"FROM (SELECT *, {fn} AS _fn, {ln} AS _ln FROM ({union}))"
    )
    return sql, offset  # ids are dense: 0 .. offset-1


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Deterministic rules: (name, key columns, guarded by names?).
DETERMINISTIC_RULES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("email", ("email",), True),
    ("phone", ("phone",), True),
    ("name_birth_date", ("nk", "birth_date"), False),
)


def deterministic_keys_sql(recs: str, *, extra: str = "") -> str:
    """Per record: rid, the `extra` columns, the hash of its full name `h`, and the hash of
    each rule's key `k<i>` (NULL when a key column is NULL). Grouping and joining 64-bit integers rather than strings
    was measured 3-5x faster; two different keys share a hash with probability ~n²/2^65 (1e-7
    for four million records), and a guarded rule also needs the names to agree."""
    keys = []
    for i, (_, columns, _) in enumerate(DETERMINISTIC_RULES):
        present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
        keys.append(f"CASE WHEN {present} THEN hash({', '.join(columns)}) END AS k{i}")
    extra = f"{extra}, " if extra else ""
    return f"SELECT rid, {extra}CASE WHEN nk IS NOT NULL THEN hash(nk) END AS h, {', '.join(keys)} FROM {recs}"


def deterministic_edges_sql(
    keys: str, *, cap: int = KEY_GROUP_CAP, rules: Sequence[int] | None = None
) -> str:
    """(rid, root, rule) links of every deterministic rule (rule: its index in
    DETERMINISTIC_RULES) over `keys` (a table of `deterministic_keys_sql`): each record to the
    smallest rid sharing its key — a GROUP BY and a join back, cheaper than a window (which
    sorts).

    A guarded rule links a key's records when at most one distinct full name holds the key
    (records without a full name join them); when several names hold it (a family email, a
    recycled phone), only records with the same name are linked, the others are left to the
    probabilistic step. A key held by more than `cap` records links nothing. `rules`: the
    indices of the rules to apply (default: all)."""
    ctes, parts = [], []
    for i, (_, _, guarded) in enumerate(DETERMINISTIC_RULES):
        if rules is not None and i not in rules:
            continue
        k = f"k{i}"
        groups = (
            f"SELECT {k} AS k, min(rid) AS root, min(h) AS lo, max(h) AS hi FROM {keys} "
            f"WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) BETWEEN 2 AND {cap}"
        )
        ctes.append(f"g{i} AS MATERIALIZED ({groups})")
        if guarded:
            parts.append(
                f"SELECT x.rid, g.root, {i} AS rule FROM {keys} AS x JOIN g{i} AS g ON x.{k} = g.k "
                "WHERE x.rid > g.root AND (g.lo IS NULL OR g.lo = g.hi)"
            )
            # keys several names hold: link by key and name
            named = (
                f"SELECT x.{k} AS k, x.h, min(x.rid) AS root FROM {keys} AS x "
                f"SEMI JOIN (SELECT k FROM g{i} WHERE lo <> hi) AS c ON x.{k} = c.k "
                f"WHERE x.h IS NOT NULL GROUP BY x.{k}, x.h HAVING count(*) > 1"
            )
            parts.append(
                f"SELECT x.rid, g.root, {i} AS rule FROM {keys} AS x JOIN ({named}) AS g "
                f"ON x.{k} = g.k AND x.h = g.h WHERE x.rid > g.root"
            )
        else:
            parts.append(
                f"SELECT x.rid, g.root, {i} AS rule FROM {keys} AS x JOIN g{i} AS g ON x.{k} = g.k "
                "WHERE x.rid > g.root"
            )
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(parts)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph on 0..n-1 with edges (a[i], b[i]): for every node,
    the smallest node of its component (int64).

    Vectorised union-find (Shiloach-Vishkin): hook every node onto its smallest neighbour,
    pointer-jump until every label is a root, then hook the larger root of each edge that still
    joins two components onto the smaller, and repeat. Links arrive as stars (each record to the
    smallest record sharing its key), so one round usually settles everything."""
    small = n < 2**31 - 1
    kind = np.int32 if small else np.int64
    label = np.arange(n, dtype=kind)
    a = np.asarray(a).astype(kind, copy=False)
    b = np.asarray(b).astype(kind, copy=False)
    if a.size:
        np.minimum.at(label, a, b)
        np.minimum.at(label, b, a)
    while True:
        while True:  # pointer jumping
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if not a.size:
            break
        la, lb = label[a], label[b]
        apart = la != lb
        if not apart.any():
            break
        a, b, la, lb = a[apart], b[apart], la[apart], lb[apart]
        np.minimum.at(label, np.maximum(la, lb), np.minimum(la, lb))
    return label.astype(np.int64, copy=False)


# ------------------------------------------------------------------------------------------
# resolve
# ------------------------------------------------------------------------------------------


def resolve(
    con: Any,
    tables: Sequence[str],
    *,
    model: LinkageModel | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    out: str,
    anchor: int | None = None,
) -> Resolution:
    """Resolve the records of `tables` into entities and write them to `out` (see the module
    docstring). `model`: the workspace's (`load_model(catalog)`), else the shipped default.

    `anchor`: the index of the table the others were looked up from (FIND's candidates: every
    other record was fetched because it shares an identity key with one of them). A component
    holding an anchor record is then settled: two anchored components could only be one person
    if the anchor source held that person twice under different strong keys, which records of
    one source are taken not to be (the assumption that already settles full components).
    Records no deterministic key tied to an anchor record stay open and are compared with the
    anchored ones sharing a blocking key: the look-ups a fuzzy key found.

    Errors are LeadQLExecutionErrors (Splink's included); temporary tables are dropped."""
    if not 0.0 < threshold <= 1.0:
        raise LeadQLExecutionError(
            f"match threshold must be in (0, 1], not {threshold}",
            hint="e.g. 0.8: accept a probabilistic link when Splink is at least 80% sure",
        )
    if anchor is not None and not 0 <= anchor < len(tables):
        raise LeadQLExecutionError(f"anchor table {anchor} is not one of the {len(tables)} inputs")
    run = _Run(con, list(tables), anchor=anchor)
    try:
        return run.resolve(model, threshold, out)
    finally:
        run.cleanup()


def candidate_pairs(con: Any, tables: Sequence[str]) -> tuple[Any, Any]:
    """What resolve() would compare, for evaluation and debugging: (records, pairs) as Arrow.

    records: _source, _record_key, component (the smallest key of its deterministic component);
    pairs: _source_l, _record_key_l, _source_r, _record_key_r, rule (the blocking rule that
    found the pair first), as Splink blocks them for resolve()."""
    import pyarrow as pa

    run = _Run(con, list(tables))
    try:
        run.stack()
        run.deterministic()
        run.settle()
        records = run.keyed_components()
        if not (run.open_records and run.n > 1):
            empty = pa.array([], pa.string())
            return records, pa.table({"_source_l": empty, "_record_key_l": empty,
                                      "_source_r": empty, "_record_key_r": empty, "rule": empty})  # fmt: skip
        blocked, _ = linkage.score_records(
            default_model(), run.splink_records(), population=run.n, pairs_only=True
        )
        view = run.view("blocked", blocked)
        rules = " ".join(
            f"WHEN {i} THEN '{linkage.blocking_rule_name(i)}'"
            for i in range(len(linkage.BLOCKING_KEYS))
        )
        pairs = con.sql(
            f"SELECT l._source AS _source_l, l._record_key AS _record_key_l, r._source AS _source_r, "
            f"r._record_key AS _record_key_r, CASE p.match_key {rules} END AS rule FROM {view} AS p "
            f"JOIN {run.recs} AS l ON l.rid = p.rid_l JOIN {run.recs} AS r ON r.rid = p.rid_r"
        ).to_arrow_table()
        return records, pairs
    finally:
        run.cleanup()


class _Run:
    """One resolve() call: its steps, temporary tables and timings."""

    def __init__(self, con: Any, tables: list[str], anchor: int | None = None) -> None:
        self.con = con
        self.tables = tables
        self.anchor = anchor
        self.prefix = f"__leadql_er_{uuid.uuid4().hex[:10]}"
        self.temps: list[str] = []
        self.views: list[str] = []
        self.times: dict[str, float] = {}
        self.counts: dict[str, Any] = {}
        self._clock = time.perf_counter()
        self.candidates = 0

    def temp(self, name: str) -> tuple[str, str]:
        """(name to create, qualified name) of a new temporary table."""
        local = f"{self.prefix}_{name}"
        self.temps.append(f"temp.main.{local}")
        return local, f"temp.main.{local}"

    def view(self, name: str, data: Any) -> str:
        local = f"{self.prefix}_{name}"
        self.con.register(local, data)
        self.views.append(local)
        return local

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = round(now - self._clock, 4)
        self._clock = now

    def cleanup(self) -> None:
        for name in self.temps:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")
            except Exception:  # noqa: BLE001 - the connection may be in an aborted transaction
                pass
        for name in self.views:
            try:
                self.con.unregister(name)
            except Exception:  # noqa: BLE001
                pass

    # ----------------------------------------------------------------------------- steps
    def stack(self) -> None:
        """1-2. `recs`: per record its id, table, key and deterministic key hashes (no other
        columns: every string column written costs ~0.1 s per million rows, and the fast path
        needs none); then the deterministic links and their components."""
        local, self.recs = self.temp("recs")
        self.stack_sql, self.slots = stack_sql(self.con, self.tables)
        keys = deterministic_keys_sql(f"({self.stack_sql})", extra="_t, _source, _record_key")
        self.con.execute(f"CREATE TEMP TABLE {local} AS {keys}")
        ids = self.con.sql(
            f"SELECT rid, _t, hash(_source, _record_key) AS kh FROM {self.recs}"
        ).fetchnumpy()
        self.key_hash = np.asarray(ids["kh"], dtype=np.uint64)
        self.rids = np.asarray(ids["rid"], dtype=np.int64)
        self.n = int(self.rids.size)
        self.table_of = np.zeros(self.slots, dtype=np.int64)
        self.table_of[self.rids] = np.asarray(ids["_t"], dtype=np.int64)
        self.lap("stack")

    def deterministic(self) -> None:
        """2-3. Deterministic links and their components. When the first rule (email) already
        settles every record, the other rules could only join settled components (which have
        nothing left to absorb) and are skipped: the all-emails-shared case pays for one rule."""
        edges = []
        first = self.con.sql(deterministic_edges_sql(self.recs, rules=[0])).fetchnumpy()
        edges.append(first)
        root = components(self.slots, first["rid"], first["root"])
        self.settled = _settled(root, self.table_of, len(self.tables), self.anchor)
        if not self.settled[self.rids].all():
            rest = range(1, len(DETERMINISTIC_RULES))
            edges.append(self.con.sql(deterministic_edges_sql(self.recs, rules=rest)).fetchnumpy())
        else:
            self.counts["deterministic_rules_skipped"] = [r[0] for r in DETERMINISTIC_RULES[1:]]
        self.det_a = np.concatenate([np.asarray(e["rid"], dtype=np.int64) for e in edges])
        self.det_b = np.concatenate([np.asarray(e["root"], dtype=np.int64) for e in edges])
        rule = np.concatenate([np.asarray(e["rule"], dtype=np.int64) for e in edges])
        per_rule = np.bincount(rule, minlength=len(DETERMINISTIC_RULES))
        self.counts["deterministic_links"] = {
            r[0]: int(count) for r, count in zip(DETERMINISTIC_RULES, per_rule, strict=True) if count
        }
        if len(edges) > 1:
            self.det_root = components(self.slots, self.det_a, self.det_b)
            self.settled = _settled(self.det_root, self.table_of, len(self.tables), self.anchor)
        else:
            self.det_root = root
        self.lap("deterministic")

    def settle(self) -> None:
        settled = int(self.settled[self.rids].sum()) if self.n else 0
        self.open_records = self.n - settled
        self.counts.update(settled_records=settled, open_records=self.open_records)
        self.lap("settle")

    def splink_records(self) -> Any:
        """4. The records Splink blocks and compares (Arrow): prepared columns with their
        deterministic component and settled flag. When some records are settled, only the open
        ones and the settled ones sharing a blocking key with an open one (semi-joins in
        DuckDB): the rest could only pair with each other."""
        import pyarrow as pa

        con = self.con
        state = self.view("state", pa.table({
            "rid": np.arange(self.slots, dtype=np.int64), "_comp": self.det_root, "_settled": self.settled,
        }))  # fmt: skip
        nicknames = self.view("nicknames", linkage.nickname_table())
        prepared = (
            f"SELECT p.*, s._comp, s._settled FROM ({linkage.prepared_sql(f'({self.stack_sql})', nicknames)}) "
            f"AS p JOIN {state} AS s USING (rid)"
        )
        if self.n - self.open_records == 0:
            records = con.sql(prepared).to_arrow_table()
            self.keyed = self.view("keyed", records)
        else:
            local, prep = self.temp("prep")
            con.execute(f"CREATE TEMP TABLE {local} AS {prepared}")
            self.keyed = prep
            records = con.sql(
                f"SELECT * FROM {prep} WHERE NOT _settled OR rid IN ({linkage.semi_join_sql(prep)})"
            ).to_arrow_table()
        self.counts["splink_records"] = records.num_rows
        self.lap("prepare")
        return records

    def score(
        self, records: Any, model: LinkageModel, threshold: float, known_matches: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """5. Splink blocks and scores; the accepted links: (a, b, probability).

        The model's prior is refitted to the records at hand (`linkage.fit_prior`, within
        PRIOR_RANGE of the model's): a FIND buying from five vendors holds fewer records per
        person than the twelve the model was trained on, and the prior sets where the threshold
        lies."""
        scored, per_rule = linkage.score_records(model, records, population=self.n)
        self.lap("splink")
        self.candidates = sum(per_rule.values())
        self.counts["candidate_pairs_by_rule"] = {
            linkage.blocking_rule_name(k): c for k, c in sorted(per_rule.items())
        }
        weight = scored.column("match_weight").to_numpy().astype(np.float64, copy=False)
        start = model.prior(self.n)
        log_bf = weight - math.log2(start / (1 - start))
        prior, expected = linkage.fit_prior(
            log_bf, self.n * (self.n - 1) / 2, start, known_matches=known_matches,
            bounds=(start / PRIOR_RANGE, min(0.5, start * PRIOR_RANGE)),
        )  # fmt: skip
        self.counts.update(
            model_prior=start, fitted_prior=prior, expected_matches=round(expected, 1)
        )
        log_odds = math.log2(prior / (1 - prior)) + log_bf
        self.lap("prior")
        above = np.flatnonzero(1.0 / (1.0 + np.exp2(-log_odds)) >= threshold)
        # strong-key disagreements, checked on the pairs above the threshold only: a veto or
        # a penalty can only lower a score
        import pyarrow as pa

        pairs = self.view("above", pa.table({
            "i": np.arange(above.size, dtype=np.int64),
            "rid_l": scored.column("rid_l").to_numpy()[above],
            "rid_r": scored.column("rid_r").to_numpy()[above],
        }))  # fmt: skip
        keys = self.view("scored_keys", records.select(["rid", "email", "phone"]))
        checked = self.con.sql(
            f"WITH k AS MATERIALIZED ({STRONG_KEYS_SQL.format(keys)}) "
            f"SELECT s.i, {EMAIL_VETO_SQL} AS veto, {PHONE_CONFLICT_SQL} AS phone_conflict "
            f"FROM {pairs} AS s JOIN k AS l ON l.rid = s.rid_l JOIN k AS r ON r.rid = s.rid_r"
        ).fetchnumpy()
        veto = np.zeros(above.size, dtype=bool)
        phone_conflict = np.zeros(above.size, dtype=bool)
        order = np.asarray(checked["i"], dtype=np.int64)
        veto[order] = np.asarray(checked["veto"], dtype=bool)
        phone_conflict[order] = np.asarray(checked["phone_conflict"], dtype=bool)
        self.counts.update(vetoed_pairs=int(veto.sum()), phone_conflicts=int(phone_conflict.sum()))
        self.lap("vetoes")
        odds = log_odds[above] - PHONE_PENALTY * phone_conflict
        probability = 1.0 / (1.0 + np.exp2(-odds))
        accepted = (probability >= threshold) & ~veto
        return (
            scored.column("rid_l").to_numpy().astype(np.int64, copy=False)[above][accepted],
            scored.column("rid_r").to_numpy().astype(np.int64, copy=False)[above][accepted],
            probability[accepted],
        )

    def comp_rank(self) -> np.ndarray:
        """Per deterministic component id: the smallest hash of its records' keys."""
        if getattr(self, "_comp_rank", None) is None:
            rank = np.full(self.slots, np.iinfo(np.uint64).max, dtype=np.uint64)
            np.minimum.at(rank, self.det_root[self.rids], self.key_hash)
            self._comp_rank = rank
        return self._comp_rank

    def select_links(
        self, a: np.ndarray, b: np.ndarray, p: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """6a. Which accepted links may join clusters. A link between two settled components
        is dropped. A weak link (below `STRONG_LINK`) is kept only when it is the single best
        link of an unsettled deterministic component (a lone record included) to another
        component: through weak links every component joins at most one other, so they cannot
        chain look-alike strangers into one cluster. Strong links are all kept (records of one
        person found by different vendors link one another through them); `split_conflicts`
        still vetoes clusters holding two different mailboxes."""
        comp = self.det_root
        ca, cb = comp[a], comp[b]
        useful = ca != cb
        open_a, open_b = ~self.settled[a], ~self.settled[b]
        useful &= open_a | open_b
        index = np.flatnonzero(useful)
        src = np.concatenate([ca[index][open_a[index]], cb[index][open_b[index]]])
        dst = np.concatenate([cb[index][open_a[index]], ca[index][open_b[index]]])
        edge = np.concatenate([index[open_a[index]], index[open_b[index]]])
        if not edge.size:
            return a[:0], b[:0], p[:0]
        # per source: best first; ties go to the target whose records' key hash is smallest
        # (an order that does not depend on the order of the input tables)
        order = np.lexsort((self.comp_rank()[dst], -p[edge], src))
        src, edge = src[order], edge[order]
        first = np.ones(src.size, dtype=bool)
        first[1:] = src[1:] != src[:-1]
        keep = np.zeros(a.size, dtype=bool)
        keep[edge[first]] = True
        strong = index[(p[index] >= STRONG_LINK) & open_a[index] & open_b[index]]
        keep[strong] = True
        weak = np.flatnonzero(keep & (p < GROUP_LINK))
        dropped = self._groups_of_one_source(weak, a, b, strong) if weak.size else weak
        keep[dropped] = False
        self.counts["weak_links_between_groups_dropped"] = int(dropped.size)
        chosen = np.flatnonzero(keep)
        self.counts["links_dropped_as_not_best"] = int(a.size - chosen.size)
        return a[chosen], b[chosen], p[chosen]

    def _groups_of_one_source(
        self, weak: np.ndarray, a: np.ndarray, b: np.ndarray, strong: np.ndarray
    ) -> np.ndarray:
        """The weak links (indexes into a, b) that would join two clusters (deterministic plus
        strong links) each holding several records, one of them from the same source: as one
        person is held once per source, those are likelier two people of one name (FEBRL 2's
        two "lucas bowerman" groups) than one person split, and need GROUP_LINK. Clusters of
        different sources (one person's vendors found in two halves) still join."""
        cluster = components(self.slots, np.concatenate([self.det_a, a[strong]]),
                             np.concatenate([self.det_b, b[strong]]))  # fmt: skip
        rids = self.rids
        size = np.bincount(cluster[rids], minlength=self.slots)
        ca, cb = cluster[a[weak]], cluster[b[weak]]
        grouped = (size[ca] > 1) & (size[cb] > 1) & (ca != cb)
        if not grouped.any():
            return weak[:0]
        tables = self.table_of[rids]
        if len(self.tables) <= MASKED_TABLES:
            masks = _table_masks(cluster[rids], tables, self.slots)
            shared = (masks[ca] & masks[cb]) != 0
        else:  # many input tables: per cluster the set of its tables (few weak links to check)
            held: dict[int, set[int]] = {}
            for c, t in zip(cluster[rids].tolist(), tables.tolist(), strict=True):
                held.setdefault(c, set()).add(t)
            shared = np.array([bool(held[x] & held[y]) for x, y in zip(ca.tolist(), cb.tolist(), strict=True)],
                              dtype=bool)  # fmt: skip
        return weak[grouped & shared]

    def split_conflicts(
        self, root: np.ndarray, a: np.ndarray, b: np.ndarray, p: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """6b. A cluster that probabilistic links made from several deterministic components
        must not hold two records of different mailboxes (`EMAIL_VETO_SQL`) from different
        components, two records of one source with different phones, nor two settled
        components. Such clusters (rare) are rebuilt greedily from
        their links, strongest first, skipping a link that would join two conflicting
        components. Returns (root, kept links)."""
        import pyarrow as pa

        comp = self.det_root
        keep = np.ones(a.size, dtype=bool)
        rids = self.rids
        merged = comp[rids] != root[rids]
        multi_roots = np.unique(root[rids][merged])
        if not multi_roots.size:
            return root, keep
        in_multi = np.isin(root[rids], multi_roots)
        members = self.view("members", pa.table({
            "rid": rids[in_multi], "root": root[rids][in_multi], "comp": comp[rids][in_multi],
            "t": self.table_of[rids][in_multi],
        }))  # fmt: skip
        conflicts = self.con.sql(
            f"WITH k AS MATERIALIZED (SELECT m.*, x.* EXCLUDE (rid) FROM {members} AS m JOIN "
            f"({STRONG_KEYS_SQL.format(self.keyed)}) AS x USING (rid) "
            "WHERE x.email IS NOT NULL OR x.phone IS NOT NULL) "
            "SELECT DISTINCT l.comp AS c1, r.comp AS c2 FROM k AS l JOIN k AS r "
            f"ON l.root = r.root AND l.comp < r.comp WHERE {EMAIL_VETO_SQL} "
            f"OR (l.t = r.t AND {PHONE_CONFLICT_SQL})"
        ).fetchnumpy()
        c1 = np.asarray(conflicts["c1"], dtype=np.int64)
        c2 = np.asarray(conflicts["c2"], dtype=np.int64)
        # two settled components joined (through strong links between open ones) conflict too
        mask = self.settled[rids] & np.isin(root[rids], multi_roots)
        held = np.unique(np.stack([root[rids][mask], comp[rids][mask]]), axis=1)
        if held.size:
            per_root = np.bincount(held[0], minlength=self.slots)
            twice = held[:, per_root[held[0]] > 1]
            if twice.size:
                held_view = self.view("settled_held", pa.table({"root": twice[0], "comp": twice[1]}))
                extra = self.con.sql(
                    f"SELECT l.comp AS c1, r.comp AS c2 FROM {held_view} AS l JOIN {held_view} AS r "
                    "ON l.root = r.root AND l.comp < r.comp"
                ).fetchnumpy()
                c1 = np.concatenate([c1, np.asarray(extra["c1"], dtype=np.int64)])
                c2 = np.concatenate([c2, np.asarray(extra["c2"], dtype=np.int64)])
        self.counts["conflicting_clusters"] = int(np.unique(root[c1]).size)
        if not c1.size:
            return root, keep
        bad = set((int(x), int(y)) for x, y in zip(c1, c2, strict=True))
        bad_roots = np.unique(root[c1])
        affected = np.flatnonzero(np.isin(root[a], bad_roots))
        rank = self.comp_rank()
        low = np.minimum(rank[comp[a[affected]]], rank[comp[b[affected]]])
        high = np.maximum(rank[comp[a[affected]]], rank[comp[b[affected]]])
        affected = affected[np.lexsort((high, low, -p[affected]))]
        parent: dict[int, int] = {}
        group: dict[int, list[int]] = {}

        def find(x: int) -> int:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for i in affected:  # one iteration per link of a conflicting cluster (few)
            x, y = find(int(comp[a[i]])), find(int(comp[b[i]]))
            if x == y:
                continue
            gx, gy = group.get(x, [x]), group.get(y, [y])
            if any((min(u, v), max(u, v)) in bad for u in gx for v in gy):
                keep[i] = False
                continue
            parent[y] = x
            group[x] = gx + gy
            group.pop(y, None)
        self.counts["links_dropped_for_conflicts"] = int((~keep).sum())
        root = components(
            self.slots, np.concatenate([self.det_a, a[keep]]), np.concatenate([self.det_b, b[keep]])
        )
        return root, keep

    def keyed_components(self) -> Any:
        """The deterministic components with their smallest key (for candidate_pairs())."""
        import pyarrow as pa

        view = self.view("det", pa.table({"rid": self.rids, "root": self.det_root[self.rids]}))
        return self.con.sql(
            "SELECT r._source, r._record_key, min(r._source || '/' || r._record_key) OVER "
            f"(PARTITION BY l.root) AS component FROM {self.recs} AS r JOIN {view} AS l ON l.rid = r.rid"
        ).to_arrow_table()

    def resolve(self, model: LinkageModel | None, threshold: float, out: str) -> Resolution:
        started = time.perf_counter()
        self.stack()
        self.deterministic()
        self.settle()
        n, slots = self.n, self.slots
        empty = np.zeros(0, dtype=np.int64)
        prob_a, prob_b, prob_p = empty, empty, np.zeros(0)
        if self.open_records and n > 1:
            records = self.splink_records()
            if self.con.execute(linkage.any_pair_sql(self.view("records", records))).fetchall():
                det_sizes = np.bincount(self.det_root[self.rids], minlength=slots)
                known = int((det_sizes * (det_sizes - 1) // 2).sum())
                prob_a, prob_b, prob_p = self.score(
                    records, model or linkage.default_model(), threshold, known
                )
        self.counts["splink_run"] = bool(self.candidates)

        if prob_a.size:
            prob_a, prob_b, prob_p = self.select_links(prob_a, prob_b, prob_p)
            self.lap("select_links")
        if prob_a.size:
            root = components(
                slots, np.concatenate([self.det_a, prob_a]), np.concatenate([self.det_b, prob_b])
            )
            root, keep = self.split_conflicts(root, prob_a, prob_b, prob_p)
            self.lap("conflicts")
            prob_a, prob_b, prob_p = prob_a[keep], prob_b[keep], prob_p[keep]
        else:
            root = self.det_root
        best = np.full(slots, np.nan)
        best[self.det_a] = 1.0
        best[self.det_b] = 1.0
        if prob_a.size:
            np.fmax.at(best, prob_a, prob_p)
            np.fmax.at(best, prob_b, prob_p)
        sizes = np.bincount(root[self.rids], minlength=slots)
        det_sizes = np.bincount(self.det_root[self.rids], minlength=slots)
        det_pairs = int((det_sizes * (det_sizes - 1) // 2).sum())
        self.lap("components")
        self.write(out, root, best)
        self.lap("write")
        return Resolution(
            table=out,
            records=n,
            entities=int(np.count_nonzero(sizes)),
            candidate_pairs=self.candidates,
            matched_pairs=det_pairs + int(prob_a.size),
            seconds=time.perf_counter() - started,
            details={
                "times": self.times,
                **self.counts,
                "deterministic_pairs": det_pairs,
                "probabilistic_pairs": int(prob_a.size),
                "threshold": threshold,
                "match_probability_of_singletons": None,
            },
        )

    def write(self, out: str, root: np.ndarray, best: np.ndarray) -> None:
        """6. CREATE `out`: each record with the smallest key of its component, and its best
        accepted link (NULL: none). `root` and `best` are per record id. (Measured on 4M
        records: a window over the component is faster than grouping and joining back.)"""
        import pyarrow as pa

        view = self.view("links", pa.table({
            "rid": self.rids, "root": root[self.rids],
            "match_probability": pa.array(best[self.rids], type=pa.float64(), from_pandas=True),
        }))  # fmt: skip
        try:
            self.con.execute(
                f"CREATE OR REPLACE TABLE {out} AS SELECT r._source, r._record_key, "
                "min(r._source || '/' || r._record_key) OVER (PARTITION BY l.root) AS entity_id, "
                f"l.match_probability FROM {self.recs} AS r JOIN {view} AS l ON l.rid = r.rid"
            )
        except Exception as e:  # noqa: BLE001 - a bad `out` name or schema
            raise LeadQLExecutionError(
                f"entity resolution cannot write {out}: {str(e).splitlines()[0]}",
                hint="`out` must be a table name in an existing schema",
            ) from None


MASKED_TABLES = 62  # inputs a table bitmask per cluster can hold (an int64, sign bit unused)


def _table_masks(root: np.ndarray, table_of: np.ndarray, size: int) -> np.ndarray:
    """Per cluster id (< size): a bitmask of the input tables its records come from, given each
    record's cluster `root` and table `table_of` (at most MASKED_TABLES tables)."""
    masks = np.zeros(size, dtype=np.int64)
    np.bitwise_or.at(masks, root, np.left_shift(np.int64(1), np.asarray(table_of, dtype=np.int64)))
    return masks


def _settled(root: np.ndarray, table_of: np.ndarray, n_tables: int, anchor: int | None = None) -> np.ndarray:
    """Per record id: is it in a linked component holding a record of each of the n_tables
    inputs, or (with an `anchor` table) one of the anchor's? (Such a component has nothing left
    to absorb but open records: pairs of two settled records are not compared.)"""
    if anchor is not None:
        anchored = np.zeros(root.size, dtype=bool)
        # (unused id slots have table 0 too; each is its own root, so marking them is harmless)
        anchored[root[table_of == anchor]] = True
        return _settled(root, table_of, n_tables) | anchored[root]
    if n_tables <= 1:  # one table deduplicated: its records are what may hold a person twice
        return np.zeros(root.size, dtype=bool)
    size = np.bincount(root, minlength=root.size)
    linked = size[root] > 1
    if n_tables <= MASKED_TABLES:
        masks = _table_masks(root, table_of, root.size)
        return linked & (masks[root] == (1 << n_tables) - 1)
    pairs = np.unique(root * n_tables + table_of)
    counts = np.bincount(pairs // n_tables, minlength=root.size)
    return linked & (counts[root] == n_tables)
