"""LeadQL: a declarative query language and engine for finding and scoring sales leads.

    import leadql
    leadql.parse("FIND 100 leads WITH email BUDGET 50")   # -> list of statements
    with leadql.connect("sales.leadql") as ws:            # a workspace (in memory without a path)
        ws.execute("SELECT 42 AS answer").rows

Heavy libraries (scikit-learn, OR-Tools, pandas) are imported only when a statement needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadql.errors import (
    LeadQLBudgetError,
    LeadQLCancelledError,
    LeadQLConstraintError,
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    LeadQLSourceError,
    LeadQLSyntaxError,
    LeadQLTypeError,
    LeadQLUnsupportedError,
)
from leadql.grammar import parse

if TYPE_CHECKING:
    from leadql.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "LeadQLBudgetError",
    "LeadQLCancelledError",
    "LeadQLConstraintError",
    "LeadQLError",
    "LeadQLExecutionError",
    "LeadQLNameError",
    "LeadQLSemanticError",
    "LeadQLSourceError",
    "LeadQLSyntaxError",
    "LeadQLTypeError",
    "LeadQLUnsupportedError",
    "__version__",
    "connect",
    "parse",
]


def connect(
    path: str | None = None,
    *,
    read_only: bool = False,
    engine: str = "duckdb",
    spark: str | None = None,
) -> Workspace:
    """Open (or create) a workspace; without a path it lives in memory.

    `read_only=True` opens an existing workspace for reading (several processes may do so).
    `engine="spark"` (with `spark="sc://host:15002"`) runs plans on a Spark cluster.
    """
    from leadql.workspace import Workspace

    if engine != "duckdb":
        if engine == "spark":
            raise LeadQLUnsupportedError(
                "the Spark engine is not available in this release",
                hint="plans run on the embedded DuckDB engine: leadql.connect(path)",
            )
        raise LeadQLTypeError(f"unknown engine `{engine}`", hint="engines: duckdb, spark")
    return Workspace(path, read_only=read_only)
