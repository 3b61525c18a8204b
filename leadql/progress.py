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
                from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

                self._progress = Progress(
                    SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=Console(file=self.stream), transient=True,
                )  # fmt: skip
                self._progress.start()
            key = (str(event.get("stage", "")), str(event.get("source", "")))
            if "fraction" in event:  # PREDICT: features and training report how far they are
                text = f"{key[0]} {key[1]}: {float(event['fraction']):.0%}"
            else:
                text = f"{key[0]} {key[1]}: {int(event.get('rows', 0)):,} rows"
            if key not in self._tasks:
                self._tasks[key] = self._progress.add_task(text, total=None)
            else:
                self._progress.update(self._tasks[key], description=text)

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
                self._tasks.clear()
