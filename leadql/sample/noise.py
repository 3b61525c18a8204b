"""A vendor's view of the population: coverage, staleness, errors, formats, gaps, duplicates, ids.

Two kinds of noise, kept apart on purpose:

* errors: a value that is wrong after normalisation (typo, nickname, swapped names, old or wrong
  address, conflicting income / FICO, wrong flag, previous employer, ...). Each value a vendor
  supplies is wrong with probability about `1 - quality`; a vendor's addresses are also out of
  date for people who moved after its `updated` date.
* formats: the same value written differently ('(415) 555-0100', 'California', '02134-1234',
  '$52,000', 'Y', 'VP of Sales', ...). LeadQL's normalisers read every one of them back to the
  true value.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadql.sample import vocab as V
from leadql.sample._arrow import (
    STRING,
    affine_ids,
    fmt_int,
    grouped,
    hex64,
    join,
    replace_where,
    set_null,
    splitmix64,
    strings,
    take,
    thousands,
    to_numpy,
    typo,
)
from leadql.sample.population import (
    _CITY,
    _DOMAINS,
    _EXCHANGES,
    _IND_NAMES,
    _LAST,
    _SEN,
    _STATE,
    _TITLE_COUNT,
    _TITLE_START,
    TITLES,
    TRUTH_SCHEMA,
    Companies,
    Streets,
    _pick,
    city_in_state,
    make_zip,
)
from leadql.sample.vendors import VendorSpec

# ----------------------------------------------------------------------------- formats

# category -> formats; the vendor's usual format is one of the first `_DOMINANT[category]`.
STYLES: dict[str, tuple[str, ...]] = {
    "first_name": ("proper", "upper", "lower", "padded"),
    "last_name": ("proper", "upper", "lower", "padded"),
    "city": ("proper", "upper", "lower"),
    "email": ("lower", "capitalized", "upper", "padded"),
    "phone": ("paren", "dash", "dot", "plain", "e164", "intl", "one", "int"),
    "street": ("usps", "title", "full", "period"),
    "state": ("code", "name", "upper_name", "lower"),
    "zip": ("zip5", "zip9", "zip9plain", "int"),
    "birth_date": ("iso", "us", "compact"),
    "age": ("plain", "years"),
    "income": ("plain", "dollars", "k", "decimal"),
    "hhi": ("plain", "dollars", "k", "decimal"),
    "revenue": ("plain", "dollars", "millions"),
    "fico": ("plain",),
    "employees": ("plain", "commas"),
    "homeowner": ("yn", "yesno", "tf", "10"),
    "gender": ("code", "word", "lower_word"),
    "marital_status": ("code", "word"),
    "company_name": ("legal", "bare", "upper_legal"),
    "domain": ("bare", "www", "url", "http", "upper"),
    "industry": ("proper", "upper", "lower"),
    "title": ("full", "abbrev"),
    "seniority": ("word", "canonical", "alt"),
    "department": ("proper", "upper", "lower"),
}
# fmt: off
_DOMINANT = {
    "first_name": 2, "last_name": 2, "city": 2, "email": 1, "phone": 7, "street": 4, "state": 3,
    "zip": 2, "birth_date": 3, "age": 1, "income": 3, "hhi": 3, "revenue": 3, "employees": 2,
    "homeowner": 4, "gender": 2, "marital_status": 2, "company_name": 2, "domain": 3,
    "industry": 2, "title": 2, "seniority": 2, "department": 2, "fico": 1,
}

# Native Arrow types for typed vendors (numbers, dates and flags not written as text).
NATIVE: dict[str, pa.DataType] = {
    "birth_date": pa.date32(), "age": pa.int32(), "income": pa.float64(), "hhi": pa.float64(),
    "revenue": pa.float64(), "fico": pa.int32(), "employees": pa.int32(), "homeowner": pa.bool_(),
}

# How often a category is left empty, relative to the vendor's `missing` rate.
_MISSING_FACTOR = {
    "first_name": 0.2, "last_name": 0.2, "state": 0.3, "zip": 0.4, "city": 0.5, "street": 0.7,
    "company_name": 0.3, "income": 1.5, "hhi": 1.5, "revenue": 1.8, "employees": 1.5,
    "birth_date": 1.3, "marital_status": 1.4, "gender": 0.8,
}
# fmt: on


def dominant_style(spec: VendorSpec, category: str) -> str:
    if category in spec.styles:
        return spec.styles[category]
    styles = STYLES[category]
    return styles[zlib.crc32(f"{spec.name}/{category}".encode()) % _DOMINANT[category]]


def column_type(spec: VendorSpec, category: str) -> pa.DataType:
    """The Arrow type of a vendor's column for a category (fixed per vendor)."""
    style = dominant_style(spec, category)
    if spec.typed and category in NATIVE:
        return NATIVE[category]
    if spec.typed and style == "int" and category in ("zip", "phone") and category in spec.styles:
        return pa.int64()
    return STRING


def key_type(spec: VendorSpec) -> pa.DataType:
    return pa.int64() if spec.key_style == "int" else STRING


def vendor_schema(spec: VendorSpec) -> pa.Schema:
    fields = [pa.field(spec.key_column, key_type(spec))]
    for category in spec.categories:
        if category == "street" and spec.split_street:
            fields += [pa.field(c, STRING) for c in spec.split_street]
        else:
            fields.append(pa.field(spec.column_names[category], column_type(spec, category)))
    return pa.schema(fields)


# ----------------------------------------------------------------------------- context


@dataclass
class VendorWorld:
    """What a vendor's records are made from, besides the truth chunk."""

    spec: VendorSpec
    index: int
    people: int
    companies: Companies
    legal_suffix: pa.Array  # per company
    key_digits: int

    @property
    def salt(self) -> int:
        return zlib.crc32(self.spec.name.encode()) * 7919 + 1_234_567


def key_digits(people: int) -> int:
    return max(6, len(str(2 * max(people, 1))))


# fmt: off
_ADDRESS = ("street", "city", "state", "zip", "moved_at", "prev_street", "prev_city", "prev_state",
            "prev_zip")
# fmt: on
_WORK = ("company_id", "title", "department", "seniority")
_WORK_CATEGORIES = ("company_name", "domain", "industry", "employees", "revenue", "title",
                    "seniority", "department")  # fmt: skip

# ----------------------------------------------------------------------------- helpers


def _mask(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    return rng.random(n) < p


def _apply(
    values: pa.Array, mask: np.ndarray, fn: Callable[[pa.Array, np.ndarray], pa.Array]
) -> pa.Array:
    """Replace the masked, non-null values by fn(those values, their row numbers)."""
    mask = mask & pc.is_valid(values).to_numpy(zero_copy_only=False)
    if not mask.any():
        return values
    rows = np.flatnonzero(mask)
    new = fn(values.take(pa.array(rows)), rows)
    return pc.replace_with_mask(values, pa.array(mask), pc.cast(new, values.type))


def _other(rng: np.random.Generator, current: np.ndarray, k: int) -> np.ndarray:
    """A random category index different from `current` (k choices)."""
    return (current + rng.integers(1, k, len(current))) % k


_STATE_NAMES = strings(V.STATES.names)
_NICK_FORMAL = list(V.NICKNAMES)
_NICK_FLAT = strings([n for f in _NICK_FORMAL for n in V.NICKNAMES[f]])
_NICK_START = np.cumsum([0] + [len(V.NICKNAMES[f]) for f in _NICK_FORMAL])[:-1]
_NICK_COUNT = np.array([len(V.NICKNAMES[f]) for f in _NICK_FORMAL])


# ----------------------------------------------------------------------------- errors


def _wrong_first(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    """A nickname (William -> Bill) when there is one, a typo, or just the initial."""
    n = len(values)
    formal = pc.index_in(values, value_set=pa.array(_NICK_FORMAL))
    has_nick = pc.is_valid(formal).to_numpy(zero_copy_only=False)
    i = pc.fill_null(formal, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    nick = take(_NICK_FLAT, _NICK_START[i] + (rng.random(n) * _NICK_COUNT[i]).astype(np.int64))
    roll = rng.random(n)
    out = replace_where(typo(values, rng), has_nick & (roll < 0.5), nick)
    return replace_where(out, roll > 0.92, pc.utf8_slice_codeunits(values, 0, 1))


def _wrong_last(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    n = len(values)
    other = take(_LAST, _pick(rng, V.SURNAME_WEIGHTS, n))
    out = replace_where(typo(values, rng), rng.random(n) < 0.25, other)
    same = pc.equal(pc.utf8_lower(out), pc.utf8_lower(values)).to_numpy(zero_copy_only=False)
    return replace_where(out, same, typo(values, rng))


def _wrong_email(values: pa.Array, rng: np.random.Generator, work: bool) -> pa.Array:
    n = len(values)
    parts = pc.extract_regex(values, r"^(?P<local>[^@]+)@(?P<dom>.+)$")
    local, dom = parts.field("local"), parts.field("dom")
    at = pc.find_substring(values, "@").to_numpy(zero_copy_only=False)
    out = typo(values, rng, limit=at)
    roll = rng.random(n)
    if work:  # the right company, the wrong pattern guessed: john.smith@ -> jsmith@
        names = pc.extract_regex(local, r"^(?P<f>[a-z0-9]+)[._](?P<l>[a-z0-9]+)$")
        guess = join(pc.utf8_slice_codeunits(names.field("f"), 0, 1), names.field("l"), "@", dom)
        guessed = pc.is_valid(names).to_numpy(zero_copy_only=False) & (roll < 0.4)
        out = replace_where(out, guessed, guess)
    else:  # the same name at another provider, or an old address
        other = take(_DOMAINS, rng.integers(0, len(V.EMAIL_DOMAINS), n))
        moved = join(local, "@", other)
        old = join(local, fmt_int(rng.integers(1, 100, n)), "@", other)
        out = replace_where(out, roll < 0.3, moved)
        out = replace_where(out, (roll >= 0.3) & (roll < 0.45), old)
    same = pc.equal(out, values).to_numpy(zero_copy_only=False)
    return replace_where(out, same, typo(values, rng, limit=at))


def _phone_digits(values: pa.Array) -> np.ndarray:
    return to_numpy(pc.cast(pc.utf8_slice_codeunits(values, 2), pa.int64()), 0).astype(np.int64)


def _wrong_phone(values: pa.Array, rng: np.random.Generator) -> pa.Array:
    n = len(values)
    digits = _phone_digits(values)
    area = digits // 10_000_000
    line = digits % 10_000
    exch = (digits // 10_000) % 1000
    new_exch = _EXCHANGES[rng.integers(0, len(_EXCHANGES), n)]
    new_line = (line + rng.integers(1, 10_000, n)) % 10_000
    one_digit = rng.random(n) < 0.4
    place = 10 ** rng.integers(0, 4, n)
    digit = (line // place) % 10
    line_typo = line + (((digit + rng.integers(1, 10, n)) % 10) - digit) * place
    out = np.where(
        one_digit,
        area * 10_000_000 + exch * 10_000 + line_typo,
        area * 10_000_000 + new_exch * 10_000 + new_line,
    )
    return join("+1", fmt_int(out))


def _wrong_money(values: np.ndarray, rng: np.random.Generator, step: float) -> np.ndarray:
    n = len(values)
    factor = np.exp(rng.choice([-1.0, 1.0], n) * rng.uniform(0.12, 0.7, n))
    out = np.maximum(np.round(values * factor / step) * step, step)
    return np.where(out == values, values + step, out)


def _wrong_int(
    values: np.ndarray, rng: np.random.Generator, lo: int, hi: int, spread: tuple[int, int]
) -> np.ndarray:
    n = len(values)
    delta = rng.choice([-1, 1], n) * rng.integers(spread[0], spread[1] + 1, n)
    out = np.clip(values + delta, lo, hi)
    return np.where(out == values, np.clip(values - delta, lo, hi), out)


# ----------------------------------------------------------------------------- rendering


def _style_index(spec: VendorSpec, category: str, rng: np.random.Generator, n: int) -> np.ndarray:
    styles = STYLES[category]
    dom = styles.index(dominant_style(spec, category))
    if category in spec.styles or len(styles) == 1:
        return np.full(n, dom)
    mixed = rng.random(n) < spec.messiness
    return np.where(mixed, rng.integers(0, len(styles), n), dom)


def _cased(values: pa.Array, style: str) -> pa.Array:
    if style == "upper":
        return pc.utf8_upper(values)
    if style == "lower":
        return pc.utf8_lower(values)
    if style == "padded":
        return join(" ", pc.replace_substring(values, " ", "  "), " ")
    if style == "capitalized":
        return pc.utf8_capitalize(values)
    return values


def _money_text(values: np.ndarray, style: str) -> pa.Array:
    ints = np.round(values).astype(np.int64)
    if style == "dollars":
        return join("$", thousands(ints))
    if style == "k":
        k = ints % 1000 == 0
        return replace_where(fmt_int(ints), k, join(fmt_int(ints // 1000), "K"))
    if style == "decimal":
        return join(fmt_int(ints), ".00")
    if style == "millions":
        ok = (ints % 100_000 == 0) & (ints >= 1_000_000)
        text = join("$", fmt_int(ints // 1_000_000), ".", fmt_int((ints // 100_000) % 10), "M")
        return replace_where(join("$", thousands(ints)), ok, text)
    return fmt_int(ints)


def _render(
    category: str, values: pa.Array, spec: VendorSpec, rng: np.random.Generator, extra: dict
) -> pa.Array:
    """Canonical values -> the vendor's column (formats mixed, type per `column_type`).

    Null where `values` is null."""
    n = len(values)
    target = column_type(spec, category)
    if target != STRING and category in NATIVE:
        return pc.cast(values, target)
    if target == pa.int64():  # zip or phone stored as a number
        if category == "phone":
            digits = _phone_digits(values)
        else:
            digits = to_numpy(pc.cast(values, pa.int64()), 0).astype(np.int64)
        return set_null(pa.array(digits), pc.is_null(values).to_numpy(zero_copy_only=False))
    styles = STYLES[category]
    style_i = _style_index(spec, category, rng, n)
    dom = styles.index(dominant_style(spec, category))
    out = pc.cast(_variant(category, styles[dom], values, rng, extra), STRING)
    other = style_i != dom
    if other.any():  # the values written in another format
        idx = pa.array(np.flatnonzero(other))
        sub_values = values.take(idx)
        sub_extra = {k: v.take(idx) for k, v in extra.items()}
        sub_style = style_i[other]

        def build(g: int, rows: np.ndarray) -> pa.Array:
            r = pa.array(rows)
            return _variant(
                category,
                styles[g],
                sub_values.take(r),
                rng,
                {k: v.take(r) for k, v in sub_extra.items()},
            )

        out = pc.replace_with_mask(out, pa.array(other), grouped(sub_style, len(styles), build))
    return set_null(out, pc.is_null(values).to_numpy(zero_copy_only=False))


def _variant(
    category: str, style: str, values: pa.Array, rng: np.random.Generator, extra: dict
) -> pa.Array:
    n = len(values)
    if category in ("first_name", "last_name", "city", "email", "industry", "department"):
        return _cased(values, style)
    if category == "phone":
        digits = _phone_digits(values)
        a = fmt_int(digits // 10_000_000)
        x = fmt_int((digits // 10_000) % 1000)
        ln = fmt_int(digits % 10_000, 4)
        return {
            "paren": lambda: join("(", a, ") ", x, "-", ln),
            "dash": lambda: join(a, "-", x, "-", ln),
            "dot": lambda: join(a, ".", x, ".", ln),
            "plain": lambda: join(a, x, ln),
            "e164": lambda: values,
            "intl": lambda: join("+1 ", a, " ", x, " ", ln),
            "one": lambda: join("1-", a, "-", x, "-", ln),
            "int": lambda: join(a, x, ln),
        }[style]()
    if category == "state":
        if style == "code":
            return values
        if style == "lower":
            return pc.utf8_lower(values)
        name = _STATE_NAMES.take(pc.fill_null(pc.index_in(values, value_set=_STATE), 0))
        return pc.utf8_upper(name) if style == "upper_name" else name
    if category == "zip":
        plus4 = fmt_int(rng.integers(1, 10_000, n), 4)
        if style == "zip9":
            return join(values, "-", plus4)
        if style == "zip9plain":
            return join(values, plus4)
        if style == "int":
            return pc.cast(pc.cast(values, pa.int64()), STRING)
        return values
    if category == "birth_date":
        if style == "iso":
            return pc.cast(values, STRING)
        day = values.to_numpy(zero_copy_only=False).astype("datetime64[D]")
        y = day.astype("datetime64[Y]").astype(np.int64) + 1970
        mo = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
        d = (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
        if style == "us":
            return join(fmt_int(mo, 2), "/", fmt_int(d, 2), "/", fmt_int(y))
        return join(fmt_int(y), fmt_int(mo, 2), fmt_int(d, 2))
    if category in ("age", "fico", "employees"):
        ints = to_numpy(values, 0).astype(np.int64)
        if style == "years":
            return join(fmt_int(ints), " yrs")
        if style == "commas":
            return thousands(ints)
        return fmt_int(ints)
    if category in ("income", "hhi", "revenue"):
        return _money_text(to_numpy(values, 0), style)
    if category == "homeowner":
        yes, no = {
            "yn": ("Y", "N"),
            "yesno": ("Yes", "No"),
            "tf": ("true", "false"),
            "10": ("1", "0"),
        }[style]
        return pc.if_else(pc.fill_null(values, False), yes, no)
    if category == "gender":
        if style == "code":
            return values
        words = strings(["Female", "Male", "Non-binary"])
        word = words.take(pc.fill_null(pc.index_in(values, value_set=pa.array(["F", "M", "X"])), 0))
        return pc.utf8_lower(word) if style == "lower_word" else word
    if category == "marital_status":
        i = pc.fill_null(pc.index_in(values, value_set=pa.array(list(V.MARITAL_STATUSES))), 0)
        if style == "code":
            return strings([V.MARITAL_CODES[s] for s in V.MARITAL_STATUSES]).take(i)
        flat = [w for s in V.MARITAL_STATUSES for w in V.MARITAL_WORDS[s]]
        pick = i.to_numpy(zero_copy_only=False) * 3 + rng.integers(0, 3, n)
        return take(strings(flat), pick)
    if category == "company_name":  # the company's own legal form: ', Inc.', ' LLC', ...
        if style == "bare":
            return values
        legal = join(values, extra["legal"])
        return pc.utf8_upper(legal) if style == "upper_legal" else legal
    if category == "domain":
        return {
            "bare": lambda: values,
            "www": lambda: join("www.", values),
            "url": lambda: join("https://www.", values, "/"),
            "http": lambda: join("http://", values),
            "upper": lambda: pc.utf8_upper(values),
        }[style]()
    if category == "title":
        if style == "full":
            return values
        out = values
        for word, abbr in V.TITLE_ABBREVIATIONS:
            out = pc.replace_substring(out, word, abbr)
        return out
    if category == "seniority":
        if style == "canonical":
            return values
        i = pc.fill_null(pc.index_in(values, value_set=_SEN), 0).to_numpy(zero_copy_only=False)
        flat = [w for s in V.SENIORITIES for w in V.SENIORITY_WORDS[s]]
        start = np.cumsum([0] + [len(V.SENIORITY_WORDS[s]) for s in V.SENIORITIES])[:-1]
        count = np.array([len(V.SENIORITY_WORDS[s]) for s in V.SENIORITIES])
        offset = 0 if style == "word" else (rng.random(n) * count[i]).astype(np.int64)
        return take(strings(flat), start[i] + offset)
    raise AssertionError(f"no format {style} for {category}")


# ----------------------------------------------------------------------------- records


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _include(spec: VendorSpec, truth: pa.Table, rng: np.random.Generator) -> np.ndarray:
    n = truth.num_rows
    eligible = np.ones(n, dtype=bool)
    if spec.segment == "b2b":
        eligible &= pc.is_valid(truth["company_id"]).to_numpy(zero_copy_only=False)
    if spec.states:
        eligible &= pc.is_in(truth["state"], value_set=pa.array(list(spec.states))).to_numpy(
            zero_copy_only=False
        )
    # a vendor only knows people who were adults when it last refreshed its file
    adult_by = np.datetime64(_years_before(spec.updated, 18), "D")
    eligible &= truth["birth_date"].combine_chunks().to_numpy(zero_copy_only=False) <= adult_by
    weight = np.ones(n)
    if spec.bias == "income":
        weight = (to_numpy(truth["income"]) / 45_000.0) ** 0.8
    elif spec.bias == "homeowner":
        weight = np.where(truth["homeowner"].to_numpy(zero_copy_only=False), 3.0, 0.5)
    elif spec.bias in ("young", "old"):
        age = to_numpy(truth["age"])
        if spec.bias == "young":
            weight = np.where(age < 40, 2.0, 0.7)
        else:
            weight = np.where(age >= 50, 1.8, 0.6)
    weight = np.where(eligible, weight, 0.0)
    total = weight.sum()
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    p = np.minimum(1.0, spec.coverage * n * weight / total)
    rows = np.flatnonzero(rng.random(n) < p)
    if rows.size == 0 and truth["person_id"][0].as_py() == 1:
        # a tiny world: the first chunk gives every vendor someone (an empty NDJSON file has
        # no columns to read)
        rows = np.flatnonzero(weight > 0)[:1]
    return rows


BLOCK = 32  # records are shuffled in blocks of this many (sequential reads, cheap gathers)


def _block_shuffle(rng: np.random.Generator, n: int) -> np.ndarray:
    blocks = rng.permutation(-(-n // BLOCK))
    order = (blocks[:, None] * BLOCK + np.arange(BLOCK)[None, :]).ravel()
    return order[order < n]


class ChunkCache:
    """Work shared by every vendor reading the same truth chunk (parsed street lines)."""

    def __init__(self, truth: pa.Table) -> None:
        self.truth = truth
        self._streets: dict[str, Streets] = {}

    def streets(self, column: str) -> Streets:
        if column not in self._streets:
            self._streets[column] = Streets.parse(self.truth[column].combine_chunks())
        return self._streets[column]


def vendor_records(
    world: VendorWorld, truth: pa.Table, rng: np.random.Generator, cache: ChunkCache | None = None
) -> tuple[pa.Table, pa.Table]:
    """The vendor's records for the people of one truth chunk, and their links to the truth.

    Returns (records in the vendor's own schema, links: record_key, person_id)."""
    spec = world.spec
    if cache is None or cache.truth is not truth:
        cache = ChunkCache(truth)
    rows = _include(spec, truth, rng)
    pid = truth["person_id"].to_numpy()
    again = rows[rng.random(rows.size) < spec.rekeyed]  # held twice, under another id
    src = np.concatenate(
        [rows[_block_shuffle(rng, rows.size)], again[_block_shuffle(rng, again.size)]]
    )
    # the id number each record's key scrambles: person index, + people for the second record
    second = np.concatenate([np.zeros(rows.size, np.int64), np.full(again.size, world.people)])
    xid = pid[src] - 1 + second
    t = truth.select(_needed(spec)).take(pa.array(src, type=pa.int64()))
    m = t.num_rows
    e = 1.0 - spec.quality

    canonical = _canonical_values(world, t, src, cache, rng, e)
    columns: dict[str, pa.Array] = {}
    key = _keys(world, xid)
    columns[spec.key_column] = key
    extra = canonical.pop("_extra")
    for category in spec.categories:
        values = canonical[category]
        gone = _mask(rng, m, spec.missing * _MISSING_FACTOR.get(category, 1.0))
        if category == "street":
            number, rest = _render_street(values, spec, rng)
            if spec.split_street:
                columns[spec.split_street[0]] = set_null(number, gone)
                columns[spec.split_street[1]] = set_null(rest, gone)
            else:
                columns[spec.column_names[category]] = set_null(join(number, " ", rest), gone)
            continue
        columns[spec.column_names[category]] = set_null(
            _render(category, values, spec, rng, extra), gone
        )
    table = pa.table(columns, schema=vendor_schema(spec))
    links = pa.table(
        {
            "record_key": pc.cast(key, STRING),
            "person_id": pa.array(pid[src], pa.int64()),
        }
    )
    if spec.duplicates > 0 and m:
        dup = np.flatnonzero(rng.random(m) < spec.duplicates)
        if dup.size:  # exact copies, somewhere later in the file
            at = np.sort(rng.integers(0, m + 1, dup.size))
            idx = np.insert(np.arange(m), at, np.sort(dup))
            table = table.take(pa.array(idx))
    return table, links


_NEEDS = {
    "email": ("email", "work_email"),
    **{c: _ADDRESS for c in ("street", "city", "state", "zip")},
    **{c: _WORK for c in _WORK_CATEGORIES},
}


def _needed(spec: VendorSpec) -> list[str]:
    cols = {"person_id", "first_name", "last_name"}
    for category in spec.categories:
        cols.update(_NEEDS.get(category, (category,)))
    return [f.name for f in TRUTH_SCHEMA if f.name in cols]


def _keys(world: VendorWorld, xid: np.ndarray) -> pa.Array:
    spec = world.spec
    if spec.key_style == "hex":
        return hex64(splitmix64(xid, world.salt))
    modulus = 10**world.key_digits
    scrambled = affine_ids(xid, modulus, world.salt)
    if spec.key_style == "int":
        return pa.array(scrambled + modulus, pa.int64())  # all ids have the same number of digits
    return join(spec.key_prefix, fmt_int(scrambled, world.key_digits))


def _canonical_values(
    world: VendorWorld,
    t: pa.Table,
    src: np.ndarray,
    cache: ChunkCache,
    rng: np.random.Generator,
    e: float,
) -> dict:
    """Each category's value as the vendor has it, in canonical form (errors in, formats not)."""
    spec = world.spec
    m = t.num_rows
    wanted = set(spec.categories)
    out: dict = {"_extra": {}}

    # names (and the odd record with first and last swapped)
    first, last = t["first_name"].combine_chunks(), t["last_name"].combine_chunks()
    if wanted & {"first_name", "last_name"}:
        first = _apply(first, _mask(rng, m, e * 0.9), lambda v, _: _wrong_first(v, rng))
        last = _apply(last, _mask(rng, m, e * 0.9), lambda v, _: _wrong_last(v, rng))
        swap = _mask(rng, m, e * 0.12)
        first, last = replace_where(first, swap, last), replace_where(last, swap, first)
        out["first_name"], out["last_name"] = first, last

    if "birth_date" in wanted:
        days = rng.choice([-1, 1], m) * np.where(
            rng.random(m) < 0.7, 365 * rng.integers(1, 4, m), rng.integers(1, 40, m)
        )
        birth = t["birth_date"].combine_chunks()
        shifted = pa.array(
            birth.to_numpy(zero_copy_only=False).astype("datetime64[D]") + days, pa.date32()
        )
        out["birth_date"] = replace_where(birth, _mask(rng, m, e), shifted)

    if "email" in wanted:
        work = spec.segment == "b2b"
        email = t["work_email" if work else "email"].combine_chunks()
        out["email"] = _apply(email, _mask(rng, m, e), lambda v, _: _wrong_email(v, rng, work))

    if "phone" in wanted:
        out["phone"] = _apply(
            t["phone"].combine_chunks(), _mask(rng, m, e), lambda v, _: _wrong_phone(v, rng)
        )

    if wanted & {"street", "city", "state", "zip"}:
        out.update(_address(spec, t, src, cache, rng, e))

    for money, step in (("income", 1000.0), ("hhi", 1000.0)):
        if money in wanted:
            values = to_numpy(t[money])
            wrong = _mask(rng, m, e) & np.isfinite(values)
            new = np.where(wrong, _wrong_money(np.nan_to_num(values), rng, step), values)
            out[money] = pa.array(new, pa.float64(), mask=~np.isfinite(new))
    if "fico" in wanted:
        values = to_numpy(t["fico"], 700).astype(np.int64)
        new = np.where(_mask(rng, m, e), _wrong_int(values, rng, 300, 850, (12, 90)), values)
        out["fico"] = set_null(
            pa.array(new, pa.int32()), pc.is_null(t["fico"]).to_numpy(zero_copy_only=False)
        )
    if "age" in wanted:
        values = to_numpy(t["age"], 40).astype(np.int64)
        new = np.where(_mask(rng, m, e), _wrong_int(values, rng, 18, 99, (1, 5)), values)
        out["age"] = set_null(
            pa.array(new, pa.int32()), pc.is_null(t["age"]).to_numpy(zero_copy_only=False)
        )
    if "homeowner" in wanted:
        own = t["homeowner"].combine_chunks()
        out["homeowner"] = replace_where(own, _mask(rng, m, e), pc.invert(own))
    if "gender" in wanted:
        gender = t["gender"].combine_chunks()
        code = pc.index_in(gender, value_set=pa.array(["F", "M", "X"]))
        flip = strings(["M", "F", "F"]).take(pc.fill_null(code, 0))  # X becomes F or M
        flip = replace_where(
            flip, rng.random(m) < 0.5, strings(["M", "F", "M"]).take(pc.fill_null(code, 0))
        )
        out["gender"] = replace_where(gender, _mask(rng, m, e), flip)
    if "marital_status" in wanted:
        marital = t["marital_status"].combine_chunks()
        i = pc.fill_null(
            pc.index_in(marital, value_set=pa.array(list(V.MARITAL_STATUSES))), 0
        ).to_numpy(zero_copy_only=False)
        other = take(strings(V.MARITAL_STATUSES), _other(rng, i, 4))
        out["marital_status"] = replace_where(marital, _mask(rng, m, e), other)

    if wanted & set(_WORK_CATEGORIES):
        out.update(_work(world, t, rng, e))
    return out


def _address(
    spec: VendorSpec,
    t: pa.Table,
    src: np.ndarray,
    cache: ChunkCache,
    rng: np.random.Generator,
    e: float,
) -> dict:
    """Street (as `Streets`), city, state, zip as the vendor has them."""
    m = t.num_rows
    moved_at = t["moved_at"].combine_chunks()
    has_prev = pc.is_valid(moved_at).to_numpy(zero_copy_only=False)
    updated = pa.scalar(spec.updated, pa.date32())
    stale = pc.fill_null(pc.greater(moved_at, updated), False).to_numpy(zero_copy_only=False)
    stale &= rng.random(m) < 0.9  # moved after the vendor's last refresh: it has the old address
    # a wrong address: the previous one when there is one, else somewhere else
    wrong = _mask(rng, m, e * 0.7)
    use_prev = stale | (wrong & has_prev & (rng.random(m) < 0.5))
    elsewhere = wrong & ~use_prev

    streets = cache.streets("street").take(src)
    if use_prev.any():
        streets = streets.where(use_prev, cache.streets("prev_street").take(src))
    addr: dict = {"street": streets}
    sel = pa.array(use_prev)
    for k in ("city", "state", "zip"):
        cur = t[k].combine_chunks()
        addr[k] = pc.if_else(sel, t["prev_" + k].combine_chunks(), cur) if use_prev.any() else cur
    if elsewhere.any():
        rows = np.flatnonzero(elsewhere)
        k = rows.size
        state_i = pc.fill_null(
            pc.index_in(addr["state"].take(pa.array(rows)), value_set=_STATE), 0
        ).to_numpy(zero_copy_only=False)
        city_i = pc.fill_null(
            pc.index_in(addr["city"].take(pa.array(rows)), value_set=_CITY), 0
        ).to_numpy(zero_copy_only=False)
        city_i = np.where(V.CITIES.state[city_i] == state_i, city_i, city_in_state(rng, state_i))
        roll = rng.random(k)
        new_city = np.where(
            roll < 0.6,
            city_i,
            np.where(roll < 0.85, city_in_state(rng, state_i), _pick(rng, V.CITIES.weight, k)),
        )
        mask = pa.array(elsewhere)
        addr["street"] = streets.patch(elsewhere, Streets.random(rng, k))
        addr["city"] = pc.replace_with_mask(addr["city"], mask, take(_CITY, new_city))
        addr["state"] = pc.replace_with_mask(
            addr["state"], mask, take(_STATE, V.CITIES.state[new_city])
        )
        addr["zip"] = pc.replace_with_mask(addr["zip"], mask, fmt_int(make_zip(rng, new_city), 5))

    # smaller slips: a wrong house number, a mistyped city, a wrong ZIP digit
    slip = _mask(rng, m, e * 0.35)
    st: Streets = addr["street"]
    new = np.where(
        rng.random(m) < 0.5,
        st.num + rng.integers(1, 20, m),
        np.floor(10 ** rng.uniform(0.3, 4.3, m)).astype(np.int64),
    )
    st.num = np.where(slip, np.where(new == st.num, st.num + 1, new), st.num)

    def zip_digit(v: pa.Array, _: np.ndarray) -> pa.Array:
        z = to_numpy(pc.cast(v, pa.int64()), 0).astype(np.int64)
        last2 = z % 100
        return fmt_int(z - last2 + (last2 + rng.integers(1, 98, len(v))) % 99 + 1, 5)

    def other_state(v: pa.Array, _: np.ndarray) -> pa.Array:  # Kansas City, KS or MO?
        current = pc.fill_null(pc.index_in(v, value_set=_STATE), 0).to_numpy(zero_copy_only=False)
        new = _pick(rng, V.STATES.population, len(v))
        return take(_STATE, np.where(new == current, (current + 1) % len(V.STATES.codes), new))

    addr["city"] = _apply(addr["city"], _mask(rng, m, e * 0.45), lambda v, _: typo(v, rng))
    addr["state"] = _apply(addr["state"], _mask(rng, m, e * 0.35), other_state)
    addr["zip"] = _apply(addr["zip"], _mask(rng, m, e * 0.35), zip_digit)
    return addr


def _render_street(
    streets: Streets, spec: VendorSpec, rng: np.random.Generator
) -> tuple[pa.Array, pa.Array]:
    """(house number, rest of the line) in the vendor's mix of spellings."""
    styles = STYLES["street"]
    style_i = _style_index(spec, "street", rng, len(streets))
    dom = styles.index(dominant_style(spec, "street"))
    number, rest = streets.parts(styles[dom])
    other = style_i != dom
    if other.any():
        sub = streets.take(np.flatnonzero(other))
        rest = pc.replace_with_mask(
            rest,
            pa.array(other),
            grouped(
                style_i[other], len(styles), lambda g, rows: sub.take(rows).parts(styles[g])[1]
            ),
        )
    return number, rest


def _work(
    world: VendorWorld, t: pa.Table, rng: np.random.Generator, e: float
) -> dict[str, pa.Array]:
    m = t.num_rows
    companies = world.companies
    employed = pc.is_valid(t["company_id"]).to_numpy(zero_copy_only=False)
    comp = to_numpy(t["company_id"], 1).astype(np.int64) - 1
    changed = _mask(rng, m, e * 0.6) & employed
    comp = np.where(
        changed, (comp + rng.integers(1, max(len(companies), 2), m)) % len(companies), comp
    )

    def company(values: pa.Array) -> pa.Array:
        return set_null(values, ~employed)

    name = company(take(companies.name, comp))
    name = _apply(name, _mask(rng, m, e * 0.3), lambda v, _: typo(v, rng))
    industry_i = companies.industry[comp]
    wrong_ind = _mask(rng, m, e * 0.3)
    industry_i = np.where(wrong_ind, _other(rng, industry_i, len(V.INDUSTRIES)), industry_i)
    employees = companies.employees[comp].astype(float)
    wrong_emp = _mask(rng, m, e * 0.4)
    employees = np.where(
        wrong_emp,
        np.maximum(
            np.round(employees * np.exp(rng.choice([-1, 1], m) * rng.uniform(0.3, 1.2, m))), 1
        ),
        employees,
    )
    employees = np.where(
        wrong_emp & (employees == companies.employees[comp]), employees + 1, employees
    )
    revenue = companies.revenue[comp]
    wrong_rev = _mask(rng, m, e * 0.4)
    revenue = np.where(wrong_rev, _wrong_money(revenue, rng, 100_000.0), revenue)

    # role: a stale title (another level in the same department) or the wrong department
    title_i = pc.fill_null(pc.index_in(t["title"], value_set=TITLES), 0).to_numpy(
        zero_copy_only=False
    )
    dept_i = pc.fill_null(
        pc.index_in(t["department"], value_set=strings([d[0] for d in V.DEPARTMENTS])), 0
    ).to_numpy(zero_copy_only=False)
    sen_i = pc.fill_null(pc.index_in(t["seniority"], value_set=_SEN), 0).to_numpy(
        zero_copy_only=False
    )
    role = _mask(rng, m, e * 0.8)
    new_sen = np.clip(sen_i + rng.choice([-1, 1], m), 0, 5)
    new_sen = np.where(new_sen == sen_i, np.where(sen_i == 0, 1, sen_i - 1), new_sen)
    new_title = _TITLE_START[dept_i, new_sen] + (
        rng.random(m) * _TITLE_COUNT[dept_i, new_sen]
    ).astype(np.int64)
    title_i = np.where(role, new_title, title_i)
    sen_i = np.where(role, new_sen, sen_i)
    dept_out = np.where(_mask(rng, m, e * 0.5), _other(rng, dept_i, len(V.DEPARTMENTS)), dept_i)

    return {
        "company_name": name,
        "domain": company(take(companies.domain, comp)),
        "industry": company(take(_IND_NAMES, industry_i)),
        "employees": company(pa.array(employees.astype(np.int64), pa.int32())),
        "revenue": company(pa.array(revenue)),
        "title": company(take(TITLES, title_i)),
        "seniority": company(take(_SEN, sen_i)),
        "department": company(take(strings([d[0] for d in V.DEPARTMENTS]), dept_out)),
        "_extra": {"legal": take(world.legal_suffix, comp)},
    }
