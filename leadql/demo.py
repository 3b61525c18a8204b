"""`leadql demo`: the showcase.

It walks through the example scripts shipped with LeadQL: each statement is parsed and checked,
its structure printed, and what this release can run (plain SQL) is run on a scratch workspace.
"""

from __future__ import annotations

from typing import TextIO

from leadql.errors import LeadQLError, LeadQLUnsupportedError
from leadql.grammar import ast, check
from leadql.grammar.validate import validate
from leadql.resources import examples_path


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


def run_demo(out: TextIO) -> int:
    from leadql.output import render
    from leadql.workspace import Workspace

    scripts = sorted(examples_path().glob("*.lql"))
    total = failed = 0
    with Workspace() as ws:
        for script in scripts:
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
                if isinstance(statement, ast.Select):
                    try:
                        result = ws.execute(statement.text)
                        print("\n".join("      " + r for r in render(result).splitlines()), file=out)
                    except LeadQLUnsupportedError:
                        pass
                    except LeadQLError as e:
                        failed += 1
                        print(e.render(), file=out)
    print(f"\n{total} statements parsed and checked, {failed} errors.", file=out)
    print("This release parses and checks every statement and runs plain SQL;", file=out)
    print("the engine that runs FIND and PREDICT arrives in the next releases.", file=out)
    return 1 if failed else 0
