"""The `leadql` command.

    leadql                              REPL on ./leadql.db
    leadql -d FILE                      REPL on a workspace
    leadql -d FILE -c "STATEMENTS"      run, print, exit
    leadql -d FILE run SCRIPT.lql       run a script
    leadql check FILE...                parse and validate, reporting every error at once
    leadql demo                         the showcase on generated sample data
    leadql scheduler [--once]           run due saved queries
    leadql -d FILE export LIST --layout salesforce|hubspot|csv [-o FILE]

Exit codes: 0 success, 1 a query error (message on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from leadql.errors import LeadQLError

EXIT_OK, EXIT_QUERY_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_WORKSPACE = "leadql.db"


def _at_least(low: int):  # noqa: ANN202 - an argparse type
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low:,}, not {value:,}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"leadql: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from leadql import __version__
    from leadql.output import FORMATS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-d", "--database", metavar="FILE", default=argparse.SUPPRESS,
        help=f"the workspace file (default ./{DEFAULT_WORKSPACE}; ':memory:' for none)",
    )  # fmt: skip
    common.add_argument(
        "--format", choices=FORMATS, default=argparse.SUPPRESS,
        help="how results are printed (default: table)",
    )  # fmt: skip
    common.add_argument(
        "-o", "--output", metavar="FILE", default=argparse.SUPPRESS,
        help="also write the last result that has columns to FILE (.csv, .json or .parquet)",
    )  # fmt: skip

    parser = _Parser(
        prog="leadql",
        description="LeadQL: find and score sales leads declaratively.",
        parents=[common],
    )
    parser.add_argument("-c", "--command", metavar="STATEMENTS", help="run these statements and exit")
    parser.add_argument("--version", action="version", version=f"leadql {__version__}")
    sub = parser.add_subparsers(dest="action", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="run a script of statements")
    run.add_argument("script", help="a .lql file ('-' for standard input)")
    check = sub.add_parser("check", parents=[common], help="parse and validate files; report every error")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--tree", action="store_true", help="print each statement's syntax tree")
    demo = sub.add_parser("demo", parents=[common], help="run the showcase on generated sample data")
    demo.add_argument("--people", type=_at_least(100), default=20_000, help="size of the sample population (at least 100)")
    scheduler = sub.add_parser("scheduler", parents=[common], help="run due saved queries")
    scheduler.add_argument("--once", action="store_true", help="run what is due now, then exit")
    scheduler.add_argument("--log", metavar="FILE", help="the rotating log file (default: FILE.log beside the workspace)")
    scheduler.add_argument("--poll", type=float, default=30.0, metavar="SECONDS",
                           help="longest sleep between checks for due jobs (default 30)")
    scheduler.add_argument("--retries", type=int, default=2, metavar="N",
                           help="retries of a failed run before it is reported (default 2)")
    scheduler.add_argument("--retry-delay", type=float, default=60.0, metavar="SECONDS",
                           help="wait before the first retry; doubled for each next one (default 60)")
    scheduler.add_argument("--lease", type=float, default=3600.0, metavar="SECONDS",
                           help="how long a job's lease lasts if its scheduler dies on another host (default 3600)")
    scheduler.add_argument("--wait", type=float, default=30.0, metavar="SECONDS",
                           help="how long to wait for a workspace another process holds (default 30)")
    sub.add_parser("repl", parents=[common], help="the interactive shell (the default)")
    export = sub.add_parser("export", parents=[common], help="write a list as a CRM import CSV")
    export.add_argument("list", help="the list to export")
    export.add_argument("--layout", default="csv", help="salesforce, hubspot or csv (default csv)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    database = getattr(args, "database", DEFAULT_WORKSPACE)
    fmt = getattr(args, "format", "table")
    if getattr(args, "output", None) is not None and args.command is None and args.action not in ("run", "export"):
        return _usage("-o FILE works with -c, run and export")
    try:
        if args.action == "check":
            return _check(args.files, tree=args.tree)
        if args.action == "demo":
            from leadql.demo import run_demo

            return run_demo(sys.stdout, people=args.people)
        if args.action == "scheduler":
            return _scheduler(database, args)
        if args.action == "export":
            return _export(database, args.list, args.layout, getattr(args, "output", None))
        if args.command is not None:
            if args.action not in (None,):
                return _usage("-c cannot be combined with a command")
            return _run_text(database, args.command, "<command>", fmt, getattr(args, "output", None))
        if args.action == "run":
            text, source = _read_script(args.script)
            if text is None:
                return EXIT_USAGE
            return _run_text(database, text, source, fmt, getattr(args, "output", None))
        from leadql.repl import run_repl

        return run_repl(database, fmt)
    except LeadQLError as e:
        _print_error(e)
        return EXIT_QUERY_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`leadql demo | head`): stop quietly, as Unix tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _scheduler(database: str, args: argparse.Namespace) -> int:
    """`leadql scheduler`: one line per run on stdout (and in the log); --once exits 1 if a run
    failed for good, so cron and CI see it."""
    import signal
    import threading

    from leadql.scheduling import RetryPolicy, Scheduler
    from leadql.scheduling.log import close_loggers

    if database == ":memory:":
        return _usage("the scheduler needs a workspace file: -d FILE")
    if not Path(database).exists():
        print(f"leadql: no workspace {database}", file=sys.stderr)
        return EXIT_USAGE
    if args.retries < 0 or args.retry_delay < 0 or args.poll <= 0 or args.lease <= 0 or args.wait < 0:
        return _usage("--retries, --retry-delay and --wait cannot be negative; --poll and --lease must be positive")
    if args.log is not None:  # a log that cannot be written is said at once, not at every line
        log = Path(args.log)
        if log.is_dir() or not log.parent.is_dir():
            return _usage(f"--log {args.log}: " + ("is a folder" if log.is_dir() else f"no folder {log.parent}"))
    scheduler = Scheduler(
        database, retry=RetryPolicy(attempts=args.retries + 1, delay=args.retry_delay),
        lease_seconds=args.lease, log_path=args.log, busy_wait=args.wait,
        echo=lambda line: print(line, flush=True),
    )  # fmt: skip
    try:
        if args.once:
            outcomes = scheduler.run_due()
            if not outcomes:
                print("nothing due", flush=True)
            return EXIT_QUERY_ERROR if any(o.status in ("failed", "abandoned") and o.retry_at is None
                                           for o in outcomes) else EXIT_OK  # fmt: skip
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print(f"scheduler on {database} (log: {scheduler.log_file or 'none'}); Ctrl-C stops it", flush=True)
        scheduler.run_forever(poll=args.poll, stop=stop)
        return EXIT_OK
    finally:
        close_loggers()


def _usage(message: str) -> int:
    print(f"leadql: {message}", file=sys.stderr)
    return EXIT_USAGE


def _print_error(error: LeadQLError, source: str | None = None, stream: TextIO | None = None) -> None:
    text = error.render()
    if source:
        text = text.replace("  --> line", f"  --> {source}: line", 1)
    print(text, file=stream or sys.stderr)


def _read_script(path: str) -> tuple[str | None, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(path).read_text(encoding="utf-8-sig"), path  # a byte-order mark is not text
    except FileNotFoundError:
        print(f"leadql: no such script: {path}", file=sys.stderr)
    except UnicodeDecodeError:
        print(f"leadql: {path} is not a UTF-8 text file", file=sys.stderr)
    except OSError as e:
        print(f"leadql: cannot read {path}: {e.strerror}", file=sys.stderr)
    return None, path


def _run_text(database: str, text: str, source: str, fmt: str, output: str | None = None) -> int:
    from leadql.output import render, write_result
    from leadql.progress import TerminalProgress
    from leadql.workspace import Workspace

    with Workspace(database) as ws:
        ws.progress = progress = TerminalProgress()
        last = None
        try:
            for result in ws.execute_each(text, rows=True):
                progress.close()
                print(render(result, fmt))
                if result.columns:
                    last = result
            if output is not None:
                if last is None:
                    raise LeadQLError("no statement returned a table to write to " + output,
                                      hint="-o writes the last result that has columns")  # fmt: skip
                kind = write_result(last, output, fmt if fmt != "table" else None)
                print(f"wrote {len(last):,} rows to {output} ({kind})", file=sys.stderr)
        except LeadQLError as e:
            progress.close()
            _print_error(e, None if source.startswith("<") else source)
            return EXIT_QUERY_ERROR
    return EXIT_OK


def _export(database: str, name: str, layout: str, output: str | None) -> int:
    from leadql.workspace import Workspace

    if not Path(database).exists():
        print(f"leadql: no workspace {database}", file=sys.stderr)
        return EXIT_USAGE
    with Workspace(database, read_only=True) as ws:
        report = ws.export_list(name, layout, output)
    empty = f"; no data for: {', '.join(report.empty_columns)}" if report.empty_columns else ""
    print(f"wrote {report.rows:,} leads of {report.list} to {report.path} ({report.layout} layout){empty}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _check(files: list[str], *, tree: bool) -> int:
    from leadql.grammar import check
    from leadql.grammar.ast import dump
    from leadql.grammar.validate import validate

    failed = missing = False
    for path in files:
        text, source = _read_script(path)
        if text is None:
            missing = True
            continue
        try:
            statements, errors = check(text)
        except LeadQLError as e:  # the file as a whole is unreadable (binary, too long)
            _print_error(e, source)
            failed = True
            continue
        for error in errors:
            _print_error(error, source)
        failed = failed or bool(errors)
        if tree:
            for statement in statements:
                line = statement.span.line if statement.span else "?"
                print(f"-- {source}: line {line}: {statement.keyword}")
                print(dump(statement))
                task = validate(statement, text)
                if task is not None:
                    print(f"  task: {task.task_type}")
        total = len(statements) + len(errors)
        status = f"{len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else "ok"
        print(f"{source}: {total} statement{'s' if total != 1 else ''} checked, {status}")
    if missing:
        return EXIT_USAGE
    return EXIT_QUERY_ERROR if failed else EXIT_OK
