"""An in-memory :class:`~bridge.ports.SourceLedger` for adapter tests, optionally mirrored to a JSON file.

Adapter tests need the slice of the ledger a source uses (batch states and cursors) without a database.
Every test area used to write its own; this one is shared, keeps the history of batch states (so a test can
say "spooled, then acknowledged") and counts cursor writes. With ``path`` it also writes every change to a
JSON file (atomically, fsync'd) and reads it back on every call, so a crash test can SIGKILL one process and
see in the next what the killed one committed. One process at a time may use such a file.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BatchMark", "MemorySourceLedger"]


@dataclass(frozen=True)
class BatchMark:
    """One ``mark_batch`` call, in call order."""

    interface: str
    batch_id: str
    state: str
    origin: str = ""
    detail: str = ""


class MemorySourceLedger:
    """Batch states and cursors in dicts keyed by ``(interface, id)``; thread-safe.

    ``history`` lists every batch mark in order, ``cursor_writes`` counts ``set_cursor`` calls.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.batches: dict[tuple[str, str], str] = {}
        self.cursors: dict[tuple[str, str], str] = {}
        self.history: list[BatchMark] = []
        self.cursor_writes = 0
        self.relocations: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ SourceLedger

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        with self._lock:
            self._load()
            return self.batches.get((interface, batch_id))

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        with self._lock:
            self._load()
            self.batches[(interface, batch_id)] = state
            self.history.append(BatchMark(interface, batch_id, state, origin, detail))
            self._save()

    def get_cursor(self, interface: str, key: str) -> str | None:
        with self._lock:
            self._load()
            return self.cursors.get((interface, key))

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        with self._lock:
            self._load()
            self.cursors[(interface, key)] = value
            self.cursor_writes += 1
            self._save()

    def relocate_batch(self, interface: str, batch_id: str, origin: str, moved_to: str) -> None:
        with self._lock:
            self.relocations.append((interface, batch_id, origin, moved_to))

    # ------------------------------------------------------------------ reading for tests

    def states(self, batch_id: str) -> list[str]:
        """The states ``batch_id`` went through, in order (any interface)."""
        with self._lock:
            self._load()
            return [m.state for m in self.history if m.batch_id == batch_id]

    # ------------------------------------------------------------------ the optional file

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        data = json.loads(self.path.read_text())
        self.batches = {(i, k): v for i, k, v in data["batches"]}
        self.cursors = {(i, k): v for i, k, v in data["cursors"]}
        self.history = [BatchMark(*mark) for mark in data["history"]]
        self.cursor_writes = int(data["cursor_writes"])

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "batches": [[i, k, v] for (i, k), v in self.batches.items()],
            "cursors": [[i, k, v] for (i, k), v in self.cursors.items()],
            "history": [[m.interface, m.batch_id, m.state, m.origin, m.detail] for m in self.history],
            "cursor_writes": self.cursor_writes,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
