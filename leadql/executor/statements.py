"""The FIND and EXPLAIN statements: bind → plan → (quote | explain | run)."""

from __future__ import annotations

from leadql.context import Context
from leadql.errors import LeadQLExecutionError
from leadql.grammar import ast
from leadql.result import Result


def find(ctx: Context, stmt: ast.Find) -> Result:
    from leadql.planner.binding import bind_find
    from leadql.planner.explain import estimate_result
    from leadql.planner.planner import plan_find

    bound = bind_find(ctx, stmt)
    if not bound.estimate:
        _check_writable(ctx, stmt)
    planning = plan_find(ctx, bound)
    if bound.estimate:
        return estimate_result(bound, planning)
    from leadql.executor.find import run_find

    result, _ = run_find(ctx, bound, planning, progress=ctx.ws.progress)
    result.warnings = list(planning.warnings) + [w for w in result.warnings if w not in planning.warnings]
    return result


def explain(ctx: Context, stmt: ast.Explain) -> Result:
    if isinstance(stmt.statement, ast.Predict):
        from leadql.predict.statements import explain_predict

        return explain_predict(ctx, stmt)
    from leadql.planner.binding import bind_find
    from leadql.planner.explain import explain_result
    from leadql.planner.planner import plan_find

    bound = bind_find(ctx, stmt.statement)
    if stmt.analyze and not bound.estimate:
        _check_writable(ctx, stmt)
    planning = plan_find(ctx, bound)
    if not stmt.analyze or bound.estimate:
        return explain_result(bound, planning)
    from leadql.executor.find import run_find

    alternatives = list(planning.alternatives)
    result, state = run_find(ctx, bound, planning, progress=ctx.ws.progress)
    planning.alternatives = alternatives
    return explain_result(bound, planning, state, result)


def _check_writable(ctx: Context, stmt: ast.Statement) -> None:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(
            "FIND buys records and records the spend, but this workspace is open read-only",
            span=stmt.span, text=ctx.text, hint="add ESTIMATE for a quote, or open the workspace writable",
        )
