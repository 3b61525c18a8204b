"""The interactive shell: statements end with `;`, errors keep the session alive.

This is the line-based shell that works on any terminal and on piped input. (A full-screen
prompt with completion and highlighting is built on prompt_toolkit.)
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

from leadql.errors import LeadQLError

HELP = """\
Statements end with ';' and may span lines. Commands:
  \\help          this text
  \\q             quit
Statement families: CREATE SOURCE|TABLE|CATEGORY|PATTERN|TEMPLATE, FIND, PREDICT,
EVALUATE, EXPLAIN, SEGMENT, RECORD OUTCOMES, RETRAIN, USE, SAVE QUERY, SCHEDULE, RUN QUERY,
UNSCHEDULE, SHOW, DESCRIBE, PROFILE, ANALYZE, DROP, and plain SELECT. See docs/ for each."""

_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|#[^\n]*|/\*[\s\S]*?\*/")


def statement_complete(buffer: str) -> bool:
    """True when the buffer ends with a `;` outside strings and comments."""
    code = _SKIP.sub(" ", buffer)
    if code.count("'") % 2 or code.count("/*"):
        return False  # an unterminated string or comment: keep reading
    return code.rstrip().endswith(";")


def run_repl(
    database: str,
    fmt: str = "table",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    from leadql.output import render
    from leadql.workspace import Workspace

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    failures = 0
    from leadql.progress import TerminalProgress

    with Workspace(database) as ws:
        ws.progress = progress = TerminalProgress()
        if interactive:
            print(f"LeadQL on {database}. \\help for help, \\q to quit.", file=stdout)
        buffer = ""
        while True:
            if interactive:
                prompt = "leadql> " if not buffer else "   ...> "
                try:
                    line = input(prompt)
                except EOFError:
                    break
                except KeyboardInterrupt:
                    buffer = ""
                    print(file=stdout)
                    continue
            else:
                line = stdin.readline()
                if not line:
                    break
                line = line.rstrip("\n")
            if not buffer and line.strip() in ("\\q", "\\quit", "exit", "quit"):
                break
            if not buffer and line.strip() in ("\\help", "\\h", "\\?"):
                print(HELP, file=stdout)
                continue
            buffer += line + "\n"
            if not statement_complete(buffer):
                continue
            text, buffer = buffer, ""
            try:
                for result in ws.execute_each(text, rows=True):
                    progress.close()
                    print(render(result, fmt), file=stdout)
            except LeadQLError as e:
                progress.close()
                failures += 1
                print(e.render(), file=stdout if interactive else sys.stderr)
        if buffer.strip():
            try:
                for result in ws.execute_each(buffer, rows=True):
                    print(render(result, fmt), file=stdout)
            except LeadQLError as e:
                failures += 1
                print(e.render(), file=sys.stderr)
    # Piped input is a script: its exit code says whether every statement worked.
    return 1 if failures and not interactive else 0
