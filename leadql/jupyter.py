"""Jupyter: `%load_ext leadql.jupyter`, then `%%leadql` cells.

    %%leadql -d sales.leadql -o q4
    FIND 500 leads WITH email WHERE state = $state BUDGET 50

runs the cell in the workspace (kept open per path for the kernel's life; in memory without
-d), binds `$name` parameters from the notebook's variables (as values, never as text), shows
the last result as a table (`Result._repr_html_`) and, with `-o VAR`, stores it in `VAR`.
IPython is needed only here: `import leadql` never imports it.
"""

from __future__ import annotations

import shlex
from typing import Any

_workspaces: dict[str, Any] = {}


def workspace_for(path: str | None) -> Any:
    import leadql

    key = path or ":memory:"
    ws = _workspaces.get(key)
    if ws is None or ws._closed:
        ws = _workspaces[key] = leadql.connect(path)
    return ws


def run_cell(line: str, cell: str, namespace: dict[str, Any]) -> Any:
    """The magic's work, without IPython: parse the options, bind parameters, run."""
    import leadql
    from leadql.grammar import ast
    from leadql.workspace import _sql_params

    try:
        words = shlex.split(line)
    except ValueError as e:
        raise leadql.LeadQLSyntaxError(f"%%leadql options: {e}") from None
    path = output = None
    i = 0
    while i < len(words):
        if words[i] in ("-d", "--database") and i + 1 < len(words):
            path, i = words[i + 1], i + 2
        elif words[i] in ("-o", "--output") and i + 1 < len(words):
            output, i = words[i + 1], i + 2
        else:
            raise leadql.LeadQLSyntaxError(f"%%leadql does not understand {words[i]!r}",
                                           hint="%%leadql [-d FILE] [-o VARIABLE]")  # fmt: skip
    wanted: set[str] = set()
    for statement in leadql.parse(cell):
        wanted |= {n.name for n in statement.walk() if isinstance(n, ast.Param)}
        if isinstance(statement, ast.Select):
            wanted |= set(_sql_params(statement.sql))
    params = {name: namespace[name] for name in wanted if name in namespace}
    result = workspace_for(path).execute(cell, params)
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
            print(e.render())  # the caret excerpt, not a traceback
            return None


def unload_ipython_extension(ipython: Any) -> None:
    for ws in _workspaces.values():
        ws.close()
    _workspaces.clear()
