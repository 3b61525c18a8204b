"""Value normalisers of LeadQL's canonical categories, as DuckDB SQL macros.

When a vendor's file is read, every mapped column goes through its category's normaliser
(`stdlib/categories.lql`: `NORMALIZE WITH email`, ...). Normalisers are plain DuckDB macros over a
parameter `x`, so they run vectorised inside DuckDB: no Python UDFs and no extensions, only core
functions of the wheel.

Contract of every macro:

* it accepts a value of any type (VARCHAR, numbers, DATE, TIMESTAMP, BOOLEAN, NULL): the value is
  turned into text with `TRY_CAST(x AS VARCHAR)` and parsed from there;
* it returns a value of `output_type`, or NULL when the input cannot be normalised; it never
  raises (TRY_CAST, try_strptime, regular-expression checks and CASE guard every conversion);
* whitespace is squashed first: runs of spaces, tabs, new lines, non-breaking and other Unicode
  spaces become one space, and the ends are trimmed;
* text longer than 16 KiB is junk (NULL) for every normaliser but `text`.

How the SQL is built (and why it looks the way it does — measured on DuckDB 2.0):

* `_V` is the squashed text of `x`. It is cheap (one regular-expression test in the common case),
  so expressions simply repeat it where they need it several times.
* DuckDB has no `LET`, and it does not share common sub-expressions inside CASE, so a value that
  is expensive to compute and used several times is bound once per row with `_let(value, name,
  body)`, i.e. `list_transform([value], lambda name: body)[1]`.
* The body of a lambda is set up again for every chunk of 2048 rows, which recompiles every
  regular expression in it. Hence: regular expressions belong in `_let`'s *value* (evaluated
  outside the lambda) wherever possible, bodies only use cheap ASCII patterns, and no pattern
  uses the costly Unicode classes \\p{L} / \\p{N} (see `_INTL`).
* Regular expressions avoid capture groups where a whole match will do: RE2 finds whole matches
  several times faster than sub-matches.
* Inside a lambda every expression node is set up per chunk too, so lookups use one constant
  MAP (`_map`) rather than a CASE with a branch per entry.
* `x` is only referenced outside every lambda, and lambda variables are prefixed `lq_`, so a
  source column is never captured by a lambda (the tests check it).
* The argument expression `x` may be evaluated several times per row; normalisers are meant for
  deterministic column expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .errors import LeadQLNameError, did_you_mean

__all__ = ["MACRO_PREFIX", "NORMALIZERS", "Normalizer", "call_sql", "install", "macro_name"]

MACRO_PREFIX = "leadql_norm_"


@dataclass(frozen=True)
class Normalizer:
    name: str  # e.g. "email"
    output_type: str  # DuckDB type of the result: VARCHAR, INTEGER, DOUBLE, BOOLEAN, DATE
    description: str  # one line for docs and DESCRIBE CATEGORY
    macro_sql: str  # the body expression over parameter `x`
    examples: tuple[tuple[object, object], ...]  # (input, expected output) pairs


# --------------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------------

# Whitespace: ASCII whitespace (also \v and the information separators \x1C-\x1F, which
# Python counts too), NEL, Unicode spaces (\p{Z}: NBSP, thin space, ...), zero-width space and
# BOM. (\p{Z} is a small class, cheap to compile, unlike \p{L}.)
_WS_CHAR = r"[\s\v\x{1C}-\x{1F}\x{85}\p{Z}\x{200B}\x{FEFF}]"
_WS = _WS_CHAR + "+"
# Text that needs squashing: leading or trailing whitespace, two spaces in a row, or any
# whitespace other than the plain space. Testing for it is much cheaper than replacing.
_NEEDS_SQUASH = (
    rf"^{_WS_CHAR}|{_WS_CHAR}$|  |"
    r"[\t\n\v\f\r\x{1C}-\x{1F}\x{85}\x{A0}\x{1680}\x{2000}-\x{200B}\x{2028}\x{2029}\x{202F}"
    r"\x{205F}\x{3000}\x{FEFF}]"
)

# Placeholders vendors write for "no value"; a text value equal to one of them becomes NULL.
# ('na' is left out on purpose: Na is a family name.)
_NULL_TOKENS = ("null", "none", "nil", "n/a", "#n/a", "nan", "unknown", "undefined", "-", "--", "?")

# Letters of any script, approximated with cheap ranges (\p{L} costs seconds per million rows
# inside a lambda): an ASCII letter, or a non-ASCII character outside the Latin-1 symbols and the
# punctuation, symbol, emoji and variation-selector blocks.
_INTL = (
    r"\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1FFF}\x{2C00}-\x{2FFF}\x{3040}-\x{FDFF}"
    r"\x{FE70}-\x{FFEF}\x{10000}-\x{1EFFF}\x{20000}-\x{3FFFF}"
)
_LETTER = rf"[A-Za-z{_INTL}]"
_ALNUM = rf"[A-Za-z0-9{_INTL}]"


def _lit(text: str) -> str:
    """A SQL string literal (DuckDB does not interpret backslashes in literals)."""
    return "'" + text.replace("'", "''") + "'"


def _in(items: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(_lit(i) for i in items) + ")"


def _map(mapping: dict[str, str]) -> str:
    """A constant DuckDB MAP of strings; `MAP {...}[key]` is the value, or NULL.

    A map lookup is one expression where `CASE key WHEN ... END` is one per entry, which matters
    inside lambdas (and a simple CASE evaluates its subject once per WHEN).
    """
    return "MAP {" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in mapping.items()) + "}"


def _list(items: tuple[str, ...] | list[str]) -> str:
    """A constant list of strings, for list_contains (one expression, unlike IN (...))."""
    return "[" + ", ".join(_lit(i) for i in items) + "]"


def _let(value: str, var: str, body: str) -> str:
    """`body` with `var` bound to `value`, evaluated once per row (see the module docstring)."""
    return f"list_transform([{value}], lambda {var}: {body})[1]"


def _join(items: str, sep: str) -> str:
    # list_aggr(.., 'string_agg', ..) joins a list about twice as fast as array_to_string inside
    # a lambda. (NULL for an empty list: callers only join lists cut from a non-empty string.)
    return f"list_aggr({items}, 'string_agg', {_lit(sep)})"


def _squash(v: str) -> str:
    """Collapse whitespace runs to one space and trim (`v` is evaluated up to three times)."""
    return (
        f"CASE WHEN regexp_matches({v}, {_lit(_NEEDS_SQUASH)}) "
        f"THEN trim(regexp_replace({v}, {_lit(_WS)}, ' ', 'g')) ELSE {v} END"
    )


# The macro's argument as text, and that text squashed. Beyond 16 KiB a value is no name,
# address, number or code but junk, and giving NULL at once keeps hostile megabyte values cheap
# (only `text` takes values of any length).
_TEXT = "TRY_CAST(x AS VARCHAR)"
_V = _squash(f"CASE WHEN strlen({_TEXT}) <= 16384 THEN {_TEXT} END")


def _junk(v: str, max_len: int, needs: str = _LETTER) -> str:
    """TRUE for text that is no value: too long, a null placeholder, or without a character of
    class `needs` (so also for '', digits-only or emoji-only text when `needs` is a letter)."""
    return (
        f"(length({v}) > {max_len} OR lower({v}) IN {_in(_NULL_TOKENS)} "
        f"OR NOT regexp_matches({v}, {_lit(needs)}))"
    )


def _cast(body: str, output_type: str) -> str:
    return f"CAST(({body}) AS {output_type})"


# ---- proper case --------------------------------------------------------------------------


def _cap(w: str) -> str:
    """Upper-case the first character, lower-case the rest."""
    return f"upper(left({w}, 1)) || lower(substr({w}, 2))"


def _keeps_own_case(w: str) -> str:
    # A word already written with deliberate inner capitals ("McDonald", "DeShawn", "SaaS") is
    # kept: an upper-case letter, lower-case letters, then an upper-case letter again.
    return f"regexp_matches({w}, '^[A-Z][a-z]+[A-Z]')"


def _proper(s: str, seps: str, *, acronyms: dict[str, str] | None = None,
            small_words: tuple[str, ...] = ()) -> str:  # fmt: skip
    """Proper-case `s` (squashed text): upper-case the first letter of every word, lower-case
    the rest.

    Words are cut at spaces. `seps` is the body of a regular-expression character class of the
    characters that also start a new part inside a word ("o'neil" -> "O'Neil" when "'" is one);
    a word holding one is cut into alternating runs of part and separator characters and the
    first character of every run is upper-cased (a no-op on separator runs). `acronyms` maps an
    upper-cased word to its fixed spelling ("IT" stays "IT", "SAAS" becomes "SaaS");
    `small_words` stay lower-case unless they come first ("Banking and Finance").
    """

    def word_rule(w: str, first: str) -> str:
        rules = [f"WHEN {_keeps_own_case(w)} THEN {w}"]
        if acronyms:
            spelled = f"{_map(acronyms)}[upper({w})]"
            rules.append(f"WHEN {spelled} IS NOT NULL THEN {spelled}")
        if small_words:
            rules.append(
                f"WHEN NOT ({first}) AND list_contains({_list(small_words)}, lower({w})) "
                f"THEN lower({w})"
            )
        parts = f"regexp_extract_all({w}, {_lit(f'[^{seps}]+|[{seps}]+')})"
        rules.append(
            f"WHEN regexp_matches({w}, {_lit(f'[{seps}]')}) THEN "
            + _join(f"list_transform({parts}, lambda lq_p: {_cap('lq_p')})", "")
        )
        rules.append(f"ELSE {_cap(w)}")
        return f"CASE {' '.join(rules)} END"

    # a single word (the common case for names) skips the cutting at spaces
    return (
        f"CASE WHEN contains({s}, ' ') THEN "
        + _join(
            f"list_transform(string_split({s}, ' '), lambda lq_w, lq_i: "
            f"{word_rule('lq_w', 'lq_i = 1')})",
            " ",
        )
        + f" ELSE {word_rule(s, 'true')} END"
    )


# Characters after which a new part of a word starts. Names: hyphen, apostrophes, period,
# parenthesis ("O'Neil", "Mary-Jane", "J.R."). Labels: hyphen, slash, parenthesis, "&".
_NAME_SEPS = r"\-'’.("
_LABEL_SEPS = r"\-/(&"

_LABEL_ACRONYMS = {
    "IT": "IT", "HR": "HR", "PR": "PR", "QA": "QA", "AI": "AI", "ML": "ML", "UX": "UX",
    "UI": "UI", "B2B": "B2B", "B2C": "B2C", "CRM": "CRM", "ERP": "ERP", "SAAS": "SaaS",
    "IOT": "IoT", "US": "US", "USA": "USA", "EMEA": "EMEA", "APAC": "APAC", "BI": "BI",
    "IP": "IP", "PC": "PC", "TV": "TV", "HVAC": "HVAC",
}  # fmt: skip
_SMALL_WORDS = ("and", "of", "the", "for", "in", "on")


# Text that is already proper-cased plain ASCII words ("San Francisco", "Mary-Jane") is kept as
# it is without the word-by-word work (names and cities only: labels have acronym rules).
_ALREADY_PROPER_RE = r"^[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)*$"


def _proper_text(max_len: int, seps: str, *, acronyms: dict[str, str] | None = None,
                 small_words: tuple[str, ...] = ()) -> str:  # fmt: skip
    """Reject junk, else proper-case (person names, cities, industries, departments)."""
    proper = _proper("lq_s", seps, acronyms=acronyms, small_words=small_words)
    fast = "" if acronyms or small_words else (
        f"WHEN regexp_matches({_V}, {_lit(_ALREADY_PROPER_RE)}) THEN {_V} "
    )
    return f"CASE WHEN {_junk(_V, max_len)} THEN NULL {fast}ELSE {_let(_V, 'lq_s', proper)} END"


# ---- numbers ------------------------------------------------------------------------------

_MULTIPLIERS = {"K": 1e3, "M": 1e6, "MM": 1e6, "MN": 1e6, "B": 1e9, "BN": 1e9}


def _multiplier(sfx: str) -> str:
    return (
        f"CASE {sfx} "
        + " ".join(f"WHEN {_lit(k)} THEN {v:.0f}" for k, v in _MULTIPLIERS.items())
        + " ELSE 1 END"
    )


_NUM = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_SFX = r"(K|MM|MN|M|BN|B)?"
# After compaction: "52000", "52K", "1.2M", "150000+", "50-75K", "50KTO75K".
_AMOUNT_RE = rf"^{_NUM}{_SFX}(?:\+|(?:-|–|TO){_NUM}{_SFX})?$"
_PLAIN_AMOUNT_RE = rf"^{_NUM}(?:\+|(?:-|–|TO){_NUM})?$"
# A plain number (the common case, cast directly), possibly in scientific notation ("1E+20").
_PLAIN_NUMBER_RE = r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[+-]?[0-9]+)?$"


def _amount(*, suffixes: bool = True, unit_words: str | None = None) -> str:
    """Lower bound of the amount `_V` holds, as DOUBLE (NULL when it is not one).

    Accepts thousands separators and spaces, '$' and 'USD', K/M/MM/B suffixes, a trailing '+'
    ("100K+" is 100000) and ranges, which give their lower bound ("50-75K" is 50000: the suffix
    of the upper end applies to a bare lower end). Negative amounts and anything else give NULL.
    `unit_words` (a regular-expression alternation, upper case) may follow the amount.
    """
    text = f"upper({_V})"
    if unit_words:
        units = _lit(r"\s*(?:" + unit_words + ")$")
        text = (
            f"CASE WHEN regexp_matches({_V}, '[A-Za-z]{{3}}') "
            f"THEN regexp_replace({text}, {units}, '') ELSE {text} END"
        )
    compact = f"replace(replace({text}, ',', ''), ' ', '')"
    if suffixes:
        compact = f"replace(replace({compact}, 'USD', ''), '$', '')"
        groups = "['lo', 'lo_sfx', 'hi', 'hi_sfx']"
        multiplier = (
            "CASE WHEN lq_m.lo_sfx = '' AND lq_m.hi <> '' THEN "
            f"{_multiplier('lq_m.hi_sfx')} ELSE {_multiplier('lq_m.lo_sfx')} END"
        )
        pattern = _AMOUNT_RE
    else:
        groups, multiplier, pattern = "['lo', 'hi']", "1", _PLAIN_AMOUNT_RE
    lower_bound = _let(
        f"regexp_extract(lq_a, {_lit(pattern)}, {groups})",
        "lq_m",
        f"TRY_CAST(lq_m.lo AS DOUBLE) * {multiplier}",
    )
    return _let(
        compact,
        "lq_a",
        f"CASE WHEN regexp_matches(lq_a, {_lit(_PLAIN_NUMBER_RE)}) THEN TRY_CAST(lq_a AS DOUBLE) "
        f"WHEN regexp_matches(lq_a, {_lit(pattern)}) THEN {lower_bound} END",
    )


def _finite(v: str, lo: str, hi: str | None = None) -> str:
    cond = f"isfinite({v}) AND {v} >= {lo}"
    if hi is not None:
        cond += f" AND {v} <= {hi}"
    return cond


# --------------------------------------------------------------------------------------------
# The normalisers
# --------------------------------------------------------------------------------------------


def _person_name() -> str:
    # Must hold a letter (digits-only, punctuation-only and emoji-only values are junk); longer
    # than 100 characters is not a name.
    return _proper_text(100, _NAME_SEPS)


_EMAIL_RE = (
    r"^(?:mailto:)?"
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # local part, no '..'
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"  # host labels
    r"(?:[a-z][a-z]+|xn--[a-z0-9-]+)$"  # top-level domain
)


def _email() -> str:
    # A leading 'mailto:' is dropped; the RFC's 254/64 length limits apply.
    lv = f"lower({_V})"
    address = (
        f"CASE WHEN regexp_matches({lv}, {_lit(_EMAIL_RE)}) THEN "
        f"CASE WHEN starts_with({lv}, 'mailto:') THEN substr({lv}, 8) ELSE {lv} END END"
    )
    return _let(
        address,
        "lq_e",
        "CASE WHEN length(lq_e) <= 254 AND strpos(lq_e, '@') <= 65 THEN lq_e END",
    )


def _same_digit(d: str) -> str:
    """TRUE when every character of `d` is the same digit (0000000000, 2222222222)."""
    return f"(replace({d}, left({d}, 1), '') = '')"


def _nanp(d: str) -> str:
    # A North American number (10 digits): area code and exchange start with 2-9, and it is not
    # one repeated digit.
    return f"(left({d}, 1) >= '2' AND substr({d}, 4, 1) >= '2' AND NOT {_same_digit(d)})"


def _phone() -> str:
    # Extensions ("x12", "ext. 12", "#12") are dropped, and the '.0' of a number that came in as
    # DOUBLE. Then only digits and ( ) . - / space may remain (letters, e.g. vanity numbers,
    # give NULL), with at most a leading '+'.
    no_ext = (
        f"CASE WHEN regexp_matches({_V}, '[A-Za-z#]') "
        f"THEN regexp_replace({_V}, '(?i)\\s*(?:ext\\.?|extension|x|#)\\s*[0-9]{{1,6}}$', '') "
        f"WHEN regexp_matches({_V}, '^[0-9]+\\.0+$') THEN split_part({_V}, '.', 1) "
        f"ELSE {_V} END"
    )
    rules = (
        "CASE "
        # +1 must be a full North American number
        f"WHEN starts_with(lq_d, '+1') THEN "
        f"CASE WHEN length(lq_d) = 12 AND {_nanp('substr(lq_d, 3)')} THEN lq_d END "
        # other international numbers are kept: 8-15 digits, country code not 0, the last seven
        # digits not all the same
        "WHEN starts_with(lq_d, '+') THEN "
        "CASE WHEN length(lq_d) BETWEEN 9 AND 16 AND NOT starts_with(lq_d, '+0') "
        f"AND NOT {_same_digit('right(lq_d, 7)')} THEN lq_d END "
        f"WHEN length(lq_d) = 10 AND {_nanp('lq_d')} THEN '+1' || lq_d "
        f"WHEN length(lq_d) = 11 AND starts_with(lq_d, '1') AND {_nanp('substr(lq_d, 2)')} "
        "THEN '+' || lq_d END"
    )
    # lq_p: the text without extension; lq_d: its digits (with the leading '+', if any)
    # (the international call prefix 00 counts as '+')
    digits = _let(
        "CASE WHEN starts_with(lq_p, '00') THEN '+' || substr(translate(lq_p, '().-/ ', ''), 3) "
        "ELSE translate(lq_p, '().-/ ', '') END",
        "lq_d",
        rules,
    )
    return _let(
        no_ext,
        "lq_p",
        "CASE WHEN length(lq_p) <= 40 AND regexp_matches(lq_p, '^\\+?[0-9().\\-/ ]+$') "
        f"THEN {digits} END",
    )


# USPS street suffixes; abbreviated only in suffix position (see _street).
_STREET_SUFFIXES = {
    "STREET": "ST", "AVENUE": "AVE", "ROAD": "RD", "BOULEVARD": "BLVD", "DRIVE": "DR",
    "LANE": "LN", "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY", "HIGHWAY": "HWY",
    "CIRCLE": "CIR", "TERRACE": "TER", "SQUARE": "SQ", "TRAIL": "TRL",
}  # fmt: skip
# Secondary unit designators; abbreviated wherever they stand.
_STREET_UNITS = {"APARTMENT": "APT", "SUITE": "STE"}
# Words that may follow a street suffix: a unit designator or a post-directional.
_AFTER_SUFFIX = (
    "APT", "APARTMENT", "STE", "SUITE", "UNIT", "FL", "FLOOR", "BLDG", "RM", "ROOM", "DEPT",
    "LOT", "SPC", "TRLR", "N", "S", "E", "W", "NE", "NW", "SE", "SW", "NORTH", "SOUTH", "EAST",
    "WEST", "NORTHEAST", "NORTHWEST", "SOUTHEAST", "SOUTHWEST",
)  # fmt: skip


def _street() -> str:
    # Periods are dropped unless they sit before a digit ("101.5") and commas become spaces: USPS
    # addresses carry no punctuation. Then word by word: a unit word is always abbreviated, a
    # suffix word only when it ends the line or a unit ("#4", "APT 4") or a post-directional
    # follows it ("1 COURT STREET" -> "1 COURT ST", not "1 CT ST"). Trailing punctuation goes.
    upper = f"upper({_V})"
    no_periods = (
        f"CASE WHEN contains({_V}, '.') THEN regexp_replace({upper}, '\\.([^0-9]|$)', '\\1', 'g') "
        f"ELSE {upper} END"
    )
    # lq_c: without periods; lq_s: commas made spaces, spaces single again
    single_spaced = (
        "trim(CASE WHEN contains(replace(lq_c, ',', ' '), '  ') "
        "THEN regexp_replace(replace(lq_c, ',', ' '), ' {2,}', ' ', 'g') "
        "ELSE replace(lq_c, ',', ' ') END)"
    )
    words = _join(
        "list_transform(lq_ws, lambda lq_w, lq_i: CASE "
        f"WHEN {_map(_STREET_UNITS)}[lq_w] IS NOT NULL THEN {_map(_STREET_UNITS)}[lq_w] "
        f"WHEN {_map(_STREET_SUFFIXES)}[lq_w] IS NOT NULL AND (lq_i = len(lq_ws) "
        f"OR list_contains({_list(_AFTER_SUFFIX)}, lq_ws[lq_i + 1]) "
        "OR starts_with(lq_ws[lq_i + 1], '#')) "
        f"THEN {_map(_STREET_SUFFIXES)}[lq_w] ELSE lq_w END)",
        " ",
    )
    # (lines without a long-form suffix or unit word skip the word-by-word work)
    long_forms = r"\b(?:" + "|".join([*_STREET_SUFFIXES, *_STREET_UNITS]) + r")\b"
    split_words = _let("string_split(lq_s, ' ')", "lq_ws", words)
    abbreviated = _let(
        no_periods,
        "lq_c",
        _let(
            single_spaced,
            "lq_s",
            f"CASE WHEN regexp_matches(lq_s, {_lit(long_forms)}) "
            f"THEN {split_words} ELSE lq_s END",
        ),
    )
    return (
        f"CASE WHEN {_junk(_V, 200, _ALNUM)} THEN NULL "
        f"ELSE regexp_replace({abbreviated}, '[\\s.,;:#\\-/]+$', '') END"
    )


def _city() -> str:
    return _proper_text(100, _NAME_SEPS)


_US_STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA",
    "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD",
    "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS",
    "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH",
    "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN",
    "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "DISTRICT OF COLUMBIA": "DC", "WASHINGTON DC": "DC", "PUERTO RICO": "PR", "GUAM": "GU",
    "US VIRGIN ISLANDS": "VI", "VIRGIN ISLANDS": "VI", "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP",
}  # fmt: skip
_US_STATE_CODES = tuple(sorted(set(_US_STATES.values())))
# Traditional (AP style and older postal) abbreviations, periods removed: "Calif." -> "CALIF".
_US_STATE_ABBREVIATIONS = {
    "ALA": "AL", "ARIZ": "AZ", "ARK": "AR", "CALIF": "CA", "CAL": "CA", "COLO": "CO",
    "CONN": "CT", "DEL": "DE", "FLA": "FL", "ILL": "IL", "IND": "IN", "KAN": "KS", "KANS": "KS",
    "MASS": "MA", "MICH": "MI", "MINN": "MN", "MISS": "MS", "MONT": "MT", "NEB": "NE",
    "NEBR": "NE", "NEV": "NV", "OKLA": "OK", "ORE": "OR", "OREG": "OR", "PENN": "PA",
    "PENNA": "PA", "TENN": "TN", "TEX": "TX", "WASH": "WA", "W VA": "WV", "WVA": "WV",
    "WIS": "WI", "WISC": "WI", "WYO": "WY", "D C": "DC",
}  # fmt: skip


def _us_state() -> str:
    # Periods and commas are dropped first: "N.Y." -> "NY", "Washington, D.C." -> "WASHINGTON DC".
    lookup = {**{code: code for code in _US_STATE_CODES}, **_US_STATES, **_US_STATE_ABBREVIATIONS}
    return f"{_map(lookup)}[replace(replace(upper({_V}), '.', ''), ',', '')]"


def _zip() -> str:
    # ZIP or ZIP+4 ("02134", "02134-1234", "021341234"); a numeric ZIP that lost its leading
    # zeros has 3-4 digits (2134 -> 02134, also "2134-1234") or, as ZIP+4, 8 digits
    # (21341234 -> 02134). A number that came in as DOUBLE may end in '.0'. 00000 is not a ZIP.
    zip5 = (
        f"CASE WHEN regexp_matches({_V}, '^(?:[0-9]{{5}}(?:\\.0+)?|[0-9]{{5}}[- ]?[0-9]{{4}})$') "
        f"THEN left({_V}, 5) "
        f"WHEN regexp_matches({_V}, '^[0-9]{{3,4}}(?:\\.0+|-[0-9]{{4}})?$') "
        f"THEN lpad(split_part(split_part({_V}, '.', 1), '-', 1), 5, '0') "
        f"WHEN regexp_matches({_V}, '^[0-9]{{8}}(?:\\.0+)?$') "
        f"THEN left(lpad(split_part({_V}, '.', 1), 9, '0'), 5) END"
    )
    return _let(zip5, "lq_z", "CASE WHEN lq_z <> '00000' THEN lq_z END")


# ISO (and DATE / TIMESTAMP values, which print as ISO) 2024-01-05 or 2024/01/05, optionally
# followed by a time; US month-first 1/5/2024 or 01-05-2024, optionally followed by a time;
# compact 20240105 (maybe with the '.0' of a DOUBLE).
_DATE_SHAPE_RE = (
    r"^(?:[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}(?:[T ].*)?"
    r"|[0-9]{1,2}[-/][0-9]{1,2}[-/][0-9]{4}(?: .*)?"
    r"|[0-9]{8}(?:\.0+)?)$"
)


def _date() -> str:
    # The date part (leading digits, '-' and '/') is parsed with the format its shape calls for;
    # try_strptime gives NULL for impossible dates (2023-02-30) and mixed separators. Two-digit
    # years and day-first dates are ambiguous and give NULL; years outside 1800-2199 are junk.
    formats = (
        "CASE WHEN substr(lq_p, 5, 1) = '-' THEN try_strptime(lq_p, '%Y-%m-%d') "
        "WHEN substr(lq_p, 5, 1) = '/' THEN try_strptime(lq_p, '%Y/%m/%d') "
        "WHEN contains(lq_p, '/') THEN try_strptime(lq_p, '%m/%d/%Y') "
        "WHEN contains(lq_p, '-') THEN try_strptime(lq_p, '%m-%d-%Y') "
        "ELSE try_strptime(lq_p, '%Y%m%d') END"
    )
    date_part = (
        f"CASE WHEN regexp_matches({_V}, {_lit(_DATE_SHAPE_RE)}) "
        f"THEN regexp_extract({_V}, '^[0-9/\\-]+') END"
    )
    return _let(
        date_part,
        "lq_p",
        _let(
            f"CAST({formats} AS DATE)",
            "lq_d",
            "CASE WHEN year(lq_d) BETWEEN 1800 AND 2199 THEN lq_d END",
        ),
    )


_AGE_RE = r"(?i)^\+?[0-9]{1,3}(?:\.[0-9]+)?(?:\s*(?:years?|yrs?|y/?o|y)(?:\s*old)?)?$"


def _age() -> str:
    # "34", 34, 34.0, "34 years", "34 yrs old"; fractional ages round down (34.7 -> 34).
    years = (
        f"CASE WHEN regexp_matches({_V}, {_lit(_AGE_RE)}) "
        f"THEN floor(TRY_CAST(regexp_extract({_V}, '^\\+?[0-9.]+') AS DOUBLE)) END"
    )
    return _let(years, "lq_v", "CASE WHEN lq_v BETWEEN 0 AND 120 THEN lq_v END")


def _money() -> str:
    return _let(_amount(), "lq_v", f"CASE WHEN {_finite('lq_v', '0')} THEN lq_v END")


def _fico() -> str:
    # Whole scores only; a band such as "700-749" or "800+" gives its lower bound.
    return _let(
        _amount(suffixes=False),
        "lq_v",
        f"CASE WHEN {_finite('lq_v', '300', '850')} AND lq_v = floor(lq_v) THEN lq_v END",
    )


_TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
_FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")


def _boolean() -> str:
    return _let(
        f"lower({_V})",
        "lq_b",
        f"CASE WHEN lq_b IN {_in(_TRUE_WORDS)} THEN true "
        f"WHEN lq_b IN {_in(_FALSE_WORDS)} THEN false END",
    )


_GENDER_WORDS = {
    "F": ("f", "female", "woman", "women", "fem", "girl"),
    "M": ("m", "male", "man", "men", "boy"),
    "X": ("x", "nonbinary", "non-binary", "non binary", "nb", "enby", "genderqueer",
          "gender non-conforming", "agender"),
}  # fmt: skip

# 'separated' is left out on purpose: separated people are still married, and guessing would be
# wrong either way.
_MARITAL_WORDS = {
    "single": ("s", "single", "never married", "unmarried", "not married"),
    "married": ("m", "married", "wed", "spouse", "domestic partner", "civil union"),
    "divorced": ("d", "divorced", "div"),
    "widowed": ("w", "widowed", "widow", "widower", "wid"),
}


def _vocabulary(words: dict[str, tuple[str, ...]]) -> str:
    """The key whose word list holds the lower-cased value, else NULL."""
    cases = " ".join(f"WHEN lq_g IN {_in(ws)} THEN {_lit(code)}" for code, ws in words.items())
    return _let(f"lower({_V})", "lq_g", f"CASE {cases} END")


# A legal-form suffix at the end, after a space or comma (case-insensitive; trailing periods
# are stripped before it is looked for, so "Inc." and "S.A." appear as "inc" and "s.a").
_LEGAL_SUFFIX_RE = (
    r"(?i)(?:[\s,]+(?:inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|gmbh|plc|"
    r"s\.a)\.?){1,2}$"
)
_TRAILING_PUNCT_RE = r"[\s.,;:&\-]+$"


def _company_name() -> str:
    # Trailing punctuation goes, then up to two legal suffixes ("Acme Co., Ltd."), then the
    # punctuation they leave ("Johnson & Co." -> "Johnson"). A name that is only a suffix
    # ("Limited") is kept, and so is an article before one ("The Limited"); casing is kept.
    trimmed = f"regexp_replace({_V}, {_lit(_TRAILING_PUNCT_RE)}, '')"
    stripped = f"regexp_replace({trimmed}, {_lit(_LEGAL_SUFFIX_RE)}, '')"
    stripped = f"regexp_replace({stripped}, {_lit(_TRAILING_PUNCT_RE)}, '')"
    return (
        f"CASE WHEN {_junk(_V, 200, _ALNUM)} THEN NULL "
        f"WHEN regexp_matches({_V}, '(?i)^(?:the|a|an) [^ ]+$') THEN {trimmed} ELSE "
        + _let(stripped, "lq_c", f"CASE WHEN regexp_matches(lq_c, {_lit(_ALNUM)}) THEN lq_c END")
        + " END"
    )


# A host name: dot-separated labels of letters (any script), digits and inner hyphens, ending in
# a top-level domain of two or more letters or a punycode one. (Counted repetitions such as
# {0,61} over large classes make RE2 slow, so label lengths are not checked; the whole name is
# limited to 253 characters.)
_LABEL = rf"[a-z0-9{_INTL}](?:[a-z0-9{_INTL}-]*[a-z0-9{_INTL}])?"
_HOST_RE = rf"^(?:{_LABEL}\.)+(?:[a-z{_INTL}][a-z{_INTL}]+|xn--[a-z0-9-]+)$"
_URL_HOST_RE = _HOST_RE[:-1] + r"(?::[0-9]{1,5})?$"
_SCHEME_RE = r"^[A-Za-z][A-Za-z0-9+.\-]*://"


def _domain() -> str:
    # Steps: drop a scheme; keep the authority (up to the first '/', '?' or '#'); keep what
    # follows its last '@' (an email's local part or URL user-info goes); drop a port and a
    # trailing dot; drop a leading 'www.' when a dot remains ("www.com" stays).
    # Internationalised domains (münchen.de) are accepted.
    no_scheme = f"regexp_replace(lower({_V}), '^[a-z][a-z0-9+.\\-]*://', '')"
    authority = f"regexp_extract({no_scheme}, '^[^/?#]*')"
    host = f"rtrim(split_part(string_split({authority}, '@')[-1], ':', 1), '.')"
    no_www = (
        "CASE WHEN starts_with(lq_h, 'www.') AND contains(substr(lq_h, 5), '.') "
        "THEN substr(lq_h, 5) ELSE lq_h END"
    )
    return _let(
        host,
        "lq_h",
        _let(
            no_www,
            "lq_d",
            f"CASE WHEN length(lq_d) <= 253 AND regexp_matches(lq_d, {_lit(_HOST_RE)}) "
            "THEN lq_d END",
        ),
    )


def _url() -> str:
    # No scheme -> https:// is added; a scheme other than http(s) gives NULL, so do user-info
    # ("user@host"), spaces and hosts that are not domain names. Scheme and host are
    # lower-cased, the path is kept; a bare trailing '/' is dropped.
    with_scheme = (
        f"CASE WHEN regexp_matches({_V}, {_lit(_SCHEME_RE)}) THEN {_V} ELSE 'https://' || {_V} END"
    )
    # lq_u: the URL with a scheme; lq_a: what follows '://'; lq_h: its authority
    after_scheme = _let(
        "substr(lq_u, strpos(lq_u, '://') + 3)",
        "lq_a",
        _let(
            "regexp_extract(lq_a, '^[^/?#]*')",
            "lq_h",
            f"CASE WHEN regexp_matches(lower(lq_h), {_lit(_URL_HOST_RE)}) "
            "THEN lower(lq_h) || CASE WHEN lq_a = lq_h || '/' THEN '' "
            "ELSE substr(lq_a, length(lq_h) + 1) END END",
        ),
    )
    return _let(
        with_scheme,
        "lq_u",
        "CASE WHEN lq_u <> 'https://' AND length(lq_u) <= 2048 AND NOT contains(lq_u, ' ') "
        "AND (starts_with(lower(lq_u), 'http://') OR starts_with(lower(lq_u), 'https://')) "
        f"THEN lower(left(lq_u, strpos(lq_u, '://') + 2)) || {after_scheme} END",
    )


def _label() -> str:
    """Industry and department: proper case, known acronyms kept, small words lower-case."""
    return _proper_text(200, _LABEL_SEPS, acronyms=_LABEL_ACRONYMS, small_words=_SMALL_WORDS)


def _count() -> str:
    # Whole non-negative counts: "1,200" -> 1200, "5k" -> 5000, 12.0 -> 12; a range or band gives
    # its lower bound ("50-100" -> 50, "11-50 employees" -> 11, "10,001+" -> 10001), like money,
    # so that `WHERE employees >= n` never over-claims. Fractions round down; beyond INTEGER ->
    # NULL.
    return _let(
        _amount(unit_words="EMPLOYEES|EMPLOYEE|EMPS|STAFF|PEOPLE|PERSONS"),
        "lq_v",
        f"CASE WHEN {_finite('lq_v', '0', '2147483647')} THEN floor(lq_v) END",
    )


# Expanded as whole words, any case; a period right after one goes with it ("Sr." -> "Senior").
_TITLE_ABBREVIATIONS = {
    "svp": "Senior Vice President", "evp": "Executive Vice President",
    "avp": "Assistant Vice President", "vp": "Vice President", "sr": "Senior", "jr": "Junior",
    "mgr": "Manager", "dir": "Director", "asst": "Assistant",
}  # fmt: skip


def _title() -> str:
    # Only titles holding an abbreviation are rewritten: "V.P." first becomes "VP"; then the
    # title is cut into runs of letters/digits and runs of other characters, and word runs that
    # are abbreviations are spelled out.
    has_abbrev = r"(?i)\bv\.\s?p\.|\b(?:" + "|".join(_TITLE_ABBREVIATIONS) + r")\b"
    tokens = (
        f"regexp_extract_all(regexp_replace({_V}, '(?i)\\bv\\.\\s?p\\.', 'VP', 'g'), "
        f"{_lit(f'{_ALNUM}+|[^{_ALNUM[1:-1]}]+')})"
    )
    expanded = _let(
        tokens,
        "lq_ts",
        _join(
            "list_transform(lq_ts, lambda lq_t, lq_i: CASE "
            f"WHEN {_map(_TITLE_ABBREVIATIONS)}[lower(lq_t)] IS NOT NULL "
            f"THEN {_map(_TITLE_ABBREVIATIONS)}[lower(lq_t)] "
            "WHEN starts_with(lq_t, '.') AND lq_i > 1 "
            f"AND {_map(_TITLE_ABBREVIATIONS)}[lower(lq_ts[lq_i - 1])] IS NOT NULL "
            "THEN CASE WHEN lq_t = '.' AND lq_i < len(lq_ts) THEN ' ' ELSE substr(lq_t, 2) END "
            "ELSE lq_t END)",
            "",
        ),
    )
    return (
        f"CASE WHEN {_junk(_V, 200)} THEN NULL "
        f"WHEN regexp_matches({_V}, {_lit(has_abbrev)}) THEN {expanded} ELSE {_V} END"
    )


# Seniority levels, most specific first: a title is given the first level any of its keywords
# belongs to ("Senior VP" is vp, "Assistant Manager" manager, "Senior Director" director,
# "Assistant to the CEO" entry: 'entry-to' is the entry level, ranked first for that phrase).
_SENIORITY_LEVELS = ("entry-to", "vp", "c-level", "director", "manager", "senior", "entry")
_SENIORITY_KEYWORDS = {
    "entry-to": ("assistant to",),
    "vp": ("vp", "svp", "evp", "avp", "vice president", "vice-president"),
    "c-level": ("ceo", "cfo", "coo", "cto", "cio", "cmo", "cro", "cso", "cpo", "cdo", "ciso",
                "chief", "president", "co-founder", "cofounder", "founder"),
    "director": ("director", "dir", "head of"),
    "manager": ("manager", "mgr", "supervisor"),
    # ("lead" alone is left out: "Lead Generation Specialist" is not senior)
    "senior": ("senior", "sr", "principal", "team lead", "tech lead", "technical lead"),
    "entry": ("junior", "jr", "entry", "intern", "internship", "trainee", "apprentice",
              "graduate", "assistant", "associate"),
}  # fmt: skip
# Whole values that name a level without being a title.
_SENIORITY_WORDS = {
    "c-level": ("c-level", "c level", "clevel", "c-suite", "c suite", "cxo", "executive", "exec",
                "owner", "co-owner"),
    "entry": ("entry level", "entry-level"),
}  # fmt: skip


def _seniority() -> str:
    # One regular expression finds every keyword of the title (longer keywords first, so that
    # "assistant to" wins over "assistant" and "vice president" over "president"); each keyword
    # maps to its level's rank, and the smallest rank wins.
    keywords = sorted(
        ((kw, rank) for rank, lvl in enumerate(_SENIORITY_LEVELS, 1)
         for kw in _SENIORITY_KEYWORDS[lvl]),
        key=lambda item: -len(item[0]),
    )  # fmt: skip
    keyword_re = r"\b(?:" + "|".join(kw for kw, _ in keywords) + r")\b"
    rank = "MAP {" + ", ".join(f"{_lit(kw)}: {rank}" for kw, rank in keywords) + "}[lq_k]"
    levels = _list([lvl.replace("entry-to", "entry") for lvl in _SENIORITY_LEVELS])
    words = " ".join(
        f"WHEN lq_t.v IN {_in(ws)} THEN {_lit(lvl)}" for lvl, ws in _SENIORITY_WORDS.items()
    )
    lv = f"replace(lower({_V}), 'v.p.', 'vp')"
    return _let(
        f"{{'v': {lv}, 'k': regexp_extract_all({lv}, {_lit(keyword_re)})}}",
        "lq_t",
        f"CASE {words} ELSE "
        f"{levels}[list_min(list_transform(lq_t.k, lambda lq_k: {rank}))] END",
    )


def _text_norm() -> str:
    return _let(_squash(_TEXT), "lq_s", "CASE WHEN lq_s <> '' THEN lq_s END")


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def _n(name: str, output_type: str, description: str, body: str,
       examples: tuple[tuple[object, object], ...]) -> Normalizer:  # fmt: skip
    return Normalizer(name, output_type, description, _cast(body, output_type), examples)


NORMALIZERS: dict[str, Normalizer] = {
    n.name: n
    for n in (
        _n(
            "person_name",
            "VARCHAR",
            "trimmed, single-spaced, proper-cased name (O'Neil, Mary-Jane); no letters -> NULL",
            _person_name(),
            (
                ("  john   SMITH ", "John Smith"),
                ("o'neil", "O'Neil"),
                ("mary-jane", "Mary-Jane"),
                ("McDonald", "McDonald"),
                ("JOHN", "John"),
                ("o'NEIL", "O'Neil"),
                ("12345", None),
                ("", None),
                ("N/A", None),
                ("😀", None),
            ),
        ),
        _n(
            "email",
            "VARCHAR",
            "lower-case email address with a valid shape; plus-tags kept",
            _email(),
            (
                (" John.Doe+Leads@Example.COM ", "john.doe+leads@example.com"),
                ("mailto:a@b.io", "a@b.io"),
                ("john@", None),
                ("john..doe@x.com", None),
                ("no at sign", None),
                ("a@b", None),
                ("Jane@Sub.Example.co.uk", "jane@sub.example.co.uk"),
            ),
        ),
        _n(
            "phone",
            "VARCHAR",
            "E.164 phone number (+14155550100); US 10/11-digit numbers get +1; junk -> NULL",
            _phone(),
            (
                ("(415) 555-0100", "+14155550100"),
                ("1-415-555-0100 ext. 12", "+14155550100"),
                ("+44 20 7946 0958", "+442079460958"),
                (4155550100, "+14155550100"),
                (4155550100.0, "+14155550100"),
                ("415.555.0100 x123", "+14155550100"),
                ("14155550100", "+14155550100"),
                ("0044 20 7946 0958", "+442079460958"),
                ("+1 555 0100", None),
                ("2222222222", None),
                ("0000000000", None),
                ("555-0100", None),
                ("call me", None),
            ),
        ),
        _n(
            "street",
            "VARCHAR",
            "upper-case street line; USPS suffixes (ST, AVE, ...) and units (APT, STE)",
            _street(),
            (
                ("123 main street", "123 MAIN ST"),
                ("1 Court Street, Apartment 4", "1 COURT ST APT 4"),
                ("55  Park  Avenue  Suite 100.", "55 PARK AVE STE 100"),
                ("9 Sunset Boulevard", "9 SUNSET BLVD"),
                ("100 Main St.", "100 MAIN ST"),
                ("12 Elm Road Apt 3", "12 ELM RD APT 3"),
                ("", None),
            ),
        ),
        _n(
            "city",
            "VARCHAR",
            "trimmed, proper-cased city name",
            _city(),
            (
                ("  SAN   FRANCISCO ", "San Francisco"),
                ("st. louis", "St. Louis"),
                ("winston-salem", "Winston-Salem"),
                ("123", None),
            ),
        ),
        _n(
            "us_state",
            "VARCHAR",
            "two-letter USPS state code from a code or full name (incl. DC, PR, territories)",
            _us_state(),
            (
                ("ca", "CA"),
                ("California", "CA"),
                ("NEW YORK", "NY"),
                ("District of Columbia", "DC"),
                ("puerto rico", "PR"),
                ("N.Y.", "NY"),
                ("Washington, D.C.", "DC"),
                ("Calif.", "CA"),
                ("  tx ", "TX"),
                ("Narnia", None),
                ("XX", None),
            ),
        ),
        _n(
            "zip",
            "VARCHAR",
            "five-digit ZIP from ZIP or ZIP+4; 3-4 digit numbers regain their leading zeros",
            _zip(),
            (
                ("02134-1234", "02134"),
                (2134, "02134"),
                ("94105", "94105"),
                (94105, "94105"),
                ("941051234", "94105"),
                (2134.0, "02134"),
                ("2134-1234", "02134"),
                ("ABCDE", None),
                ("12", None),
                ("00000", None),
            ),
        ),
        _n(
            "date",
            "DATE",
            "date from DATE/TIMESTAMP or ISO, US m/d/Y, YYYYMMDD text; impossible -> NULL",
            _date(),
            (
                ("2024-01-05", date(2024, 1, 5)),
                ("1/5/2024", date(2024, 1, 5)),
                ("20240105", date(2024, 1, 5)),
                ("2024-01-05T10:30:00Z", date(2024, 1, 5)),
                (20240105, date(2024, 1, 5)),
                ("01-05-2024", date(2024, 1, 5)),
                (datetime(2024, 1, 5, 10, 30), date(2024, 1, 5)),
                ("0001-01-01", None),
                (date(1980, 2, 29), date(1980, 2, 29)),
                ("2023-02-30", None),
                ("13/01/2024", None),
                ("yesterday", None),
            ),
        ),
        _n(
            "age",
            "INTEGER",
            "age in whole years, 0-120",
            _age(),
            (
                ("34", 34),
                (34, 34),
                (34.7, 34),
                ("34 years", 34),
                ("-1", None),
                ("150", None),
                ("old", None),
            ),
        ),
        _n(
            "money",
            "DOUBLE",
            "USD amount >= 0 from numbers or text ($52,000, 52k, 1.2M); a range: its lower bound",
            _money(),
            (
                ("$52,000", 52000.0),
                ("52k", 52000.0),
                ("1.2M", 1200000.0),
                (75000, 75000.0),
                ("$50,000 - $74,999", 50000.0),
                ("50-75K", 50000.0),
                ("100k+", 100000.0),
                ("USD 52,000", 52000.0),
                (1e20, 1e20),
                ("-5", None),
                ("lots", None),
            ),
        ),
        _n(
            "fico",
            "INTEGER",
            "FICO score 300-850; a band (700-749, 800+) gives its lower bound",
            _fico(),
            (
                ("720", 720),
                (720, 720),
                (720.0, 720),
                ("700-749", 700),
                ("800+", 800),
                ("900", None),
                ("299", None),
                ("720.5", None),
            ),
        ),
        _n(
            "boolean",
            "BOOLEAN",
            "true/false from booleans, 1/0, y/n, yes/no, t/f, true/false",
            _boolean(),
            (
                ("Yes", True),
                ("n", False),
                (1, True),
                (0, False),
                (True, True),
                ("TRUE", True),
                ("F", False),
                ("0", False),
                (None, None),
                ("maybe", None),
            ),
        ),
        _n(
            "gender",
            "VARCHAR",
            "F, M or X from codes and words (female, man, nonbinary, ...)",
            _vocabulary(_GENDER_WORDS),
            (
                ("female", "F"),
                ("woman", "F"),
                ("M", "M"),
                ("Man", "M"),
                ("non-binary", "X"),
                ("unknown", None),
            ),
        ),
        _n(
            "marital_status",
            "VARCHAR",
            "single, married, divorced or widowed from codes (S/M/D/W) and words",
            _vocabulary(_MARITAL_WORDS),
            (
                ("M", "married"),
                ("Never Married", "single"),
                ("widow", "widowed"),
                ("D", "divorced"),
                ("separated", None),
            ),
        ),
        _n(
            "company_name",
            "VARCHAR",
            "company name without legal suffix (Inc, LLC, Ltd, Corp, Co, GmbH, PLC, S.A.)",
            _company_name(),
            (
                ("Acme, Inc.", "Acme"),
                ("  Globex   Corporation ", "Globex"),
                ("Initech LLC", "Initech"),
                ("Siemens GmbH", "Siemens"),
                ("Acme Co., Ltd.", "Acme"),
                ("eBay Inc", "eBay"),
                ("Acme S.A.", "Acme"),
                ("Acme L.L.C.", "Acme"),
                ("Johnson & Co.", "Johnson"),
                ("Limited", "Limited"),
                ("The Limited", "The Limited"),
                ("", None),
            ),
        ),
        _n(
            "domain",
            "VARCHAR",
            "lower-case web domain from a URL, email or bare domain",
            _domain(),
            (
                ("https://www.Acme.com/about?x=1", "acme.com"),
                ("jane@acme.co.uk", "acme.co.uk"),
                ("ACME.COM", "acme.com"),
                ("http://shop.acme.com:8080", "shop.acme.com"),
                ("mailto:jane@acme.com", "acme.com"),
                ("münchen.de", "münchen.de"),
                ("www.com", "www.com"),
                ("localhost", None),
                ("not a domain", None),
            ),
        ),
        _n(
            "url",
            "VARCHAR",
            "http(s) URL with lower-case scheme and host; https:// added when missing",
            _url(),
            (
                ("acme.com/About", "https://acme.com/About"),
                ("HTTP://WWW.Acme.com/", "http://www.acme.com"),
                ("https://acme.com/a?b=C", "https://acme.com/a?b=C"),
                ("https://user@acme.com", None),
                ("ftp://acme.com", None),
                ("javascript:alert(1)", None),
                ("", None),
            ),
        ),
        _n(
            "industry",
            "VARCHAR",
            "trimmed, proper-cased industry name; acronyms kept (IT, SaaS)",
            _label(),
            (
                ("  computer SOFTWARE ", "Computer Software"),
                ("banking and finance", "Banking and Finance"),
                ("saas", "SaaS"),
                ("e-commerce", "E-Commerce"),
                ("IT services", "IT Services"),
            ),
        ),
        _n(
            "count",
            "INTEGER",
            "whole count >= 0 from numbers or text (1,200; 5k); a range: its lower bound",
            _count(),
            (
                ("1,200", 1200),
                (250, 250),
                ("50-100", 50),
                ("10,001+", 10001),
                ("5k", 5000),
                ("501-1,000", 501),
                ("11-50 employees", 11),
                (12.7, 12),
                ("-3", None),
                ("many", None),
            ),
        ),
        _n(
            "title",
            "VARCHAR",
            "trimmed, single-spaced job title; VP, SVP, Sr, Jr, Mgr, Dir, Asst spelled out",
            _title(),
            (
                ("  VP  of Sales ", "Vice President of Sales"),
                ("Sr. Software Engineer", "Senior Software Engineer"),
                ("Marketing Mgr", "Marketing Manager"),
                ("Dir, Engineering", "Director, Engineering"),
                ("V.P. Marketing", "Vice President Marketing"),
                ("CEO", "CEO"),
                ("", None),
            ),
        ),
        _n(
            "seniority",
            "VARCHAR",
            "entry, senior, manager, director, vp or c-level, from a title or a seniority word",
            _seniority(),
            (
                ("Chief Executive Officer", "c-level"),
                ("CEO", "c-level"),
                ("SVP Sales", "vp"),
                ("Senior Director of Marketing", "director"),
                ("Sales Manager", "manager"),
                ("Sr. Software Engineer", "senior"),
                ("Marketing Intern", "entry"),
                ("Director", "director"),
                ("Assistant to the CEO", "entry"),
                ("Executive", "c-level"),
                ("Vice President, Sales", "vp"),
                ("Head of Growth", "director"),
                ("co-founder", "c-level"),
                ("Software Engineer", None),
            ),
        ),
        _n(
            "department",
            "VARCHAR",
            "trimmed, proper-cased department; acronyms kept (IT, HR)",
            _label(),
            (
                ("  human resources", "Human Resources"),
                ("IT", "IT"),
                ("SALES", "Sales"),
                ("hr", "HR"),
                ("research and development", "Research and Development"),
            ),
        ),
        _n(
            "text",
            "VARCHAR",
            "trimmed text with whitespace runs collapsed; empty -> NULL",
            _text_norm(),
            (
                ("  hello \t  world ", "hello world"),
                ("", None),
                ("   ", None),
                (42, "42"),
            ),
        ),
    )
}


def macro_name(name: str) -> str:
    """The DuckDB macro of a normaliser: `leadql_norm_<name>`."""
    return MACRO_PREFIX + name


def _install_sql() -> str:
    return "\n".join(
        f"CREATE OR REPLACE TEMP MACRO {macro_name(n.name)}(x) AS ({n.macro_sql});"
        for n in NORMALIZERS.values()
    )


_INSTALL_SQL = _install_sql()


def install(con) -> None:
    """Create (or replace) every normaliser macro on a DuckDB connection. Idempotent."""
    con.execute(_INSTALL_SQL)


def call_sql(name: str, expr_sql: str) -> str:
    """SQL applying normaliser `name` to the SQL expression `expr_sql`."""
    if name not in NORMALIZERS:
        lowered = name.lower()
        if lowered not in NORMALIZERS:
            raise LeadQLNameError(
                f"unknown normaliser `{name}`",
                hint=did_you_mean(name, NORMALIZERS)
                or "known normalisers: " + ", ".join(sorted(NORMALIZERS)),
            )
        name = lowered
    return f"{macro_name(name)}({expr_sql})"
