"""The workspace: one DuckDB database holding the catalog, the Lists Data Warehouse and staging.

`Workspace.execute` is the path every statement takes: text → statements (parse) → language
rules (validate) → parameters checked → each statement run in order. All statements are parsed
and checked before the first one runs, so a mistake in the third statement changes nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from leadql.errors import (
    LeadQLCancelledError,
    LeadQLError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSyntaxError,
    LeadQLTypeError,
    Span,
    did_you_mean,
    unsupported,
)
from leadql.grammar import ast, parse, validate
from leadql.params import normalize as normalize_params
from leadql.params import problem, refused, shown
from leadql.result import Result

_SQL_SKIP = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*[\s\S]*?\*/")
_SQL_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DUCKDB_CARET = re.compile(r"\n*LINE (\d+): (.*)\n( *)\^+.*$", re.S)


class Workspace:
    """An open workspace. Use `leadql.connect(path)`; `with` closes it."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        import os

        import duckdb

        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise LeadQLTypeError(f"a workspace path is text or a path, not {type(path).__name__} {path!r}",
                                  hint="e.g. leadql.connect('crm.leadql'), or leadql.connect() for memory")  # fmt: skip
        if not isinstance(read_only, bool):
            raise LeadQLTypeError(f"read_only is True or False, not {read_only!r}")
        self.path = None if path in (None, ":memory:") else os.fspath(path)
        self._lock = threading.RLock()
        try:
            self._con = duckdb.connect(self.path or ":memory:", read_only=read_only)
        except duckdb.IOException as e:
            detail = str(e).split("\n")[0]
            hint = None
            if "lock" in detail.lower():
                hint = "another process has this workspace open; close it or open read-only"
            raise LeadQLExecutionError(
                f"cannot open workspace {self.path}: {detail}", hint=hint
            ) from None
        except duckdb.Error as e:
            raise LeadQLExecutionError(
                f"cannot open workspace {self.path}: {str(e).splitlines()[0]}",
                hint="is this a LeadQL workspace (a DuckDB database file)?",
            ) from None
        self.read_only = read_only
        self._pool: list[Any] = []
        self._pool_lock = threading.Lock()
        self._lent: list[Any] = []  # cursors handed to worker threads (interrupt() reaches them)
        self._cancel = threading.Event()
        self.progress: Any = None  # callable(event dict) for long statements; see leadql/progress.py
        self.scan_threads = 0  # threads for parallel source scans; 0 = one per CPU core
        self.predict_settings: Any = None  # leadql.predict.labels.PredictSettings; None = defaults
        self.pattern_background: int | None = None  # background records a pattern samples; None = 6,000
        self._closed = False
        self.base_dir = Path(self.path).resolve().parent if self.path else Path.cwd()
        try:
            self._open_catalog()
        except BaseException:
            self._con.close()
            self._closed = True
            raise

    def _open_catalog(self) -> None:
        import duckdb

        from leadql.catalog.store import Catalog

        try:
            self.catalog = Catalog(self._con, read_only=self.read_only)
        except duckdb.Error as e:
            raise LeadQLExecutionError(
                f"cannot open the catalog of workspace {self.path}: {str(e).splitlines()[0]}",
                hint="is this a LeadQL workspace?",
            ) from None
        self._macros_installed = False

    @property
    def con(self) -> Any:
        """The workspace's DuckDB connection (callers hold the workspace lock)."""
        if not self._macros_installed:
            # Normaliser macros are per connection; installing them costs a few ms, so only
            # statements that read sources pay for it.
            from leadql.catalog.canonical import install_user_macros
            from leadql.normalizers import install

            install(self._con)
            install_user_macros(self._con, self.catalog.categories())
            self._macros_installed = True
        return self._con

    def cursor(self, categories: dict[str, Any] | None = None) -> Any:
        """A DuckDB connection to the same database for a worker thread, with the normaliser and
        category macros installed (macros are per connection). Threads pass `categories`:
        reading the catalog would use the main connection, which is busy.

        Connections are pooled: installing the normaliser macros costs ~0.1 s, so a connection
        given back with `release()` is reused (its category macros are re-created, cheaply)."""
        from leadql.catalog.canonical import install_user_macros
        from leadql.normalizers import install

        with self._pool_lock:
            cursor = self._pool.pop() if self._pool else None
        if cursor is None:
            cursor = self._con.cursor()
            install(cursor)
        with self._pool_lock:
            self._lent.append(cursor)
        install_user_macros(cursor, self.catalog.categories() if categories is None else categories)
        return cursor

    def release(self, cursor: Any) -> None:
        """Give back a connection from `cursor()` for reuse."""
        with self._pool_lock:
            if any(c is cursor for c in self._lent):
                self._lent = [c for c in self._lent if c is not cursor]
            if not self._closed and len(self._pool) < 8:
                self._pool.append(cursor)
                return
        cursor.close()

    # ------------------------------------------------------------ cancelling
    def interrupt(self) -> None:
        """Cancel the running statement from another thread (the shell calls this on Ctrl-C).

        DuckDB stops the query at its next check; the statement raises LeadQLCancelledError and,
        as every statement that stores data does so in one transaction, nothing is half-saved.
        The remaining statements of the same `execute` call are not run."""
        self._cancel.set()
        with self._pool_lock:
            targets = [self._con, *self._lent]
        for con in targets:
            try:
                con.interrupt()
            except Exception:  # noqa: BLE001 - a connection that is closing needs no interrupt
                pass

    @property
    def cancel_requested(self) -> bool:
        """True once `interrupt()` was called for the running statement: long loops (scan
        retries, training steps) check it and stop rather than carry on."""
        return self._cancel.is_set()

    def _cancelled(self, statement: ast.Statement, text: str) -> LeadQLCancelledError:
        self._cancel.clear()
        return LeadQLCancelledError(f"{statement.keyword} was cancelled", span=statement.span, text=text,
                                    hint="nothing it was storing was saved")  # fmt: skip

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                for cursor in self._pool:
                    cursor.close()
                self._pool.clear()
                self._con.close()
                self._closed = True

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise LeadQLExecutionError("this workspace is closed", hint="leadql.connect(...) again")

    # ------------------------------------------------------------ statements
    def execute(self, text: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run one or more `;`-separated statements; return the last statement's Result."""
        last: Result | None = None
        for result in self.execute_each(text, params):
            last = result
        if last is None:
            raise LeadQLSyntaxError("nothing to run: the text holds no statement")
        return last

    def execute_each(
        self, text: str, params: Mapping[str, Any] | None = None, *, rows: bool = False
    ) -> Iterator[Result]:
        """Run the statements one by one, yielding each statement's Result as it finishes.

        `rows=True` returns SQL results as Python rows rather than Arrow (for printing).
        """
        self._check_open()
        statements = parse(text)
        params = normalize_params(params)  # numpy and pandas scalars → Python values
        for statement in statements:
            validate(statement, text)
            _check_params(statement, params, text)
        self._cancel.clear()
        for statement in statements:
            started = time.perf_counter()
            with self._lock:
                self._check_open()  # another thread may have closed it while this one waited
                if self._cancel.is_set():
                    raise self._cancelled(statement, text)
                try:
                    result = self._run(statement, params, text, rows)
                except LeadQLError:
                    if self._cancel.is_set():  # positioned at the statement, and the flag reset
                        raise self._cancelled(statement, text) from None
                    raise
                # An interrupt that arrives after the statement finished does not undo it (it may
                # have committed); the next statement of the text is the one cancelled.
            result.statement = statement
            result.elapsed = time.perf_counter() - started
            yield result

    def _run(
        self, statement: ast.Statement, params: dict[str, Any], text: str, rows: bool = False,
        query_run: Any = None,
    ) -> Result:
        if isinstance(statement, ast.Select):
            return self._select(statement, params, text, rows)
        handler = _handler(statement)
        if handler is not None:
            if self.read_only and not isinstance(statement, _READS):
                raise LeadQLExecutionError(
                    f"{statement.keyword} changes the workspace, which is open read-only",
                    span=statement.span, text=text,
                )  # fmt: skip
            import duckdb

            from leadql.context import Context

            try:
                return handler(Context(self, params, text, query_run), statement)
            except LeadQLError as e:
                raise e.located(statement.span, text) from None
            except duckdb.InterruptException:
                raise self._cancelled(statement, text) from None
            except duckdb.Error as e:  # data the engine did not expect: an error, never a traceback
                from leadql.connectors.base import duckdb_detail

                raise LeadQLExecutionError(
                    f"{statement.keyword} failed: {duckdb_detail(e)}", span=statement.span, text=text,
                    hint="the data is not shaped as this statement expects (check the tables' "
                    "columns and types with DESCRIBE TABLE); nothing was saved",
                ) from e
            except (MemoryError, RecursionError):
                raise
            except Exception as e:  # a bug: still an error at the statement, never a traceback
                raise LeadQLExecutionError(
                    f"{statement.keyword} failed unexpectedly: {type(e).__name__}: {e}",
                    span=statement.span, text=text,
                    hint="this is a bug in LeadQL; please report it with the statement. "
                    "Statements that store data do so in one transaction, so nothing was half-saved",
                ) from e
        raise unsupported(statement.keyword, statement.span, text)

    def _select(
        self, statement: ast.Select, params: dict[str, Any], text: str, rows: bool = False
    ) -> Result:
        import duckdb

        sql = statement.sql
        try:
            kinds = [s.type for s in duckdb.extract_statements(sql)]
        except duckdb.Error as e:
            raise _duckdb_error(e, statement, text) from None
        if any(kind != duckdb.StatementType.SELECT for kind in kinds):
            raise LeadQLExecutionError(
                "only read-only queries run as plain SQL", span=statement.span, text=text,
                hint="the catalog and lists change through LeadQL statements",
            )  # fmt: skip
        used = _sql_params(sql)
        missing = [name for name in used if name not in params]
        if missing:
            pos = _SQL_PARAM.search(_blank_sql(sql), 0)
            offset = (statement.span.start if statement.span else 0) + (pos.start() if pos else 0)
            raise LeadQLNameError(
                f"no value for parameter ${missing[0]}",
                span=Span.at(text, offset, offset + len(missing[0]) + 1),
                text=text,
                hint=f"pass params={{'{missing[0]}': ...}} to execute",
            )
        bound = {name: params[name] for name in used}
        try:
            relation = self._con.sql(sql, params=bound) if bound else self._con.sql(sql)
            if rows:
                return Result.from_rows(relation.columns, relation.fetchall())
            # DuckDB 2 names it to_arrow_table(); 1.x's arrow() returns the table.
            table = getattr(relation, "to_arrow_table", relation.arrow)()
        except duckdb.InterruptException:
            raise self._cancelled(statement, text) from None
        except duckdb.Error as e:
            error = _duckdb_error(self._positioned(e, sql, bound), statement, text)
            missing = re.search(r"named `([^`]+)`", error.message) if "no table, view or list" in error.message else None
            if missing and self.catalog.get_data(missing.group(1), ("source",)) is not None:
                error.hint = (
                    f"`{missing.group(1)}` is a vendor source: its records are bought with FIND, "
                    "not read with SELECT"
                )
            if bound and isinstance(error, LeadQLTypeError):  # a value DuckDB could not use
                if len(error.message) > 200:  # it quotes the value, which may be huge
                    error.message = error.message[:160] + "…"
                    error.args = (error.message,)
                error.hint = error.hint or "the parameters were " + ", ".join(
                    f"${k} = {shown(v)} ({type(v).__name__})" for k, v in bound.items())
            raise error from None
        return Result(table=table)

    def _positioned(self, error: Exception, sql: str, bound: dict[str, Any]) -> Exception:
        """The same error with DuckDB's position, when the relation API left it out.

        Errors found while binding (unknown table or column) come without a position from
        `sql()`; `execute()` reports one, and fails at the same point, before anything runs.
        """
        import duckdb

        if "LINE " in str(error) or not isinstance(
            error, (duckdb.ParserException, duckdb.CatalogException, duckdb.BinderException)
        ):
            return error
        try:
            self._con.execute(sql, bound) if bound else self._con.execute(sql)
        except duckdb.Error as again:
            return again if type(again) is type(error) else error
        return error

    # ------------------------------------------------------------ lists out
    def export_list(self, name: str, layout: str = "csv", path: str | Path | None = None) -> Any:
        """Write list `name` as a CRM import CSV (`layout`: salesforce, hubspot or csv) to `path`
        (default `<name>.<layout>.csv`, `<name>.csv` for csv); returns an ExportReport (rows written, the layout
        columns left empty, warnings). See leadql/warehouse/export.py."""
        from leadql.warehouse.export import export_list, layout_named

        self._check_open()
        key = layout_named(layout)
        with self._lock:
            self._check_open()
            return export_list(self._con, name, key, path or f"{name}{'' if key == 'csv' else '.' + key}.csv")

    # ------------------------------------------------------------ data from Python
    def register(self, name: str, data: Any) -> None:
        """Make an Arrow table, record batch (reader) or pandas DataFrame (or anything with
        `__arrow_c_stream__`, e.g. a polars DataFrame) queryable as `name`. A reader is read into
        a table here, so the data can be queried more than once."""
        self._check_open()
        if not isinstance(name, str):
            raise LeadQLTypeError(f"register() takes the name as text, not {type(name).__name__}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name):
            raise LeadQLNameError(f"`{name[:60]}` is not a valid name",
                                  hint="use letters, digits and _ (not starting with a digit), e.g. my_prospects")  # fmt: skip
        import pyarrow as pa

        table = data
        try:
            if isinstance(data, pa.RecordBatchReader):
                table = data.read_all()
            elif isinstance(data, pa.RecordBatch):
                table = pa.Table.from_batches([data])
            elif not isinstance(data, pa.Table):
                if not (hasattr(data, "__arrow_c_stream__") or type(data).__name__ == "DataFrame"):
                    raise LeadQLTypeError(
                        f"register() takes an Arrow table or a pandas DataFrame, not {type(data).__name__}",
                        hint="e.g. ws.register('prospects', pyarrow.table({'email': [...]}))",
                    )  # fmt: skip
                table = data.to_arrow() if hasattr(data, "to_arrow") else pa.table(data)
        except LeadQLError:
            raise
        except Exception as e:  # noqa: BLE001 - pandas → Arrow of mixed columns, a failing reader
            raise LeadQLTypeError(f"cannot read `{name}` as a table: {str(e).splitlines()[0][:200]}") from None
        if not isinstance(table, pa.Table):
            raise LeadQLTypeError(f"cannot read `{name}` as a table: it gave a {type(table).__name__}")
        with self._lock:
            self._check_open()
            taken = self._con.execute(
                "SELECT 1 FROM duckdb_views() WHERE NOT temporary AND schema_name = 'main' AND lower(view_name) = lower(?) "
                "UNION ALL SELECT 1 FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
                "AND lower(table_name) = lower(?)", [name, name]).fetchall()  # fmt: skip
            if taken:
                raise LeadQLNameError(f"`{name}` is already a list or table of this workspace",
                                      hint="register the data under another name")  # fmt: skip
            self._con.register(name, table)


# ------------------------------------------------------------------------ dispatch

# FIND checks ESTIMATE itself; PREDICT checks AS MODEL / INTO LIST itself.
_READS = (ast.Show, ast.Describe, ast.Profile, ast.Explain, ast.Find, ast.Predict, ast.EvaluatePredict,
          ast.EvaluateModel, ast.ExplainModel, ast.EvaluateOutcomes)  # fmt: skip


def _handler(statement: ast.Statement) -> Any:
    """The function that runs a statement of this kind, or None if this release has none."""
    from leadql.catalog import analyze, ddl, profile
    from leadql.executor import statements as find_statements
    from leadql.predict import statements as predict_statements

    return {
        ast.Find: find_statements.find,
        ast.Explain: find_statements.explain,
        ast.CreateSource: ddl.create_data,
        ast.CreateTable: ddl.create_data,
        ast.CreateCategory: ddl.create_category,
        ast.Drop: ddl.drop,
        ast.Show: ddl.show,
        ast.Describe: ddl.describe,
        ast.Analyze: analyze.analyze,
        ast.Profile: profile.profile,
        ast.Predict: predict_statements.predict,
        ast.EvaluatePredict: predict_statements.evaluate_predict,
        ast.EvaluateModel: predict_statements.evaluate_model,
        ast.ExplainModel: predict_statements.explain_model,
        ast.Retrain: _lifecycle("retrain"),
        ast.UseVersion: _lifecycle("use_version"),
        ast.CreatePattern: _lazy("leadql.patterns.statements", "create_pattern"),
        ast.CreateTemplate: _lazy("leadql.templates", "create_template"),
        ast.SegmentList: _lazy("leadql.segments", "segment_list"),
        ast.RecordOutcomes: _lazy("leadql.feedback.outcomes", "record_outcomes"),
        ast.EvaluateOutcomes: _lazy("leadql.feedback.evaluate", "evaluate_outcomes"),
        ast.SaveQuery: _lazy("leadql.scheduling.statements", "save_query"),
        ast.Schedule: _lazy("leadql.scheduling.statements", "schedule"),
        ast.Unschedule: _lazy("leadql.scheduling.statements", "unschedule"),
        ast.RunQuery: _lazy("leadql.scheduling.statements", "run_query"),
    }.get(type(statement))


def _lazy(module: str, function: str) -> Any:
    """A handler imported when first run (keeps start-up light and modules independent)."""

    def run(ctx: Any, statement: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), function)(ctx, statement)

    return run


def _lifecycle(function: str) -> Any:
    """RETRAIN / USE … VERSION: models go to PREDICT's handlers, patterns to the patterns'."""

    def run(ctx: Any, statement: Any) -> Any:
        import importlib

        module = "leadql.patterns.statements" if statement.kind == "PATTERN" else "leadql.predict.statements"
        return getattr(importlib.import_module(module), function)(ctx, statement)

    return run


# ------------------------------------------------------------------------ helpers


def _blank_sql(sql: str) -> str:
    """The SQL with strings and comments blanked out (same length), to find `$name`s."""
    return _SQL_SKIP.sub(lambda m: " " * len(m.group(0)), sql)


def _sql_params(sql: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in _SQL_PARAM.finditer(_blank_sql(sql)):
        seen.setdefault(m.group(1), None)
    return list(seen)


def _check_params(statement: ast.Statement, params: dict[str, Any], text: str) -> None:
    """Every `$name` in a LeadQL statement must have a value before anything runs; in plain SQL
    (whose missing values `_select` reports) one DuckDB can bind (leadql/params.py)."""
    if isinstance(statement, ast.SaveQuery) and isinstance(statement.query, ast.Select):
        statement = statement.query  # the values a saved SELECT keeps must bind as well
    if isinstance(statement, ast.Select):
        for name in _sql_params(statement.sql):
            why = problem(params[name]) if name in params else None
            if why:
                pos = re.search(rf"\${name}\b", _blank_sql(statement.sql))
                offset = (statement.span.start if statement.span else 0) + (pos.start() if pos else 0)
                raise refused(name, why, Span.at(text, offset, offset + len(name) + 1), text)
        return
    for node in statement.walk():
        if isinstance(node, ast.Param) and node.name not in params:
            if isinstance(statement, ast.CreateTemplate):
                continue  # template bodies refer to their own parameters
            raise LeadQLNameError(
                f"no value for parameter ${node.name}",
                span=node.span,
                text=text,
                hint=did_you_mean(node.name, params) or f"pass params={{'{node.name}': ...}}",
            )


def _duckdb_error(error: Exception, statement: ast.Statement, text: str) -> LeadQLError:
    """A DuckDB error → the LeadQL error of the same meaning, pointing into the user's text."""
    import duckdb

    raw = str(error)
    message = _DUCKDB_CARET.sub("", raw).strip()
    message = re.sub(r"^(Parser|Catalog|Binder|Conversion|Invalid Input|Out of Range) Error: ", "", message)
    span = statement.span
    caret = _DUCKDB_CARET.search(raw)
    if caret and statement.span is not None:
        sql = statement.sql
        line_no = int(caret.group(1))
        column = len(caret.group(3)) - len("LINE : ") - len(caret.group(1))
        starts = [0] + [m.end() for m in re.finditer("\n", sql)]
        shown = caret.group(2)
        lines = sql.split("\n")
        # DuckDB cuts long lines into a window; trust the column only if the text agrees.
        agrees = 1 <= line_no <= len(lines) and column >= 0 and lines[line_no - 1][column : column + 8] == shown[column : column + 8]
        if agrees:
            offset = statement.span.start + starts[line_no - 1] + column
            end = offset
            while end < len(text) and (text[end].isalnum() or text[end] in "_."):
                end += 1
            span = Span.at(text, offset, max(end, offset + 1))
    hint = None
    suggestion = re.search(r'\n?Did you mean "([^"]+)"\??', message)
    if suggestion:
        message = message[: suggestion.start()].strip()
        # DuckDB suggests from its own catalog too: a system view is no help to an analyst
        internal = suggestion.group(1).lower().startswith(("pg_", "duckdb_", "sqlite_", "information_schema", "_leadql"))
        hint = None if internal else f"did you mean `{suggestion.group(1)}`?"
    missing = re.match(r"Table with name (\S+) does not exist!?", message)
    if missing:
        message = f"no table, view or list named `{missing.group(1)}`"
        hint = hint or "SHOW LISTS and SHOW TABLES list what SELECT can read"
    if isinstance(error, duckdb.ParserException):
        cls: type[LeadQLError] = LeadQLSyntaxError
    elif isinstance(error, duckdb.CatalogException) or (
        isinstance(error, duckdb.BinderException)
        and re.search(r"not found|does not exist|Referenced|ambiguous", message, re.I)
    ):
        cls = LeadQLNameError
    elif isinstance(error, duckdb.BinderException):
        cls = LeadQLTypeError
    elif isinstance(error, (duckdb.ConversionException, duckdb.TypeMismatchException)):
        cls = LeadQLTypeError
    else:
        cls = LeadQLExecutionError
    return cls(message, span=span, text=text, hint=hint)
