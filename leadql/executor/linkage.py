"""The person-linkage model: what Splink compares, how it blocks, how it is trained and stored.

The model is a Splink 5 settings dict with trained m/u probabilities (`LinkageModel`), plain
JSON. It is trained once — by ANALYZE on the workspace's own sources (`train_after_analyze`), or
offline on sample data for the copy shipped in the wheel (`stdlib/linkage/person.json`,
`default_model()`; `python bench/bench_resolution.py --write-default` rebuilds it) — and reused
by every FIND: prediction alone is cheap, training is not (u-sampling dominates it).

Comparisons run on columns `prepared_sql` derives from the stacked records (see
resolution.py): cleaned names, nickname sets, e-mail user part, street without house number...
Swapped first/last names match at the exact level of both name comparisons; a nickname
('bill' / 'william', from `stdlib/linkage/nicknames.csv`) has its own level.

Splink always runs in a private in-memory DuckDB: the workspace's schemas are never written,
and the caller's open transaction (FIND holds one) is never disturbed.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from leadql.errors import LeadQLError, LeadQLExecutionError

__all__ = [
    "BLOCKING_KEYS",
    "BLOCKING_RULES",
    "LinkageModel",
    "default_model",
    "load_model",
    "save_model",
    "train",
    "train_after_analyze",
]

KIND = "linkage"
NAME = "person"
MODEL_FILE = "person.json"
FORMAT = 1

# ------------------------------------------------------------------------------------------
# Prepared columns and blocking
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def nicknames() -> dict[str, list[str]]:
    """name -> the formal names it may stand for (a formal name stands for itself)."""
    from leadql.resources import stdlib_path

    out: dict[str, set[str]] = {}
    with (stdlib_path() / "linkage" / "nicknames.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            formal = row["name"].strip().lower()
            for nick in row["nicknames"].split(";"):
                nick = nick.strip().lower()
                if nick and nick != formal:
                    out.setdefault(nick, set()).add(formal)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def nickname_table() -> Any:
    """Arrow (name, formal): each nickname with the formal names it may stand for."""
    import pyarrow as pa

    table = nicknames()
    return pa.table({"name": pa.array(list(table), pa.string()),
                     "formal": pa.array(list(table.values()), pa.list_(pa.string()))})  # fmt: skip


# Domains of personal mailboxes; any other domain is taken for an employer's. A work address
# and a personal one of the same person differ by nature, so comparing them says nothing.
PERSONAL_MAIL = (
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "comcast.net",
    "sbcglobal.net", "verizon.net", "att.net", "bellsouth.net", "cox.net", "charter.net",
    "earthlink.net", "protonmail.com", "proton.me", "gmx.com", "mail.com", "zoho.com",
    "fastmail.com", "yahoo.co.uk", "hotmail.co.uk", "optonline.net", "frontier.com",
)  # fmt: skip


def _distinctive_user_sql() -> str:
    """The e-mail's user part when it says more than the name: 'stephanie.smith@', 'jsmith@' or
    'patricia62@' is shared by many a Stephanie / J. Smith / Patricia, so it is no evidence
    beyond the names (and would count them twice); 'cooldude@' is. (Over `_user` and `_bare`,
    the user part without separators and digits, computed once in prepared_sql's inner
    SELECT.)"""
    f1, l1 = "left(fn, 1)", "left(ln, 1)"
    shapes = ", ".join(["fn", "ln", "fn || ln", "ln || fn", f"{f1} || ln", f"fn || {l1}",
                        f"ln || {f1}", f"{l1} || fn"])  # fmt: skip
    return (
        "CASE WHEN _user IS NULL OR _user = '' THEN NULL "
        f"WHEN fn IS NOT NULL AND ln IS NOT NULL AND _bare IN ({shapes}) THEN NULL ELSE _user END"
    )


# The prepared columns the comparisons read (the others only serve blocking).
COMPARED_COLUMNS = ("rid", "fn", "ln", "fn_alts", "birth_date", "email", "email_user", "email_kind",
                    "phone", "street", "street_name", "city", "state", "zip")  # fmt: skip


def prepared_sql(recs: str, nicknames: str) -> str:
    """The columns Splink compares and blocking joins on, from the stacked records;
    `nicknames` names a relation holding `nickname_table()`.

    Each capped blocking rule (see BLOCKING_RULES) gets a column `_bk<i>`: the hash of its key,
    NULL where more records than its cap share that key."""
    initials = (
        "CASE WHEN fn IS NOT NULL AND ln IS NOT NULL THEN "
        "least(left(fn, 1), left(ln, 1)) || greatest(left(fn, 1), left(ln, 1)) END"
    )
    personal = ", ".join(_lit(d) for d in PERSONAL_MAIL)
    capped = [(i, keys, cap) for i, (keys, cap) in enumerate(BLOCKING_RULES) if cap is not None]
    hashes = ", ".join(
        f"CASE WHEN {' AND '.join(f'{k} IS NOT NULL' for k in keys)} THEN hash({', '.join(keys)}) END AS _h{i}"
        for i, keys, _ in capped
    )
    # the windows count over a narrow projection of ids and hashes: over the wide rows they
    # would copy every column once per window
    counted = ", ".join(
        f"CASE WHEN count(_h{i}) OVER (PARTITION BY _h{i}) <= {cap} THEN _h{i} END AS _bk{i}"
        for i, _, cap in capped
    )
    narrow = ", ".join(f"_h{i}" for i, _, _ in capped)
    return f"""
        WITH wide AS (SELECT *, {hashes} FROM (
        SELECT rid, _t, fn, ln, nk,
               CASE WHEN fn IS NOT NULL THEN list_distinct(coalesce(_formal, []) || [fn]) END AS fn_alts,
               coalesce(list_min(_formal), fn) AS fnc,
               birth_date,
               email,
               {_distinctive_user_sql()} AS email_user,
               CASE WHEN length(_user) >= 8 THEN left(_user, 6) || '@' || _domain END AS email_head,
               CASE WHEN length(_user) >= 8 THEN right(_user, 6) || '@' || _domain END AS email_tail,
               CASE WHEN email IS NOT NULL THEN
                    CASE WHEN _domain IN ({personal}) THEN 'personal' ELSE 'work' END END AS email_kind,
               phone,
               _street AS street,
               nullif(regexp_replace(_street, '^[0-9]+[A-Z]?[ ]+', ''), '') AS street_name,
               lower(strip_accents(city)) AS city,
               upper(state) AS state,
               zip,
               left(zip, 3) AS zip3,
               left(ln, 3) AS ln3,
               CASE WHEN length(_bare) >= 5 THEN _bare END AS email_bare,  -- user part, letters only
               {initials} AS ini
        FROM (SELECT r.*, split_part(email, '@', 1) AS _user, split_part(email, '@', 2) AS _domain,
                     translate(split_part(email, '@', 1), '._+-0123456789', '') AS _bare,
                     upper(street) AS _street, k.formal AS _formal
              FROM {recs} AS r LEFT JOIN {nicknames} AS k ON k.name = r.fn)))
        SELECT w.* EXCLUDE ({narrow}), c.* EXCLUDE (rid) FROM wide AS w
        JOIN (SELECT rid, {counted} FROM (SELECT rid, {narrow} FROM wide)) AS c USING (rid)"""


# Blocking rules: (prepared columns that must be equal, cap). A capped rule skips key values
# more records than the cap share: a common name in a 3-digit ZIP area makes a block of
# hundreds whose pairs are almost all different people (and the same people's records meet
# in other rules), and pairs grow with the square of the block. The rules were chosen on
# generated data by the true pairs each finds that no other rule does, per candidate pair it
# costs (family name alone, even when rare, and ZIP + family name were dropped; given name +
# the family name's first three letters and the e-mail user part's letters were added for the
# true pairs no rule found). Together with the deterministic links they reach ~88-94 % of the
# true pairs directly and ~96-98 % through other records (bench/bench_resolution.py).
BLOCK_CAP = 24
BLOCKING_RULES: tuple[tuple[tuple[str, ...], int | None], ...] = (
    (("email",), None),
    (("phone",), None),
    (("email_user",), None),
    (("email_head",), 5),  # a typo at the end of the e-mail's user part
    (("email_tail",), 5),  # ... or at its start
    (("nk",), BLOCK_CAP),  # the full name, either order
    (("zip", "ini"), None),
    (("birth_date", "ini"), None),
    (("fn", "birth_date"), None),  # a changed family name
    (("fnc", "ln"), BLOCK_CAP),  # a nickname
    (("birth_date", "ln"), None),
    (("fn", "zip3"), BLOCK_CAP),
    (("ln", "zip3"), BLOCK_CAP),
    (("street", "zip"), None),
    (("street", "city"), None),
    (("fn", "ln3"), BLOCK_CAP),  # a typo late in the family name, moved, no birth date
    (("email_bare",), BLOCK_CAP),  # the same mailbox name at another provider or employer
    (("birth_date", "zip"), None),  # both names replaced or mistyped at their start (FEBRL)
)
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = tuple(keys for keys, _ in BLOCKING_RULES)


def blocking_rule_name(index: int) -> str:
    return "+".join(BLOCKING_KEYS[index])


def _rule_columns(index: int) -> tuple[str, ...]:
    """The columns a blocking rule joins on: its keys, or the capped key hash."""
    keys, cap = BLOCKING_RULES[index]
    return keys if cap is None else (f"_bk{index}",)


def blocking_rules(*, exclusive: bool = False, capped: bool = True) -> list[str]:
    """The blocking rules as Splink SQL conditions. Splink joins on each rule in turn (equi-joins
    combined with UNION ALL, each skipping the pairs of the earlier rules).

    `exclusive` (resolve): also skip pairs inside one deterministic component (`_comp`) and
    pairs of two settled records (`_settled`): they are linked already, or have nothing left to
    gain. `capped`: the capped rules join on their `_bk<i>` columns (prepared_sql makes them)."""
    extra = " AND l._comp <> r._comp AND NOT (l._settled AND r._settled)" if exclusive else ""
    rules = []
    for i, (keys, _) in enumerate(BLOCKING_RULES):
        columns = _rule_columns(i) if capped else keys
        rules.append(" AND ".join(f"l.{k} = r.{k}" for k in columns) + extra)
    return rules


def any_pair_sql(records: str) -> str:
    """A query returning a row when `records` (prepared, with `_comp` and `_settled`) hold at
    least one candidate pair: it stops at the first, so that a handful of records that match
    nothing never pay Splink's start-up (~0.5 s)."""
    parts = [
        f"SELECT 1 FROM {records} AS l JOIN {records} AS r ON {rule} AND l.rid < r.rid"
        for rule in blocking_rules(exclusive=True)
    ]
    return " UNION ALL ".join(parts) + " LIMIT 1"


def semi_join_sql(prep: str) -> str:
    """The settled records of `prep` that share a blocking key with an open record: with the
    open ones, all Splink needs to see when most records are settled."""
    parts = [
        f"SELECT s.rid FROM {prep} AS s SEMI JOIN (SELECT * FROM {prep} WHERE NOT _settled) AS o ON "
        + " AND ".join(f"s.{k} = o.{k}" for k in _rule_columns(i))
        + " WHERE s._settled"
        for i in range(len(BLOCKING_RULES))
    ]
    return " UNION ".join(parts)


# ------------------------------------------------------------------------------------------
# Comparisons
# ------------------------------------------------------------------------------------------


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _tf(level: dict[str, Any], column: str) -> dict[str, Any]:
    """Term-frequency adjusted: 'smith' = 'smith' is weaker evidence than 'oakman' = 'oakman'."""
    level["tf_adjustment_column"] = column
    level["tf_adjustment_weight"] = 1.0
    # the level is not a bare `a_l = a_r` (it also accepts swapped names): its own u is the
    # exact-match u that term frequencies adjust
    level["disable_tf_exact_match_detection"] = True
    return level


TF_COLUMNS = ("fn", "ln")


def _else() -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "all other"}


def _null(col: str) -> dict[str, Any]:
    return _level(f'"{col}_l" IS NULL OR "{col}_r" IS NULL', "null", null=True)


def _jw(col: str, at: float) -> str:
    return f'jaro_winkler_similarity("{col}_l", "{col}_r") >= {at}'


def _swapped(t: float | None = None) -> str:
    """Both names match the other record's names the other way round (exactly, or with
    Jaro-Winkler >= t on each)."""
    if t is None:
        return '("fn_l" = "ln_r" AND "ln_l" = "fn_r")'
    # the cheap first-letter test spares two Jaro-Winklers on nearly every pair
    return (
        '(left("fn_l", 1) = left("ln_r", 1) AND left("ln_l", 1) = left("fn_r", 1) AND '
        f'jaro_winkler_similarity("fn_l", "ln_r") >= {t} AND '
        f'jaro_winkler_similarity("ln_l", "fn_r") >= {t})'
    )


def comparisons() -> list[dict[str, Any]]:
    """The Fellegi-Sunter comparisons (levels most to least similar; first true wins).

    Both name comparisons also accept the names swapped (first <-> last), with or without
    typos, so a swapped record scores like an unswapped one."""
    return [
        {
            "output_column_name": "first_name",
            "comparison_description": "given name: exact (or swapped with the family name), nickname, Jaro-Winkler, initial",
            "comparison_levels": [
                _null("fn"),
                _tf(_level(f'"fn_l" = "fn_r" OR {_swapped()}', "exact or swapped"), "fn"),
                _level('list_has_any("fn_alts_l", "fn_alts_r")', "nickname"),
                _level(f"{_jw('fn', 0.92)} OR {_swapped(0.92)}", "Jaro-Winkler >= 0.92"),
                _level(f"{_jw('fn', 0.8)} OR {_swapped(0.85)}", "Jaro-Winkler >= 0.8"),
                _level(
                    '(length("fn_l") = 1 OR length("fn_r") = 1) AND left("fn_l", 1) = left("fn_r", 1)',
                    "initial",
                ),
                _else(),
            ],
        },
        {
            "output_column_name": "last_name",
            "comparison_description": "family name: exact (or swapped with the given name), Jaro-Winkler",
            "comparison_levels": [
                _null("ln"),
                _tf(_level(f'"ln_l" = "ln_r" OR {_swapped()}', "exact or swapped"), "ln"),
                _level(f"{_jw('ln', 0.92)} OR {_swapped(0.92)}", "Jaro-Winkler >= 0.92"),
                _level(f"{_jw('ln', 0.8)} OR {_swapped(0.85)}", "Jaro-Winkler >= 0.8"),
                _else(),
            ],
        },
        {
            "output_column_name": "birth_date",
            "comparison_description": "date of birth: exact, within a month or day/month wrong, same day of another year",
            "comparison_levels": [
                _null("birth_date"),
                _level('"birth_date_l" = "birth_date_r"', "exact"),
                _level(
                    'abs(date_diff(\'day\', "birth_date_l", "birth_date_r")) <= 31 OR '
                    '(year("birth_date_l") = year("birth_date_r") AND '
                    '(month("birth_date_l") = month("birth_date_r") OR day("birth_date_l") = day("birth_date_r") '
                    'OR (month("birth_date_l") = day("birth_date_r") AND day("birth_date_l") = month("birth_date_r"))))',
                    "within a month, or one of day and month wrong or swapped",
                ),
                _level(
                    'abs(dayofyear("birth_date_l") - dayofyear("birth_date_r")) <= 1',
                    "same day, other year",
                ),
                _else(),
            ],
        },
        {
            "output_column_name": "email",
            "comparison_description": "e-mail: exact, same user part, similar user part",
            "comparison_levels": [
                _level(
                    '"email_l" IS NULL OR "email_r" IS NULL OR "email_kind_l" <> "email_kind_r"',
                    "null, or a work and a personal address",
                    null=True,
                ),
                _level('"email_l" = "email_r"', "exact"),
                _level('"email_user_l" = "email_user_r"', "same distinctive user part"),
                _level(
                    '"email_user_l" IS NOT NULL AND "email_user_r" IS NOT NULL '
                    'AND damerau_levenshtein("email_l", "email_r") <= 2',
                    "distinctive, one or two typos",
                ),
                _else(),
            ],
        },
        {
            "output_column_name": "phone",
            "comparison_description": "phone: exact, one digit off",
            "comparison_levels": [
                _null("phone"),
                _level('"phone_l" = "phone_r"', "exact"),
                _level('damerau_levenshtein("phone_l", "phone_r") <= 1', "one digit off"),
                _else(),
            ],
        },
        _address(),
    ]


def _address() -> dict[str, Any]:
    """Street, ZIP, city and state as one comparison: they move together (a person who moved
    differs in all four), so four independent comparisons would count one fact four times."""

    def agrees(col: str) -> str:  # equal, or unknown on one side
        return f'coalesce("{col}_l" = "{col}_r", true)'

    unknown = " AND ".join(
        f'("{c}_l" IS NULL OR "{c}_r" IS NULL)' for c in ("street", "zip", "city", "state")
    )
    return {
        "output_column_name": "address",
        "comparison_description": "street line, ZIP, city, state",
        "comparison_levels": [
            _level(unknown, "null", null=True),
            _level(
                f'"street_l" = "street_r" AND {agrees("zip")} AND {agrees("city")}',
                "same street line",
            ),
            _level(
                "split_part(\"street_l\", ' ', 1) = split_part(\"street_r\", ' ', 1) AND "
                f"{_jw('street', 0.88)} AND ({agrees('zip')} OR {_jw('city', 0.9)})",
                "same house number, street line with typos",
            ),
            _level(
                '"street_name_l" = "street_name_r" AND "zip_l" = "zip_r"',
                "same street and ZIP, other number",
            ),
            _level('"zip_l" = "zip_r"', "same ZIP"),
            _level(f"{_jw('city', 0.9)} AND {agrees('state')}", "same city"),
            _level('"state_l" = "state_r" OR left("zip_l", 3) = left("zip_r", 3)', "same state"),
            _else(),
        ],
    }


def base_settings() -> dict[str, Any]:
    """The untrained Splink settings of the person model."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "rid",
        "comparisons": comparisons(),
        "blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in blocking_rules()],
        "probability_two_random_records_match": 1e-4,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }


# ------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------


@dataclass
class LinkageModel:
    """A trained Splink settings dict, plus what it was trained on.

    `matches_per_record`: the expected number of other records of the same person per record;
    the prior `probability_two_random_records_match` for N records is derived from it (the
    chance that two random records match shrinks as 1/N when the population grows).
    `term_frequencies`: per name column, the share of records holding each name seen at least
    twice in training, and a `floor` for the rest — kept with the model so that a FIND holding
    fifty records still knows that Smith is common."""

    settings: dict[str, Any]
    matches_per_record: float = 1.0
    term_frequencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"format": FORMAT, "settings": self.settings, "matches_per_record": self.matches_per_record,
             "term_frequencies": self.term_frequencies, "trained": self.trained},
            indent=1, sort_keys=True, default=str,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> LinkageModel:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT or not isinstance(data.get("settings"), dict):
                raise ValueError(f"unknown model format {data.get('format')!r}")
            return cls(
                settings=data["settings"],
                matches_per_record=float(data.get("matches_per_record", 1.0)),
                term_frequencies=dict(data.get("term_frequencies") or {}),
                trained=dict(data.get("trained") or {}),
            )
        except (ValueError, TypeError, AttributeError) as e:
            raise LeadQLExecutionError(
                f"the stored linkage model cannot be read: {e}",
                hint="run ANALYZE to train it again",
            ) from None

    def prior(self, records: int) -> float:
        """probability_two_random_records_match among `records` records."""
        if records < 2:
            return 0.5
        return min(0.5, max(1e-12, self.matches_per_record / (records - 1)))

    def settings_for(self, records: int) -> dict[str, Any]:
        """The Splink settings to score a set of `records` records with."""
        settings = json.loads(json.dumps(self.settings))
        settings["probability_two_random_records_match"] = self.prior(records)
        settings["retain_matching_columns"] = False
        settings["retain_intermediate_calculation_columns"] = False
        settings.pop("linker_uid", None)
        return settings

    def tf_table(self, column: str) -> Any:
        """Arrow (value, tf) of a name column's stored frequencies."""
        import pyarrow as pa

        values = (self.term_frequencies.get(column) or {}).get("values") or {}
        return pa.table({"value": pa.array(list(values), pa.string()),
                         "tf": pa.array(list(values.values()), pa.float64())})  # fmt: skip

    def tf_floor(self, column: str) -> float:
        return float((self.term_frequencies.get(column) or {}).get("floor") or 1e-5)


@lru_cache(maxsize=1)
def _default_text() -> str:
    from leadql.resources import stdlib_path

    return (stdlib_path() / "linkage" / MODEL_FILE).read_text(encoding="utf-8")


def default_model() -> LinkageModel:
    """The model shipped in the wheel, trained on generated sample data (see
    bench/bench_resolution.py --write-default)."""
    return LinkageModel.from_json(_default_text())


def save_model(catalog: Any, model: LinkageModel) -> None:
    """Store the model in the workspace catalog (the caller holds the transaction)."""
    catalog.put(KIND, NAME, model.to_json(), None)


def load_model(catalog: Any) -> LinkageModel | None:
    """The model ANALYZE trained for this workspace, or None."""
    from leadql.catalog.migrations import SCHEMA, first_row

    row = first_row(catalog.con.execute(
        f"SELECT definition FROM {SCHEMA}.objects WHERE kind = ? AND lower(name) = ?", [KIND, NAME]
    ))  # fmt: skip
    return LinkageModel.from_json(row[0]) if row else None


# ------------------------------------------------------------------------------------------
# Running Splink
# ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Splink talks a lot (INFO logs, warnings about defaults): silence it for the call."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(max(logging.ERROR, level))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _splink_error(what: str, error: Exception) -> LeadQLExecutionError:
    detail = str(error).strip().splitlines()
    first = next((line for line in detail if line.strip()), type(error).__name__)
    if "Error was:" in str(error):
        first = str(error).split("Error was:", 1)[1].strip().splitlines()[0]
    return LeadQLExecutionError(
        f"entity resolution failed while {what} (Splink): {first[:300]}",
        hint="the workspace's linkage model may not fit the staged data: ANALYZE retrains it on "
        "the sources",
    )


@contextlib.contextmanager
def _splink(what: str) -> Iterator[Any]:
    """A private in-memory DuckDB for Splink; any Splink failure becomes a LeadQL error."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        with _quiet():
            yield con
    except LeadQLError:
        raise
    except Exception as e:  # noqa: BLE001 - Splink raises anything from SQL errors to ValueError
        raise _splink_error(what, e) from None
    finally:
        con.close()


# An input table at least this large also lends its own name frequencies (see _register_tf).
LOCAL_TF_RECORDS = 1_000


def _register_tf(con: Any, db: Any, linker: Any, model: LinkageModel, records: str, *,
                 local: bool = False) -> None:  # fmt: skip
    """Give Splink the model's name frequencies for the names in `records` (instead of letting
    it count them in the few records at hand).

    `local`: a name's frequency is at least its largest share of the records of an input table
    (`_t`) holding LOCAL_TF_RECORDS records or more. A name the model never saw twice would
    otherwise get the model's floor — proof of identity on its own — while it may be common
    among these people (the shipped model knows American names, not Australian ones). Within
    one table a person is mostly held once, so the share is not inflated by their duplicates;
    a small table (a FIND of fifty records) lends nothing: one record is no frequency."""
    for column in TF_COLUMNS:
        stored = f"__leadql_model_tf_{column}"
        con.register(stored, model.tf_table(column))
        floor = model.tf_floor(column)
        tf, join = f"coalesce(m.tf, {floor!r})", ""
        if local:
            shares = (
                f"SELECT v, max(c / n) AS tf FROM (SELECT _t, {column} AS v, count(*) AS c, "
                f"sum(count(*)) OVER (PARTITION BY _t) AS n FROM {records} "
                f"WHERE {column} IS NOT NULL GROUP BY _t, {column}) "
                f"WHERE n >= {LOCAL_TF_RECORDS} GROUP BY v"
            )
            tf = f"greatest(coalesce(m.tf, {floor!r}), coalesce(t.tf, 0))"
            join = f"LEFT JOIN ({shares}) AS t ON t.v = r.{column} "
        con.execute(
            f"CREATE TABLE __leadql_tf_{column} AS SELECT DISTINCT r.{column}, "
            f"{tf} AS tf_{column} FROM {records} AS r "
            f"LEFT JOIN {stored} AS m ON m.value = r.{column} {join}WHERE r.{column} IS NOT NULL"
        )
        frame = db.register(f"__leadql_tf_{column}", table_name=f"__leadql_tf_{column}_frame")
        linker.table_management.register_term_frequency_lookup(frame, column)


def score_records(
    model: LinkageModel, records: Any, *, population: int, pairs_only: bool = False,
    min_probability: float = 1e-4,
) -> tuple[Any, dict[int, int]]:  # fmt: skip
    """Splink blocks `records` with `blocking_rules(exclusive=True)` and scores the candidate
    pairs under the model's prior for `population` records.

    `records`: Arrow table of `prepared_sql` columns plus `_comp` and `_settled`. Returns
    (Arrow (rid_l, rid_r, match_key, match_weight) of the pairs scoring at least
    `min_probability` — the others change no decision and hardly the refitted prior —, the
    number of candidate pairs per blocking rule). With `pairs_only`, the candidate pairs
    (rid_l, rid_r, match_key) unscored."""
    with _splink("scoring candidate pairs") as con:
        from splink import DuckDBAPI, Linker

        db = DuckDBAPI(connection=con)
        con.register("__leadql_records", records)  # a view over the Arrow data: no copy
        frame = db.register("__leadql_records", table_name="__leadql_records_frame")
        settings = model.settings_for(population)
        settings["blocking_rules_to_generate_predictions"] = [
            {"blocking_rule": rule} for rule in blocking_rules(exclusive=True)
        ]
        linker = Linker(frame, settings, log_level=None, validate_settings=False)
        blocked = linker.inference.compute_blocked_pairs_for_predict()  # cached for predict()
        counts = {
            int(key): int(count)
            for key, count in con.sql(
                f"SELECT match_key, count(*) FROM {blocked.physical_name} GROUP BY 1"
            ).fetchall()
        }
        if pairs_only:
            return con.sql(
                "SELECT join_key_l AS rid_l, join_key_r AS rid_r, CAST(match_key AS INTEGER) AS match_key "
                f"FROM {blocked.physical_name}"
            ).to_arrow_table(), counts
        _register_tf(con, db, linker, model, "__leadql_records", local=True)
        predictions = linker.inference.predict(
            threshold_match_probability=min_probability, warning_mode="never"
        )
        return con.sql(
            "SELECT rid_l, rid_r, CAST(match_key AS INTEGER) AS match_key, match_weight "
            f"FROM {predictions.physical_name}"
        ).to_arrow_table(), counts


def fit_prior(log_bf: Any, total_pairs: float, start: float, *, known_matches: float = 0.0,
              bounds: tuple[float, float] = (1e-12, 0.5)) -> tuple[float, float]:  # fmt: skip
    """The prior λ at which the expected number of matches — `known_matches` plus Σ p over the
    pairs with Bayes factors 2**log_bf — is λ·total_pairs (the EM update of λ with m and u
    fixed; pairs never compared count as non-matches). Returns (λ, expected matches)."""
    import numpy as np

    log_bf = np.asarray(log_bf, dtype=np.float64)
    low, high = bounds
    prior = min(max(start, low), high)
    expected = known_matches
    for _ in range(200):
        log_odds = math.log2(prior / (1 - prior))
        expected = known_matches + float((1.0 / (1.0 + np.exp2(-(log_odds + log_bf)))).sum())
        new = min(max(expected / max(total_pairs, 1.0), low), high)
        if abs(new - prior) <= 1e-4 * prior:
            return new, expected
        prior = new
    return prior, expected


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------

# The deterministic rules of resolution.py as Splink blocking rules (without the name guard).
DETERMINISTIC_SQL = (
    "l.email = r.email",
    "l.phone = r.phone",
    "l.nk = r.nk AND l.birth_date = r.birth_date",
)

# EM sessions: each blocks on a rule that finds mostly matches and estimates the m of every
# comparison the rule does not use.
EM_RULES = (
    "l.email = r.email",
    "l.nk = r.nk AND l.birth_date = r.birth_date",
    "l.phone = r.phone",
    "l.zip = r.zip AND l.ini = r.ini",
)


def train(con: Any, tables: Sequence[str], *, max_pairs: int = 1_000_000, seed: int = 42,
          limit: int | None = None) -> LinkageModel:  # fmt: skip
    """Train the person model on staged tables (same shape as `resolve()`'s inputs).

    u: random sampling of `max_pairs` pairs (seeded). m: EM on pairs blocked by each of
    `EM_RULES`. The prior: the value at which the model's expected matches among the blocked
    pairs agree with it (see `_self_consistent_prior`). `limit` caps the rows read per table.
    Deterministic for the same tables and seed."""
    records = training_records(con, tables, limit=limit)
    return train_prepared(records, max_pairs=max_pairs, seed=seed)


def training_records(con: Any, tables: Sequence[str], *, limit: int | None = None) -> Any:
    """The prepared columns of the stacked tables, as Arrow, in record-id order."""
    from leadql.executor import resolution as res

    frame = f"__leadql_train_{uuid.uuid4().hex[:10]}"
    stack, _ = res.stack_sql(con, tables, limit=limit)
    con.register(f"{frame}_nicknames", nickname_table())
    try:
        con.execute(f"CREATE TEMP TABLE {frame} AS {stack}")
        prepared = prepared_sql(f"temp.main.{frame}", f"{frame}_nicknames")
        return con.sql(f"SELECT * FROM ({prepared}) ORDER BY rid").to_arrow_table()
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{frame}")
        con.unregister(f"{frame}_nicknames")


def deterministic_link_count(con: Any, tables: Sequence[str]) -> int:
    """How many records a deterministic rule links to another (a measure of overlap)."""
    from leadql.executor import resolution as res

    frame = f"__leadql_overlap_{uuid.uuid4().hex[:10]}"
    stack, _ = res.stack_sql(con, tables)
    try:
        con.execute(f"CREATE TEMP TABLE {frame} AS {stack}")
        con.execute(
            f"CREATE TEMP TABLE {frame}_keys AS {res.deterministic_keys_sql(f'temp.main.{frame}')}"
        )
        edges = res.deterministic_edges_sql(f"temp.main.{frame}_keys")
        return int(con.sql(f"SELECT count(DISTINCT rid) FROM ({edges})").fetchall()[0][0])
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{frame}")
        con.execute(f"DROP TABLE IF EXISTS temp.main.{frame}_keys")


def _term_frequencies(con: Any, records: str) -> dict[str, dict[str, Any]]:
    """Per name column: the share of non-null values of each name seen at least twice, and a
    floor (one occurrence) for the rest."""
    out: dict[str, dict[str, Any]] = {}
    for column in TF_COLUMNS:
        total = int(con.sql(f"SELECT count({column}) FROM {records}").fetchall()[0][0])
        rows = con.sql(
            f"SELECT {column}, count(*) FROM {records} WHERE {column} IS NOT NULL "
            f"GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1"
        ).fetchall()
        total = max(total, 1)
        out[column] = {
            "floor": float(f"{1 / total:.4g}"),
            "values": {value: float(f"{count / total:.4g}") for value, count in rows},
        }
    return out


def train_prepared(records: Any, *, max_pairs: int, seed: int) -> LinkageModel:
    """Train on an Arrow table of prepared records (see `training_records`)."""
    started = time.perf_counter()
    n = records.num_rows
    if n < 2:
        raise LeadQLExecutionError(
            "too few records to train the linkage model",
            hint="ANALYZE sources holding people first",
        )
    laps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        laps[name] = round(now - clock, 3)
        clock = now

    with _splink("training the linkage model") as con:
        from splink import DuckDBAPI, Linker

        db = DuckDBAPI(connection=con)
        frame = db.register(records, table_name="__leadql_records")
        model = LinkageModel(settings=base_settings())
        model.term_frequencies = _term_frequencies(con, "__leadql_records")
        linker = Linker(frame, model.settings, log_level=None, validate_settings=False)
        _register_tf(con, db, linker, model, "__leadql_records")
        lap("setup")
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(max_pairs), seed=seed, num_chunks=1
        )
        lap("u")
        for rule in EM_RULES:
            if not _rule_has_pairs(con, "__leadql_records", rule):
                continue  # sources without that key (no e-mails, no phones): nothing to learn
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_u_probabilities=True, estimate_without_term_frequencies=True
            )
        lap("em")
        model.settings = _fill_unobserved(linker.misc.save_model_to_json(), max_pairs)
        # The prior, starting from the pairs the deterministic rules link
        linker.training.estimate_probability_two_random_records_match(
            list(DETERMINISTIC_SQL), recall=1.0
        )
        start = float(linker._settings_obj._probability_two_random_records_match)
        prior, matches = _self_consistent_prior(con, db, model, n, start)
        lap("prior")
        model.matches_per_record = prior * (n - 1)
        model.settings["probability_two_random_records_match"] = prior
    model.trained = {
        "records": n,
        "max_pairs": int(max_pairs),
        "seed": seed,
        "expected_matching_pairs": round(matches, 1),
        "seconds": round(time.perf_counter() - started, 3),
        "steps": laps,
    }
    return model


def _rule_has_pairs(con: Any, records: str, rule: str) -> bool:
    """Does the equi-join `rule` ("l.a = r.a AND l.b = r.b") pair any two of `records`?
    Splink's EM fails on a rule that blocks no pair."""
    columns = [part.split("=")[0].strip().removeprefix("l.") for part in rule.split(" AND ")]
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    found = con.sql(
        f"SELECT 1 FROM {records} WHERE {present} GROUP BY {', '.join(columns)} "
        "HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    return bool(found)


def _fill_unobserved(settings: dict[str, Any], max_pairs: int) -> dict[str, Any]:
    """Levels never seen among the sampled random pairs (u) or the EM pairs (m) get a small
    probability rather than none: Splink would otherwise treat a rare agreement (two records
    sharing an unusual e-mail user part) as certain proof, or ignore it."""
    u_floor = 0.5 / max(max_pairs, 1)
    for comparison in settings.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level") or level.get("sql_condition") == "ELSE":
                continue
            u = level.get("u_probability")
            if not isinstance(u, (int, float)) or u < u_floor:
                level["u_probability"] = u_floor
            m = level.get("m_probability")
            if not isinstance(m, (int, float)) or m < 1e-4:
                level["m_probability"] = 1e-4
    return settings


def _self_consistent_prior(
    con: Any, db: Any, model: LinkageModel, n: int, start: float
) -> tuple[float, float]:
    """The prior at which the model's expected number of matches among the prediction
    blocking's pairs agrees with it (`fit_prior`). Returns (λ, Σ p)."""
    from splink import Linker

    start = min(max(start, 1e-9), 0.5)
    settings = model.settings_for(n)
    settings["probability_two_random_records_match"] = start
    frame = db.register("__leadql_records", table_name="__leadql_records_again")
    scorer = Linker(frame, settings, log_level=None, validate_settings=False)
    _register_tf_again(db, scorer)
    predictions = scorer.inference.predict(threshold_match_probability=1e-6, warning_mode="never")
    weights = con.sql(f"SELECT match_weight FROM {predictions.physical_name}").fetchnumpy()[
        "match_weight"
    ]
    log_bf = weights.astype("float64") - math.log2(start / (1 - start))
    return fit_prior(log_bf, n * (n - 1) / 2, start)


def _register_tf_again(db: Any, linker: Any) -> None:
    for column in TF_COLUMNS:
        frame = db.register(f"__leadql_tf_{column}", table_name=f"__leadql_tf_{column}_frame2")
        linker.table_management.register_term_frequency_lookup(frame, column)


# ------------------------------------------------------------------------------------------
# ANALYZE hook
# ------------------------------------------------------------------------------------------

TRAIN_SAMPLE = 20_000  # records read per source
MIN_TRAIN_RECORDS = 10_000  # fewer (all sources together): too little to beat the shipped model
MIN_TRAIN_LINKS = 200  # fewer deterministic links between them: the sources hardly overlap
TRAIN_PAIRS = 300_000  # u-sampling pairs: ANALYZE must stay quick


def _identity_sources(defns: Sequence[Any]) -> list[tuple[Any, list[str]]]:
    """Vendor sources holding people: a full name, an email or a phone, and at least two
    identity categories."""
    from leadql.catalog.definitions import SOURCE
    from leadql.executor.resolution import IDENTITY_CATEGORIES

    out = []
    for defn in defns:
        if defn.kind != SOURCE:  # own tables (CRM) are no vendor records
            continue
        identity = [c for c in defn.mappings if c.lower() in IDENTITY_CATEGORIES]
        lowered = {c.lower() for c in identity}
        if len(lowered) >= 2 and (
            {"first_name", "last_name"} <= lowered or lowered & {"email", "phone"}
        ):
            out.append((defn, identity))
    return out


def train_after_analyze(
    ctx: Any, defns: Sequence[Any], row_counts: dict[str, int] | None = None
) -> dict[str, Any] | None:
    """Train the person model on the analysed sources and save it in the catalog (ANALYZE
    calls this inside its statistics transaction, so both are saved or neither).

    Runs when at least two of `defns` hold people. Reads a random sample of up to TRAIN_SAMPLE
    raw rows of each (sampled before normalising, so a large source costs no more than a small
    one), canonically projected. Returns what it did for ANALYZE's result: None when there was
    too little to learn from (the current model stays); {"skipped": reason} when training
    failed on the data (the current model stays too)."""
    from leadql.catalog import canonical
    from leadql.catalog.ddl import connector_for

    people = _identity_sources(defns)
    if len(people) < 2:
        return None
    started = time.perf_counter()
    con = ctx.con
    categories = ctx.catalog.categories()
    staged: list[str] = []
    sampled_share = []
    try:
        for i, (defn, identity) in enumerate(people):
            connector = connector_for(ctx, defn)
            from_sql = connector.relation(con)
            sample = f"(SELECT * FROM {from_sql} USING SAMPLE reservoir({TRAIN_SAMPLE} ROWS) REPEATABLE (42))"
            select = canonical.canonical_select(defn, categories, sample, only=identity)
            name = f"__leadql_train_{i}"
            sql = f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {_lit(defn.name)} AS _source, * FROM ({select})"
            connector.run_read(con, lambda sql=sql: con.execute(sql))
            staged.append(f"temp.main.{name}")
            rows = (row_counts or {}).get(defn.name)
            if rows:
                sampled_share.append(min(1.0, TRAIN_SAMPLE / rows))
        total = sum(int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in staged)
        if total < MIN_TRAIN_RECORDS:
            return None
        if deterministic_link_count(con, staged) < MIN_TRAIN_LINKS:
            return None
        try:
            model = train(con, staged, max_pairs=TRAIN_PAIRS)
        except LeadQLExecutionError as e:
            return {"skipped": e.message}
    finally:
        for t in staged:
            con.execute(f"DROP TABLE IF EXISTS {t}")
    if sampled_share:
        # Sampled sources keep fewer of each person's records than a FIND (which buys the same
        # people from every source) holds: scale the matches per record back up.
        share = sum(sampled_share) / len(sampled_share)
        model.matches_per_record = model.matches_per_record / max(share, 0.05)
        model.trained["sampled_share"] = round(share, 4)
    model.trained["sources"] = [d.name for d, _ in people]
    save_model(ctx.catalog, model)
    return {
        "sources": len(people),
        "records": model.trained.get("records"),
        "seconds": round(time.perf_counter() - started, 3),
    }
