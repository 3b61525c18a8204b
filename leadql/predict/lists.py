"""PREDICT ... INTO LIST: scored entities become leads of a list in the warehouse.

An entity of the company's own table is a person the warehouse may already know (a lead bought
earlier): its identity categories (email, phone, names with ZIP or birth date, as the table maps
them) give it a `lead_id` exactly as FIND's deliveries get theirs, so the list joins with the
rest of the warehouse. The entity's own key is kept as an attribute.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from leadql.catalog import canonical
from leadql.catalog.definitions import TABLE
from leadql.connectors.base import quote_ident, quote_str
from leadql.context import Context
from leadql.errors import LeadQLExecutionError
from leadql.predict.binding import BoundPredict
from leadql.warehouse.schema import IDENTITY_TYPES, RESERVED


def prepare_predictions(ctx: Context, bound: BoundPredict, table: Any) -> Any:
    """The scored rows as the leads of list `bound.into_list` (an Arrow table: lead_id, the
    entity's key and identity columns, the scores): the identity work is done here, in temp
    tables, so that writing the list (`write_predictions`) is the only write left."""
    import pyarrow as pa

    from leadql.warehouse import assign_lead_ids

    assert bound.into_list is not None
    con = ctx.con
    defn = ctx.catalog.get_data(bound.entity.name, (TABLE,))
    assert defn is not None
    categories = ctx.catalog.categories()
    mapped = {m.lower(): m for m in defn.mappings}
    usable = [c for c in IDENTITY_TYPES if c in mapped]
    if not {"email", "phone"} & set(usable) and not {"first_name", "last_name"} <= set(usable):
        raise LeadQLExecutionError(
            f"cannot put {bound.entity.name} into a list: the table maps no identity category "
            "(email, phone, or first and last name)",
            hint=f"CREATE OR REPLACE TABLE {bound.entity.name} ... MAP (email = <column>, ...), "
            "or leave out INTO LIST",
        )
    key = bound.entity_key
    token = uuid.uuid4().hex[:10]
    scored = f"_leadql_scored_{token}"
    identity = f"_leadql_identity_{token}"
    con.register(scored, table)
    ids = None
    try:
        select = canonical.canonical_select(
            defn, categories, bound.entity.relation, only=usable, keep_columns=True
        )
        cols = ", ".join(
            f"c.{quote_ident(mapped[c])} AS {c}" if c in usable
            else f"CAST(NULL AS {type_}) AS {c}"
            for c, type_ in IDENTITY_TYPES.items()
        )  # fmt: skip
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {identity} AS SELECT DISTINCT ON (s.{quote_ident(key)}) "
            f"s.{quote_ident(key)} AS entity_id, {cols} FROM {scored} AS s "
            f"JOIN ({select}) AS c ON c.{quote_ident(key)} = s.{quote_ident(key)}"
        )
        ids = assign_lead_ids(con, identity)
        attribute = f"{bound.entity.name}_{key}" if key.lower() in RESERVED else key
        extras = [c for c in table.column_names if c not in (key,)]
        extra_sql = "".join(f", s.{quote_ident(c)}" for c in extras if c.lower() != "score")
        score = ", s.score" if "score" in table.column_names else ""
        # several rows per entity (top classes, forecast timeframes): the first one goes in
        then = "".join(f", s.{quote_ident(c)}" for c in ("timeframe",) if c in table.column_names)
        leads = con.sql(
            f"""SELECT i.lead_id, s.{quote_ident(key)} AS {quote_ident(attribute)}
                       {''.join(f', t.{c}' for c in usable)}{extra_sql}{score},
                       CAST(NULL AS DOUBLE) AS quality, CAST(0 AS DECIMAL(18,6)) AS cost,
                       map(['score'], [{quote_str(_scorer(bound))}]) AS provenance,
                       CAST([] AS VARCHAR[]) AS records
                FROM {scored} AS s JOIN {identity} AS t ON t.entity_id = s.{quote_ident(key)}
                JOIN {ids} AS i ON i.entity_id = t.entity_id
                QUALIFY row_number() OVER (PARTITION BY i.lead_id ORDER BY s."rank"{then}) = 1
                ORDER BY s."rank" """
        ).to_arrow_table()
        assert isinstance(leads, pa.Table)
        return leads
    finally:
        con.unregister(scored)
        con.execute(f"DROP TABLE IF EXISTS {identity}")
        if ids is not None:
            con.execute(f"DROP TABLE IF EXISTS {ids}")


def _scorer(bound: BoundPredict) -> str:
    return bound.model_name or "unsaved model"


def write_predictions(ctx: Context, bound: BoundPredict, leads: Any, *, version: int | None = None) -> str:
    """Write `prepare_predictions`' leads into list `bound.into_list` (one transaction, or part
    of the caller's); returns a phrase for the message."""
    from leadql.warehouse import write_list
    from leadql.warehouse.runs import RunRecord

    assert bound.into_list is not None
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    run = RunRecord(
        run_id=uuid.uuid4().hex, statement=bound.stmt.text or bound.text, list_name=bound.into_list,
        started_at=now, finished_at=now, status="complete", requested=bound.limit,
        delivered=leads.num_rows, budget=Decimal(0), spent=Decimal(0),
        plan={"predict": bound.task_type, "model": _scorer(bound)}, warnings=[],
        scorer_kind="model" if bound.model_name else None, scorer_name=bound.model_name,
        scorer_version=version,
    )  # fmt: skip
    write_list(ctx.con, bound.into_list, run, leads)
    return f"{leads.num_rows:,} leads into list {bound.into_list}"
