"""The data vendors of the sample world: who sells what, at which price, quality and freshness.

The first three match the names used in `examples/01_catalog.lql` (`acme_credit`,
`data_axle`, `zoominfo_like`), so that script runs against generated data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

FORMATS = ("parquet", "csv", "ndjson")
KEY_STYLES = ("prefix", "int", "hex")
BIASES = ("", "income", "homeowner", "young", "old")


@dataclass(frozen=True)
class VendorSpec:
    """One data vendor.

    The first ten fields are the contract; the rest (all optional) shape the vendor's data:

    * `file`: file name inside the output folder (default `<name>.<format>`); a name without a
      suffix is a folder of part files.
    * `key_style`: `prefix` ('AXL-000123', with `key_prefix`), `int` (scrambled numbers) or
      `hex` (16 hex digits).
    * `segment`: `consumer` or `b2b`; a b2b vendor only holds people with a job, and its
      `email` is their work email (first.last@company.com).
    * `states`: a regional vendor only holds people living in these states.
    * `bias`: who the vendor over-represents: `income` (well-off), `homeowner`, `young`, `old`.
    * `messiness`: share of values written in a format other than the vendor's usual one.
    * `missing`: share of values left empty.
    * `duplicates`: share of records repeated exactly (same key, same values).
    * `rekeyed`: share of people held twice under two record ids, with independent noise.
    * `typed`: numbers, dates and flags stored natively (Parquet / JSON types) rather than as text.
    * `styles`: category -> the one format used for every value (no mixing), e.g. `{"homeowner":
      "yn"}` for a column read as `owner_flag = 'Y'`.
    * `split_street`: (number column, rest column) when the street line comes in two columns.
    """

    name: str
    format: str
    coverage: float
    categories: tuple[str, ...]
    price_per_record: Decimal
    price_per_query: Decimal
    quality: float
    updated: date
    column_names: dict[str, str] = field(hash=False)
    key_column: str
    file: str = ""
    key_style: str = "prefix"
    key_prefix: str = ""
    segment: str = "consumer"
    states: tuple[str, ...] = ()
    bias: str = ""
    messiness: float = 0.25
    missing: float = 0.05
    duplicates: float = 0.0
    rekeyed: float = 0.0
    typed: bool = True
    styles: Mapping[str, str] = field(default_factory=dict, hash=False)
    split_street: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"vendor {self.name}: format must be one of {FORMATS}")
        if not 0 < self.coverage <= 1 or not 0 < self.quality <= 1:
            raise ValueError(f"vendor {self.name}: coverage and quality are shares in (0, 1]")
        if self.key_style not in KEY_STYLES or self.bias not in BIASES:
            raise ValueError(f"vendor {self.name}: key_style {KEY_STYLES}, bias {BIASES}")
        if self.segment not in ("consumer", "b2b"):
            raise ValueError(f"vendor {self.name}: segment is 'consumer' or 'b2b'")
        unmapped = [
            c
            for c in self.categories
            if c not in self.column_names and not (c == "street" and self.split_street)
        ]
        if unmapped:
            raise ValueError(f"vendor {self.name}: no column for {', '.join(unmapped)}")

    @property
    def file_name(self) -> str:
        return self.file or f"{self.name}.{self.format}"

    @property
    def is_folder(self) -> bool:
        return "." not in self.file_name

    def map_sql(self) -> dict[str, str]:
        """category -> the MAP expression over the vendor's own columns."""
        out = {}
        for category in self.categories:
            if category == "street" and self.split_street:
                number, rest = (quote(c) for c in self.split_street)
                out[category] = f"{number} || ' ' || {rest}"
            else:
                out[category] = quote(self.column_names[category])
        return out

    def file_columns(self) -> list[str]:
        """The columns of the vendor's file, in order."""
        columns = [self.key_column]
        for category in self.categories:
            if category == "street" and self.split_street:
                columns.extend(self.split_street)
            else:
                columns.append(self.column_names[category])
        return columns


_PLAIN = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def quote(identifier: str) -> str:
    """An identifier as LeadQL/SQL text: bare when it is lower-case snake case, else quoted."""
    if identifier and identifier[0].isalpha() and set(identifier) <= _PLAIN:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def _v(
    name, fmt, coverage, columns, price, per_query, quality, updated, key, **extra
) -> VendorSpec:
    return VendorSpec(
        name=name,
        format=fmt,
        coverage=coverage,
        categories=tuple(columns),
        price_per_record=Decimal(price),
        price_per_query=Decimal(per_query),
        quality=quality,
        updated=date.fromisoformat(updated),
        column_names=dict(columns),
        key_column=key,
        **extra,
    )


# fmt: off
VENDORS: tuple[VendorSpec, ...] = (
    # A credit bureau: identity, address, income and FICO; the street comes in two columns.
    _v("acme_credit", "parquet", 0.70, {
        "first_name": "fname", "last_name": "lname", "birth_date": "dob", "email": "email_addr",
        "street": "address_1", "city": "city_name", "state": "st", "zip": "zip5",
        "income": "annual_income", "fico": "credit_score"},
       "0.004", "25", 0.93, "2026-10-01", "record_id",
       key_style="int", split_street=("street_number", "address_1"), missing=0.03,
       messiness=0.1, styles={"state": "code", "zip": "zip5"}),
    # Contact data: email and phone, plus a home-owner flag and date of birth.
    _v("data_axle", "csv", 0.55, {
        "first_name": "first", "last_name": "last", "email": "email", "phone": "phone_number",
        "birth_date": "dob", "homeowner": "owner_flag", "state": "state", "zip": "postal_code"},
       "0.004", "0", 0.85, "2026-09-15", "id",
       file="data_axle", key_prefix="AXL-", styles={"homeowner": "yn", "birth_date": "iso"},
       typed=False, missing=0.06, rekeyed=0.01),
    # Firmographic contacts: people at companies, their roles and work emails.
    _v("zoominfo_like", "parquet", 0.30, {
        "first_name": "first_name", "last_name": "last_name", "email": "work_email",
        "title": "job_title", "seniority": "seniority_level", "department": "dept",
        "company_name": "company", "domain": "website", "industry": "naics_title",
        "employees": "headcount", "revenue": "annual_revenue"},
       "0.02", "0", 0.90, "2026-10-15", "contact_id",
       file="firmo.parquet", key_style="hex", segment="b2b", missing=0.04),
    # Demographics: age, sex, marital status, home ownership, household income.
    _v("demographix", "ndjson", 0.60, {
        "first_name": "given_name", "last_name": "surname", "zip": "postal_code",
        "state": "state_code", "age": "age_years", "gender": "sex", "marital_status": "marital",
        "homeowner": "owner_occupied", "hhi": "household_income"},
       "0.003", "0", 0.86, "2026-08-01", "dmx_id", key_prefix="DMX", missing=0.07),
    # Cheap B2B list: work contacts with little company detail.
    _v("bizleads_bulk", "csv", 0.20, {
        "first_name": "FirstName", "last_name": "LastName", "email": "Email", "phone": "Phone",
        "company_name": "Company", "domain": "CompanyWebsite", "title": "Title",
        "department": "Department"},
       "0.005", "0", 0.78, "2025-12-01", "LeadID",
       key_prefix="BLB-", segment="b2b", typed=False, messiness=0.4, missing=0.1,
       duplicates=0.005, rekeyed=0.02),
    # A cheap, low-quality list broker: everything, messy, duplicated.
    _v("listmart", "csv", 0.45, {
        "first_name": "First Name", "last_name": "Last Name", "email": "Email Address",
        "phone": "Phone", "street": "Address", "city": "City", "state": "State", "zip": "Zip",
        "age": "Age", "income": "Est. Income", "homeowner": "Homeowner"},
       "0.001", "0", 0.68, "2026-06-30", "Record ID",
       key_style="int", typed=False, messiness=0.6, missing=0.12, duplicates=0.015,
       rekeyed=0.03),
    # A premium vendor: expensive, accurate, fresh, over-represents the well-off.
    _v("primeleads", "parquet", 0.25, {
        "first_name": "first_name", "last_name": "last_name", "email": "email", "phone": "phone",
        "street": "street_address", "city": "city", "state": "state", "zip": "zip_code",
        "age": "age", "income": "income_usd", "hhi": "hh_income_usd", "fico": "fico_score",
        "homeowner": "is_homeowner"},
       "0.045", "100", 0.97, "2026-10-28", "pl_id",
       key_prefix="PL", bias="income", messiness=0.05, missing=0.02),
    # A stale archive: cheap, last refreshed in 2023 (old addresses), leans older.
    _v("archive_direct", "csv", 0.50, {
        "first_name": "FNAME", "last_name": "LNAME", "street": "ADDR1", "city": "CITY",
        "state": "STATE", "zip": "ZIP", "phone": "PHONE", "birth_date": "DOB",
        "homeowner": "OWNER", "marital_status": "MARITAL"},
       "0.0015", "0", 0.75, "2023-03-31", "ARCH_ID",
       key_style="int", bias="old", typed=False, messiness=0.3, missing=0.08, duplicates=0.004),
    # A regional vendor: the West Coast and its neighbours only.
    _v("westcoast_data", "parquet", 0.12, {
        "first_name": "first_nm", "last_name": "last_nm", "email": "email_address",
        "phone": "phone_nbr", "street": "addr_line", "city": "city_nm", "state": "state_cd",
        "zip": "zip_cd", "age": "age", "income": "est_income", "homeowner": "homeowner_flag"},
       "0.008", "0", 0.91, "2026-09-30", "wc_key",
       key_prefix="WC-", states=("CA", "OR", "WA", "NV", "AZ"), missing=0.04),
    # A second credit source, competing with acme_credit on FICO and income.
    _v("tradeline_plus", "ndjson", 0.40, {
        "first_name": "firstName", "last_name": "lastName", "birth_date": "birthDate",
        "zip": "zipCode", "state": "stateCode", "fico": "ficoScore", "income": "incomeEstimate",
        "hhi": "householdIncome"},
       "0.012", "10", 0.89, "2026-07-15", "tradelineId", key_style="hex", missing=0.05),
    # Digital identity: emails and phones seen online, leans young, cheap.
    _v("clickid", "ndjson", 0.50, {
        "first_name": "fn", "last_name": "ln", "email": "em", "phone": "ph", "age": "age_est",
        "gender": "gender_cd", "state": "region", "zip": "postal"},
       "0.002", "0", 0.82, "2026-10-25", "uid",
       key_style="hex", bias="young", messiness=0.35, missing=0.1, rekeyed=0.01),
    # Property records: home owners, addresses and household income.
    _v("homestead_records", "parquet", 0.35, {
        "first_name": "owner_first", "last_name": "owner_last", "street": "situs_address",
        "city": "situs_city", "state": "situs_state", "zip": "situs_zip",
        "homeowner": "owner_occupied", "hhi": "est_household_income",
        "marital_status": "marital_status_cd"},
       "0.005", "0", 0.92, "2026-05-01", "parcel_id",
       key_prefix="APN-", bias="homeowner", missing=0.04, styles={"zip": "int"}),
)
# fmt: on
