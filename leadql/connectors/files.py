"""Parquet, CSV and JSON files: local paths and globs through DuckDB's own readers, any other
fsspec URL (memory://, s3://, …) through pyarrow datasets that DuckDB scans with projection and
filter pushdown. (DuckDB reading through a registered fsspec filesystem failed intermittently on
DuckDB 2.0.0 in our trials; the Arrow dataset path does not depend on it.)"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Any

from leadql.connectors.base import (
    Capabilities,
    Connector,
    quote_ident,
    quote_str,
    shown,
    sql_literal,
)
from leadql.errors import LeadQLSourceError, did_you_mean

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

# LeadQL option name → DuckDB reader parameter, per format.
CSV_OPTIONS = {
    "delimiter": "delim", "delim": "delim", "sep": "delim", "header": "header", "quote": "quote",
    "escape": "escape", "skip": "skip", "null": "nullstr", "nullstr": "nullstr",
    "dateformat": "dateformat", "timestampformat": "timestampformat", "encoding": "encoding",
    "sample_size": "sample_size", "all_varchar": "all_varchar", "ignore_errors": "ignore_errors",
    "union_by_name": "union_by_name", "filename": "filename", "compression": "compression",
}  # fmt: skip
PARQUET_OPTIONS = {
    "hive_partitioning": "hive_partitioning", "union_by_name": "union_by_name",
    "filename": "filename", "binary_as_string": "binary_as_string",
}  # fmt: skip
JSON_OPTIONS = {
    "format": "format", "compression": "compression", "union_by_name": "union_by_name",
    "filename": "filename", "dateformat": "dateformat", "timestampformat": "timestampformat",
    "sample_size": "sample_size", "maximum_depth": "maximum_depth",
}  # fmt: skip


def url_scheme(location: str) -> str | None:
    m = _URL.match(location)
    if not m:
        return None
    scheme = m.group(1).lower()
    return None if scheme == "file" else scheme


def _blank(path: str) -> bool:
    """Whether a file holds nothing but white space (in its first 4 KB)."""
    with open(path, "rb") as f:
        return not f.read(4096).strip()


class LocalFiles(Connector):
    """Files on this machine, read by DuckDB: a path, a glob, or a folder of files."""

    capabilities = Capabilities(native=True)
    _readers = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json", "ndjson": "read_json"}
    _known = {"parquet": PARQUET_OPTIONS, "csv": CSV_OPTIONS, "json": JSON_OPTIONS, "ndjson": JSON_OPTIONS}

    def __init__(self, location: str, fmt: str, options: dict[str, Any], base_dir: Path) -> None:
        super().__init__(location, options)
        self.format = fmt
        path = location[len("file://") :] if location.startswith("file://") else location
        path = os.path.expanduser(path)
        self.pattern = path if os.path.isabs(path) else str(base_dir / path)
        if os.path.isdir(self.pattern):
            self.pattern = os.path.join(self.pattern, "*")
        self.check_options(self._known[fmt])

    def files(self) -> list[str]:
        matches = sorted(p for p in glob.glob(self.pattern, recursive=True) if os.path.isfile(p))
        if not matches:
            folder = os.path.dirname(self.pattern) or "."
            near = None
            if os.path.isdir(folder):
                near = did_you_mean(os.path.basename(self.pattern), os.listdir(folder))
            has_glob = any(ch in self.pattern for ch in "*?[")
            raise LeadQLSourceError(
                f"no file matches '{shown(self.location)}'" if has_glob else f"file not found: '{shown(self.location)}'",
                hint=near or f"looked in {folder}",
            )
        return matches

    def duckdb_from(self, con: Any) -> str:
        return self.reader_sql("[" + ", ".join(quote_str(f) for f in self.files()) + "]")

    def schema(self, con: Any) -> dict[str, str]:
        columns = super().schema(con)
        if self.format == "csv" and len(columns) == 1:
            self._check_csv_columns(next(iter(columns)))
        headerless = "header" in {k.lower() for k in self.options}
        if self.format == "csv" and not headerless and all(re.fullmatch(r"column\d+", c) for c in columns):
            raise LeadQLSourceError(
                f"'{shown(self.location)}' has no header line DuckDB can read (its columns came out "
                f"as {', '.join(list(columns)[:3])}…): ragged rows, or a header missing?",
                hint="check the file's first lines; OPTIONS (header = false) reads a file without a header",
            )  # fmt: skip
        return columns

    def _check_csv_columns(self, only: str) -> None:
        """DuckDB's CSV sniffer gives up into one column when it cannot make out the rows (an
        empty file, ragged rows, a quote left open): say so, rather than let a later step
        report that the file has no column `email`."""
        files = self.files()
        if all(_blank(f) for f in files):
            raise LeadQLSourceError(f"'{shown(self.location)}' is empty: no header, no rows",
                                    hint="export the file again, with a header line")  # fmt: skip
        if re.fullmatch(r"column\d+", only) or any(d in only for d in ",;\t|"):
            raise LeadQLSourceError(
                f"cannot make out the columns of '{shown(self.location)}' as CSV: it reads as one column "
                f"`{shown(only)}` (rows with different numbers of fields, or a quote left open?)",
                hint="check the file's first lines; OPTIONS (delimiter = ';', header = true) "
                "for a file that is not comma-separated",
            )  # fmt: skip

    def view_sql(self) -> str:
        """The reader over the path or glob itself, so a view sees files added later."""
        self.files()
        return self.reader_sql(quote_str(self.pattern))

    def reader_sql(self, files_sql: str) -> str:
        reader = self._readers[self.format]
        args = [files_sql]
        if self.format == "ndjson":
            args.append("format = 'newline_delimited'")
        for name, value in self.options.items():
            args.append(f"{self._known[self.format][name.lower()]} = {sql_literal(value)}")
        return f"{reader}({', '.join(args)})"


class RemoteFiles(Connector):
    """Files behind any fsspec URL, read as a pyarrow dataset that DuckDB scans lazily."""

    capabilities = Capabilities(native=False)

    def __init__(self, location: str, fmt: str, options: dict[str, Any]) -> None:
        super().__init__(location, options)
        self.format = fmt
        self.scheme = url_scheme(location) or "file"
        # What pyarrow datasets honour; anything else would be silently ignored, so it is refused.
        known = {"parquet": {"hive_partitioning": ""}, "csv": {"delimiter": "", "header": ""},
                 "ndjson": {}, "json": {}}  # fmt: skip
        self.check_options(known[fmt])
        self._dataset: Any = None

    def filesystem(self) -> Any:
        import fsspec

        try:
            return fsspec.filesystem(self.scheme)
        except (ImportError, ValueError) as e:
            detail = str(e).split("\n")[0]
            raise LeadQLSourceError(
                f"no filesystem for URL scheme {self.scheme}:// is installed",
                hint=detail if "install" in detail.lower() else "install the fsspec package for it",
            ) from None

    def dataset(self) -> Any:
        if self._dataset is not None:
            return self._dataset
        import pyarrow.dataset as pads
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        fs = self.filesystem()
        try:
            paths = sorted(p for p in fs.glob(self.location) if fs.isfile(p))
        except Exception as e:  # fsspec backends raise their own error types
            raise LeadQLSourceError(f"cannot list {self.location}: {e}") from None
        if not paths:
            raise LeadQLSourceError(f"no file matches '{self.location}'")
        if self.format == "csv":
            import pyarrow.csv as pacsv

            parse = pacsv.ParseOptions(delimiter=str(self.options.get("delimiter", ",")))
            read = pacsv.ReadOptions(autogenerate_column_names=not self.options.get("header", True))
            file_format: Any = pads.CsvFileFormat(parse_options=parse, read_options=read)
        elif self.format == "json":
            self._dataset = self._json_documents(fs, paths)
            return self._dataset
        elif self.format == "ndjson":
            file_format = pads.JsonFileFormat()
        else:
            file_format = pads.ParquetFileFormat()
        partitioning = "hive" if self.options.get("hive_partitioning") else None
        try:
            self._dataset = pads.dataset(
                paths, filesystem=PyFileSystem(FSSpecHandler(fs)), format=file_format,
                partitioning=partitioning,
            )  # fmt: skip
        except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ...
            raise LeadQLSourceError(
                f"cannot read {self.location} as {self.format}: {str(e).splitlines()[0]}"
            ) from None
        return self._dataset

    def _json_documents(self, fs: Any, paths: list[str]) -> Any:
        """JSON files holding an array of objects (or NDJSON) read whole: pyarrow's reader only
        takes newline-delimited records."""
        import json

        import pyarrow as pa

        records: list[Any] = []
        for path in paths:
            try:
                with fs.open(path, "rb") as f:
                    raw = f.read().decode("utf-8")
                data = json.loads(raw) if raw.lstrip().startswith("[") else [
                    json.loads(line) for line in raw.splitlines() if line.strip()
                ]  # fmt: skip
            except (ValueError, UnicodeDecodeError) as e:
                raise LeadQLSourceError(f"cannot read {path} as json: {e}") from None
            records.extend(data if isinstance(data, list) else [data])
        try:
            return pa.Table.from_pylist(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise LeadQLSourceError(f"cannot read {self.location} as json: {e}") from None

    def duckdb_from(self, con: Any) -> str:
        return quote_ident(self.register_arrow(con, self.dataset()))
