"""Jupyter: `%load_ext leadql.jupyter`, then `%%leadql` cells.

    %%leadql -d sales.leadql -o q4
    FIND 500 leads WITH email WHERE state = $state BUDGET 50

runs the cell's statements in the workspace at `-d FILE` (opened once and kept open for the
kernel's life, one per file; in memory without -d), binds each `$name` parameter to the notebook
variable of that name (as a value, never as text), shows the last statement's result as a
table (`Result._repr_html_`) and, with `-o VAR`, also stores it in `VAR`. A LeadQL error is
printed with its caret excerpt, not as a traceback, and the cell returns None.

IPython is needed only here: `import leadql` never imports it. `run_cell` is the magic's work
without IPython.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

USAGE = "%%leadql [-d FILE] [-o VARIABLE]"

_workspaces: dict[str, Any] = {}


def workspace_for(path: str | None) -> Any:
    """The kernel's workspace for `path` (None: the in-memory one), opened on first use."""
    import leadql

    key = str(Path(path).expanduser().resolve()) if path and path != ":memory:" else ":memory:"
    ws = _workspaces.get(key)
    if ws is None or ws._closed:
        ws = _workspaces[key] = leadql.connect(None if key == ":memory:" else key)
    return ws


def parse_options(line: str) -> tuple[str | None, str | None]:
    """`-d FILE` and `-o VARIABLE` from the magic's line."""
    from leadql.errors import LeadQLSyntaxError

    try:
        words = shlex.split(line)
    except ValueError as e:
        raise LeadQLSyntaxError(f"%%leadql options: {e}", hint=USAGE) from None
    path = output = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-d", "--database", "-o", "--output") and i + 1 < len(words):
            if word in ("-d", "--database"):
                path = words[i + 1]
            else:
                output = words[i + 1]
            i += 2
        else:
            raise LeadQLSyntaxError(f"%%leadql does not understand {word!r}", hint=USAGE)
    if output is not None and not output.isidentifier():
        raise LeadQLSyntaxError(f"-o needs a Python variable name, not {output!r}", hint=USAGE)
    return path, output


def parameter_names(text: str) -> set[str]:
    """The `$name`s the statements of `text` use (LeadQL clauses and plain SQL)."""
    import leadql
    from leadql.grammar import ast
    from leadql.workspace import _sql_params

    wanted: set[str] = set()
    for statement in leadql.parse(text):
        for node in statement.walk():
            if isinstance(node, ast.Param):
                wanted.add(node.name)
            elif isinstance(node, ast.Select):
                wanted |= set(_sql_params(node.sql))
    return wanted


def run_cell(line: str, cell: str, namespace: dict[str, Any]) -> Any:
    """Parse the options, bind parameters from `namespace`, run the cell; return its Result."""
    from leadql.errors import LeadQLNameError

    path, output = parse_options(line)
    wanted = parameter_names(cell)
    params = {name: namespace[name] for name in wanted if name in namespace}
    try:
        result = workspace_for(path).execute(cell, params)
    except LeadQLNameError as e:
        missing = next((n for n in wanted - params.keys() if e.message == f"no value for parameter ${n}"), None)
        if missing is not None:
            e.hint = f"set a notebook variable `{missing}` first, e.g. {missing} = ..."
        raise
    if output:
        namespace[output] = result
    return result


def load_ipython_extension(ipython: Any) -> None:
    from IPython.core.magic import register_cell_magic

    @register_cell_magic("leadql")  # type: ignore[misc]
    def leadql_magic(line: str, cell: str) -> Any:
        from leadql.errors import LeadQLError

        try:
            return run_cell(line, cell, ipython.user_ns)
        except LeadQLError as e:
            print(e.render(), file=sys.stderr)  # the caret excerpt, not a traceback
            return None


def unload_ipython_extension(ipython: Any) -> None:
    for ws in _workspaces.values():
        ws.close()
    _workspaces.clear()
