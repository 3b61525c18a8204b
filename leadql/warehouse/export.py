"""A list as a CRM import file: Salesforce's lead import, HubSpot's contact import, or plain CSV.

    export_list(con, name, layout, path) -> ExportReport

A layout is a tuple of columns, each a CRM header and where its value comes from: a canonical
category (`email`, `company_name`, …) or one of LeadQL's own fields (the lead id, score,
quality, the sources a value came from, a rating, a lead source). Category values come from the
list's delivered columns first, then, for the identity keys (names, email, phone, ZIP, birth
date), from what the warehouse remembers about each lead in the `leads` dimension. Columns the
list has no data for are written empty and reported, as are rows that lack a column the CRM
requires (Salesforce: Last Name and Company; HubSpot: Email).

A lead delivered by several runs of a list is written once: each column holds its latest value,
Description and the sources name every source any delivery came from. The `csv` layout writes
the list as `SELECT * FROM list` shows it instead, one row per delivery.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadql.connectors.base import duckdb_detail, quote_ident, quote_str
from leadql.errors import LeadQLExecutionError, LeadQLNameError, LeadQLTypeError, did_you_mean
from leadql.warehouse.lists import require_list
from leadql.warehouse.schema import IDENTITY_TYPES, LEADS, view_name


@dataclass(frozen=True)
class Column:
    header: str  # the CRM's column header, as its import wizard maps it
    source: str  # a canonical category, or a LeadQL field (see _leadql_field)


@dataclass(frozen=True)
class Layout:
    name: str
    columns: tuple[Column, ...]
    required: tuple[str, ...] = ()  # headers the CRM needs on every row


def _columns(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(header, source) for header, source in pairs)


# Salesforce: the Lead field labels of the Data Import Wizard. Lead Source "Purchased List" and
# Lead Status "Open - Not Contacted" are values of Salesforce's default picklists.
SALESFORCE = Layout("salesforce", _columns(
    ("First Name", "first_name"), ("Last Name", "last_name"), ("Email", "email"), ("Phone", "phone"),
    ("Company", "company_name"), ("Title", "title"), ("Industry", "industry"), ("Website", "domain"),
    ("Street", "street"), ("City", "city"), ("State/Province", "state"), ("Zip/Postal Code", "zip"),
    ("Country", "@country"), ("Annual Revenue", "revenue"), ("No. of Employees", "employees"),
    ("Lead Source", "@lead_source"), ("Lead Status", "@salesforce_status"), ("Rating", "@rating"),
    ("Description", "@description"),
), required=("Last Name", "Company"))  # fmt: skip

# HubSpot: the contact property labels its import maps by name; LeadQL's measures go to custom
# properties (create "LeadQL Lead ID", "LeadQL Score", … in HubSpot, or skip them at import).
HUBSPOT = Layout("hubspot", _columns(
    ("First Name", "first_name"), ("Last Name", "last_name"), ("Email", "email"),
    ("Phone Number", "phone"), ("Company Name", "company_name"), ("Job Title", "title"),
    ("Industry", "industry"), ("Website URL", "domain"), ("Street Address", "street"), ("City", "city"),
    ("State/Region", "state"), ("Postal Code", "zip"), ("Country/Region", "@country"),
    ("Annual Revenue", "revenue"), ("Number of Employees", "employees"),
    ("Lifecycle Stage", "@hubspot_stage"), ("Lead Status", "@hubspot_status"),
    ("LeadQL Lead ID", "@lead_id"), ("LeadQL Score", "@score"), ("LeadQL Quality", "@quality"),
    ("LeadQL Sources", "@sources"), ("LeadQL List", "@list"),
), required=("Email",))  # fmt: skip

LAYOUTS = {layout.name: layout for layout in (SALESFORCE, HUBSPOT)}
LAYOUT_NAMES = ("salesforce", "hubspot", "csv")
STATE_COUNTRY = "United States"  # the `state` category holds US states (normaliser us_state)


@dataclass
class ExportReport:
    """What `export_list` wrote. Reads like a dict too: `report["rows"]`."""

    list: str
    layout: str
    path: str
    rows: int
    columns: list[str]
    empty_columns: list[str]  # layout columns no row had a value for
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def layout_named(layout: Any) -> str:
    """The layout's canonical name, or a LeadQLNameError with the nearest one."""
    if not isinstance(layout, str):
        raise LeadQLTypeError(f"an export layout is a name, not {type(layout).__name__}",
                              hint=f"layouts: {', '.join(LAYOUT_NAMES)}")  # fmt: skip
    key = layout.strip().lower()
    if key not in LAYOUT_NAMES:
        raise LeadQLNameError(f"no export layout named `{layout}`",
                              hint=did_you_mean(key, LAYOUT_NAMES) or f"layouts: {', '.join(LAYOUT_NAMES)}")  # fmt: skip
    return key


def export_list(con: Any, name: str, layout: str, path: str | Path) -> ExportReport:
    """Write list `name` to `path` in `layout` (salesforce, hubspot or csv), atomically."""
    import duckdb

    key = layout_named(layout)
    if not isinstance(name, str):
        raise LeadQLTypeError(f"a list name is text, not {type(name).__name__}")
    if not isinstance(path, (str, Path)) or not str(path):
        raise LeadQLTypeError(f"the export file is a path, not {type(path).__name__}",
                              hint="e.g. ws.export_list('hot', 'salesforce', 'hot.csv')")  # fmt: skip
    info = require_list(con, name)
    try:
        header, rows, warnings = _read(con, info.name, key)
    except duckdb.Error as e:  # a list the layout cannot read: an error, never a traceback
        raise LeadQLExecutionError(f"cannot export list `{info.name}`: {duckdb_detail(e)}",
                                   hint="export it with --layout csv, or report this as a bug") from None  # fmt: skip
    empty = [h for i, h in enumerate(header) if all(r[i] in (None, "") for r in rows)]
    target = Path(path)
    if target.suffix.lower() not in ("", ".csv", ".txt"):
        raise LeadQLTypeError(f"an export is a CSV file (what CRMs import), so it cannot be `{target.name}`",
                              hint=f"name it {target.stem}.csv; a list's rows go to Parquet with "
                              f"leadql -o {target.name} -c \"SELECT * FROM {info.name}\"")  # fmt: skip
    _write_csv(target, header, rows)
    return ExportReport(info.name, key, str(target), len(rows), header, empty, warnings)


def _read(con: Any, name: str, key: str) -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    """The header, the rows and the warnings of list `name` in layout `key`."""
    view = view_name(name)
    described = con.execute(f"DESCRIBE {view}").fetchall()
    if key == "csv":
        return [r[0] for r in described], con.execute(f"SELECT * FROM {view}").fetchall(), []
    columns = {r[0].lower(): r[0] for r in described}
    types = {r[0].lower(): str(r[1]).upper() for r in described}
    spec = LAYOUTS[key]
    header = [c.header for c in spec.columns]
    picks = ", ".join(f"{_value_sql(c.source, columns, types, name)} AS {quote_ident(c.header)}" for c in spec.columns)
    rows = con.execute(
        f"""WITH v AS (SELECT *, row_number() OVER () AS _position FROM {view}),
                 merged AS ({_merged(columns)})
            SELECT {picks} FROM merged AS v LEFT JOIN {LEADS} AS l ON l.lead_id = v.lead_id
            ORDER BY v._position"""
    ).fetchall()
    return header, rows, _missing_required(spec, header, rows)


def _merged(columns: dict[str, str]) -> str:
    """One row per lead of the view's deliveries (`v`, numbered by `_position`): each column's
    latest value that is not NULL, the total cost, and every source any delivery came from.
    Rows are ordered by the lead's first delivery."""
    picks = ["min(_position) AS _position"]
    for lower, column in columns.items():
        name = quote_ident(column)
        if lower in ("lead_id", "run_id", "records", "provenance"):
            continue
        if lower == "cost":
            picks.append(f"sum({name}) AS {name}")
        else:
            picks.append(f"arg_max({name}, _position) FILTER (WHERE {name} IS NOT NULL) AS {name}")
    if "provenance" in columns:  # values read 'source/record key'
        picks.append("list_sort(list_distinct(flatten(list(list_transform(map_values(provenance), "
                     "lambda x: split_part(x, '/', 1)))))) AS _sources")  # fmt: skip
    return f"SELECT lead_id, {', '.join(picks)} FROM v GROUP BY lead_id"


def _value_sql(source: str, columns: dict[str, str], types: dict[str, str], list_name: str) -> str:
    """The SQL giving one layout column's text for a row of the list (`v`) and its lead (`l`)."""
    if source.startswith("@"):
        return _leadql_field(source[1:], columns, list_name)
    own = None
    if source in columns:
        column = f"v.{quote_ident(columns[source])}"
        if types[source].startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL")):  # 1500000.0 → 1500000
            own = f"regexp_replace(printf('%.2f', {column}), '\\.00$', '')"
        else:
            own = f"CAST({column} AS VARCHAR)"
    remembered = f"CAST(l.{quote_ident(source)} AS VARCHAR)" if source in IDENTITY_TYPES else None
    if own and remembered:
        return f"coalesce({own}, {remembered})"
    return own or remembered or "NULL"


def _leadql_field(kind: str, columns: dict[str, str], list_name: str) -> str:
    score = "v.score" if "score" in columns else "NULL"
    quality = "v.quality" if "quality" in columns else "NULL"
    sources = "array_to_string(v._sources, ', ')" if "provenance" in columns else "NULL"
    if kind == "lead_id":
        return "v.lead_id"
    if kind == "score":
        return f"CAST(round({score}, 4) AS VARCHAR)"
    if kind == "quality":
        return f"CAST(round({quality}, 4) AS VARCHAR)"
    if kind == "sources":
        return sources
    if kind == "list":
        return quote_str(list_name)
    if kind == "country":
        if "country" in columns:
            return f"CAST(v.{quote_ident(columns['country'])} AS VARCHAR)"
        if "state" in columns:
            return f"CASE WHEN v.{quote_ident(columns['state'])} IS NOT NULL THEN {quote_str(STATE_COUNTRY)} END"
        return "NULL"
    if kind == "rating":  # Salesforce's Rating picklist, from the score (else the quality)
        measure = f"coalesce({score}, {quality})"
        return (f"CASE WHEN {measure} >= 0.8 THEN 'Hot' WHEN {measure} >= 0.5 THEN 'Warm' "
                f"WHEN {measure} IS NOT NULL THEN 'Cold' END")  # fmt: skip
    if kind == "lead_source":  # bought from a vendor, or scored from the company's own data
        cost = "v.cost" if "cost" in columns else "0"
        return f"CASE WHEN {cost} > 0 THEN 'Purchased List' ELSE 'Other' END"
    if kind == "salesforce_status":
        return "'Open - Not Contacted'"
    if kind == "hubspot_stage":
        return "'Lead'"
    if kind == "hubspot_status":
        return "'New'"
    if kind == "description":  # NULL parts drop out of concat_ws
        return (f"concat_ws('; ', 'LeadQL lead ' || v.lead_id, 'list ' || {quote_str(list_name)}, "
                f"'score ' || round({score}, 3), 'quality ' || round({quality}, 3), 'from ' || {sources})")  # fmt: skip
    raise AssertionError(f"unknown LeadQL field {kind}")  # pragma: no cover - layouts are fixed


def _missing_required(layout: Layout, header: list[str], rows: list[tuple[Any, ...]]) -> list[str]:
    out = []
    for required in layout.required:
        i = header.index(required)
        missing = sum(1 for r in rows if r[i] in (None, ""))
        if missing:
            out.append(f"{missing:,} of {len(rows):,} rows have no {required}, which "
                       f"{layout.name.capitalize()} needs to import a lead")  # fmt: skip
    return out


def _cell(value: Any) -> Any:
    """A value as CSV text: NULL empty, maps and lists as JSON, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str) and _FORMULA.match(value) and not _SIGNED_NUMBER.match(value):
        return "'" + value  # a spreadsheet opening the file would run it as a formula
    return value


# Text a spreadsheet takes for a formula (CSV injection); a phone number or a signed number
# starting with + or - is left alone, since CRMs import those as they are.
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_SIGNED_NUMBER = re.compile(r"^[+-][\d\s().-]*$")


def _write_csv(target: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    from leadql.output import atomic_file

    with atomic_file(target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
