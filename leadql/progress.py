"""Progress of long statements on a terminal: the executor reports events, this draws them.

The executor calls `progress(event)` from its scan threads with events such as
`{"stage": "buy", "source": "acme_credit", "rows": 120000}`; `TerminalProgress` turns them into
a live line per source on stderr (only when stderr is a terminal, so pipes and logs stay clean).
Applications embedding LeadQL can set `ws.progress` to any callable taking such a dict.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


class TerminalProgress:
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[tuple[str, str], Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._progress is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    Progress,
                    SpinnerColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                self._progress = Progress(
                    SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                    TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                    console=Console(file=self.stream), transient=True,
                )  # fmt: skip
                self._progress.start()
            key = (str(event.get("stage", "")), str(event.get("source", "")))
            # A bar with an estimate when the size is known: PREDICT's features and training
            # report a fraction; a scan capped by the budget reports its row limit.
            total: float | None = None
            if "fraction" in event:
                text = f"{key[0]} {key[1]}: {float(event['fraction']):.0%}"
                done, total = float(event["fraction"]), 1.0
            else:
                rows = int(event.get("rows", 0))
                text = f"{key[0]} {key[1]}: {rows:,} rows"
                done = float(rows)
                if event.get("total"):
                    total = float(max(int(event["total"]), rows))
            if key not in self._tasks:
                self._tasks[key] = self._progress.add_task(text, total=total, completed=done)
            else:
                self._progress.update(self._tasks[key], description=text, completed=done, total=total)

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
                self._tasks.clear()
