"""Saved models: every version of every model, the version in use, and what happened when.

A version holds the whole pipeline (feature plan + fitted model, pickled), the query text it
answers, its training window and validation metrics. Versions are never rewritten: retraining
adds one, `USE MODEL m VERSION n` moves the head, and each change is an event.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadql.catalog.migrations import SCHEMA, transaction
from leadql.errors import LeadQLNameError, did_you_mean

MODEL = "model"
PATTERN = "pattern"


@dataclass
class ModelVersion:
    name: str
    version: int
    kind: str
    created_at: datetime
    statement: str
    task_type: str
    algorithm: str
    entity: str | None
    prediction_time: datetime | None
    train_from: datetime | None
    train_to: datetime | None
    train_rows: int | None
    valid_rows: int | None
    features: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    pipeline: bytes = b""

    def payload(self) -> Any:
        """The pickled pipeline, loaded (only ever from the workspace's own catalog)."""
        return pickle.loads(self.pipeline)


_COLUMNS = (
    "name, version, kind, created_at, statement, task_type, algorithm, entity, prediction_time, "
    "train_from, train_to, train_rows, valid_rows, features, metrics, info, pipeline"
)


def _key(name: str) -> str:
    return name.lower()


def model_exists(con: Any, name: str, kind: str = MODEL) -> bool:
    rows = con.execute(
        f"SELECT 1 FROM {SCHEMA}.models WHERE name_key = ? AND kind = ? LIMIT 1", [_key(name), kind]
    ).fetchall()
    return bool(rows)


def model_names(con: Any, kind: str = MODEL) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT name FROM {SCHEMA}.models WHERE kind = ? ORDER BY name", [kind]
    ).fetchall()
    return [r[0] for r in rows]


def save_version(
    con: Any,
    version: ModelVersion,
    *,
    event: str = "created",
    detail: dict[str, Any] | None = None,
) -> int:
    """Store a new version (numbered after the last one), make it the head, record the event."""
    key = _key(version.name)
    with transaction(con):
        row = con.execute(
            f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.models WHERE name_key = ?", [key]
        ).fetchall()
        number = int(row[0][0]) + 1
        con.execute(
            f"INSERT INTO {SCHEMA}.models (name_key, {_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key, version.name, number, version.kind, version.created_at, version.statement,
                version.task_type, version.algorithm, version.entity, version.prediction_time,
                version.train_from, version.train_to, version.train_rows, version.valid_rows,
                json.dumps(version.features, default=str), json.dumps(version.metrics, default=str),
                json.dumps(version.info, default=str), version.pipeline,
            ],
        )  # fmt: skip
        con.execute(f"INSERT OR REPLACE INTO {SCHEMA}.model_heads VALUES (?, ?)", [key, number])
        _event(con, key, number, event, detail)
    version.version = number
    return number


def _event(con: Any, key: str, version: int | None, event: str, detail: dict[str, Any] | None) -> None:
    con.execute(
        f"INSERT INTO {SCHEMA}.model_events VALUES (?, ?, now()::TIMESTAMP, ?, ?)",
        [key, version, event, json.dumps(detail or {}, default=str)],
    )


def require(con: Any, name: str, kind: str = MODEL, *, span: Any = None, text: str | None = None) -> None:
    if model_exists(con, name, kind):
        return
    known = model_names(con, kind)
    raise LeadQLNameError(
        f"unknown {kind} `{name}`", span=span, text=text,
        hint=did_you_mean(name, known)
        or (f"SHOW {kind.upper()}S lists them" if known else
            f"save one with PREDICT ... AS MODEL {name}" if kind == MODEL else
            f"make one with CREATE PATTERN {name} FROM ..."),
    )  # fmt: skip


def load_version(
    con: Any, name: str, version: int | None = None, kind: str = MODEL, *, span: Any = None,
    text: str | None = None,
) -> ModelVersion:  # fmt: skip
    """The given version, or the head (the version in use)."""
    require(con, name, kind, span=span, text=text)
    key = _key(name)
    if version is None:
        version = con.execute(
            f"SELECT version FROM {SCHEMA}.model_heads WHERE name_key = ?", [key]
        ).fetchall()[0][0]
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM {SCHEMA}.models WHERE name_key = ? AND version = ?", [key, version]
    ).fetchall()
    if not rows:
        versions = versions_of(con, name)
        raise LeadQLNameError(
            f"{kind} `{name}` has no version {version}", span=span, text=text,
            hint=f"versions: {', '.join(map(str, versions))}",
        )  # fmt: skip
    r = rows[0]
    return ModelVersion(
        name=r[0], version=r[1], kind=r[2], created_at=r[3], statement=r[4], task_type=r[5],
        algorithm=r[6], entity=r[7], prediction_time=r[8], train_from=r[9], train_to=r[10],
        train_rows=r[11], valid_rows=r[12], features=json.loads(r[13] or "{}"),
        metrics=json.loads(r[14] or "{}"), info=json.loads(r[15] or "{}"), pipeline=bytes(r[16]),
    )  # fmt: skip


def versions_of(con: Any, name: str) -> list[int]:
    rows = con.execute(
        f"SELECT version FROM {SCHEMA}.models WHERE name_key = ? ORDER BY version", [_key(name)]
    ).fetchall()
    return [r[0] for r in rows]


def head_version(con: Any, name: str) -> int | None:
    rows = con.execute(
        f"SELECT version FROM {SCHEMA}.model_heads WHERE name_key = ?", [_key(name)]
    ).fetchall()
    return rows[0][0] if rows else None


def use_version(con: Any, name: str, version: int, kind: str = MODEL) -> int:
    """Make `version` the one in use; returns the version it replaced."""
    require(con, name, kind)
    if version not in versions_of(con, name):
        raise LeadQLNameError(
            f"{kind} `{name}` has no version {version}",
            hint=f"versions: {', '.join(map(str, versions_of(con, name)))}",
        )
    before = head_version(con, name)
    with transaction(con):
        con.execute(f"INSERT OR REPLACE INTO {SCHEMA}.model_heads VALUES (?, ?)", [_key(name), version])
        _event(con, _key(name), version, "rolled back" if before and version < before else "activated",
               {"from": before})  # fmt: skip
    return before or version


def drop(con: Any, name: str, kind: str = MODEL) -> None:
    require(con, name, kind)
    key = _key(name)
    with transaction(con):
        con.execute(f"DELETE FROM {SCHEMA}.models WHERE name_key = ?", [key])
        con.execute(f"DELETE FROM {SCHEMA}.model_heads WHERE name_key = ?", [key])
        _event(con, key, None, "dropped", {})


def listing(con: Any, kind: str = MODEL) -> tuple[list[str], list[tuple[Any, ...]]]:
    """SHOW MODELS: one row per model, its head version and headline metric."""
    columns = ["name", "version", "versions", "task", "algorithm", "entity", "created_at", "metric", "value"]
    rows = con.execute(
        f"""SELECT m.name, m.version, (SELECT count(*) FROM {SCHEMA}.models v WHERE v.name_key = m.name_key),
                   m.task_type, m.algorithm, m.entity, m.created_at, m.metrics
            FROM {SCHEMA}.models m JOIN {SCHEMA}.model_heads h
              ON h.name_key = m.name_key AND h.version = m.version
            WHERE m.kind = ? ORDER BY m.name""",
        [kind],
    ).fetchall()
    out = []
    for name, version, count, task, algorithm, entity, created, metrics in rows:
        metric, value = headline(json.loads(metrics or "{}"), task)
        out.append((name, version, count, task, algorithm, entity, created, metric, value))
    return columns, out


def headline(metrics: dict[str, Any], task_type: str) -> tuple[str | None, float | None]:
    for name in ("auc", "map_at_k", "r2", "accuracy", "macro_f1", "rmse"):
        value = metrics.get(name)
        if isinstance(value, (int, float)):
            return name, float(value)
    return None, None


def history(con: Any, name: str, kind: str = MODEL) -> tuple[list[str], list[tuple[Any, ...]]]:
    """SHOW MODEL|PATTERN HISTORY: versions with metrics, what changed from the version before
    (`versions.changes`: window, features, metric deltas, input drift) and the events that
    touched them."""
    from leadql.predict.versions import changes

    require(con, name, kind)
    columns = ["version", "created_at", "in_use", "task", "algorithm", "train_from", "train_to",
               "train_rows", "metric", "value", "change", "changes", "drift", "events"]  # fmt: skip
    head = head_version(con, name)
    rows = con.execute(
        f"""SELECT version, created_at, task_type, algorithm, prediction_time, train_from, train_to,
                   train_rows, features, metrics, info
            FROM {SCHEMA}.models WHERE name_key = ? AND kind = ? ORDER BY version""",
        [_key(name), kind],
    ).fetchall()
    events = con.execute(
        f"SELECT version, event, happened_at FROM {SCHEMA}.model_events WHERE name_key = ? ORDER BY happened_at",
        [_key(name)],
    ).fetchall()
    out = []
    previous: dict[str, Any] | None = None
    for version, created, task, algorithm, at, t0, t1, n, features, metrics, info in rows:
        this = {"task_type": task, "algorithm": algorithm, "prediction_time": at, "train_from": t0,
                "train_to": t1, "train_rows": n, "features": json.loads(features or "{}"),
                "metrics": json.loads(metrics or "{}"), "info": json.loads(info or "{}")}  # fmt: skip
        metric, value = headline(this["metrics"], task)
        before = None if previous is None else headline(previous["metrics"], task)[1]
        change = None if before is None or value is None else round(value - before, 4)
        if previous is None:
            text = "first version" + ("" if this["info"].get("inputs") else "; inputs not recorded")
            max_psi = None
        else:
            diff = changes(previous, this)
            text, max_psi = diff["text"], diff["drift"].get("max_psi")
        previous = this
        happened = "; ".join(f"{e} {when:%Y-%m-%d %H:%M}" for v, e, when in events if v == version)
        out.append((version, created, version == head, task, algorithm, t0, t1, n, metric, value,
                    change, text, max_psi, happened))  # fmt: skip
    return columns, out
