"""The predictive statements: PREDICT, EVALUATE PREDICT, EXPLAIN PREDICT, EVALUATE MODEL,
EXPLAIN MODEL, SHOW MODELS, SHOW MODEL HISTORY, DESCRIBE MODEL, DROP MODEL, RETRAIN MODEL and
USE MODEL ... VERSION n."""

from __future__ import annotations

import pickle
from datetime import datetime
from typing import Any

from leadql.catalog.migrations import transaction
from leadql.context import Context
from leadql.errors import LeadQLError, LeadQLExecutionError, LeadQLNameError
from leadql.grammar import ast
from leadql.grammar.parser import parse
from leadql.predict import registry
from leadql.predict.binding import TASK_WORDS, BoundPredict, bind_predict
from leadql.predict.pipeline import Pipeline, Training, describe_training, score, train
from leadql.result import Result


def _settings(ctx: Context) -> Any:
    from leadql.predict.labels import PredictSettings

    return getattr(ctx.ws, "predict_settings", None) or PredictSettings()


def _check_writable(ctx: Context, stmt: ast.Statement, what: str) -> None:
    if ctx.ws.read_only:
        raise LeadQLExecutionError(
            f"{what} writes to the workspace, which is open read-only", span=stmt.span, text=ctx.text,
            hint="leave out AS MODEL / INTO LIST, or open the workspace writable",
        )  # fmt: skip


# ------------------------------------------------------------------------ PREDICT


def _train(ctx: Context, bound: BoundPredict) -> tuple[Pipeline, Training]:
    """`pipeline.train`; an error carries the statement's warnings in its hint (a warning, such
    as a far-future row setting the prediction time, is often why training failed)."""
    try:
        return train(ctx.ws, bound, _settings(ctx))
    except LeadQLError as e:
        if bound.warnings:
            e.hint = "; ".join([*([e.hint] if e.hint else []), *(f"note: {w}" for w in bound.warnings)])
        raise


def predict(ctx: Context, stmt: ast.Predict) -> Result:
    if stmt.model_name is not None:
        _check_writable(ctx, stmt, "AS MODEL")
    if stmt.into_list is not None:
        _check_writable(ctx, stmt, "INTO LIST")
    bound = bind_predict(ctx, stmt)
    if bound.model_name:
        _check_same_task(ctx, stmt, bound)
    pipeline, info = _train(ctx, bound)
    table = score(ctx.ws, bound, pipeline)
    message = describe_training(bound, info, pipeline.model)
    message += f"; scored {_entities(table, bound):,} {bound.entity.name} at {info.prediction_time:%Y-%m-%d %H:%M}"
    from leadql.predict.lists import prepare_predictions, write_predictions

    version = None
    pipeline.params = _used_params(stmt, ctx.params)  # RETRAIN MODEL binds the query with them
    record = _version(ctx, bound, pipeline, info) if bound.model_name else None
    leads = prepare_predictions(ctx, bound, table) if bound.into_list else None
    with transaction(ctx.con):  # the model version and the list: both or neither
        if record is not None:
            version = registry.save_version(ctx.con, record, event="created")
            message += f"; saved as model {bound.model_name} version {version}"
        if leads is not None:
            message += "; " + write_predictions(ctx, bound, leads, version=version)
    return Result(table=table, message=message, warnings=list(bound.warnings), plan=_plan(bound, info))


def _check_same_task(ctx: Context, stmt: ast.Predict, bound: BoundPredict) -> None:
    """A model's versions answer one kind of question about one entity, so that versions
    compare (SHOW MODEL HISTORY) and USE MODEL ... VERSION n swaps like for like."""
    name = bound.model_name or ""
    span = stmt.model_name.span if stmt.model_name else stmt.span
    if registry.model_exists(ctx.con, name, registry.PATTERN):
        raise LeadQLNameError(f"`{name}` is already a pattern; models and patterns share names",
                              span=span, text=ctx.text, hint="choose another name")  # fmt: skip
    if not registry.model_exists(ctx.con, name):
        return
    head = registry.load_version(ctx.con, name)
    entity = f"{bound.entity.name}.{bound.entity_key}"
    if head.task_type == bound.task_type and (head.entity or "").lower() == entity.lower():
        return
    raise LeadQLExecutionError(
        f"model `{head.name}` predicts {TASK_WORDS.get(head.task_type, head.task_type)} for each "
        f"{head.entity}; this query predicts {TASK_WORDS.get(bound.task_type, bound.task_type)} for each {entity}",
        span=span, text=ctx.text, hint=f"save it under another name, or DROP MODEL {head.name} first",
    )  # fmt: skip


def _used_params(stmt: ast.Statement, values: dict[str, Any]) -> dict[str, Any]:
    return {n.name: values[n.name] for n in stmt.walk() if isinstance(n, ast.Param) and n.name in values}


def _entities(table: Any, bound: BoundPredict) -> int:
    """Entities scored (top classes, items and timeframes give several rows per entity)."""
    if bound.entity_key in table.column_names and table.num_rows:
        import pyarrow.compute as pc

        return len(pc.unique(table.column(bound.entity_key)))
    return table.num_rows


def _version(ctx: Context, bound: BoundPredict, pipeline: Pipeline, info: Training,
             name: str | None = None) -> registry.ModelVersion:  # fmt: skip
    """The registry record of a trained pipeline (numbered when saved)."""
    model = pipeline.model
    version = registry.ModelVersion(
        name=name or bound.model_name or "", version=0, kind=registry.MODEL,
        created_at=datetime.now().replace(microsecond=0), statement=pipeline.query,
        task_type=bound.task_type, algorithm=bound.algorithm,
        entity=f"{bound.entity.name}.{bound.entity_key}", prediction_time=info.prediction_time,
        train_from=min(info.anchors), train_to=max(info.anchors), train_rows=info.examples,
        valid_rows=getattr(model, "valid_rows", None),
        features={"features": pipeline.feature_plan.get("features", []), "skipped": info.skipped},
        metrics=getattr(model, "metrics", {}) or {},
        info={"anchors": [a.isoformat() for a in info.anchors], "positives": info.positives,
              "seconds": info.seconds, "importance": getattr(model, "importance", [])[:50]},
        pipeline=pickle.dumps(pipeline),
    )  # fmt: skip
    inputs = _inputs(ctx, bound, pipeline, info)
    if inputs is not None:
        version.info["inputs"] = inputs
    return version


def _inputs(ctx: Context, bound: BoundPredict, pipeline: Pipeline, info: Training) -> dict[str, Any] | None:
    """The input summary stored with a version (drift in SHOW MODEL HISTORY): the one training
    made, if it made one, else a summary of the features of a sample of the training examples."""
    from leadql.predict import versions

    made = getattr(info, "inputs", None)
    if made is not None:
        return made if isinstance(made, dict) else versions.input_summary(made)
    frame = versions.training_inputs(ctx.ws, bound, pipeline, info.anchors)
    return None if frame is None else versions.input_summary(frame)


def _plan(bound: BoundPredict, info: Training) -> dict[str, Any]:
    return {
        "task_type": bound.task_type, "algorithm": bound.algorithm,
        "prediction_time": info.prediction_time.isoformat(sep=" "),
        "anchors": [a.isoformat(sep=" ") for a in info.anchors], "examples": info.examples,
        "positives": info.positives, "features": info.features, "seconds": info.seconds,
    }  # fmt: skip


# ------------------------------------------------------------------------ EVALUATE / EXPLAIN PREDICT


def evaluate_predict(ctx: Context, stmt: ast.EvaluatePredict) -> Result:
    """Backtest: train on history and report the later slice's metrics; nothing is saved."""
    bound = bind_predict(ctx, stmt.statement)
    pipeline, info = _train(ctx, bound)
    result = _metrics_result(pipeline.model.metrics)
    result.message = describe_training(bound, info, pipeline.model)
    result.warnings = [*bound.warnings, *_not_saved(stmt.statement, "EVALUATE PREDICT")]
    return result


def _not_saved(stmt: ast.Predict, what: str) -> list[str]:
    """A warning when a statement that saves nothing is given AS MODEL or INTO LIST."""
    ignored = [f"AS MODEL {stmt.model_name.value}"] if stmt.model_name else []
    ignored += [f"INTO LIST {stmt.into_list.value}"] if stmt.into_list else []
    if not ignored:
        return []
    return [f"{what} saves nothing: {' and '.join(ignored)} ignored (run the PREDICT itself to save)"]


def explain_predict(ctx: Context, stmt: ast.Explain) -> Result:
    """The training table and scoring as named steps, with the anchors and windows they use."""
    from leadql.predict.labels import prediction_time, training_anchors

    assert isinstance(stmt.statement, ast.Predict)
    bound = bind_predict(ctx, stmt.statement)
    at = prediction_time(ctx.con, bound)
    lines = [f"task: {bound.task_type} ({bound.algorithm})",
             f"entity: {bound.entity.name}.{bound.entity_key}",
             f"prediction time: {at:%Y-%m-%d %H:%M:%S}" + ("" if bound.at else " (latest timestamp in the data)")]  # fmt: skip
    if bound.task.temporal:
        anchors = training_anchors(ctx.con, bound, at, _settings(ctx))
        w = bound.window
        lines.append(
            f"training anchors: {len(anchors)}, {min(anchors):%Y-%m-%d} … {max(anchors):%Y-%m-%d}, "
            f"stepping by the target window ({w.end - w.start:g} {w.unit})" if w else ""
        )
    for role, aggs in (("target", bound.target_aggs), ("filter", bound.where_aggs), ("assuming", bound.assuming_aggs)):
        for agg in aggs:
            w = agg.window
            span = f"(anchor{w.start:+g}, anchor{w.end:+g}] {w.unit}" if w else "all history"
            lines.append(f"{role}: {agg.func} over {agg.table.name} in {span}")
    if bound.forecast is not None and bound.window is not None:
        from leadql.predict.forecast import MAX_TRAINED

        w = bound.window
        length = w.end - w.start
        lines.append(f"forecast: {bound.forecast:,} timeframes (T{w.start:+g}+i·{length:g}, T{w.end:+g}+i·{length:g}] "
                     f"{w.unit}, i = 0 … {bound.forecast - 1}; up to {MAX_TRAINED} learned, later ones repeat the last")  # fmt: skip
    elif bound.model_task != bound.task_type and bound.item_agg is None:
        lines.append(f"read out: the {bound.top_k or 1} likeliest class(es) per entity of a multiclass model")
    elif bound.item_agg is not None and bound.task_type != bound.model_task:
        lines.append("read out: each candidate item's probability (applies at 0.5 or more)"
                     + (f", the {bound.top_k} likeliest per entity" if bound.top_k else ""))  # fmt: skip
    lines.append(f"r0 := Examples[{bound.entity.name}] label := {bound.target_sql}"
                 + (f" filter := {bound.where_sql}" if bound.where_sql else "")
                 + (f" assuming := {bound.assuming_sql}" if bound.assuming_sql else ""))  # fmt: skip
    lines.append(f"r1 := Features[r0] linked tables: {', '.join(t.name for t in _linked(bound))}")
    lines.append(f"r2 := Train[{bound.algorithm}](r1) validation: the latest anchor slice")
    lines.append(f"r3 := Score[r2] at {at:%Y-%m-%d %H:%M:%S}" + (f" limit {bound.limit}" if bound.limit is not None else ""))
    if stmt.analyze:  # run it (nothing is saved) and add what happened
        pipeline, info = _train(ctx, bound)
        table = score(ctx.ws, bound, pipeline)
        lines.append("actual:")
        lines.append(f"  r0: {info.examples:,} examples" + (f", {info.positives:,} positive" if info.positives is not None else "")
                     + f" in {info.seconds.get('labels', 0):.2f}s")
        lines.append(f"  r1: {info.features} features in {info.seconds.get('features', 0):.2f}s"
                     + (f"; {len(info.skipped)} candidates skipped" if info.skipped else ""))
        lines.append(f"  r2: {describe_training(bound, info, pipeline.model)}; {info.seconds.get('training', 0):.2f}s")
        lines.append(f"  r3: {table.num_rows:,} rows")
    result = Result.from_rows(["plan"], [(line,) for line in lines if line])
    result.warnings = [*bound.warnings, *_not_saved(stmt.statement, "EXPLAIN ANALYZE PREDICT" if stmt.analyze else "EXPLAIN PREDICT")]
    return result


def _linked(bound: BoundPredict) -> list[Any]:
    schema = bound.schema
    names = {bound.entity.name}
    for link in schema.children(bound.entity.name):
        names.add(link.child)
        for second in schema.children(link.child):
            names.add(second.child)
        for parent in schema.parents(link.child):
            names.add(parent.parent)
    return [t for t in schema.tables.values() if t.name in names]


# ------------------------------------------------------------------------ saved models


def evaluate_model(ctx: Context, stmt: ast.EvaluateModel) -> Result:
    version = registry.load_version(ctx.con, stmt.name.value, stmt.version, span=stmt.name.span, text=ctx.text)
    result = _metrics_result(version.metrics)
    result.message = (
        f"model {version.name} version {version.version}: {version.task_type}, validated on the "
        f"latest slice of {version.valid_rows or 0:,} examples"
    )
    if stmt.plot is not None:
        from leadql.predict import evaluate

        path = ctx.text_value(stmt.plot, "PLOT")
        where = stmt.plot if isinstance(stmt.plot, ast.Node) else stmt  # a literal has no span of its own
        if not path.strip():
            raise ctx.fail(LeadQLExecutionError, "PLOT needs a file name", where, hint="e.g. PLOT 'lift.png'")
        target = ctx.ws.base_dir / path  # an absolute path stays as it is
        try:
            evaluate.plot(version.metrics, target, title=f"{version.name} v{version.version}")
        except LeadQLError as e:
            raise ctx.located(e, where) from None
        result.message += f"; plot written to {path}"
    return result


def _metrics_result(metrics: dict[str, Any]) -> Result:
    """Scalar metrics, then lift by decile and the calibration bins, as one table:
    metric | value (a number) | detail (text)."""
    from leadql.predict import evaluate

    rows: list[tuple[str, float | None, str | None]] = []
    for r in evaluate.metrics_rows(metrics):
        value = r.get("value")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            rows.append((r["metric"], None, str(value)))
        else:
            rows.append((r["metric"], float(value), None))
    for r in evaluate.lift_rows(metrics):
        decile = r.get("decile")
        if "lift" in r:
            detail = f"{r.get('positives', 0):,} of {r.get('rows', 0):,} positive; cumulative gain {r.get('cumulative_gain', 0):.3f}"
            rows.append((f"lift decile {decile}", _num(r.get("lift")), detail))
        else:
            rows.append((f"decile {decile} actual", _num(r.get("mean_actual", r.get("actual"))),
                         f"predicted {_num(r.get('mean_predicted', r.get('predicted')))}"))  # fmt: skip
    for i, r in enumerate(evaluate.calibration_rows(metrics), start=1):
        rows.append((f"calibration bin {i}", _num(r.get("observed_rate", r.get("observed"))),
                     f"mean predicted {_num(r.get('mean_predicted', r.get('predicted')))}; {r.get('rows', 0):,} rows"))  # fmt: skip
    return Result.from_rows(["metric", "value", "detail"], rows)


def _num(value: Any) -> float | None:
    return round(float(value), 6) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def explain_model(ctx: Context, stmt: ast.ExplainModel) -> Result:
    version = registry.load_version(ctx.con, stmt.name.value, stmt.version, span=stmt.name.span, text=ctx.text)
    pipeline: Pipeline = version.payload()
    from leadql.predict import evaluate

    rows = evaluate.importance_rows(pipeline.model)
    described = {f["name"]: f.get("description", "") for f in pipeline.feature_plan.get("features", [])}
    columns = ["rank", "feature", "importance", "description"]
    out = [(i + 1, r["feature"], r["importance"], described.get(r["feature"], "")) for i, r in enumerate(rows)]
    return Result.from_rows(
        columns, out,
        message=f"model {version.name} version {version.version}: global importance "
        f"({'permutation on the validation slice' if version.algorithm == 'gbm' else '|coefficient| × spread'})",
    )  # fmt: skip


def show_models(ctx: Context, stmt: ast.Show) -> Result:
    columns, rows = registry.listing(ctx.con)
    return Result.from_rows(columns, rows)


def show_history(ctx: Context, stmt: ast.Show) -> Result:
    assert stmt.name is not None
    registry.require(ctx.con, stmt.name.value, span=stmt.name.span, text=ctx.text)
    columns, rows = registry.history(ctx.con, stmt.name.value)
    return Result.from_rows(columns, rows)


def describe_model(ctx: Context, stmt: ast.Describe) -> Result:
    v = registry.load_version(ctx.con, stmt.name.value, span=stmt.name.span, text=ctx.text)
    rows: list[tuple[str, Any]] = [
        ("query", " ".join(v.statement.split())), ("version", v.version),
        ("versions", ", ".join(map(str, registry.versions_of(ctx.con, v.name)))),
        ("task", v.task_type), ("algorithm", v.algorithm), ("entity", v.entity),
        ("prediction time", v.prediction_time), ("training anchors", f"{v.train_from} … {v.train_to}"),
        ("training examples", v.train_rows), ("validation examples", v.valid_rows),
        ("positives", v.info.get("positives")), ("features", len(v.features.get("features", []))),
    ]  # fmt: skip
    from leadql.params import shown

    for name, value in (getattr(v.payload(), "params", None) or {}).items():
        rows.append((f"parameter ${name}", shown(value)))
    for metric in ("auc", "pr_auc", "brier", "r2", "rmse", "mae", "accuracy", "macro_f1", "map_at_k"):
        if isinstance(v.metrics.get(metric), (int, float)):
            rows.append((metric, round(float(v.metrics[metric]), 4)))
    for f in v.features.get("features", []):
        rows.append((f"feature {f['name']}", f.get("description", "")))
    for skipped in v.features.get("skipped", []):
        rows.append(("skipped", skipped))
    return Result.from_rows(["property", "value"], [(k, None if x is None else str(x)) for k, x in rows],
                            message=f"model {v.name} version {v.version}")  # fmt: skip


def drop_model(ctx: Context, stmt: ast.Drop) -> Result:
    name = stmt.name.value
    if not registry.model_exists(ctx.con, name):
        if stmt.if_exists:
            return Result(message=f"no model {name}; nothing dropped")
        registry.require(ctx.con, name, span=stmt.name.span, text=ctx.text)
    registry.drop(ctx.con, name)
    return Result(message=f"dropped model {name} and all its versions")


def retrain(ctx: Context, stmt: ast.Retrain) -> Result:
    """A new version from the saved query on today's data; the old versions stay."""
    if stmt.kind != "MODEL":
        raise ctx.unsupported(f"RETRAIN {stmt.kind}", stmt)
    _check_writable(ctx, stmt, "RETRAIN MODEL")
    name = stmt.name.value
    old = registry.load_version(ctx.con, name, span=stmt.name.span, text=ctx.text)
    saved = parse(old.statement)[0]
    assert isinstance(saved, ast.Predict)
    values, changed = _retrain_params(ctx, stmt, saved, getattr(old.payload(), "params", None) or {})
    inner = Context(ctx.ws, values, old.statement)
    bound = bind_predict(inner, saved)
    pipeline, info = _train(ctx, bound)
    pipeline.params = values
    metric, before = registry.headline(old.metrics, old.task_type)
    _, after = registry.headline(pipeline.model.metrics, bound.task_type)
    version = registry.save_version(
        ctx.con, _version(ctx, bound, pipeline, info, name=old.name), event="retrained",
        detail={"from": old.version, "metric": metric, "before": before, "after": after},
    )  # fmt: skip
    change = f"; {metric} {before:.3f} → {after:.3f}" if metric and before is not None and after is not None else ""
    from leadql.predict.versions import changes

    drift = changes(old, registry.load_version(ctx.con, name, version))["drift"]
    if drift.get("recorded"):
        drifted = drift["moderate"] + drift["major"]
        change += (f"; inputs drifted in {drifted} feature{'s' if drifted != 1 else ''} (max PSI {drift['max_psi']:.2f})"
                   if drifted else f"; no input drift (max PSI {drift['max_psi']:.2f})")  # fmt: skip
    if changed:
        change += "; with " + ", ".join(changed)
    return Result(message=f"model {old.name} version {version} trained on data up to "
                  f"{info.prediction_time:%Y-%m-%d %H:%M}{change}; version {old.version} kept "
                  f"(SHOW MODEL HISTORY {old.name} says what changed)")  # fmt: skip


def _retrain_params(ctx: Context, stmt: ast.Retrain, saved: ast.Predict,
                    trained: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The `$name` values to retrain with: those the version was trained with, each replaced by
    a value the caller passes for the same name; and a phrase per replaced value."""
    from leadql.params import shown

    values: dict[str, Any] = {}
    changed: list[str] = []
    for node in saved.walk():
        if not isinstance(node, ast.Param) or node.name in values:
            continue
        if node.name in ctx.params:
            values[node.name] = ctx.params[node.name]
            if node.name in trained and trained[node.name] != values[node.name]:
                changed.append(f"${node.name} = {shown(values[node.name])} (was {shown(trained[node.name])})")
        elif node.name in trained:
            values[node.name] = trained[node.name]
        else:  # a version saved before LeadQL kept the values
            raise LeadQLNameError(
                f"model `{stmt.name.value}` was trained with ${node.name}, and its value was not kept",
                span=stmt.name.span, text=ctx.text,
                hint=f"pass it: params={{'{node.name}': ...}}",
            )  # fmt: skip
    return values, changed


def use_version(ctx: Context, stmt: ast.UseVersion) -> Result:
    if stmt.kind != "MODEL":
        raise ctx.unsupported(f"USE {stmt.kind}", stmt)
    before = registry.use_version(ctx.con, stmt.name.value, stmt.version)
    return Result(message=f"model {stmt.name.value} now answers with version {stmt.version} (was {before})")
