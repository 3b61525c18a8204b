"""Results as text and as files.

    render(result, fmt)                 `table` (aligned, for people), `csv` or `json` (for programs)
    write_result(result, path, fmt)     a result's table to a .csv, .json or .parquet file
    atomic_file(path)                   write beside `path`, rename over it when done (exports too)
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadql.result import Result

FORMATS = ("table", "csv", "json")
MAX_CELL = 60


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_table(result: Result) -> str:
    if not result.columns:
        return result.message or "ok"
    header = result.columns
    body = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    numeric = [
        all(isinstance(row[i], (int, float, Decimal)) or row[i] is None for row in result.rows)
        for i in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "│ " + " │ ".join(parts) + " │"

    rule = "─┼─".join("─" * w for w in widths)
    out = [
        "┌─" + "─┬─".join("─" * w for w in widths) + "─┐",
        line(header),
        "├─" + rule + "─┤",
        *(line(r) for r in body),
        "└─" + "─┴─".join("─" * w for w in widths) + "─┘",
    ]
    n = len(body)
    out.append(f"{n} row{'s' if n != 1 else ''}")
    return "\n".join(out)


def format_csv(result: Result) -> str:
    if not result.columns:
        return result.message or ""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue().rstrip("\n")


def _csv_value(value: Any) -> Any:
    """NULL as an empty field; lists, maps and structs as JSON, not Python's repr."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_json_value(value), ensure_ascii=False, default=str)
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or Infinity: null, as JSON tools expect
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def format_json(result: Result) -> str:
    if not result.columns:
        return json.dumps({"message": result.message or "ok"})
    records = [
        {c: _json_value(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows
    ]
    return json.dumps(records, ensure_ascii=False, default=str, allow_nan=False)


def render(result: Result, fmt: str = "table") -> str:
    text = {"table": format_table, "csv": format_csv, "json": format_json}[fmt](result)
    if fmt == "table" and result.message and result.columns:
        text = result.message + "\n" + text  # e.g. DESCRIBE's summary above its rows
    if result.warnings and fmt == "table":
        text += "".join(f"\nwarning: {w}" for w in result.warnings)
    return text


# ------------------------------------------------------------------------ files

FILE_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


@contextmanager
def atomic_file(path: str | Path) -> Iterator[str]:
    """A temporary file beside `path` to write; renamed over `path` when the block ends well,
    removed when it fails, so a reader never sees half a file. Failures are LeadQLErrors."""
    import os
    import tempfile

    from leadql.errors import LeadQLExecutionError

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
    except OSError as e:
        raise LeadQLExecutionError(f"cannot write {target}: {e.strerror}") from None
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise LeadQLExecutionError(f"cannot write {target}: {e.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(result: Result, path: str | Path, fmt: str | None = None) -> str:
    """Write a result's table to `path` as csv, json or parquet, atomically (see atomic_file):
    the format the file's extension names (.csv, .json, .parquet or .pq), else `fmt` (the
    command line's --format csv|json). Returns the format."""
    from leadql.errors import LeadQLTypeError

    target = Path(path)
    kind = FILE_FORMATS.get(target.suffix.lower()) or (fmt if fmt in ("csv", "json", "parquet") else None)
    if kind is None:
        raise LeadQLTypeError(f"cannot tell how to write {target.name[:80]}",
                              hint="name the file .csv, .json or .parquet, or give --format csv|json")  # fmt: skip
    if not result.columns:
        raise LeadQLTypeError("the statement returned no table to write",
                              hint="-o writes the last result that has columns")  # fmt: skip
    with atomic_file(target) as tmp:
        if kind == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(result.to_arrow(), tmp)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write((format_csv(result) if kind == "csv" else format_json(result)) + "\n")
    return kind
