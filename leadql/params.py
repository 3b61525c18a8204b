"""`$name` parameters: which Python values they may carry, and how a value is named in an error.

    normalize(params) -> dict          the values execute() binds (numpy scalars → Python, …)
    problem(value) -> str | None       why plain SQL cannot bind a value
    shown(value) -> str                a value as an error message shows it: short, one line
    what(node, clause) -> str          "BUDGET" or "BUDGET ($b)" for messages about a clause

A value is bound, never pasted into statement text: plain SQL gets it as a DuckDB prepared
parameter; a LeadQL statement reads it as a Python value (a count, a budget, a path) or, in a
FIND condition, as a typed constant of the generated SQL. `normalize` turns values of common
libraries into the plain Python values those paths take (numpy and pandas scalars, sets). A
value SQL cannot bind (an object, a complex number, an integer beyond 128 bits) is refused,
naming the parameter, before anything runs; LeadQL clauses check their values themselves (a
count must be a whole number, a path text, …) and name the parameter too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from leadql.errors import LeadQLTypeError

SCALARS = (str, bool, int, float, Decimal, bytes, date, datetime, time, timedelta, UUID)
MAX_DEPTH = 32  # lists of lists … deeper than this are refused (and cycles with them)
MAX_INT = 2**127 - 1  # DuckDB's HUGEINT
TYPES_HINT = ("parameters take numbers, text, booleans, None, dates and times, Decimals, bytes, "
              "UUIDs, and lists or dicts of those")  # fmt: skip


def normalize(params: Any) -> dict[str, Any]:
    """The parameters as execute() binds them: values of numpy and pandas as plain Python, sets
    as sorted lists. Not a mapping of names, or a name that is not text: LeadQLTypeError. Values
    of other kinds are kept; `problem` tells whether SQL can bind them."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise LeadQLTypeError(f"params must be a dict of names to values, not {type(params).__name__}",
                              hint="e.g. ws.execute('SELECT $n AS n', {'n': 42})")  # fmt: skip
    out: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(name, str):
            raise LeadQLTypeError(f"parameter names are text, not {type(name).__name__} ({shown(name)})",
                                  hint="write {'n': 42} for $n")  # fmt: skip
        out[name[1:] if name.startswith("$") else name] = _plain(value, 0)
    return out


def _plain(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, SCALARS) or depth > MAX_DEPTH:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and type(value).__name__ in ("NaTType", "NAType"):
        return None  # pandas' missing values
    if module in ("numpy", "pandas") and hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return _plain(value.item(), depth + 1)  # np.int64(5) → 5, np.float64 → float, …
    if module == "numpy" and hasattr(value, "tolist"):
        return _plain(value.tolist(), depth + 1)  # an array → a list
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    return value


def problem(value: Any, depth: int = 0) -> str | None:
    """Why SQL cannot bind `value` (a normalised one), or None when it can."""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    if value is None or isinstance(value, SCALARS):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            return f"an integer of {len(str(abs(value)))} digits, beyond 128 bits"
        return None
    if isinstance(value, list):
        return next((p for p in (problem(v, depth + 1) for v in value) if p), None)
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            return "a dict whose keys are not all text"
        return next((p for p in (problem(v, depth + 1) for v in value.values()) if p), None)
    return article(type(value).__name__)


def article(noun: str) -> str:
    """'a dict', 'an object'."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def refused(name: str, why: str, span: Any, text: str) -> LeadQLTypeError:
    return LeadQLTypeError(f"parameter ${name} cannot be bound: it is {why}", span=span, text=text,
                           hint=TYPES_HINT)  # fmt: skip


def shown(value: Any, limit: int = 40) -> str:
    """`value` as an error message shows it: its repr (a Decimal as its digits, `2.5` rather
    than `Decimal('2.5')`), on one line, cut to about `limit`."""
    text = str(value) if isinstance(value, Decimal) else repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + "…" + text[-4:]
    return text


def what(node: Any, clause: str) -> str:
    """`clause`, naming the parameter when the value came from one: "BUDGET ($b)"."""
    from leadql.grammar import ast

    return f"{clause} (${node.name})" if isinstance(node, ast.Param) else clause


def finite(value: Any) -> bool:
    """False for NaN and ±infinity (floats or Decimals)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True
