"""The interactive shell: statements end with `;`, errors keep the session alive.

On a terminal the shell is leadql/repl_interactive.py (prompt_toolkit: history, completion,
highlighting, Ctrl-C cancels the running statement). Piped input, or a terminal prompt_toolkit
cannot drive, gets the line-based shell here, which reads a script and exits 1 if any statement
failed.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

from leadql.errors import LeadQLError

_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|#[^\n]*|/\*[\s\S]*?\*/")


def statement_complete(buffer: str) -> bool:
    """True when the buffer ends with a `;` outside strings and comments."""
    code = _SKIP.sub(" ", buffer)
    if code.count("'") % 2 or code.count("/*"):
        return False  # an unterminated string or comment: keep reading
    return code.rstrip().endswith(";")


def _in_script(error: LeadQLError, text: str, script: str, start: int) -> None:
    """Move an error's position from the statement to the piped script (which starts the
    statement at offset `start`), so its line is the script's line."""
    from leadql.errors import Span

    span = error.span
    if span is None or error.text != text:
        return
    error.span = Span.at(script, start + span.start, start + span.end)
    error.text = script


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
    if interactive and stdout.isatty() and stdin is sys.stdin and os.environ.get("TERM") != "dumb":
        from leadql.repl_interactive import run_interactive

        return run_interactive(database, fmt)
    failures = 0
    from leadql.progress import TerminalProgress

    with Workspace(database) as ws:
        ws.progress = progress = TerminalProgress()
        if interactive:
            print(f"LeadQL on {database}. \\help for help, \\q to quit.", file=stdout)
        buffer = ""
        script = ""  # piped input read so far: errors point at its lines, as `leadql run` does
        start = 0  # where the statement being read starts in it
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
                if not buffer:
                    start = len(script)
                script += line + "\n"
            if not buffer and line.strip() in ("\\q", "\\quit", "exit", "quit"):
                break
            if not buffer and line.strip().split(" ")[0] in ("\\help", "\\h", "\\?"):
                from leadql.repl_help import help_text

                print(help_text(line.strip().partition(" ")[2]), file=stdout)
                continue
            if not buffer and line.strip().split(" ")[0] == "\\timing":
                continue  # this shell prints no timings; accepted so scripts work in both shells
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
                if not interactive:
                    _in_script(e, text, script, start)
                print(e.render(), file=stdout if interactive else sys.stderr)
        if buffer.strip():
            try:
                for result in ws.execute_each(buffer, rows=True):
                    print(render(result, fmt), file=stdout)
            except LeadQLError as e:
                failures += 1
                _in_script(e, buffer, script, start)
                print(e.render(), file=sys.stderr)
    # Piped input is a script: its exit code says whether every statement worked.
    return 1 if failures and not interactive else 0
