"""Where the Lists Data Warehouse keeps things: its tables (created by migration 2 in
leadql/catalog/migrations.py), each list's typed attribute table, and the in-memory staging
database that per-run scratch tables go to so they never touch the workspace file."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from leadql.catalog.migrations import SCHEMA
from leadql.connectors.base import quote_ident

LISTS = f"{SCHEMA}.lists"
RUNS = f"{SCHEMA}.runs"
RUN_SOURCES = f"{SCHEMA}.run_sources"
LEADS = f"{SCHEMA}.leads"
LIST_LEADS = f"{SCHEMA}.list_leads"
SEGMENTATIONS = f"{SCHEMA}.segmentations"
OUTCOMES = f"{SCHEMA}.outcomes"
RUN_LEADS = f"{SCHEMA}.run_leads"  # the leads a saved query's run delivered
QUERY_RUNS = f"{SCHEMA}.query_runs"

STAGE = "_stage"  # the executor's `ATTACH ':memory:' AS _stage`

# The columns every delivered row carries besides its attributes, in list-view order.
MEASURES = ("score", "quality", "cost", "provenance", "records")
# Names an attribute cannot have: the view puts these columns around the attributes.
RESERVED = frozenset({"lead_id", "run_id", "row_id", *MEASURES})

# The canonical categories that identify a person, with their canonical types.
IDENTITY_TYPES = {
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "first_name": "VARCHAR",
    "last_name": "VARCHAR",
    "birth_date": "DATE",
    "zip": "VARCHAR",
}


def data_table(list_id: str) -> str:
    """The typed table holding a list's delivered attribute values (one row per fact row)."""
    return f"{SCHEMA}.{quote_ident('list_' + list_id)}"


def view_name(name: str) -> str:
    """The view analysts query a list through: `SELECT … FROM name`."""
    return f"main.{quote_ident(name)}"


def ensure_stage(con: Any) -> None:
    """Attach the in-memory staging database unless the executor already did."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STAGE}")


def now() -> datetime:
    """UTC, without tzinfo: how the catalog stores every timestamp."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
