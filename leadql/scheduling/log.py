"""The scheduler's log: one line per run, in a rotating file several processes share safely.

ConcurrentRotatingFileHandler (concurrent-log-handler) takes a lock file around each write and
each rotation, so two schedulers and a REPL's RUN QUERY may log to the same file. The file sits
beside the workspace (`sales.leadql` → `sales.leadql.log`) unless LEADQL_LOG or `--log` says
otherwise; an in-memory workspace logs nowhere.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
_loggers: dict[str, logging.Logger] = {}
_lock = threading.Lock()


def default_log_path(workspace_path: str | None) -> Path | None:
    if os.environ.get("LEADQL_LOG"):
        return Path(os.environ["LEADQL_LOG"])
    if not workspace_path:
        return None
    return Path(workspace_path + ".log")


def logger_for(path: Path | str | None, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> logging.Logger | None:
    """A logger writing to `path` (created once per path per process), or None for no log."""
    if path is None:
        return None
    key = str(Path(path).resolve())
    with _lock:
        if key in _loggers:
            return _loggers[key]
        from concurrent_log_handler import ConcurrentRotatingFileHandler

        Path(key).parent.mkdir(parents=True, exist_ok=True)
        handler = ConcurrentRotatingFileHandler(key, "a", maxBytes=max_bytes, backupCount=backups,
                                                encoding="utf-8", use_gzip=False)  # fmt: skip
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s pid=%(process)d %(message)s", "%Y-%m-%dT%H:%M:%S%z"))  # fmt: skip
        log = logging.getLogger(f"leadql.scheduler.{len(_loggers)}")
        log.propagate = False
        log.setLevel(logging.INFO)
        log.addHandler(handler)
        _loggers[key] = log
        return log


def close_loggers() -> None:
    """Close every log file this process opened (tests, and the end of `leadql scheduler`)."""
    with _lock:
        for log in _loggers.values():
            for handler in list(log.handlers):
                handler.close()
                log.removeHandler(handler)
        _loggers.clear()


def log_outcome(ws: Any, outcome: Any, log: logging.Logger | None = None) -> None:
    """One line for one run: INFO when it worked or was capped, ERROR when it failed."""
    log = log or logger_for(default_log_path(ws.path))
    if log is None:
        return
    try:
        level = logging.ERROR if outcome.status in ("failed", "abandoned") else logging.INFO
        log.log(level, outcome.log_line())
    except Exception:  # noqa: BLE001 - a full disk must not turn a finished run into a failure
        pass
