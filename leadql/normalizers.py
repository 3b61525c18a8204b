"""Value normalisers of LeadQL's canonical categories, as DuckDB SQL macros.

When a vendor's file is read, every mapped column goes through its category's normaliser
(`stdlib/categories.lql`: `NORMALIZE WITH email`, ...). Normalisers are plain DuckDB macros over a
parameter `x`, so they run vectorised inside DuckDB: no Python UDFs and no extensions, only core
functions of the wheel.

Contract of every macro:

* it accepts a value of any type (VARCHAR, numbers, DATE, TIMESTAMP, BOOLEAN, NULL): the value is
  first turned into text with `TRY_CAST(x AS VARCHAR)` and parsed from there;
* it returns a value of `output_type`, or NULL when the input cannot be normalised; it never
  raises (TRY_CAST, try_strptime, regular-expression checks and CASE guard every conversion);
* "whitespace" includes tabs, new lines, non-breaking and other Unicode spaces.

How the SQL is built: DuckDB has no `LET`, and it does not share common sub-expressions inside
CASE branches, so a cleaned value used in several places would be recomputed at every use. The
helper `_let(value, name, body)` binds a value once per row through a one-element list:
`list_transform([value], lambda name: body)[1]`. `x` itself is only referenced outside every
lambda, so a source column named like a lambda variable cannot be captured by mistake (all lambda
variables are prefixed `lq_`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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

# Runs of whitespace, Unicode spaces (\p{Z}: NBSP, thin space, ...), zero-width space and BOM.
_WS = r"[\s\p{Z}\x{200B}\x{FEFF}]+"
# Text that needs squashing: leading or trailing whitespace, two spaces in a row, or any
# whitespace other than the plain space. Testing for it first is much cheaper than replacing.
_NEEDS_SQUASH = (
    r"^[\s\p{Z}\x{200B}\x{FEFF}]|[\s\p{Z}\x{200B}\x{FEFF}]$|  |"
    r"[\t\n\v\f\r\x{85}\x{A0}\x{1680}\x{2000}-\x{200B}\x{2028}\x{2029}\x{202F}\x{205F}"
    r"\x{3000}\x{FEFF}]"
)

# Placeholders vendors write for "no value"; a text value equal to one of them becomes NULL.
# ('na' is left out on purpose: Na is a family name.)
_NULL_TOKENS = ("null", "none", "nil", "n/a", "#n/a", "nan", "unknown", "undefined", "-", "--", "?")

# Letters of any script. DuckDB compiles the regular expressions inside a lambda again for
# every chunk of rows, and \p{L} / \p{N} are expensive to compile (they cost seconds per million
# rows), so "a letter" is approximated with cheap ranges: an ASCII letter, or a non-ASCII
# character outside the Latin-1 symbols, punctuation, symbol, emoji and variation-selector blocks.
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


def _join(items: str, sep: str) -> str:
    # list_aggr(.., 'string_agg', ..) joins a list; it is about twice as fast as array_to_string
    # inside a lambda. (NULL for an empty list: callers only join lists of a non-empty string.)
    return f"list_aggr({items}, 'string_agg', {_lit(sep)})"


def _let(value: str, var: str, body: str) -> str:
    """`body` with `var` bound to `value`, evaluated once per row (see the module docstring)."""
    return f"list_transform([{value}], lambda {var}: {body})[1]"


def _text(v: str) -> str:
    """Any value as text: NULL when it has no text form."""
    return f"TRY_CAST({v} AS VARCHAR)"


def _squash(v: str) -> str:
    """Collapse whitespace runs to one space and trim (`v` is evaluated up to twice)."""
    return (
        f"CASE WHEN regexp_matches({v}, {_lit(_NEEDS_SQUASH)}) "
        f"THEN trim(regexp_replace({v}, {_lit(_WS)}, ' ', 'g')) ELSE {v} END"
    )


def _undot(v: str) -> str:
    # A number that came in as DOUBLE prints as '4155550100.0' / '2134.0': drop the '.0'.
    return (
        f"CASE WHEN regexp_matches({v}, '^\\+?[0-9]+\\.0+$') THEN split_part({v}, '.', 1) "
        f"ELSE {v} END"
    )


def _is_null_token(v: str) -> str:
    return f"(lower({v}) IN {_in(_NULL_TOKENS)})"


def _body(var: str, body: str, *, squash: bool = True) -> str:
    """Bind `var` to the (squashed) text of `x`, then evaluate `body`."""
    value = _squash(_text("x")) if squash else _text("x")
    return _let(value, var, body)


def _keeps_own_case(w: str) -> str:
    # A word already written with deliberate inner capitals ("McDonald", "DeShawn", "SaaS") is
    # kept: it starts upper-case, has a lower-case letter and an upper-case letter after the first.
    return (
        f"({w} <> upper({w}) AND {w} <> lower({w}) AND left({w}, 1) = upper(left({w}, 1)) "
        f"AND substr({w}, 2) <> lower(substr({w}, 2)))"
    )


def _proper(s: str, seps: str, *, acronyms: dict[str, str] | None = None,
            small_words: tuple[str, ...] = ()) -> str:  # fmt: skip
    """Proper-case `s` (already squashed): upper-case the first letter of every word, lower-case
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
            rules.append(
                f"WHEN upper({w}) IN {_in(list(acronyms))} THEN CASE upper({w}) "
                + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in acronyms.items())
                + " END"
            )
        if small_words:
            rules.append(f"WHEN NOT ({first}) AND lower({w}) IN {_in(small_words)} THEN lower({w})")
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


def _cap(w: str) -> str:
    """Upper-case the first character, lower-case the rest."""
    return f"upper(left({w}, 1)) || lower(substr({w}, 2))"


def _cast(body: str, output_type: str) -> str:
    return f"CAST(({body}) AS {output_type})"


# Characters after which a new part of a word starts. Names: hyphen, apostrophes, period,
# parenthesis ("O'Neil", "Mary-Jane", "J.R."). Labels: hyphen, slash, parenthesis, "&".
_NAME_SEPS = r"\-'’.("
_LABEL_SEPS = r"\-/(&"

_LABEL_ACRONYMS = {
    "IT": "IT", "HR": "HR", "PR": "PR", "QA": "QA", "AI": "AI", "ML": "ML", "UX": "UX",
    "UI": "UI", "B2B": "B2B", "B2C": "B2C", "CRM": "CRM", "ERP": "ERP",
    "SAAS": "SaaS", "IOT": "IoT", "US": "US", "USA": "USA", "EMEA": "EMEA", "APAC": "APAC",
    "BI": "BI", "IP": "IP", "PC": "PC", "TV": "TV", "HVAC": "HVAC",
}  # fmt: skip
_SMALL_WORDS = ("and", "of", "the", "for", "in", "on")


# ---- number parsing shared by money, count, age ----------------------------------------------

_MULTIPLIER_SQL = (
    "CASE {sfx} WHEN 'K' THEN 1e3 WHEN 'M' THEN 1e6 WHEN 'MM' THEN 1e6 WHEN 'MN' THEN 1e6 "
    "WHEN 'B' THEN 1e9 WHEN 'BN' THEN 1e9 ELSE 1 END"
)
_NUM = r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
_SFX = r"(K|MM|MN|M|BN|B)?"
# "52000", "52K", "1.2M", "150000+", "50-75K", "50K TO 75K", "1E+20" (after compact_amount).
_AMOUNT_RE = rf"^{_NUM}{_SFX}(?:\+|(?:-|–|TO){_NUM}{_SFX})?$"
# A plain number (the common case, cast directly), possibly in scientific notation ("1E+20").
_PLAIN_NUMBER_RE = r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[+-]?[0-9]+)?$"


def _amount(s: str, *, suffixes: bool = True) -> str:
    """Lower bound of an amount written as text, as DOUBLE (NULL when it is not one).

    Accepts thousands separators, '$' and 'USD', K/M/MM/B suffixes, a trailing '+' ("100K+" is
    100000) and ranges, which give their lower bound ("50-75K" is 50000: the suffix of the upper
    end applies to a bare lower end). Negative amounts and anything else give NULL.
    """
    compact = f"replace(replace({s}, ',', ''), ' ', '')"
    if suffixes:
        compact = f"replace(replace(upper({compact}), 'USD', ''), '$', '')"
    sfx_lo = "lq_m.lo_sfx" if suffixes else "''"
    sfx_hi = "lq_m.hi_sfx" if suffixes else "''"
    amount_re = _AMOUNT_RE if suffixes else rf"^{_NUM}(?:\+|(?:-|–|TO){_NUM})?$"
    groups = "['lo', 'lo_sfx', 'hi', 'hi_sfx']" if suffixes else "['lo', 'hi']"
    lower_bound = _let(
        f"regexp_extract(lq_a, {_lit(amount_re)}, {groups})",
        "lq_m",
        "TRY_CAST(lq_m.lo AS DOUBLE) * "
        + _MULTIPLIER_SQL.format(
            sfx=f"CASE WHEN {sfx_lo} = '' AND lq_m.hi <> '' THEN {sfx_hi} ELSE {sfx_lo} END"
        ),
    )
    return _let(
        compact,
        "lq_a",
        f"CASE WHEN regexp_matches(lq_a, {_lit(_PLAIN_NUMBER_RE)}) THEN TRY_CAST(lq_a AS DOUBLE) "
        f"WHEN regexp_matches(lq_a, {_lit(amount_re)}) THEN {lower_bound} END",
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
    return _body(
        "lq_s",
        f"CASE WHEN lq_s = '' OR {_is_null_token('lq_s')} OR length(lq_s) > 100 "
        f"OR NOT regexp_matches(lq_s, {_lit(_LETTER)}) THEN NULL "
        f"ELSE {_proper('lq_s', _NAME_SEPS)} END",
    )


_EMAIL_RE = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"  # local part, no '..'
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+"  # host labels
    r"([a-z]{2,63}|xn--[a-z0-9-]{1,59})$"  # top-level domain
)


def _email() -> str:
    # 'mailto:' is dropped; the RFC's 254/64 length limits apply.
    return _body(
        "lq_s",
        _let(
            "regexp_replace(lower(lq_s), '^mailto:', '')",
            "lq_e",
            f"CASE WHEN length(lq_e) <= 254 AND length(split_part(lq_e, '@', 1)) <= 64 "
            f"AND regexp_matches(lq_e, {_lit(_EMAIL_RE)}) THEN lq_e END",
        ),
    )


def _same_digit(d: str) -> str:
    """TRUE when every character of `d` is the same digit (0000000000, 2222222222)."""
    return f"(replace({d}, left({d}, 1), '') = '')"


def _nanp(d: str) -> str:
    # A North American number: area code and exchange start with 2-9, and not one repeated digit.
    return f"(regexp_matches({d}, '^[2-9][0-9]{{2}}[2-9][0-9]{{6}}$') AND NOT {_same_digit(d)})"


def _phone() -> str:
    # Extensions ("x12", "ext. 12", "#12") are dropped; only digits and the usual punctuation
    # may remain (letters, e.g. vanity numbers, give NULL).
    no_ext = (
        "CASE WHEN regexp_matches(lq_s, '[A-Za-z#]') THEN "
        "regexp_replace(lq_s, '(?i)\\s*(?:ext\\.?|extension|x|#)\\s*[0-9]{1,6}$', '') "
        f"ELSE {_undot('lq_s')} END"
    )
    # lq_p holds only digits and the characters deleted here (checked below)
    digits = _let(
        "translate(lq_p, '+().-/ ', '')",
        "lq_d",
        "CASE "
        # +1 must be a full North American number
        f"WHEN starts_with(lq_p, '+') AND starts_with(lq_d, '1') THEN "
        f"CASE WHEN length(lq_d) = 11 AND {_nanp('substr(lq_d, 2)')} THEN '+' || lq_d END "
        # other international numbers are kept: 8-15 digits, country code not 0, the last seven
        # digits not all the same
        "WHEN starts_with(lq_p, '+') THEN "
        "CASE WHEN length(lq_d) BETWEEN 8 AND 15 AND NOT starts_with(lq_d, '0') "
        f"AND NOT {_same_digit('right(lq_d, 7)')} THEN '+' || lq_d END "
        f"WHEN length(lq_d) = 10 AND {_nanp('lq_d')} THEN '+1' || lq_d "
        f"WHEN length(lq_d) = 11 AND starts_with(lq_d, '1') AND {_nanp('substr(lq_d, 2)')} "
        "THEN '+' || lq_d END",
    )
    return _body(
        "lq_s",
        _let(
            no_ext,
            "lq_p",
            "CASE WHEN length(lq_p) <= 40 AND regexp_matches(lq_p, '^\\+?[0-9().\\-/ ]+$') "
            f"THEN {digits} END",
        ),
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
    # Periods are dropped unless they sit before a digit ("101.5"), commas become spaces: USPS
    # addresses carry no punctuation. Then word by word: a unit word is always abbreviated, a
    # suffix word only when it ends the line or a unit ("#4", "APT 4") or a post-directional
    # follows it ("1 COURT STREET" -> "1 COURT ST", not "1 CT ST").
    s = "upper(lq_s)"
    s = (
        f"CASE WHEN contains({s}, '.') THEN regexp_replace({s}, '\\.([^0-9]|$)', '\\1', 'g') "
        f"ELSE {s} END"
    )
    # ", " and "," become one space (and " ," too), without leaving double spaces
    s = f"trim(replace(replace(replace({s}, ' ,', ','), ', ', ','), ',', ' '))"
    units = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in _STREET_UNITS.items())
    suffixes = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in _STREET_SUFFIXES.items())
    words = _let(
        f"string_split({s}, ' ')",
        "lq_ws",
        "list_aggr(list_transform(lq_ws, lambda lq_w, lq_i: CASE "
        f"WHEN lq_w IN {_in(list(_STREET_UNITS))} THEN CASE lq_w {units} END "
        f"WHEN lq_w IN {_in(list(_STREET_SUFFIXES))} AND (lq_i = len(lq_ws) "
        f"OR lq_ws[lq_i + 1] IN {_in(_AFTER_SUFFIX)} OR starts_with(lq_ws[lq_i + 1], '#')) "
        f"THEN CASE lq_w {suffixes} END "
        "ELSE lq_w END), 'string_agg', ' ')",
    )
    s = f"regexp_replace({words}, '[\\s.,;:#\\-/]+$', '')"  # trailing punctuation
    return _body(
        "lq_s",
        f"CASE WHEN {_is_null_token('lq_s')} OR length(lq_s) > 200 "
        f"OR NOT regexp_matches(lq_s, {_lit(_ALNUM)}) THEN NULL ELSE {s} END",
    )


def _city() -> str:
    return _body(
        "lq_s",
        f"CASE WHEN lq_s = '' OR {_is_null_token('lq_s')} OR length(lq_s) > 100 "
        f"OR NOT regexp_matches(lq_s, {_lit(_LETTER)}) THEN NULL "
        f"ELSE {_proper('lq_s', _NAME_SEPS)} END",
    )


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


def _us_state() -> str:
    # Periods and commas are dropped first: "N.Y." -> "NY", "Washington, D.C." -> "WASHINGTON DC".
    names = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in _US_STATES.items())
    return _body(
        "lq_s",
        _let(
            "trim(regexp_replace(upper(regexp_replace(lq_s, '[.,]', '', 'g')), ' +', ' ', 'g'))",
            "lq_k",
            f"CASE WHEN lq_k IN {_in(_US_STATE_CODES)} THEN lq_k "
            f"ELSE CASE lq_k {names} END END",
        ),
    )


def _zip() -> str:
    # ZIP or ZIP+4 ("02134", "02134-1234", "021341234"); a numeric ZIP that lost its leading
    # zeros has 3-4 digits (2134 -> 02134) or, as ZIP+4, 8 digits (21341234 -> 02134).
    # 00000 is not a ZIP.
    return _body(
        "lq_s",
        _let(
            _undot("lq_s"),
            "lq_z",
            _let(
                "CASE "
                "WHEN regexp_matches(lq_z, '^[0-9]{5}(?:[- ]?[0-9]{4})?$') THEN left(lq_z, 5) "
                "WHEN regexp_matches(lq_z, '^[0-9]{3,4}$') THEN lpad(lq_z, 5, '0') "
                "WHEN regexp_matches(lq_z, '^[0-9]{8}$') THEN left(lpad(lq_z, 9, '0'), 5) END",
                "lq_r",
                "CASE WHEN lq_r <> '00000' THEN lq_r END",
            ),
        ),
    )


def _date() -> str:
    # Shapes accepted (anything after the date must start with a space or 'T', i.e. a time):
    #   ISO 2024-01-05 / 2024/01/05 (and DATE, TIMESTAMP values, which print as ISO),
    #   US 1/5/2024 or 01-05-2024 (month first), compact 20240105.
    # Two-digit years and day-first dates are ambiguous and give NULL. try_strptime returns NULL
    # for impossible dates (2023-02-30); years outside 1800-2199 are treated as junk.
    parsed = (
        "CASE "
        "WHEN regexp_matches(lq_s, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ].*)?$') THEN "
        "try_strptime(regexp_extract(lq_s, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}'), '%Y-%m-%d') "
        "WHEN regexp_matches(lq_s, '^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}(?:[T ].*)?$') THEN "
        "try_strptime(regexp_extract(lq_s, '^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}'), '%Y/%m/%d') "
        "WHEN regexp_matches(lq_s, '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}(?: .*)?$') THEN "
        "try_strptime(regexp_extract(lq_s, '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}'), '%m/%d/%Y') "
        "WHEN regexp_matches(lq_s, '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}(?: .*)?$') THEN "
        "try_strptime(regexp_extract(lq_s, '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}'), '%m-%d-%Y') "
        f"WHEN regexp_matches({_undot('lq_s')}, '^[0-9]{{8}}$') THEN "
        f"try_strptime({_undot('lq_s')}, '%Y%m%d') END"
    )
    return _body(
        "lq_s",
        _let(
            f"CAST(({parsed}) AS DATE)",
            "lq_d",
            "CASE WHEN year(lq_d) BETWEEN 1800 AND 2199 THEN lq_d END",
        ),
    )


def _age() -> str:
    # "34", 34, 34.0, "34 years", "34 yrs old"; fractional ages round down (34.7 -> 34).
    value = _let(
        "regexp_replace(lower(lq_s), '\\s*(?:years?|yrs?|y/?o|y)(?:\\s*old)?$', '')",
        "lq_a",
        "CASE WHEN regexp_matches(lq_a, '^\\+?[0-9]{1,3}(?:\\.[0-9]+)?$') "
        "THEN floor(TRY_CAST(lq_a AS DOUBLE)) END",
    )
    return _body("lq_s", _let(value, "lq_v", "CASE WHEN lq_v BETWEEN 0 AND 120 THEN lq_v END"))


def _money() -> str:
    return _body("lq_s", _let(_amount("lq_s"), "lq_v", f"CASE WHEN {_finite('lq_v', '0')} THEN lq_v END"))


def _fico() -> str:
    # Whole scores only; a band such as "700-749" or "800+" gives its lower bound.
    return _body(
        "lq_s",
        _let(
            _amount("lq_s", suffixes=False),
            "lq_v",
            f"CASE WHEN {_finite('lq_v', '300', '850')} AND lq_v = floor(lq_v) THEN lq_v END",
        ),
    )


_TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
_FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")


def _boolean() -> str:
    return _body(
        "lq_s",
        _let(
            "lower(lq_s)",
            "lq_b",
            f"CASE WHEN lq_b IN {_in(_TRUE_WORDS)} THEN true "
            f"WHEN lq_b IN {_in(_FALSE_WORDS)} THEN false END",
        ),
    )


_GENDER_WORDS = {
    "F": ("f", "female", "woman", "women", "fem", "girl"),
    "M": ("m", "male", "man", "men", "boy"),
    "X": ("x", "nonbinary", "non-binary", "non binary", "nb", "enby", "genderqueer",
          "gender non-conforming", "agender"),
}  # fmt: skip


def _gender() -> str:
    cases = " ".join(f"WHEN lq_g IN {_in(words)} THEN '{code}'" for code, words in _GENDER_WORDS.items())
    return _body("lq_s", _let("lower(lq_s)", "lq_g", f"CASE {cases} END"))


# 'separated' is left out on purpose: separated people are still married, and guessing would be
# wrong either way.
_MARITAL_WORDS = {
    "single": ("s", "single", "never married", "unmarried", "not married"),
    "married": ("m", "married", "wed", "spouse", "domestic partner", "civil union"),
    "divorced": ("d", "divorced", "div"),
    "widowed": ("w", "widowed", "widow", "widower", "wid"),
}


def _marital_status() -> str:
    cases = " ".join(f"WHEN lq_m IN {_in(words)} THEN '{code}'" for code, words in _MARITAL_WORDS.items())
    return _body("lq_s", _let("lower(lq_s)", "lq_m", f"CASE {cases} END"))


# A legal-form suffix at the end, after a space or comma (case-insensitive).
_LEGAL_SUFFIX_RE = (
    r"[\s,]+(?:inc\.?|incorporated|llc\.?|l\.l\.c\.?|ltd\.?|limited|corp\.?|corporation|co\.?|"
    r"gmbh|plc|s\.a\.?)$"
)


def _company_name() -> str:
    # The suffix rule runs twice for names like "Acme Co., Ltd."; then trailing punctuation goes
    # ("Johnson & Co." -> "Johnson"). A name that is only a suffix ("Limited") is kept.
    strip_once = "regexp_replace({v}, " + _lit(_LEGAL_SUFFIX_RE) + ", '', 'i')"
    s = strip_once.format(v=strip_once.format(v="lq_s"))
    s = f"trim(regexp_replace({s}, '[\\s.,;:&\\-]+$', ''))"
    return _body(
        "lq_s",
        _let(
            f"CASE WHEN {_is_null_token('lq_s')} OR length(lq_s) > 200 THEN NULL ELSE {s} END",
            "lq_c",
            f"CASE WHEN regexp_matches(lq_c, {_lit(_ALNUM)}) THEN lq_c END",
        ),
    )


# A host name: dot-separated labels of letters (any script), digits and inner hyphens, ending in
# a top-level domain of two or more letters or a punycode one. (Counted repetitions such as
# {0,61} over large classes make RE2 slow, so label lengths are not checked; the whole name is
# limited to 253 characters.)
_LABEL = rf"[a-z0-9{_INTL}](?:[a-z0-9{_INTL}-]*[a-z0-9{_INTL}])?"
_HOST_RE = rf"^(?:{_LABEL}\.)+(?:[a-z{_INTL}][a-z{_INTL}]+|xn--[a-z0-9-]+)$"


_SCHEME_RE = r"^[A-Za-z][A-Za-z0-9+.\-]*://"


def _domain() -> str:
    # Steps: drop a scheme; keep the authority (up to the first '/', '?' or '#'); keep what
    # follows the last '@' (an email's local part or URL user-info goes); drop a port and a
    # trailing dot; drop a leading 'www.' when a dot remains ("www.com" stays). Internationalised
    # domains (münchen.de) are accepted. (Regular expressions here avoid capture groups: RE2
    # extracts whole matches several times faster than sub-matches.)
    no_scheme = (
        f"CASE WHEN regexp_matches(lower(lq_s), {_lit(_SCHEME_RE)}) "
        "THEN substr(lower(lq_s), strpos(lq_s, '://') + 3) ELSE lower(lq_s) END"
    )
    host = f"rtrim(split_part(string_split(regexp_extract({no_scheme}, '^[^/?#]*'), '@')[-1], ':', 1), '.')"
    return _body(
        "lq_s",
        _let(
            host,
            "lq_h",
            _let(
                "CASE WHEN starts_with(lq_h, 'www.') AND contains(substr(lq_h, 5), '.') "
                "THEN substr(lq_h, 5) ELSE lq_h END",
                "lq_d",
                f"CASE WHEN length(lq_d) <= 253 AND regexp_matches(lq_d, {_lit(_HOST_RE)}) "
                "THEN lq_d END",
            ),
        ),
    )


_URL_HOST_RE = _HOST_RE[:-1] + r"(?::[0-9]{1,5})?$"


def _url() -> str:
    # No scheme -> https:// is added; a scheme other than http(s) gives NULL, so do user-info
    # ("user@host"), spaces and hosts that are not domain names. Scheme and host are
    # lower-cased, the path is kept; a bare trailing '/' is dropped.
    with_scheme = (
        f"CASE WHEN regexp_matches(lq_s, {_lit(_SCHEME_RE)}) THEN lq_s ELSE 'https://' || lq_s END"
    )
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
    return _body(
        "lq_s",
        _let(
            with_scheme,
            "lq_u",
            "CASE WHEN lq_s <> '' AND length(lq_s) <= 2048 AND NOT contains(lq_s, ' ') "
            "AND (starts_with(lower(lq_u), 'http://') OR starts_with(lower(lq_u), 'https://')) "
            f"THEN lower(left(lq_u, strpos(lq_u, '://') + 2)) || {after_scheme} END",
        ),
    )


def _label() -> str:
    """Industry and department: proper case, known acronyms kept, small words lower-case."""
    return _body(
        "lq_s",
        f"CASE WHEN lq_s = '' OR {_is_null_token('lq_s')} OR length(lq_s) > 200 "
        f"OR NOT regexp_matches(lq_s, {_lit(_LETTER)}) THEN NULL "
        f"ELSE {_proper('lq_s', _LABEL_SEPS, acronyms=_LABEL_ACRONYMS, small_words=_SMALL_WORDS)} END",
    )


def _count() -> str:
    # Whole non-negative counts: "1,200" -> 1200, "5k" -> 5000, 12.0 -> 12; a range or band gives
    # its lower bound ("50-100" -> 50, "10,001+" -> 10001), like money, so that
    # `WHERE employees >= n` never over-claims. Fractions round down; beyond INTEGER -> NULL.
    return _body(
        "lq_s",
        _let(
            _amount("lq_s"),
            "lq_v",
            f"CASE WHEN {_finite('lq_v', '0', '2147483647')} THEN floor(lq_v) END",
        ),
    )


# Expanded as whole words, any case; a period right after one goes with it ("Sr." -> "Senior").
_TITLE_ABBREVIATIONS = {
    "svp": "Senior Vice President", "evp": "Executive Vice President",
    "avp": "Assistant Vice President", "vp": "Vice President", "sr": "Senior", "jr": "Junior",
    "mgr": "Manager", "dir": "Director", "asst": "Assistant",
}  # fmt: skip


def _title() -> str:
    # Only titles holding an abbreviation are rewritten. "V.P." first becomes "VP"; then the
    # title is cut into runs of letters/digits and runs of other characters, and word runs that
    # are abbreviations are replaced.
    abbrevs = _in(list(_TITLE_ABBREVIATIONS))
    spelled = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in _TITLE_ABBREVIATIONS.items())
    has_abbrev = r"(?i)\b(?:v\.\s?p\.|" + "|".join(_TITLE_ABBREVIATIONS) + r")\b"
    expanded = _let(
        "regexp_extract_all(regexp_replace(lq_s, '(?i)\\bv\\.\\s?p\\.', 'VP', 'g'), "
        f"{_lit(f'{_ALNUM}+|[^{_ALNUM[1:-1]}]+')})",
        "lq_ts",
        "list_aggr(list_transform(lq_ts, lambda lq_t, lq_i: CASE "
        f"WHEN lower(lq_t) IN {abbrevs} THEN CASE lower(lq_t) {spelled} END "
        f"WHEN starts_with(lq_t, '.') AND lq_i > 1 AND lower(lq_ts[lq_i - 1]) IN {abbrevs} "
        "THEN CASE WHEN lq_t = '.' AND lq_i < len(lq_ts) THEN ' ' ELSE substr(lq_t, 2) END "
        "ELSE lq_t END), 'string_agg', '')",
    )
    return _body(
        "lq_s",
        f"CASE WHEN lq_s = '' OR {_is_null_token('lq_s')} OR length(lq_s) > 200 "
        f"OR NOT regexp_matches(lq_s, {_lit(_LETTER)}) THEN NULL "
        f"WHEN regexp_matches(lq_s, {_lit(has_abbrev)}) THEN {expanded} ELSE lq_s END",
    )


# Seniority from a title, tested in this order (first hit wins), all whole-word and on the
# lower-cased value: "Senior VP" is vp, "Assistant Manager" manager, "Senior Director" director.
_SENIORITY_RULES = (
    # the category's own words and common synonyms, as the whole value
    ("c-level", r"^(?:c-level|c level|clevel|c-suite|c suite|cxo|executive|exec|owner|co-owner)$"),
    ("vp", r"^(?:vp|vice president)$"),
    ("entry", r"^(?:entry|entry level|entry-level|junior|jr)$"),
    ("senior", r"^(?:senior|sr)$"),
    ("manager", r"^(?:manager|mgr)$"),
    ("director", r"^(?:director|dir)$"),
    # titles
    ("entry", r"\bassistant to\b"),  # "Assistant to the CEO" is not c-level
    ("vp", r"\b(?:vp|svp|evp|avp|v\.p\.|vice[ -]president)\b"),
    ("c-level", r"\b(?:ceo|cfo|coo|cto|cio|cmo|cro|cso|cpo|cdo|ciso|chief|president|founder|"
                r"co-founder|cofounder)\b"),
    ("director", r"\b(?:director|dir|head of)\b"),
    ("manager", r"\b(?:manager|mgr|supervisor)\b"),
    ("senior", r"\b(?:senior|sr|principal|lead)\b"),
    ("entry", r"\b(?:junior|jr|entry|intern|internship|trainee|apprentice|graduate|assistant|"
              r"associate)\b"),
)  # fmt: skip


def _seniority() -> str:
    cases = " ".join(
        f"WHEN regexp_matches(lq_t, {_lit(pattern)}) THEN '{level}'"
        for level, pattern in _SENIORITY_RULES
    )
    return _body("lq_s", _let("lower(lq_s)", "lq_t", f"CASE {cases} END"))


def _text_norm() -> str:
    return _body("lq_s", "CASE WHEN lq_s <> '' THEN lq_s END")


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def _n(name: str, output_type: str, description: str, body: str,
       examples: tuple[tuple[object, object], ...]) -> Normalizer:  # fmt: skip
    return Normalizer(name, output_type, description, _cast(body, output_type), examples)


NORMALIZERS: dict[str, Normalizer] = {
    n.name: n
    for n in (
        _n("person_name", "VARCHAR",
           "trimmed, single-spaced, proper-cased name (O'Neil, Mary-Jane); no letters -> NULL",
           _person_name(),
           (("  john   SMITH ", "John Smith"), ("o'neil", "O'Neil"), ("mary-jane", "Mary-Jane"),
            ("McDonald", "McDonald"), ("12345", None), ("", None), ("N/A", None))),
        _n("email", "VARCHAR", "lower-case email address with a valid shape; plus-tags kept",
           _email(),
           ((" John.Doe+Leads@Example.COM ", "john.doe+leads@example.com"),
            ("mailto:a@b.io", "a@b.io"), ("john@", None), ("john..doe@x.com", None),
            ("no at sign", None), ("a@b", None))),
        _n("phone", "VARCHAR",
           "E.164 phone number (+14155550100); US 10/11-digit numbers get +1; junk -> NULL",
           _phone(),
           (("(415) 555-0100", "+14155550100"), ("1-415-555-0100 ext. 12", "+14155550100"),
            ("+44 20 7946 0958", "+442079460958"), (4155550100, "+14155550100"),
            ("0000000000", None), ("555-0100", None), ("call me", None))),
        _n("street", "VARCHAR",
           "upper-case street line with USPS suffix (ST, AVE, ...) and unit (APT, STE) abbreviations",
           _street(),
           (("123 main street", "123 MAIN ST"), ("1 Court Street, Apartment 4", "1 COURT ST APT 4"),
            ("55  Park  Avenue  Suite 100.", "55 PARK AVE STE 100"),
            ("9 Sunset Boulevard", "9 SUNSET BLVD"), ("", None))),
        _n("city", "VARCHAR", "trimmed, proper-cased city name", _city(),
           (("  SAN   FRANCISCO ", "San Francisco"), ("st. louis", "St. Louis"),
            ("winston-salem", "Winston-Salem"), ("123", None))),
        _n("us_state", "VARCHAR",
           "two-letter USPS state code from a code or full name (incl. DC, PR, territories)",
           _us_state(),
           (("ca", "CA"), ("California", "CA"), ("NEW YORK", "NY"), ("District of Columbia", "DC"),
            ("puerto rico", "PR"), ("N.Y.", "NY"), ("Narnia", None), ("XX", None))),
        _n("zip", "VARCHAR",
           "five-digit ZIP from ZIP or ZIP+4; 3-4 digit numbers regain their leading zeros",
           _zip(),
           (("02134-1234", "02134"), (2134, "02134"), ("94105", "94105"), (94105, "94105"),
            ("941051234", "94105"), ("ABCDE", None), ("12", None), ("00000", None))),
        _n("date", "DATE",
           "calendar date from DATE/TIMESTAMP or ISO, US m/d/Y or YYYYMMDD text; impossible -> NULL",
           _date(),
           (("2024-01-05", date(2024, 1, 5)), ("1/5/2024", date(2024, 1, 5)),
            ("20240105", date(2024, 1, 5)), ("2024-01-05T10:30:00Z", date(2024, 1, 5)),
            (date(1980, 2, 29), date(1980, 2, 29)), ("2023-02-30", None), ("13/01/2024", None),
            ("yesterday", None))),
        _n("age", "INTEGER", "age in whole years, 0-120", _age(),
           (("34", 34), (34, 34), (34.7, 34), ("34 years", 34), ("-1", None), ("150", None),
            ("old", None))),
        _n("money", "DOUBLE",
           "non-negative USD amount from numbers or text ($52,000, 52k, 1.2M); a range gives its lower bound",
           _money(),
           (("$52,000", 52000.0), ("52k", 52000.0), ("1.2M", 1200000.0), (75000, 75000.0),
            ("$50,000 - $74,999", 50000.0), ("50-75K", 50000.0), ("100k+", 100000.0),
            ("-5", None), ("lots", None))),
        _n("fico", "INTEGER", "FICO score 300-850; a band (700-749, 800+) gives its lower bound",
           _fico(),
           (("720", 720), (720, 720), (720.0, 720), ("700-749", 700), ("900", None),
            ("299", None), ("720.5", None))),
        _n("boolean", "BOOLEAN", "true/false from booleans, 1/0, y/n, yes/no, t/f, true/false",
           _boolean(),
           (("Yes", True), ("n", False), (1, True), (0, False), (True, True), ("TRUE", True),
            ("F", False), ("maybe", None))),
        _n("gender", "VARCHAR", "F, M or X from codes and words (female, man, nonbinary, ...)",
           _gender(),
           (("female", "F"), ("M", "M"), ("Man", "M"), ("non-binary", "X"), ("unknown", None))),
        _n("marital_status", "VARCHAR",
           "single, married, divorced or widowed from codes (S/M/D/W) and words",
           _marital_status(),
           (("M", "married"), ("Never Married", "single"), ("widow", "widowed"),
            ("D", "divorced"), ("separated", None))),
        _n("company_name", "VARCHAR",
           "company name without legal suffix (Inc, LLC, Ltd, Corp, Co, GmbH, PLC, S.A.)",
           _company_name(),
           (("Acme, Inc.", "Acme"), ("  Globex   Corporation ", "Globex"),
            ("Initech LLC", "Initech"), ("Siemens GmbH", "Siemens"), ("Acme Co., Ltd.", "Acme"),
            ("eBay Inc", "eBay"), ("Limited", "Limited"), ("", None))),
        _n("domain", "VARCHAR", "lower-case web domain from a URL, email or bare domain",
           _domain(),
           (("https://www.Acme.com/about?x=1", "acme.com"), ("jane@acme.co.uk", "acme.co.uk"),
            ("ACME.COM", "acme.com"), ("http://shop.acme.com:8080", "shop.acme.com"),
            ("localhost", None), ("not a domain", None))),
        _n("url", "VARCHAR", "http(s) URL with lower-case scheme and host; https:// added when missing",
           _url(),
           (("acme.com/About", "https://acme.com/About"), ("HTTP://WWW.Acme.com/", "http://www.acme.com"),
            ("ftp://acme.com", None), ("javascript:alert(1)", None), ("", None))),
        _n("industry", "VARCHAR", "trimmed, proper-cased industry name; acronyms kept (IT, SaaS)",
           _label(),
           (("  computer SOFTWARE ", "Computer Software"), ("banking and finance", "Banking and Finance"),
            ("saas", "SaaS"), ("e-commerce", "E-Commerce"))),
        _n("count", "INTEGER",
           "non-negative whole count from numbers or text (1,200; 5k); a range gives its lower bound",
           _count(),
           (("1,200", 1200), (250, 250), ("50-100", 50), ("10,001+", 10001), ("5k", 5000),
            ("-3", None), ("many", None))),
        _n("title", "VARCHAR",
           "trimmed, single-spaced job title; VP, SVP, Sr, Jr, Mgr, Dir, Asst spelled out",
           _title(),
           (("  VP  of Sales ", "Vice President of Sales"), ("Sr. Software Engineer", "Senior Software Engineer"),
            ("Marketing Mgr", "Marketing Manager"), ("Dir, Engineering", "Director, Engineering"),
            ("CEO", "CEO"), ("", None))),
        _n("seniority", "VARCHAR",
           "entry, senior, manager, director, vp or c-level, from a title or a seniority word",
           _seniority(),
           (("Chief Executive Officer", "c-level"), ("CEO", "c-level"), ("SVP Sales", "vp"),
            ("Senior Director of Marketing", "director"), ("Sales Manager", "manager"),
            ("Sr. Software Engineer", "senior"), ("Marketing Intern", "entry"),
            ("Director", "director"), ("Software Engineer", None))),
        _n("department", "VARCHAR", "trimmed, proper-cased department; acronyms kept (IT, HR)",
           _label(),
           (("  human resources", "Human Resources"), ("IT", "IT"), ("SALES", "Sales"),
            ("research and development", "Research and Development"))),
        _n("text", "VARCHAR", "trimmed text with whitespace runs collapsed; empty -> NULL",
           _text_norm(),
           (("  hello \t  world ", "hello world"), ("", None), ("   ", None), (42, "42"))),
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
