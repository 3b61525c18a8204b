"""`leadql demo`: the showcase.

It builds realistic sample data (a dozen vendors over a hidden population, and CRM tables) in a
temporary folder, registers it in a scratch workspace, runs what this release runs (the catalog:
SHOW, ANALYZE, DESCRIBE, PROFILE; plain SQL), and walks through the example scripts shipped with
LeadQL: each statement is parsed and checked and its structure printed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TextIO

from leadql.errors import LeadQLError, LeadQLUnsupportedError
from leadql.grammar import ast, check
from leadql.grammar.validate import validate
from leadql.resources import examples_path

DEMO_PEOPLE = 20_000


def summarize(statement: ast.Statement) -> str:
    """One line saying what a statement asks for."""
    s = statement
    if isinstance(s, ast.Find):
        c = s.clauses
        parts = [f"{s.count if s.count is not None else 'as many'} leads"]
        if c.attributes:
            parts.append("with " + ", ".join(a.value for a in c.attributes))
        if c.matching:
            parts.append(f"matching {c.matching.pattern}")
        if c.like:
            parts.append(f"like {c.like.table}")
        if c.budget:
            parts.append(f"budget {c.budget.amount} {c.budget.currency}")
        if c.quality is not None:
            parts.append(f"quality >= {c.quality}")
        if c.into_list:
            parts.append(f"into list {c.into_list}")
        return ", ".join(parts)
    if isinstance(s, ast.Show):
        return s.what + (f" {s.name}" if s.name else "")
    if isinstance(s, ast.RecordOutcomes):
        return f"from {s.location}"
    if isinstance(s, ast.Explain) and isinstance(s.statement, ast.Find):
        return ("analyze: " if s.analyze else "") + summarize(s.statement)
    if isinstance(s, (ast.Predict, ast.Explain, ast.EvaluatePredict)):
        task = validate(s)
        return f"task: {task.task_type}" if task else ""
    if isinstance(s, (ast.CreateSource, ast.CreateTable)):
        return f"{s.name} from {s.location}"
    for field in ("name", "list_name", "query"):
        value = getattr(s, field, None)
        if isinstance(value, ast.Ident):
            return str(value)
    return ""


def _show(ws: object, text: str, out: TextIO, *, rows: int = 20) -> None:
    from leadql.output import render

    print(f"\nleadql> {text};", file=out)
    result = ws.execute_each(text, rows=True)  # type: ignore[attr-defined]
    for r in result:
        if r.columns and len(r.rows) > rows:
            shown = type(r).from_rows(r.columns, r.rows[:rows], message=r.message)
            print(render(shown), file=out)
            print(f"… {len(r.rows) - rows} more rows", file=out)
        else:
            print(render(r), file=out)
        for w in r.warnings:
            print(f"warning: {w}", file=out)


def _catalog_tour(ws: object, data: object, out: TextIO) -> None:
    from leadql.sample import VENDORS

    for result in ws.execute_each(data.catalog_script()):  # type: ignore[attr-defined]
        print(f"  {result.message}", file=out)
    _show(ws, "SHOW SOURCES", out)
    _show(ws, "ANALYZE", out)
    _show(ws, f"DESCRIBE SOURCE {VENDORS[0].name}", out)
    _show(ws, f"PROFILE SOURCE {VENDORS[0].name} AGAINST customers.product", out)
    _show(ws, "SELECT channel, count(*) AS leads FROM leads GROUP BY 1 ORDER BY 2 DESC", out)


def _examples_tour(ws: object, out: TextIO) -> int:
    """Run every example script on the sample data: what this release runs, runs; the rest is
    parsed and checked."""
    from leadql.output import render

    failed = total = ran = 0
    for script in sorted(examples_path().glob("*.lql")):
        text = script.read_text(encoding="utf-8")
        statements, errors = check(text)
        print(f"\n== {script.name}: {len(statements)} statements", file=out)
        for error in errors:
            failed += 1
            print(error.render(), file=out)
        for statement in statements:
            total += 1
            line = statement.span.line if statement.span else "?"
            print(f"  line {line:>3}  {statement.keyword:<16} {summarize(statement)}", file=out)
            try:
                for result in ws.execute_each(statement.text, rows=True):  # type: ignore[attr-defined]
                    ran += 1
                    shown = render(result)
                    lines = shown.splitlines()
                    if len(lines) > 12:
                        lines = lines[:11] + [f"… ({len(result.rows)} rows)"]
                    print("\n".join("      " + r for r in lines), file=out)
            except LeadQLUnsupportedError:
                print("      (parsed and checked; runs in a later release)", file=out)
            except LeadQLError as e:
                failed += 1
                print(e.render(), file=out)
    print(f"\n{total} example statements: {ran} ran, all parsed and checked, {failed} errors.", file=out)
    return failed


def run_demo(out: TextIO, *, people: int = DEMO_PEOPLE) -> int:
    from leadql.sample import generate
    from leadql.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="leadql-demo-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        data = generate(folder / "sample", people=people, seed=7)
        print(
            f"Generated {people:,} people, {len(data.vendor_files)} vendors and "
            f"{len(data.crm_files)} CRM tables in {time.perf_counter() - started:.1f} s.",
            file=out,
        )
        # The examples name their files relative to the workspace: sample/...
        with Workspace(str(folder / "demo.leadql")) as ws:
            print("\n== The catalog on generated sample data", file=out)
            try:
                _catalog_tour(ws, data, out)
            except LeadQLError as e:
                print(e.render(), file=out)
                return 1
            print("\n== The example scripts", file=out)
            failed = _examples_tour(ws, out)
    print("This release runs the catalog, FIND (detailed, patterns, templates; EXPLAIN, ESTIMATE, lists),", file=out)
    print("PREDICT with saved models, segments, outcomes, saved queries on schedules (`leadql scheduler`)", file=out)
    print("and plain SQL.", file=out)
    return 1 if failed else 0
