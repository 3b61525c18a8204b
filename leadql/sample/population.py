"""The hidden true population: companies, then people in chunks, vectorised with numpy + Arrow.

Every person is an adult living in the US on `AS_OF`, with a consistent identity (name, birth
date, personal email, phone, current and possibly previous address), finances (income, household
income, FICO, home ownership) and, for the employed, a job at one of the generated companies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadql.sample import vocab as V
from leadql.sample._arrow import (
    choose,
    fmt_int,
    grouped,
    join,
    join_skip,
    replace_where,
    set_null,
    strings,
    take,
)

AS_OF = date(2026, 11, 1)
_AS_OF64 = np.datetime64(AS_OF, "D")

TRUTH_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("birth_date", pa.date32()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("street", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip", pa.string()),
        ("age", pa.int32()),
        ("income", pa.float64()),
        ("hhi", pa.float64()),
        ("fico", pa.int32()),
        ("homeowner", pa.bool_()),
        ("gender", pa.string()),
        ("marital_status", pa.string()),
        ("company_name", pa.string()),
        ("domain", pa.string()),
        ("industry", pa.string()),
        ("employees", pa.int32()),
        ("revenue", pa.float64()),
        ("title", pa.string()),
        ("seniority", pa.string()),
        ("department", pa.string()),
        # beyond the canonical categories
        ("work_email", pa.string()),
        ("company_id", pa.int32()),
        ("moved_at", pa.date32()),
        ("prev_street", pa.string()),
        ("prev_city", pa.string()),
        ("prev_state", pa.string()),
        ("prev_zip", pa.string()),
    ]
)

CATEGORIES = tuple(f.name for f in TRUTH_SCHEMA)[1:25]


def _pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=float)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _slug(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_lower(values), "[^a-z0-9]", "")


# ----------------------------------------------------------------------------- static tables

_LAST = strings(V.SURNAMES + V.TAIL_SURNAMES)
_STREETS = strings(V.STREET_NAMES)
_SUFFIX = strings([s[0] for s in V.STREET_SUFFIXES])
_SUFFIX_W = np.array([s[2] for s in V.STREET_SUFFIXES])
_CITY = strings(V.CITIES.names)
_STATE = strings(V.STATES.codes)
_DOMAINS = strings([d[0] for d in V.EMAIL_DOMAINS])
_IND_NAMES = strings([i[0] for i in V.INDUSTRIES])
_SEN = strings(V.SENIORITIES)
_DEPT = strings([d[0] for d in V.DEPARTMENTS])
_MARITAL = strings(V.MARITAL_STATUSES)

# ZIP3 prefixes and area codes per city, flattened
_ZIP3 = np.array([int(z) for zs in V.CITIES.zip3 for z in zs])
_ZIP3_START = np.cumsum([0] + [len(zs) for zs in V.CITIES.zip3])[:-1]
_ZIP3_COUNT = np.array([len(zs) for zs in V.CITIES.zip3])
AREA_CODES = sorted({a for codes in V.CITIES.area_codes for a in codes})
_AREA_INDEX = {a: i for i, a in enumerate(AREA_CODES)}
_CITY_AREA = [np.array([_AREA_INDEX[a] for a in codes]) for codes in V.CITIES.area_codes]
_CITY_AREA_FLAT = np.concatenate(_CITY_AREA)
_CITY_AREA_START = np.cumsum([0] + [len(c) for c in _CITY_AREA])[:-1]
_CITY_AREA_COUNT = np.array([len(c) for c in _CITY_AREA])
_AREA_NUM = np.array([int(a) for a in AREA_CODES], dtype=np.int64)

# titles flattened per (department, seniority)
_TITLE_LIST: list[str] = []
_TITLE_START = np.zeros((len(V.DEPARTMENTS), 6), dtype=np.int64)
_TITLE_COUNT = np.zeros((len(V.DEPARTMENTS), 6), dtype=np.int64)
for _d, (_, _, _levels) in enumerate(V.DEPARTMENTS):
    for _s, _titles in enumerate(_levels):
        _TITLE_START[_d, _s] = len(_TITLE_LIST)
        _TITLE_COUNT[_d, _s] = len(_titles)
        _TITLE_LIST.extend(_titles)
TITLES = strings(_TITLE_LIST)

# exchanges (the middle three digits): 200-999 without N11, 555, 950, 958, 959, 976
_EXCHANGES = np.array(
    [e for e in range(200, 1000) if e % 100 != 11 and e not in (555, 950, 958, 959, 976)],
    dtype=np.int64,
)
_LOCAL_SPACE = len(_EXCHANGES) * 10_000
_PHONE_MULT = 1_000_003  # prime, coprime to the local space


# ----------------------------------------------------------------------------- companies


@dataclass
class Companies:
    name: pa.Array
    domain: pa.Array
    industry: np.ndarray  # index into INDUSTRIES
    employees: np.ndarray
    revenue: np.ndarray
    legal: np.ndarray  # index into LEGAL_FORMS
    weight_cdf: np.ndarray  # for picking an employer, by size

    def __len__(self) -> int:
        return len(self.industry)

    def pick(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(
            np.searchsorted(self.weight_cdf, rng.random(n), side="right"), len(self) - 1
        )


_SIZE_BANDS = (
    (1, 10, 0.40),
    (11, 50, 0.28),
    (51, 200, 0.17),
    (201, 1000, 0.09),
    (1001, 5000, 0.04),
    (5001, 50000, 0.02),
)


def make_companies(n: int, rng: np.random.Generator) -> Companies:
    ind_w = np.array([i[1] for i in V.INDUSTRIES])
    industry = _pick(rng, ind_w, n)
    band = _pick(rng, np.array([b[2] for b in _SIZE_BANDS]), n)
    lo = np.array([b[0] for b in _SIZE_BANDS])[band]
    hi = np.array([b[1] for b in _SIZE_BANDS])[band]
    employees = np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))).astype(np.int64)
    employees = np.clip(employees, lo, hi)
    rpe = np.array([i[2] for i in V.INDUSTRIES])[industry]
    revenue = employees * rpe * np.exp(rng.normal(0, 0.35, n))
    revenue = np.where(
        revenue < 1e6, np.maximum(np.round(revenue, -4), 50_000), np.round(revenue, -5)
    )

    # names
    words = strings(V.COMPANY_WORD_LIST)
    ind_words = [w for i in V.INDUSTRIES for w in i[3]]
    ind_start = np.cumsum([0] + [len(i[3]) for i in V.INDUSTRIES])[:-1]
    ind_count = np.array([len(i[3]) for i in V.INDUSTRIES])
    ind_word = take(
        strings(ind_words), ind_start[industry] + (rng.random(n) * ind_count[industry]).astype(int)
    )
    word = take(words, rng.integers(0, len(words), n))
    word2 = take(words, rng.integers(0, len(words), n))
    brand = take(strings(V.BRANDS), rng.integers(0, len(V.BRANDS), n))
    surname = take(_LAST, _pick(rng, V.SURNAME_WEIGHTS, n))
    surname2 = take(_LAST, _pick(rng, V.SURNAME_WEIGHTS, n))
    pattern = _pick(rng, np.array([35, 10, 10, 15, 8, 12, 10]), n)
    name = choose(
        pattern,
        [
            join(word, " ", ind_word),
            brand,
            join(brand, " ", ind_word),
            join(surname, " ", ind_word),
            join(surname, " & ", surname2),
            join(word, " ", word2),
            join(word, " ", brand),
        ],
    )
    city = take(_CITY, _pick(rng, V.CITIES.weight, n))
    state_name = take(strings(V.STATES.names), _pick(rng, V.STATES.population, n))
    name = _unique(
        name,
        [
            lambda dup: join(city, " ", name),
            lambda dup: join(name, " of ", state_name),
            lambda dup: join(name, " ", fmt_int(np.arange(n) + 1)),
        ],
    )

    slug = _slug(pc.replace_substring(name, "&", "and"))
    tld_roll = rng.random(n)
    soft = np.isin(industry, [0, 1, 6, 11])
    org = np.isin(industry, [13, 20])
    tld = np.where(
        soft & (tld_roll < 0.3),
        1,
        np.where(
            org & (tld_roll < 0.7), 2, np.where(tld_roll > 0.95, 3, np.where(tld_roll > 0.92, 4, 0))
        ),
    )
    domain = join(slug, take(strings([".com", ".io", ".org", ".net", ".co"]), tld))
    domain = _unique(
        domain,
        [
            lambda dup: join("get", domain),
            lambda dup: join(
                slug, "hq", take(strings([".com", ".io", ".org", ".net", ".co"]), tld)
            ),
            lambda dup: join(slug, fmt_int(np.arange(n) + 1), ".com"),
        ],
    )
    legal = _pick(rng, np.array([f[1] for f in V.LEGAL_FORMS]), n)
    weight = employees.astype(float) ** 0.8
    cdf = np.cumsum(weight)
    return Companies(name, domain, industry, employees, revenue, legal, cdf / cdf[-1])


def _unique(values: pa.Array, fixes: list) -> pa.Array:
    """Make values unique: each later duplicate gets the next fix (first occurrence kept)."""
    for fix in fixes:
        dup = _later_duplicates(values)
        if not dup.any():
            break
        values = replace_where(values, dup, fix(dup))
    return values


def _later_duplicates(values: pa.Array) -> np.ndarray:
    codes = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    dup = np.ones(len(values), dtype=bool)
    dup[first] = False
    return dup


# ----------------------------------------------------------------------------- phones


class PhoneBook:
    """Unique phone numbers per area code: the k-th number given out in an area code is an
    affine bijection of k over the valid local numbers, so no two people share one.

    `k` counts across chunks: `chunk_offsets` (from the cheap geography pass over every chunk)
    says how many numbers earlier chunks took in each area code, so chunks are independent."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.shift = rng.integers(0, _LOCAL_SPACE, len(AREA_CODES))

    @staticmethod
    def chunk_offsets(counts_per_chunk: list[np.ndarray]) -> np.ndarray:
        """(chunk, area code) -> numbers taken by earlier chunks, from each chunk's
        `area_counts`."""
        counts = np.array(counts_per_chunk, dtype=np.int64).reshape(-1, len(AREA_CODES))
        return np.cumsum(counts, axis=0) - counts

    @staticmethod
    def area_counts(area: np.ndarray) -> np.ndarray:
        return np.bincount(area, minlength=len(AREA_CODES))

    def numbers(self, area: np.ndarray, taken: np.ndarray) -> np.ndarray:
        """Ten-digit numbers (int64) for people with these area-code indexes."""
        order = np.argsort(area, kind="stable")
        counts = np.bincount(area, minlength=len(AREA_CODES))
        starts = np.cumsum(counts) - counts
        rank = np.empty(len(area), dtype=np.int64)
        rank[order] = np.arange(len(area)) - starts[area[order]]
        k = taken[area] + rank
        local = (k * _PHONE_MULT + self.shift[area]) % _LOCAL_SPACE
        return _AREA_NUM[area] * 10_000_000 + _EXCHANGES[local // 10_000] * 10_000 + local % 10_000


def geography(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Home city and phone area code of each person of a chunk (its own random stream)."""
    city = _pick(rng, V.CITIES.weight, n)
    return city, area_code_for(rng, city)


def area_code_for(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    n = len(city)
    first_more = np.minimum(
        (rng.random(n) ** 1.6 * _CITY_AREA_COUNT[city]).astype(int), _CITY_AREA_COUNT[city] - 1
    )
    local = _CITY_AREA_FLAT[_CITY_AREA_START[city] + first_more]
    other_city = _pick(rng, V.CITIES.weight, n)
    other = _CITY_AREA_FLAT[_CITY_AREA_START[other_city]]
    return np.where(rng.random(n) < 0.85, local, other)


# ----------------------------------------------------------------------------- addresses


@dataclass
class Address:
    city: np.ndarray  # city index
    zip: np.ndarray  # int
    street: pa.Array

    @property
    def state(self) -> np.ndarray:
        return V.CITIES.state[self.city]

    def zip_text(self) -> pa.Array:
        return fmt_int(self.zip, 5)


_SFX_CODES = pa.array([a for a, _, _ in V.STREET_SUFFIXES])
_SFX_FORMS = {
    "usps": _SUFFIX,
    "title": strings([a.title() for a, _, _ in V.STREET_SUFFIXES]),
    "full": strings([w for _, w, _ in V.STREET_SUFFIXES]),
    "period": strings(
        [a.title() + ("." if a.title() != w else "") for a, w, _ in V.STREET_SUFFIXES]
    ),
}
_STREET_TITLE = strings(
    [" ".join(w[0] + w[1:].lower() for w in x.split(" ")) for x in V.STREET_NAMES]
)
_UNIT_FORMS = {
    "usps": ("APT ", "UNIT "),
    "title": ("Apt ", "Unit "),
    "full": ("Apartment ", "Unit "),
    "period": ("Apt ", "Unit "),
}
_STREET_RE = (
    r"^(?P<num>[0-9]+) (?:(?P<dir>[NSEW]) )?(?P<name>.+?) (?P<sfx>"
    + "|".join(a for a, _, _ in V.STREET_SUFFIXES)
    + r")(?: (?P<kind>APT|UNIT) (?P<unit>\S+))?$"
)


@dataclass
class Streets:
    """Street lines as parts ('123 N MAIN ST APT 4B': 123, N, MAIN, ST, APT, 4B), so that vendors
    can spell them out in their own way without parsing text again."""

    num: np.ndarray  # int64
    dir: pa.Array  # 'N', 'S', 'E', 'W' or null
    name: np.ndarray  # index into STREET_NAMES
    sfx: np.ndarray  # index into STREET_SUFFIXES
    kind: np.ndarray  # 0 APT, 1 UNIT
    unit: pa.Array  # unit number or null
    valid: np.ndarray  # False where there is no street

    def __len__(self) -> int:
        return len(self.num)

    @staticmethod
    def random(rng: np.random.Generator, n: int) -> Streets:
        number = np.floor(10 ** rng.uniform(0.3, 4.3, n)).astype(np.int64)
        direction = set_null(
            take(strings(["N", "S", "E", "W"]), rng.integers(0, 4, n)), rng.random(n) >= 0.12
        )
        name = rng.integers(0, len(V.STREET_NAMES), n)
        suffix = _pick(rng, _SUFFIX_W, n)
        unit_roll = rng.random(n)
        unit_no = choose(
            rng.integers(0, 3, n),
            [
                fmt_int(rng.integers(1, 40, n)),
                join(
                    fmt_int(rng.integers(1, 9, n)),
                    take(strings(list("ABCD")), rng.integers(0, 4, n)),
                ),
                fmt_int(rng.integers(100, 450, n)),
            ],
        )
        kind = (unit_roll < 0.02).astype(np.int64)
        return Streets(
            number,
            direction,
            name,
            suffix,
            kind,
            set_null(unit_no, unit_roll >= 0.18),
            np.ones(n, bool),
        )

    @staticmethod
    def parse(values: pa.Array) -> Streets:
        """Parts of USPS street lines as `text()` writes them (null stays null)."""
        parts = pc.extract_regex(values, _STREET_RE)
        valid = pc.is_valid(parts).to_numpy(zero_copy_only=False) & pc.is_valid(values).to_numpy(
            zero_copy_only=False
        )

        def field(name: str) -> pa.Array:
            return set_null(parts.field(name), ~valid)

        def nonempty(a: pa.Array) -> pa.Array:
            return set_null(
                a, ~pc.fill_null(pc.not_equal(a, ""), False).to_numpy(zero_copy_only=False)
            )

        num = pc.fill_null(
            pc.cast(pc.if_else(pa.array(valid), parts.field("num"), "0"), pa.int64()), 0
        )
        name = pc.fill_null(pc.index_in(field("name"), value_set=_STREETS), 0).to_numpy(
            zero_copy_only=False
        )
        sfx = pc.fill_null(pc.index_in(field("sfx"), value_set=_SFX_CODES), 0).to_numpy(
            zero_copy_only=False
        )
        kind = (
            pc.fill_null(pc.equal(field("kind"), "UNIT"), False)
            .to_numpy(zero_copy_only=False)
            .astype(np.int64)
        )
        return Streets(
            num.to_numpy(zero_copy_only=False).astype(np.int64),
            nonempty(field("dir")),
            name.astype(np.int64),
            sfx.astype(np.int64),
            kind,
            nonempty(field("unit")),
            valid,
        )

    def take(self, rows: np.ndarray) -> Streets:
        idx = pa.array(rows, pa.int64())
        return Streets(
            self.num[rows],
            self.dir.take(idx),
            self.name[rows],
            self.sfx[rows],
            self.kind[rows],
            self.unit.take(idx),
            self.valid[rows],
        )

    def where(self, mask: np.ndarray, other: Streets) -> Streets:
        """Rows of `other` where mask, else these (both full length)."""
        if not mask.any():
            return self
        m = pa.array(mask)
        return Streets(
            np.where(mask, other.num, self.num),
            pc.if_else(m, other.dir, self.dir),
            np.where(mask, other.name, self.name),
            np.where(mask, other.sfx, self.sfx),
            np.where(mask, other.kind, self.kind),
            pc.if_else(m, other.unit, self.unit),
            np.where(mask, other.valid, self.valid),
        )

    def patch(self, mask: np.ndarray, other: Streets) -> Streets:
        """Rows of `other` (one per masked row) where mask, else these."""
        if not mask.any():
            return self
        m = pa.array(mask)
        num, name, sfx, kind, valid = (
            self.num.copy(),
            self.name.copy(),
            self.sfx.copy(),
            self.kind.copy(),
            self.valid.copy(),
        )
        num[mask], name[mask], sfx[mask], kind[mask], valid[mask] = (
            other.num,
            other.name,
            other.sfx,
            other.kind,
            other.valid,
        )
        return Streets(
            num,
            pc.replace_with_mask(self.dir, m, other.dir),
            name,
            sfx,
            kind,
            pc.replace_with_mask(self.unit, m, other.unit),
            valid,
        )

    def parts(self, style: str = "usps") -> tuple[pa.Array, pa.Array]:
        """(house number, rest of the line) in a vendor's style: usps '123', 'N MAIN ST APT 4B';
        title 'N Main St Apt 4B'; full 'N Main Street Apartment 4B'; period 'N Main St. Apt 4B'."""
        names = _STREETS if style == "usps" else _STREET_TITLE
        unit_word = strings(_UNIT_FORMS[style])
        unit = join(unit_word.take(pa.array(self.kind)), self.unit)
        rest = join_skip(
            self.dir,
            names.take(pa.array(self.name)),
            _SFX_FORMS[style].take(pa.array(self.sfx)),
            unit,
            sep=" ",
        )
        null = ~self.valid
        return set_null(fmt_int(self.num), null), set_null(rest, null)

    def text(self, style: str = "usps") -> pa.Array:
        num, rest = self.parts(style)
        return join(num, " ", rest)


def make_street(rng: np.random.Generator, n: int) -> pa.Array:
    return Streets.random(rng, n).text()


def make_zip(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    zip3 = _ZIP3[_ZIP3_START[city] + (rng.random(len(city)) * _ZIP3_COUNT[city]).astype(int)]
    return zip3 * 100 + rng.integers(1, 99, len(city))


def make_address(rng: np.random.Generator, city: np.ndarray) -> Address:
    return Address(city, make_zip(rng, city), make_street(rng, len(city)))


def city_in_state(rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
    """A random city (by population) in each given state."""
    out = np.empty(len(state), dtype=np.int64)
    for s in np.unique(state):
        rows = np.flatnonzero(state == s)
        cities = np.flatnonzero(V.CITIES.state == s)
        out[rows] = cities[_pick(rng, V.CITIES.weight[cities], rows.size)]
    return out


# ----------------------------------------------------------------------------- people

_AGE_BANDS = (
    (18, 24, 30),
    (25, 29, 22),
    (30, 34, 23),
    (35, 39, 22),
    (40, 44, 21),
    (45, 49, 20),
    (50, 54, 21),
    (55, 59, 21),
    (60, 64, 21),
    (65, 69, 18),
    (70, 74, 15),
    (75, 79, 10),
    (80, 84, 6.5),
    (85, 89, 3.8),
    (90, 95, 2),
)

_SENIORITY_PAY = np.array([0.75, 1.15, 1.4, 1.85, 2.5, 3.0])
_INDUSTRY_PAY = np.array(
    [
        1.15
        if i[0] in ("Software", "Financial Services", "Banking", "Biotechnology", "Energy")
        else 0.78
        if i[0] in ("Hospitality", "Retail")
        else 0.88
        if i[0] in ("Nonprofit", "Education", "Agriculture")
        else 1.0
        for i in V.INDUSTRIES
    ]
)
LOG_INCOME_MEAN = np.log(42_000)
LOG_INCOME_SD = 0.8


def income_z(income: np.ndarray) -> np.ndarray:
    """Standardised log income (used by the planted signals)."""
    return (np.log(np.maximum(income, 1000)) - LOG_INCOME_MEAN) / LOG_INCOME_SD


def birth_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    band = _pick(rng, np.array([b[2] for b in _AGE_BANDS]), n)
    lo = np.array([b[0] for b in _AGE_BANDS])[band]
    hi = np.array([b[1] for b in _AGE_BANDS])[band]
    years = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    anchor = (np.datetime64(f"{AS_OF.year}-{AS_OF.month:02d}", "M") - years * 12).astype(
        "datetime64[D]"
    )
    birth = anchor + (AS_OF.day - 1) - rng.integers(0, 365, n)
    return birth, age_on(birth, AS_OF)


def age_on(birth: np.ndarray, when: date) -> np.ndarray:
    """Whole years from each birth date to `when`."""
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    before = (m > when.month) | ((m == when.month) & (d > when.day))
    return (when.year - y - before).astype(np.int64)


_FIRST_ALL = strings(V.FEMALE.names + V.MALE.names)
_FIRST_SLUG = pc.replace_substring_regex(pc.utf8_lower(_FIRST_ALL), "[^a-z0-9]", "")
_LAST_SLUG = pc.replace_substring_regex(pc.utf8_lower(_LAST), "[^a-z0-9]", "")
_MIDDLE = strings(list("abcdefghijklmnoprstw"))
_EMAIL_PATTERN_W = np.array([20, 13, 13, 5, 10, 8, 8, 5, 4, 8, 6, 3])
_WORK_PATTERN_W = np.array([55, 25, 8, 7, 5])


def _expand(sub: pa.Array, rows: np.ndarray, n: int) -> pa.Array:
    """Values for `rows` of an n-row column, null elsewhere."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    return sub.take(pa.array(pos, mask=pos < 0))


def make_people(
    start: int,
    n: int,
    rng: np.random.Generator,
    geo: tuple[np.ndarray, np.ndarray],
    companies: Companies,
    phones: PhoneBook,
    taken: np.ndarray,
) -> pa.Table:
    """Truth rows for people start+1 .. start+n (emails may still collide; see dedupe).

    `geo` is the chunk's `geography()`; `taken` its row of `PhoneBook.chunk_offsets`."""
    person_id = np.arange(start + 1, start + n + 1, dtype=np.int64)
    birth, age = birth_dates(rng, n)
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    era = np.where(birth_year < 1965, 0, np.where(birth_year < 1990, 1, 2))

    g_roll = rng.random(n)
    gender_i = np.where(g_roll < 0.505, 0, np.where(g_roll < 0.995, 1, 2))  # F, M, X
    female_list = (gender_i == 0) | ((gender_i == 2) & (rng.random(n) < 0.5))
    first_i = np.empty(n, dtype=np.int64)
    for is_f, table, offset in ((True, V.FEMALE, 0), (False, V.MALE, len(V.FEMALE.names))):
        for bucket in range(3):
            rows = np.flatnonzero((female_list == is_f) & (era == bucket))
            first_i[rows] = offset + _pick(rng, table.weights[bucket], rows.size)
    tail = rng.random(n) < V.TAIL_SHARE
    last_i = np.where(
        tail,
        len(V.SURNAMES) + rng.integers(0, len(V.TAIL_SURNAMES), n),
        _pick(rng, V.SURNAME_WEIGHTS, n),
    )
    first, last = take(_FIRST_ALL, first_i), take(_LAST, last_i)

    # where they live
    city, area = geo
    home = make_address(rng, city)
    state = home.state

    # family and work
    age_band = np.digitize(age, [25, 35, 45, 65])
    marital_p = np.array(
        [[85, 13, 2, 0.1], [50, 44, 5, 0.5], [27, 60, 12, 1], [15, 62, 18, 5], [6, 55, 13, 26]]
    )
    marital = np.empty(n, dtype=np.int64)
    for b in range(5):
        rows = np.flatnonzero(age_band == b)
        marital[rows] = _pick(rng, marital_p[b], rows.size)
    employ_p = np.interp(
        age,
        [18, 24, 25, 54, 55, 64, 65, 74, 75, 95],
        [0.5, 0.62, 0.78, 0.8, 0.66, 0.6, 0.25, 0.18, 0.06, 0.02],
    )
    employed = rng.random(n) < employ_p
    emp = np.flatnonzero(employed)
    comp = companies.pick(rng, emp.size)  # employer of each employed person
    small = np.zeros(n, dtype=bool)
    small[emp] = companies.employees[comp] <= 10
    score = 0.055 * (age - 22) + rng.normal(0, 0.9, n) + 0.6 * small
    seniority = np.digitize(score, [0.6, 1.5, 2.2, 2.8, 3.3])
    dept = _pick(rng, np.array([d[1] for d in V.DEPARTMENTS]), n)
    dept = np.where(small & (seniority == 5), len(V.DEPARTMENTS) - 1, dept)  # owners
    title_idx = _TITLE_START[dept, seniority] + (
        rng.random(n) * _TITLE_COUNT[dept, seniority]
    ).astype(np.int64)

    # money
    log_inc = np.where(employed, np.log(52_000), np.where(age < 25, np.log(11_000), np.log(24_000)))
    log_inc += np.where(employed, -0.35 * ((age - 50) / 22.0) ** 2, 0.0)
    log_inc += np.log(V.STATES.income_factor[state])
    pay = np.ones(n)
    pay[emp] = _INDUSTRY_PAY[companies.industry[comp]] * _SENIORITY_PAY[seniority[emp]]
    pay = np.where(small & (seniority >= 4), pay * 0.6, pay)
    log_inc += np.log(pay) + rng.normal(0, 0.5, n)
    income = np.clip(np.round(np.exp(log_inc), -3), 5_000, 5_000_000)
    z = income_z(income)
    married = marital == 1
    partner = np.where(rng.random(n) < 0.78, income * np.exp(rng.normal(-0.2, 0.6, n)), 0.0)
    other = np.where(rng.random(n) < 0.15, np.exp(rng.normal(np.log(25_000), 0.6, n)), 0.0)
    hhi = np.round(income + np.where(married, partner, other), -3)
    fico = 712 + 40 * z + 1.1 * (age - 45) - 22 * (marital == 2) + rng.normal(0, 52, n)
    fico = np.clip(np.round(fico), 300, 850).astype(np.int64)
    own_logit = -3.0 + 0.06 * age + 0.8 * z + 0.7 * married - 0.4 * (V.CITIES.weight[city] > 0.01)
    homeowner = rng.random(n) < 1 / (1 + np.exp(-own_logit))

    # personal email: one of a dozen habits, at a provider that depends on age
    pattern = _pick(rng, _EMAIL_PATTERN_W, n)
    yy2 = birth_year % 100
    n2, n3 = rng.integers(1, 100, n), rng.integers(1, 1000, n)
    mid = rng.integers(0, len(_MIDDLE), n)

    def local_part(g: int, rows: np.ndarray) -> pa.Array:
        f = _FIRST_SLUG.take(pa.array(first_i[rows]))
        ln = _LAST_SLUG.take(pa.array(last_i[rows]))
        fi = pc.utf8_slice_codeunits(f, 0, 1)
        return [
            lambda: join(f, ".", ln),
            lambda: join(f, ln),
            lambda: join(fi, ln),
            lambda: join(f, "_", ln),
            lambda: join(f, ".", ln, fmt_int(yy2[rows], 2)),
            lambda: join(f, ln, fmt_int(n2[rows])),
            lambda: join(fi, ln, fmt_int(n3[rows])),
            lambda: join(f, fmt_int(yy2[rows], 2)),
            lambda: join(ln, fi),
            lambda: join(f, ".", ln, fmt_int(n3[rows])),
            lambda: join(f, _MIDDLE.take(pa.array(mid[rows])), ln),
            lambda: join(ln, ".", f),
        ][g]()

    local = grouped(pattern, len(_EMAIL_PATTERN_W), local_part)
    young = birth_year >= 1975
    dom = np.where(
        young,
        _pick(rng, np.array([d[2] for d in V.EMAIL_DOMAINS]), n),
        _pick(rng, np.array([d[1] for d in V.EMAIL_DOMAINS]), n),
    )
    email = join(local, "@", take(_DOMAINS, dom))

    # work email at the employer's domain
    work_pattern = _pick(rng, _WORK_PATTERN_W, emp.size)

    def work_local(g: int, rows: np.ndarray) -> pa.Array:
        f = _FIRST_SLUG.take(pa.array(first_i[emp[rows]]))
        ln = _LAST_SLUG.take(pa.array(last_i[emp[rows]]))
        fi, li = pc.utf8_slice_codeunits(f, 0, 1), pc.utf8_slice_codeunits(ln, 0, 1)
        return [
            lambda: join(f, ".", ln),
            lambda: join(fi, ln),
            lambda: f,
            lambda: join(f, li),
            lambda: join(f, "_", ln),
        ][g]()

    work = join(
        grouped(work_pattern, len(_WORK_PATTERN_W), work_local), "@", take(companies.domain, comp)
    )

    phone = join("+1", fmt_int(phones.numbers(area, taken)))

    # a previous address for those who moved in the last five years
    moved = np.flatnonzero(rng.random(n) < 0.40)
    moved_at = _AS_OF64 - rng.integers(7, 5 * 365, moved.size)
    kind = rng.random(moved.size)
    here = city[moved]
    prev_city = np.where(
        kind < 0.70,
        here,
        np.where(
            kind < 0.85, city_in_state(rng, state[moved]), _pick(rng, V.CITIES.weight, moved.size)
        ),
    )
    prev = make_address(rng, prev_city)

    def job(values: pa.Array) -> pa.Array:
        return _expand(values, emp, n)

    def before(values: pa.Array) -> pa.Array:
        return _expand(values, moved, n)

    columns = {
        "person_id": pa.array(person_id),
        "first_name": first,
        "last_name": last,
        "birth_date": pa.array(birth, pa.date32()),
        "email": email,
        "phone": phone,
        "street": home.street,
        "city": take(_CITY, city),
        "state": take(_STATE, state),
        "zip": home.zip_text(),
        "age": pa.array(age, pa.int32()),
        "income": pa.array(income),
        "hhi": pa.array(hhi),
        "fico": pa.array(fico, pa.int32()),
        "homeowner": pa.array(homeowner),
        "gender": take(strings(["F", "M", "X"]), gender_i),
        "marital_status": take(_MARITAL, marital),
        "company_name": job(take(companies.name, comp)),
        "domain": job(take(companies.domain, comp)),
        "industry": job(take(_IND_NAMES, companies.industry[comp])),
        "employees": job(pa.array(companies.employees[comp], pa.int32())),
        "revenue": job(pa.array(companies.revenue[comp])),
        "title": job(take(TITLES, title_idx[emp])),
        "seniority": job(take(_SEN, seniority[emp])),
        "department": job(take(_DEPT, dept[emp])),
        "work_email": job(work),
        "company_id": job(pa.array(comp + 1, pa.int32())),
        "moved_at": before(pa.array(moved_at, pa.date32())),
        "prev_street": before(prev.street),
        "prev_city": before(take(_CITY, prev_city)),
        "prev_state": before(take(_STATE, prev.state)),
        "prev_zip": before(prev.zip_text()),
    }
    return pa.table(columns, schema=TRUTH_SCHEMA)
