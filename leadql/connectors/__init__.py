"""Connectors: one module per kind of source, all behind one small interface returning Arrow.

`open_connector(location, format, options, base_dir)` picks the connector for a location.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from leadql.connectors.base import Capabilities, Connector, shown
from leadql.connectors.databases import DuckDBFile, Registered, SQLiteFile
from leadql.connectors.files import LocalFiles, RemoteFiles, url_scheme
from leadql.errors import LeadQLSourceError

__all__ = ["Capabilities", "Connector", "infer_format", "open_connector"]

_SUFFIXES = {
    ".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".duckdb": "duckdb",
    ".db": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite",
}  # fmt: skip
_COMPRESSION = (".gz", ".zst", ".bz2")


def infer_format(location: str) -> str:
    """The format a location's suffix implies (`data/*.csv.gz` → csv)."""
    if location.startswith("python:"):
        return "python"
    path = location.split("?", 1)[0].rstrip("/")
    for ext in _COMPRESSION:
        if path.lower().endswith(ext):
            path = path[: -len(ext)]
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise LeadQLSourceError(
        f"cannot tell the format of '{shown(location)}' from its name",
        hint="add FORMAT parquet|csv|json|ndjson|duckdb|sqlite",
    )


def open_connector(
    location: str, fmt: str | None, options: dict[str, Any], base_dir: Path
) -> Connector:
    fmt = (fmt or infer_format(location)).lower()
    if location.startswith("python:") or fmt == "python":
        return Registered(location if location.startswith("python:") else f"python:{location}", options)
    scheme = url_scheme(location)
    if fmt == "duckdb":
        return DuckDBFile(location, options, base_dir)
    if fmt == "sqlite":
        return SQLiteFile(location, options, base_dir)
    tsv = fmt == "tsv" or location.split("?")[0].lower().rstrip("/").endswith((".tsv", ".tsv.gz"))
    if fmt == "tsv":
        fmt = "csv"
    if tsv and "delimiter" not in {k.lower() for k in options}:
        options = {"delimiter": "\t", **options}
    # '\t' written in a statement is a tab (LeadQL strings keep backslashes as typed).
    options = {k: ("\t" if isinstance(v, str) and v == "\\t" else v) for k, v in options.items()}
    if scheme is not None:
        return RemoteFiles(location, fmt, options)
    return LocalFiles(location, fmt, options, base_dir)
