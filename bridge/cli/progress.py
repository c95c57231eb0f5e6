"""A live progress display of ingest (records per interface) and delivery (deliveries per target) on stderr.

Drawn with ``rich`` only when stderr is a terminal; otherwise (a scheduler, a pipe, a log file) it prints
nothing at all, so ``run --once`` in cron writes only its summary and its log lines. While the display is
live, rich redirects stderr, so log lines appear above it instead of tearing it.

Both callbacks are called per chunk / per claimed batch (never per record) from the poll thread and from the
delivery threads; rich's ``Progress`` is thread-safe.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["RunProgress"]


class RunProgress:
    """``ingested(interface, n)`` and ``delivered(target, n)`` feed one task each; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.completed:>8.0f}[/] {task.fields[unit]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._lock = threading.Lock()
        self._started = False

    def _advance(self, kind: str, name: str, unit: str, n: int) -> None:
        if not self.enabled or n <= 0:
            return
        with self._lock:
            if not self._started:
                self._bar.start()
                self._started = True
            task = self._tasks.get((kind, name))
            if task is None:
                task = self._tasks[(kind, name)] = self._bar.add_task(f"{kind} {name}", total=None, unit=unit)
        self._bar.advance(task, n)

    def ingested(self, interface: str, n: int) -> None:
        """``n`` more records of ``interface`` are in the ledger (messages or dead letters)."""
        self._advance("ingest", interface, "records", n)

    def delivered(self, target: str, n: int) -> None:
        """``n`` more delivery attempts of ``target`` have their outcome recorded."""
        self._advance("deliver", target, "attempts", n)

    def sliced(self, interface: str, n: int = 1) -> None:
        """``n`` more slices (days of archive) of a backtest of ``interface`` are done."""
        self._advance("backtest", interface, "days", n)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        with self._lock:
            if self._started:
                self._bar.stop()
                self._started = False
