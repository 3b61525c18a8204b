"""A list as a CRM import file: Salesforce's lead import, HubSpot's contact import, or plain CSV.

Each layout maps the CRM's column headers to LeadQL's canonical categories. Values come from the
list's delivered columns first, then from the `leads` dimension (the identity keys the warehouse
remembers for each lead, e.g. the name behind an email). LeadQL's own measures go into the
layout's description column, so a salesperson sees why a lead is there. Layout columns the list
has no data for are written empty and reported.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from leadql.connectors.base import quote_ident
from leadql.errors import LeadQLNameError, did_you_mean
from leadql.warehouse.lists import require_list
from leadql.warehouse.schema import IDENTITY_TYPES, LEADS, view_name

# CRM header → canonical category (None: filled by LeadQL itself).
LAYOUTS: dict[str, list[tuple[str, str | None]]] = {
    "salesforce": [
        ("First Name", "first_name"), ("Last Name", "last_name"), ("Email", "email"), ("Phone", "phone"),
        ("Company", "company_name"), ("Title", "title"), ("Industry", "industry"), ("Street", "street"),
        ("City", "city"), ("State/Province", "state"), ("Zip/Postal Code", "zip"), ("Country", None),
        ("Annual Revenue", "revenue"), ("No. of Employees", "employees"), ("Lead Source", None),
        ("Rating", None), ("Description", None),
    ],
    "hubspot": [
        ("First Name", "first_name"), ("Last Name", "last_name"), ("Email", "email"),
        ("Phone Number", "phone"), ("Company Name", "company_name"), ("Job Title", "title"),
        ("Industry", "industry"), ("Street Address", "street"), ("City", "city"), ("State/Region", "state"),
        ("Postal Code", "zip"), ("Country/Region", None), ("Annual Revenue", "revenue"),
        ("Number of Employees", "employees"), ("Lead Status", None), ("Original Source", None),
        ("LeadQL Lead ID", None), ("LeadQL Score", None),
    ],
}  # fmt: skip
LAYOUT_NAMES = ("salesforce", "hubspot", "csv")


def export_list(con: Any, name: str, layout: str, path: str | Path) -> dict[str, Any]:
    """Write list `name` to `path` in `layout`; returns {"rows", "path", "empty_columns"}."""
    layout_key = layout.lower()
    if layout_key not in LAYOUT_NAMES:
        raise LeadQLNameError(f"no export layout named `{layout}`",
                              hint=did_you_mean(layout, LAYOUT_NAMES) or f"layouts: {', '.join(LAYOUT_NAMES)}")  # fmt: skip
    info = require_list(con, name)
    view = view_name(info.name)
    delivered = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
    lower = {c.lower(): c for c in delivered}
    if layout_key == "csv":
        header = delivered
        sql = f"SELECT * FROM {view}"
    else:
        picks = []
        for label, category in LAYOUTS[layout_key]:
            picks.append(f"{_value(lower, category, layout_key, label, info.name)} AS {quote_ident(label)}")
        header = [label for label, _ in LAYOUTS[layout_key]]
        sql = (f"SELECT {', '.join(picks)} FROM {view} AS v LEFT JOIN {LEADS} AS l ON l.lead_id = v.lead_id "
               "ORDER BY v.lead_id")  # fmt: skip
    rows = con.execute(sql).fetchall()
    empty = [h for i, h in enumerate(header) if all(r[i] in (None, "") for r in rows)]
    target = Path(path)
    _write_csv(target, header, rows)
    return {"rows": len(rows), "path": str(target), "empty_columns": empty}


def _value(columns: dict[str, str], category: str | None, layout: str, label: str, list_name: str) -> str:
    if category is None:
        if label in ("Lead Source", "Original Source"):
            return f"'LeadQL list {list_name.replace(chr(39), chr(39) * 2)}'"
        if label in ("Rating", "Lead Status"):
            score = "v.score" if "score" in columns else "v.quality"
            hot, warm = ("Hot", "Warm") if layout == "salesforce" else ("OPEN", "OPEN")
            cold = "Cold" if layout == "salesforce" else "NEW"
            return f"CASE WHEN {score} >= 0.8 THEN '{hot}' WHEN {score} >= 0.5 THEN '{warm}' ELSE '{cold}' END"
        if label == "Description":
            score = "'score ' || round(v.score, 3)::VARCHAR || '; '" if "score" in columns else "''"
            return (f"{score} || 'quality ' || round(v.quality, 3)::VARCHAR || '; LeadQL lead ' || v.lead_id "
                    f"|| '; from ' || array_to_string(map_values(v.provenance), ', ')")  # fmt: skip
        if label == "LeadQL Lead ID":
            return "v.lead_id"
        if label == "LeadQL Score":
            return "round(v.score, 4)" if "score" in columns else "round(v.quality, 4)"
        return "NULL"  # Country: the sample categories are US-only and carry no country
    if category in columns:
        own = f"CAST(v.{quote_ident(columns[category])} AS VARCHAR)"
        return f"coalesce({own}, CAST(l.{category} AS VARCHAR))" if category in IDENTITY_TYPES else own
    if category in IDENTITY_TYPES:
        return f"CAST(l.{category} AS VARCHAR)"
    return "NULL"


def _write_csv(target: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    from leadql.output import atomic_file

    with atomic_file(target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
