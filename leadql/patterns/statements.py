"""The pattern statements: CREATE PATTERN, DESCRIBE PATTERN, SHOW PATTERNS, SHOW PATTERN HISTORY,
DROP PATTERN, RETRAIN PATTERN and USE PATTERN … VERSION n; and `learn`, which FIND … LIKE uses
for a pattern of its own."""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadql.catalog.definitions import SOURCE, CategoryDef, DataDef
from leadql.context import Context
from leadql.errors import (
    LeadQLCancelledError,
    LeadQLExecutionError,
    LeadQLNameError,
    LeadQLSemanticError,
    did_you_mean,
)
from leadql.grammar import ast
from leadql.grammar.parser import parse
from leadql.patterns.learn import (
    ALGORITHMS,
    BAND,
    DEFAULT_BACKGROUND,
    Pattern,
    fit,
    is_numeric,
    usable_feature,
)
from leadql.predict import registry
from leadql.result import Result

OUTCOME_SOURCE = "outcomes"  # seeds made of delivered leads whose outcome was recorded


@dataclass
class Learned:
    pattern: Pattern
    examples: int  # rows the examples query gave
    described: int  # examples the pool could describe (matched at least one vendor record)
    outcomes: dict[str, int]  # recorded outcomes used: {"won": n, "lost": m}
    origin: str
    seconds: float
    inputs: Any = None  # the training rows' feature frame (for the version's input summary)


# ------------------------------------------------------------------------ learning


def learn(ctx: Context, name: str, table: ast.Ident, where: ast.Expr | None, *, algorithm: str = "logistic",
          attributes: tuple[ast.Ident, ...] = (), pool: list[DataDef] | None = None,
          use_outcomes: bool = False, background: int | None = None) -> Learned:  # fmt: skip
    """Learn a pattern from `table [WHERE where]` against the pool (every source by default)."""
    from leadql.executor import scans
    from leadql.patterns.appraisal import Appraiser
    from leadql.patterns.examples import read_examples

    started = time.perf_counter()
    categories = ctx.catalog.categories()
    pool = pool if pool is not None else ctx.catalog.data_defs(SOURCE)
    if not pool:
        raise LeadQLNameError("there are no sources to learn the background from",
                              span=table.span, text=ctx.text, hint="CREATE SOURCE … registers a vendor")  # fmt: skip
    features = _features(ctx, attributes, pool, categories)
    categorical = [f for f in features if not is_numeric(categories[f])]
    with Appraiser(ctx, pool, features, categories, progress=_progress(ctx)) as appraiser:
        scans.attach_stage(ctx.con)
        examples = read_examples(ctx, table, where, categories, appraiser.fresh("examples"))
        if examples.rows == 0:
            raise LeadQLExecutionError(
                f"no examples: `{examples.origin}` has no rows", span=(where or table).span, text=ctx.text,
                hint="check the WHERE condition against the table's values",
            )  # fmt: skip
        identity = set(examples.categories) & {"email", "phone", "first_name", "last_name", "zip", "birth_date"}
        if not identity:
            raise LeadQLSemanticError(
                f"the examples in `{table.value}` carry no identity (email, phone, name, zip) to match vendor records by",
                span=table.span, text=ctx.text,
                hint=f"name the columns like the categories, or CREATE OR REPLACE TABLE {table.value} … MAP (email = …)",
            )  # fmt: skip
        seeds = [examples.table]
        counts = {"won": 0, "lost": 0}
        lost_table = None
        if use_outcomes:
            won, lost = _outcome_seeds(ctx, appraiser, name)
            if won:
                seeds.append(won[0])
                counts["won"] = won[1]
            if lost:
                lost_table = lost[0]
                counts["lost"] = lost[1]
        positives = appraiser.appraise(seeds)
        sample = appraiser.sample(background or getattr(ctx.ws, "pattern_background", None) or DEFAULT_BACKGROUND)
        negatives = appraiser.appraise(sample + ([lost_table] if lost_table else []))
    pos = positives.table.to_pandas()
    described = int((pos["_matched"] > 0).sum())
    pos = pos[(pos["_matched"] > 0) | pos[features].notna().any(axis=1)]
    neg = negatives.table.to_pandas()
    pattern = fit(name, pos, neg, features, categorical, algorithm=algorithm, progress=_progress(ctx),
                  chosen=bool(attributes))
    import pandas as pd

    inputs = pd.concat([pos, neg], ignore_index=True).reindex(columns=pattern.categories)
    return Learned(pattern, examples.rows, described, counts, examples.origin, time.perf_counter() - started,
                   inputs)


def _features(ctx: Context, attributes: tuple[ast.Ident, ...], pool: list[DataDef],
              categories: dict[str, CategoryDef]) -> list[str]:  # fmt: skip
    supplied = {c.lower() for s in pool for c in s.mappings}
    if not attributes:
        features = sorted(c for c in supplied if c in categories and usable_feature(categories[c]))
        if not features:
            raise LeadQLSemanticError("the sources sell no category a pattern can learn from "
                                      "(numbers, yes/no or text such as income, age, state)",
                                      hint="CREATE SOURCE … MAP (income = …) adds one")  # fmt: skip
        return features
    out: list[str] = []
    for ident in attributes:
        c = categories.get(ident.value.lower())
        if c is None:
            raise ctx.fail(LeadQLNameError, f"unknown category `{ident.value}`", ident,
                           hint=did_you_mean(ident.value, [c.name for c in categories.values()])
                           or "SHOW CATEGORIES lists them")  # fmt: skip
        if not usable_feature(c):
            raise ctx.fail(LeadQLSemanticError, f"`{c.name}` identifies people rather than describing them; "
                           "a pattern cannot learn from it", ident,
                           hint="use describing categories such as income, age, state, fico")  # fmt: skip
        if c.name.lower() not in supplied:
            raise ctx.fail(LeadQLSemanticError, f"no source sells `{c.name}`, so prospects cannot be scored on it",
                           ident, hint="SHOW SOURCES lists what each source holds")  # fmt: skip
        if c.name.lower() in out:
            raise ctx.fail(LeadQLSemanticError, f"`{ident.value}` is named twice", ident)
        out.append(c.name.lower())
    return out


def _outcome_seeds(ctx: Context, appraiser: Any, name: str) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Delivered leads this pattern scored whose outcome was recorded: won ones join the examples,
    lost ones the background (they are known negatives)."""
    from leadql.warehouse.schema import LEADS, OUTCOMES

    out = []
    for won in (True, False):
        table = appraiser.fresh("outcomes", "won" if won else "lost")
        ctx.con.execute(f"""
            CREATE TABLE {table} AS
            SELECT '{OUTCOME_SOURCE}' AS _source, l.lead_id AS _record_key, l.email, l.phone,
                   l.first_name, l.last_name, l.birth_date, l.zip
            FROM (SELECT lead_id, max(outcome) AS outcome FROM {OUTCOMES}
                  WHERE scorer_kind = 'pattern' AND lower(scorer_name) = lower(?) GROUP BY lead_id) AS o
            JOIN {LEADS} AS l ON l.lead_id = o.lead_id
            WHERE (o.outcome > 0) = {str(won).lower()}
        """, [name])  # fmt: skip
        n = int(ctx.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        out.append((table, n) if n else None)
    return out[0], out[1]


def _progress(ctx: Context) -> Any:
    report = getattr(ctx.ws, "progress", None)
    if report is None:
        return None

    def progress(event: Any, fraction: float | None = None) -> None:
        if getattr(ctx.ws, "cancel_requested", False):  # Ctrl-C / ws.interrupt() between steps
            raise LeadQLCancelledError("learning the pattern was cancelled")
        if isinstance(event, dict):
            report({"stage": "pattern", **event})
        else:
            report({"stage": "pattern", "step": event, "fraction": fraction})

    return progress


# ------------------------------------------------------------------------ CREATE / RETRAIN / USE


def _check_writable(ctx: Context, stmt: ast.Statement, what: str) -> None:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(f"{what} writes to the workspace, which is open read-only",
                                   span=stmt.span, text=ctx.text, hint="open the workspace writable")  # fmt: skip


def _algorithm(ctx: Context, node: ast.Ident | None) -> str:
    if node is None:
        return "logistic"
    value = node.value.lower()
    if value not in ALGORITHMS:
        raise ctx.fail(LeadQLNameError, f"unknown pattern learner `{node.value}`", node,
                       hint=did_you_mean(value, ALGORITHMS) or "use logistic or gbm")  # fmt: skip
    return value


def create_pattern(ctx: Context, stmt: ast.CreatePattern) -> Result:
    _check_writable(ctx, stmt, "CREATE PATTERN")
    name = stmt.name.value
    con = ctx.con
    if registry.model_exists(con, name, registry.MODEL):
        raise ctx.fail(LeadQLNameError, f"`{name}` is already a model; models and patterns share names",
                       stmt.name, hint="choose another name")  # fmt: skip
    exists = registry.model_exists(con, name, registry.PATTERN)
    if exists and not stmt.replace:
        raise ctx.fail(LeadQLNameError, f"pattern `{name}` already exists", stmt.name,
                       hint=f"CREATE OR REPLACE PATTERN {name} … makes a new version; RETRAIN PATTERN {name} "
                            "learns again from the same examples")  # fmt: skip
    algorithm = _algorithm(ctx, stmt.algorithm)
    learned = learn(ctx, name, stmt.table, stmt.where, algorithm=algorithm, attributes=stmt.attributes)
    version = _save(ctx, name, stmt.text or ctx.text, learned, event="replaced" if exists else "created")
    return Result(message=_summary(learned, version), warnings=list(learned.pattern.notes))


def _save(ctx: Context, name: str, statement: str, learned: Learned, *, event: str,
          detail: dict[str, Any] | None = None) -> int:  # fmt: skip
    p = learned.pattern
    version = registry.ModelVersion(
        name=name, version=0, kind=registry.PATTERN, created_at=datetime.now().replace(microsecond=0),
        statement=statement, task_type="pattern", algorithm=p.algorithm, entity=None, prediction_time=None,
        train_from=None, train_to=None, train_rows=p.model.train_rows, valid_rows=p.model.valid_rows,
        features={"features": [{"name": f, "description": "category" + (" (text)" if f in p.categorical else "")}
                               for f in p.categories]},
        metrics=p.metrics,
        info={"examples": learned.examples, "described": learned.described, "origin": learned.origin,
              "outcomes": learned.outcomes, "seconds": round(learned.seconds, 2),
              "importance": p.importance[:50], "notes": p.notes},
        pipeline=pickle.dumps(p),
    )  # fmt: skip
    inputs = _inputs_summary(learned)
    if inputs is not None:
        version.info["inputs"] = inputs
    return registry.save_version(ctx.con, version, event=event, detail=detail)


def _inputs_summary(learned: Learned) -> Any:
    """The version's input distributions, for drift in SHOW PATTERN HISTORY."""
    try:
        from leadql.predict.versions import input_summary
    except ImportError:  # drift summaries arrive with the version-history work
        return None
    return input_summary(learned.inputs) if learned.inputs is not None else None


def _summary(learned: Learned, version: int) -> str:
    p = learned.pattern
    auc = p.metrics.get("auc")
    used = f"; {learned.outcomes['won']} won and {learned.outcomes['lost']} lost outcomes added" if any(
        learned.outcomes.values()) else ""  # fmt: skip
    return (f"pattern {p.name} version {version}: {p.algorithm} on {len(p.categories)} categories "
            f"({', '.join(p.categories)}); {learned.described:,} of {learned.examples:,} examples matched in the "
            f"sources, against {p.metrics.get('background', 0):,} background records{used}"
            + (f"; hold-out AUC {auc:.3f} (examples vs pool)" if isinstance(auc, (int, float)) else ""))  # fmt: skip


def retrain(ctx: Context, stmt: ast.Retrain) -> Result:
    """A new version from the saved CREATE PATTERN on today's data plus recorded outcomes."""
    _check_writable(ctx, stmt, "RETRAIN PATTERN")
    name = stmt.name.value
    old = registry.load_version(ctx.con, name, kind=registry.PATTERN, span=stmt.name.span, text=ctx.text)
    saved = parse(old.statement)[0]
    assert isinstance(saved, ast.CreatePattern)
    inner = Context(ctx.ws, ctx.params, old.statement)
    learned = learn(inner, old.name, saved.table, saved.where, algorithm=_algorithm(inner, saved.algorithm),
                    attributes=saved.attributes, use_outcomes=True)  # fmt: skip
    before, after = old.metrics.get("auc"), learned.pattern.metrics.get("auc")
    version = _save(ctx, old.name, old.statement, learned, event="retrained",
                    detail={"from": old.version, "metric": "auc", "before": before, "after": after})  # fmt: skip
    change = (f"; AUC {before:.3f} → {after:.3f}" if isinstance(before, (int, float)) and isinstance(after, (int, float))
              else "")  # fmt: skip
    return Result(message=_summary(learned, version) + change + f"; version {old.version} kept",
                  warnings=list(learned.pattern.notes))  # fmt: skip


def use_version(ctx: Context, stmt: ast.UseVersion) -> Result:
    _check_writable(ctx, stmt, "USE PATTERN")
    registry.require(ctx.con, stmt.name.value, registry.PATTERN, span=stmt.name.span, text=ctx.text)
    versions = registry.versions_of(ctx.con, stmt.name.value)
    if stmt.version not in versions:
        raise ctx.fail(LeadQLNameError, f"pattern `{stmt.name.value}` has no version {stmt.version}", stmt,
                       hint=f"versions: {', '.join(map(str, versions))}")  # fmt: skip
    before = registry.use_version(ctx.con, stmt.name.value, stmt.version, registry.PATTERN)
    return Result(message=f"pattern {stmt.name.value} now scores with version {stmt.version} (was {before})")


# ------------------------------------------------------------------------ loading


def load(ctx: Context, node: ast.Ident, version: int | None = None) -> tuple[Pattern, int]:
    v = registry.load_version(ctx.con, node.value, version, kind=registry.PATTERN, span=node.span, text=ctx.text)
    return v.payload(), v.version


# ------------------------------------------------------------------------ SHOW / DESCRIBE / DROP


def show_patterns(ctx: Context, stmt: ast.Show) -> Result:
    columns, rows = registry.listing(ctx.con, registry.PATTERN)
    return Result.from_rows(columns, rows)


def show_pattern_history(ctx: Context, stmt: ast.Show) -> Result:
    assert stmt.name is not None
    registry.require(ctx.con, stmt.name.value, registry.PATTERN, span=stmt.name.span, text=ctx.text)
    columns, rows = registry.history(ctx.con, stmt.name.value, kind=registry.PATTERN)
    return Result.from_rows(columns, rows)


def describe_pattern(ctx: Context, stmt: ast.Describe) -> Result:
    v = registry.load_version(ctx.con, stmt.name.value, kind=registry.PATTERN, span=stmt.name.span, text=ctx.text)
    p: Pattern = v.payload()
    rows: list[tuple[str, str, Any, str]] = [
        ("setting", "query", " ".join(v.statement.split()), ""),
        ("setting", "version", v.version, "versions " + ", ".join(map(str, registry.versions_of(ctx.con, v.name)))),
        ("setting", "learner", p.algorithm, "logistic regression" if p.algorithm == "logistic" else "gradient boosting"),
        ("setting", "examples", v.info.get("examples"), f"{v.info.get('described')} matched in the sources"),
        ("setting", "background", p.metrics.get("background"), "records sampled from the source pool"),
    ]  # fmt: skip
    for metric, note in (("auc", "hold-out: examples vs pool"), ("pr_auc", "hold-out"),
                         ("median_score_examples", "all examples"), ("median_score_background", "pool sample")):  # fmt: skip
        value = p.metrics.get(metric)
        if isinstance(value, (int, float)):
            rows.append(("metric", metric, round(float(value), 4), note))
    if p.algorithm == "logistic":
        rows += _coefficients(p)
    for feature, value in p.importance:
        rows.append(("importance", feature, round(float(value), 4),
                     "permutation on the hold-out" if p.algorithm == "gbm" else "|coefficient| × spread"))  # fmt: skip
    for note in p.notes:
        rows.append(("note", "", None, note))
    out = [(k, n, None if x is None else str(x), d) for k, n, x, d in rows]
    return Result.from_rows(["kind", "name", "value", "detail"], out, message=f"pattern {v.name} version {v.version}")


def _coefficients(p: Pattern) -> list[tuple[str, str, Any, str]]:
    """Logistic coefficients in the units a user thinks in: per standard deviation and per unit
    for numbers (with the odds ratio per sd), per value for text (against the base)."""
    import math

    import numpy as np

    encoder, estimator = p.model.encoder, p.model.estimator
    coef = np.asarray(estimator.coef_).ravel()
    rows = []
    for i, f in enumerate(encoder.numeric_):
        start, _ = encoder.slices_[f]
        w = float(coef[start])
        per_unit = w / float(encoder.scale_[i])
        rows.append(("coefficient", f, round(w, 4),
                     f"per sd ({float(encoder.scale_[i]):,.4g}); odds ×{math.exp(w):.2f}; {per_unit:+.3g} per unit"))  # fmt: skip
    for f in encoder.categorical_:
        start, stop = encoder.slices_[f]
        names = list(encoder.categories_[f]) + (["(other)"] if encoder.has_other_[f] else [])
        for name, w in sorted(zip(names, coef[start:stop], strict=False), key=lambda t: -abs(float(t[1]))):
            rows.append(("coefficient", f"{f.split(BAND)[0]} = {name}", round(float(w), 4), f"odds ×{math.exp(float(w)):.2f}"))
    return rows


def drop_pattern(ctx: Context, stmt: ast.Drop) -> Result:
    name = stmt.name.value
    if not registry.model_exists(ctx.con, name, registry.PATTERN):
        if stmt.if_exists:
            return Result(message=f"no pattern {name}; nothing dropped")
        registry.require(ctx.con, name, registry.PATTERN, span=stmt.name.span, text=ctx.text)
    _check_writable(ctx, stmt, "DROP PATTERN")
    registry.drop(ctx.con, name, registry.PATTERN)
    return Result(message=f"dropped pattern {name} and all its versions")
