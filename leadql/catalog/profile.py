"""PROFILE SOURCE|TABLE x [AGAINST t.col]: which data is worth paying for.

For every category (and, for own tables, every column): fill rate, distinct values, values the
normaliser rejected, range and the most common value; rows by month where there is a time
column; and with AGAINST, each column's predictive power for the target: univariate AUC for a
yes/no target (out-of-fold target encoding for text columns, so an ID column does not look
predictive), Spearman's |rho| for a numeric one, normalised mutual information otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

from leadql.catalog import canonical
from leadql.catalog.analyze import _measure
from leadql.catalog.definitions import SOURCE, TABLE, DataDef
from leadql.catalog.drift import check_schema
from leadql.connectors.base import quote_ident
from leadql.context import Context
from leadql.errors import LeadQLExecutionError, LeadQLNameError, did_you_mean
from leadql.grammar import ast
from leadql.result import Result

SAMPLE_ROWS = 200_000
IDENTITY = ("email", "phone")


def profile(ctx: Context, stmt: ast.Profile) -> Result:
    from leadql.catalog.ddl import connector_for

    kind = SOURCE if stmt.kind == "SOURCE" else TABLE
    defn = ctx.catalog.require_data(stmt.name.value, (kind,), span=stmt.name.span, text=ctx.text)
    categories = ctx.catalog.categories()
    con = ctx.con
    connector = connector_for(ctx, defn)
    from_sql, warnings = check_schema(ctx, defn, connector)
    scratch = f"_leadql_profile_{uuid.uuid4().hex[:10]}"
    select = canonical.canonical_select(
        defn, categories, from_sql, with_raw=True, keep_columns=kind == TABLE,
        extra_columns=canonical.structural_columns(defn),
    )  # fmt: skip
    connector.run_read(con, lambda: con.execute(f"CREATE TEMP TABLE {scratch} AS {select}"))
    try:
        stats = _measure(con, scratch, defn, categories)
        power: dict[str, tuple[float | None, str]] = {}
        if stmt.against is not None:
            power = _predictive_power(ctx, stmt, defn, scratch)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {scratch}")

    rows: list[dict[str, Any]] = []
    for group, role in (("categories", "category"), ("columns", "column")):
        for name, s in stats[group].items():
            top = s.get("top") or []
            rows.append({
                "name": name, "kind": role,
                "type": s.get("type") or defn.columns.get(name),
                "fill_rate": s.get("fill_rate"), "distinct": s.get("distinct"),
                "rejected": s.get("failed"), "min": _text(s.get("min")), "max": _text(s.get("max")),
                "top_value": top[0][0] if top else None,
                "predictive_power": power.get(name, (None, ""))[0],
                "measure": power.get(name, (None, None))[1] if power else None,
            })  # fmt: skip
    columns = ["name", "kind", "type", "fill_rate", "distinct", "rejected", "min", "max", "top_value"]
    if stmt.against is not None:
        columns += ["predictive_power", "measure"]
        rows.sort(key=lambda r: -(r["predictive_power"] or 0))
    table_rows = [tuple(r[c] for c in columns) for r in rows]
    message = f"{kind} {defn.name}: {stats['row_count']:,} rows"
    months = stats.get("rows_by_month") or []
    if len(months) >= 2:
        (m0, n0), (m1, n1) = months[-2], months[-1]
        change = f"{(n1 - n0) / n0:+.0%}" if n0 else "new"
        message += f"; rows by month {months[0][0]}…{m1}, last month {n1:,} ({change} vs {m0})"
    return Result.from_rows(columns, table_rows, message=message, warnings=warnings)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------------ predictive power


def _predictive_power(
    ctx: Context, stmt: ast.Profile, defn: DataDef, scratch: str
) -> dict[str, tuple[float | None, str]]:
    against = stmt.against
    assert against is not None and against.table is not None
    target = ctx.catalog.get_data(against.table, (TABLE, SOURCE))
    if target is None:
        raise ctx.fail(
            LeadQLNameError, f"no table or source named `{against.table}`", against,
            hint=did_you_mean(against.table, ctx.catalog.names((TABLE, SOURCE))),
        )  # fmt: skip
    target_lower = {c.lower(): c for c in list(target.columns) + list(target.mappings)}
    column = target_lower.get(against.column.lower())
    if column is None:
        raise ctx.fail(
            LeadQLNameError, f"`{target.name}` has no column `{against.column}`", against,
            hint=did_you_mean(against.column, target_lower.values()),
        )  # fmt: skip
    frame = _joined_sample(ctx, stmt, defn, target, column, scratch)
    features = [c for c in frame.columns if c not in ("__target__", canonical.RECORD_KEY)]
    features = [c for c in features if not c.startswith(canonical.RAW_PREFIX)]
    return {name: _power(frame[name], frame["__target__"]) for name in features}


def _joined_sample(
    ctx: Context, stmt: ast.Profile, defn: DataDef, target: DataDef, column: str, scratch: str
) -> Any:
    """Rows of the profiled data with the target value, as pandas (a sample of at most SAMPLE_ROWS)."""
    from leadql.catalog.ddl import connector_for

    con = ctx.con
    categories = ctx.catalog.categories()
    if target.name.lower() == defn.name.lower():
        sql = f"SELECT *, {quote_ident(column)} AS __target__ FROM {scratch}"
        return _fetch(con, sql, exclude=column)
    connector = connector_for(ctx, target)
    from_sql, _ = check_schema(ctx, target, connector)
    other = canonical.canonical_select(target, categories, from_sql, keep_columns=True)
    on = None
    for ref in target.references:  # the target table points at the profiled one
        if ref.table.lower() == defn.name.lower():
            on = f"t.{quote_ident(ref.column)} = p.{quote_ident(ref.target_column)}"
    for ref in defn.references:  # the profiled table points at the target
        if ref.table.lower() == target.name.lower():
            on = f"p.{quote_ident(ref.column)} = t.{quote_ident(ref.target_column)}"
    if on is None:
        shared = [k for k in IDENTITY if k in {m.lower() for m in defn.mappings} and k in {m.lower() for m in target.mappings}]
        if not shared:
            raise LeadQLExecutionError(
                f"cannot link `{defn.name}` to `{target.name}`",
                hint="link them with REFERENCES, or map email or phone in both",
            )
        on = " OR ".join(f"(p.{k} = t.{k} AND p.{k} IS NOT NULL)" for k in shared)
    sql = (
        f"SELECT p.*, t.{quote_ident(column)} AS __target__ FROM {scratch} AS p "
        f"JOIN ({other}) AS t ON {on}"
    )
    return _fetch(con, sql, exclude=None)


def _fetch(con: Any, sql: str, exclude: str | None) -> Any:
    frame = con.sql(f"SELECT * FROM ({sql}) USING SAMPLE {SAMPLE_ROWS} ROWS (reservoir, 42)").df()
    if exclude is not None and exclude in frame.columns:
        frame = frame.drop(columns=[exclude])
    return frame


def _power(feature: Any, target: Any) -> tuple[float | None, str]:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_mutual_info_score, roc_auc_score

    mask = feature.notna() & target.notna()
    x, y = feature[mask], target[mask]
    if len(x) < 20 or x.nunique() < 2 or y.nunique() < 2:
        return None, "too few values"
    binary = y.nunique() == 2
    numeric_x = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if binary:
        labels = (y == sorted(y.unique(), key=str)[-1]).astype(int).to_numpy()
        if not numeric_x:
            x = _out_of_fold_encoding(x.astype(str).to_numpy(), labels)
        auc = roc_auc_score(labels, np.asarray(x, dtype=float))
        return round(float(max(auc, 1 - auc)), 4), "auc"
    if pd.api.types.is_numeric_dtype(y) and numeric_x:
        rho = pd.Series(np.asarray(x, dtype=float)).rank().corr(pd.Series(np.asarray(y, dtype=float)).rank())
        return round(abs(float(rho)), 4), "spearman"
    xs = pd.qcut(x, 10, duplicates="drop").astype(str) if numeric_x else x.astype(str)
    # Adjusted for chance: a column unique per row (an ID, an email) scores ~0, not 1.
    ami = adjusted_mutual_info_score(y.astype(str), xs)
    return round(max(0.0, float(ami)), 4), "mutual_info"


def _out_of_fold_encoding(values: Any, labels: Any, folds: int = 5) -> Any:
    """Each row's value replaced by the target rate of that value in the other folds."""
    import numpy as np

    n = len(values)
    fold = np.arange(n) % folds
    encoded = np.empty(n, dtype=float)
    prior = labels.mean()
    for k in range(folds):
        train = fold != k
        rates: dict[Any, tuple[float, int]] = {}
        sums: dict[Any, float] = {}
        counts: dict[Any, int] = {}
        for v, label in zip(values[train], labels[train], strict=True):
            sums[v] = sums.get(v, 0.0) + label
            counts[v] = counts.get(v, 0) + 1
        for v in sums:
            rates[v] = ((sums[v] + prior * 10) / (counts[v] + 10), counts[v])  # smoothed
        encoded[~train] = [rates.get(v, (prior, 0))[0] for v in values[~train]]
    return encoded
