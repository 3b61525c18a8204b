"""The tables a predictive query may use: how to read each, its key, its time column, its links.

Everything in `leadql.predict` speaks in terms of this small record so that feature and label
SQL never touch the catalog or connectors directly (and could be compiled for another engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leadql.catalog.definitions import Reference


@dataclass(frozen=True)
class TableMeta:
    """One of the company's own tables, as PREDICT sees it."""

    name: str  # the catalog name
    relation: str  # a DuckDB FROM expression that reads the table (a view name, read_parquet(...))
    columns: dict[str, str]  # column → DuckDB type, in table order
    key: tuple[str, ...] = ()
    time_column: str | None = None  # rows become known at this time; None: a static table
    references: tuple[Reference, ...] = ()  # foreign keys: column → table.target_column

    def column(self, name: str) -> str | None:
        """The column's exact spelling, found case-insensitively."""
        lower = name.lower()
        return next((c for c in self.columns if c.lower() == lower), None)


@dataclass(frozen=True)
class Link:
    """A one-hop path: rows of `child` belong to rows of `parent` through child.column = parent.target."""

    child: str
    column: str
    parent: str
    target: str


@dataclass(frozen=True)
class Schema:
    """The tables known to the workspace, by lower-case name."""

    tables: dict[str, TableMeta] = field(default_factory=dict)

    def get(self, name: str) -> TableMeta | None:
        return self.tables.get(name.lower())

    def links(self) -> list[Link]:
        """Every declared reference between two known tables."""
        out = []
        for meta in self.tables.values():
            for ref in meta.references:
                parent = self.get(ref.table)
                if parent is not None:
                    target = parent.column(ref.target_column) or ref.target_column
                    out.append(Link(meta.name, ref.column, parent.name, target))
        return out

    def children(self, parent: str) -> list[Link]:
        """Links whose rows belong to `parent` (one-to-many from the parent's side)."""
        return [link for link in self.links() if link.parent.lower() == parent.lower()]

    def parents(self, child: str) -> list[Link]:
        """Links from `child` to the tables it references (many-to-one)."""
        return [link for link in self.links() if link.child.lower() == child.lower()]
