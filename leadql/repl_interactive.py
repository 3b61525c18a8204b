"""The interactive shell on a terminal: prompt_toolkit for input, rich for results.

Enter runs the input once it holds a complete statement (a `;` outside strings and comments) or
a `\\` command; otherwise it starts a new line. Statements run in a worker thread, so Ctrl-C
reaches the main thread while they run and cancels them (`Workspace.interrupt`), not the session.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadql.errors import LeadQLCancelledError, LeadQLError
from leadql.repl_help import help_text

HISTORY_ENV = "LEADQL_HISTORY"
MAX_ROWS = 200  # rows shown in the shell; the rest is summarised (use -c/--format for all)


def history_path() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".leadql_history")


def _style() -> Any:
    from prompt_toolkit.styles import Style

    return Style.from_dict({
        "keyword": "bold ansiblue", "string": "ansigreen", "number": "ansimagenta", "comment": "italic ansigray",
        "param": "ansiyellow", "name": "ansicyan", "prompt": "bold", "continuation": "ansigray",
    })  # fmt: skip


def _session(ws: Any) -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    from leadql.repl import statement_complete
    from leadql.repl_complete import LeadQLCompleter, LeadQLLexer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event: Any) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None:  # Enter picks the completion shown in the menu
            buffer.complete_state = None
            return
        text = buffer.text
        if not text.strip() or text.lstrip().startswith("\\") or statement_complete(text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @bindings.add("escape", "enter")
    def _(event: Any) -> None:  # Alt-Enter: run the input as it is, `;` or not
        event.current_buffer.validate_and_handle()

    try:
        path = history_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        history: Any = FileHistory(str(path))
    except OSError:
        history = InMemoryHistory()
    completer = LeadQLCompleter(ws)
    session = PromptSession(
        history=history, lexer=LeadQLLexer(), completer=completer, multiline=True, key_bindings=bindings,
        style=_style(), complete_while_typing=False, enable_history_search=True,
        prompt_continuation=lambda width, line_number, wrap_count: [("class:continuation", "...> ".rjust(width))],
    )  # fmt: skip
    return session, completer


def run_interactive(database: str, fmt: str = "table") -> int:
    from rich.console import Console

    from leadql.progress import TerminalProgress
    from leadql.workspace import Workspace

    console = Console(highlight=False)
    with Workspace(database) as ws:
        ws.progress = progress = TerminalProgress()
        session, completer = _session(ws)
        console.print(f"LeadQL on {database}. \\help for help, \\q to quit.")
        timing = True
        while True:
            try:
                text = session.prompt([("class:prompt", "leadql> ")])
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the input
            except EOFError:
                break
            command = text.strip()
            if not command:
                continue
            if command.startswith("\\"):
                word, _, rest = command[1:].partition(" ")
                if word in ("q", "quit", "exit"):
                    break
                if word in ("help", "h", "?"):
                    console.print(help_text(rest), markup=False)
                elif word == "timing":
                    timing = {"on": True, "off": False}.get(rest.strip().lower(), not timing)
                    console.print(f"timing is {'on' if timing else 'off'}", markup=False)
                else:
                    console.print(f"unknown command \\{word}; \\help lists the commands", markup=False)
                continue
            if command.lower() in ("exit", "quit"):
                break
            _run(ws, text, fmt, console, progress, timing)
            completer.invalidate()  # the statement may have created or dropped names
    return 0


def _run(ws: Any, text: str, fmt: str, console: Any, progress: Any, timing: bool = True) -> None:
    """Run the statements in a worker thread, printing each result as it arrives.

    Ctrl-C reaches this (main) thread and calls `ws.interrupt()`; while the statement winds
    down the interrupt is repeated twice a second, so one that arrived before DuckDB started
    the query (or between two queries of a statement) still stops it."""
    results: list[Any] = []
    failure: list[BaseException] = []
    arrived = threading.Condition()
    done = threading.Event()

    def work() -> None:
        try:
            for result in ws.execute_each(text, rows=True):
                with arrived:
                    results.append(result)
                    arrived.notify()
        except BaseException as e:  # noqa: BLE001 - shown by the main thread
            failure.append(e)
        finally:
            done.set()
            with arrived:
                arrived.notify()

    worker = threading.Thread(target=work, name="leadql-statement", daemon=True)
    started = time.perf_counter()
    worker.start()
    shown = 0
    cancelling = 0.0  # when the last interrupt was sent; 0 = not cancelling
    while True:
        try:
            with arrived:
                arrived.wait(0.1)
                pending = results[shown:]
                shown = len(results)
            for result in pending:
                progress.close()
                show_result(console, result, fmt, timing)
            if done.is_set() and shown == len(results):
                break
            if cancelling and time.monotonic() - cancelling > 0.5:
                cancelling = time.monotonic()
                ws.interrupt()
        except KeyboardInterrupt:
            if not cancelling:
                console.print("cancelling…", style="yellow")
            cancelling = time.monotonic()
            ws.interrupt()
    worker.join()
    progress.close()
    for error in failure:
        if isinstance(error, LeadQLCancelledError):
            console.print(f"cancelled after {time.perf_counter() - started:.2f} s: {error.message}; "
                          "nothing it was storing was saved", style="yellow", markup=False)  # fmt: skip
        elif isinstance(error, LeadQLError):
            print_error(console, error)
        else:
            console.print(f"internal error: {type(error).__name__}: {error}", style="red", markup=False)


def print_error(console: Any, error: LeadQLError) -> None:
    first, _, rest = error.render().partition("\n")
    console.print(first, style="bold red", markup=False)
    if rest:
        console.print(rest, markup=False)


def show_result(console: Any, result: Any, fmt: str, timing: bool = True) -> None:
    if fmt != "table":
        from leadql.output import render

        console.print(render(result, fmt), markup=False, soft_wrap=True)
        return
    took = f" in {result.elapsed:.3f} s" if timing else ""
    if result.message:
        console.print(result.message, markup=False)
    if result.columns:
        console.print(rich_table(result))
        n = len(result)
        console.print(f"{n:,} row{'s' if n != 1 else ''}{took}", style="dim")
    elif not result.message:
        console.print(f"ok{took}", style="dim")
    for warning in result.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)


def rich_table(result: Any) -> Any:
    from rich.table import Table
    from rich.text import Text

    from leadql.output import _cell

    rows = result.rows
    table = Table(show_lines=False, header_style="bold")
    for i, name in enumerate(result.columns):
        numeric = bool(rows) and all(isinstance(r[i], (int, float, Decimal)) or r[i] is None for r in rows)
        table.add_column(Text(name), justify="right" if numeric else "left", overflow="fold")
    for row in rows[:MAX_ROWS]:
        table.add_row(*[Text(_cell(v)) for v in row])  # Text: values are never rich markup
    if len(rows) > MAX_ROWS:
        table.caption = f"first {MAX_ROWS} of {len(rows):,} rows (leadql -c … --format csv prints all)"
    return table
