"""Has a source changed since CREATE? Reading it with a MAP written for other columns would
silently deliver wrong data, so a missing column stops the read with a clear error."""

from __future__ import annotations

import re
from typing import Any

from leadql.catalog.definitions import DataDef
from leadql.connectors import Connector
from leadql.context import Context
from leadql.errors import LeadQLSourceError


def used_columns(defn: DataDef) -> set[str]:
    """Source columns the definition depends on (MAP expressions, KEY, TIME COLUMN, REFERENCES)."""
    used = set(defn.key)
    if defn.time_column:
        used.add(defn.time_column)
    used |= {r.column for r in defn.references}
    words = set()
    for sql in defn.mappings.values():
        words |= {w.strip('"') for w in re.findall(r'"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*', sql)}
    lower = {w.lower() for w in words}
    used |= {c for c in defn.columns if c.lower() in lower}
    return used


def check_schema(ctx: Context, defn: DataDef, connector: Connector) -> tuple[str, list[str]]:
    """The FROM-clause to read `defn` with, after checking its columns are still there, and
    warnings about columns whose type changed."""
    from_sql, _, warnings = read_schema(ctx, defn, connector)
    return from_sql, warnings


def read_schema(
    ctx: Context, defn: DataDef, connector: Connector
) -> tuple[str, dict[str, str], list[str]]:
    """`check_schema`, also returning the columns it read (column → DuckDB type), for callers
    that need them: reading a schema can mean opening remote files."""
    con = ctx.con
    current = connector.schema(con)
    lower = {c.lower() for c in current}
    missing = sorted(c for c in used_columns(defn) if c.lower() not in lower)
    if missing:
        raise LeadQLSourceError(
            f"{defn.kind} `{defn.name}` changed since it was created: column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} gone from {defn.location}",
            hint=f"CREATE OR REPLACE {defn.kind.upper()} {defn.name} ... with a MAP for the new columns",
        )
    from_sql = connector.relation(con)
    warnings = [
        f"{defn.name}.{c} was {defn.columns[c]} at CREATE and is {current[c]} now"
        for c in changed_types(defn, current)
        if c in used_columns(defn)
    ]
    return from_sql, current, warnings


def changed_types(defn: DataDef, current: dict[str, Any]) -> list[str]:
    """Columns whose type differs from what CREATE saw (a warning, not an error)."""
    return [c for c, t in defn.columns.items() if c in current and current[c] != t]
