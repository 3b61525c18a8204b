"""The Lists Data Warehouse (LDW): every list delivered, every lead, every run and what it paid.

A star schema in the workspace's `_leadql` schema (migration 2): the fact `list_leads` around
the dimensions `lists`, `runs` and `leads`, with `run_sources` as the spend ledger; each list
also reads as a view `main.<name>`. See docs/warehouse.md.

    record_run(con, run)                        a FIND that spent money, with or without a list
    write_list(con, name, run, leads, identities=None)   create or append a list, atomically
    assign_lead_ids(con, entities) -> table     stable lead ids across runs
    suppression(con, catalog, exclusions, available=..., run_id=...) -> Suppression
"""

from leadql.warehouse.identity import KEYS, IdentityKey, assign_lead_ids
from leadql.warehouse.lists import (
    ListInfo,
    check_list,
    drop_list,
    get_list,
    list_exists,
    list_names,
    write_list,
)
from leadql.warehouse.runs import RunRecord, SourceSpend, record_run
from leadql.warehouse.schema import STAGE, ensure_stage
from leadql.warehouse.suppression import Suppression, suppression

__all__ = [
    "KEYS",
    "STAGE",
    "IdentityKey",
    "ListInfo",
    "RunRecord",
    "SourceSpend",
    "Suppression",
    "assign_lead_ids",
    "check_list",
    "drop_list",
    "ensure_stage",
    "get_list",
    "list_exists",
    "list_names",
    "record_run",
    "suppression",
    "write_list",
]
