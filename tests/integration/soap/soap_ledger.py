"""A SQLite-backed :class:`bridge.ports.SourceLedger` for the SOAP tests: durable across a SIGKILL.

A test fake of the ledger port (the real ledger lives in ``bridge.store``); each write commits at once.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteLedger:
    """Batch states and cursors in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batches (interface TEXT, batch_id TEXT, state TEXT, "
            "PRIMARY KEY (interface, batch_id))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cursors (interface TEXT, key TEXT, value TEXT, PRIMARY KEY (interface, key))"
        )

    def close(self) -> None:
        self._db.close()

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM batches WHERE interface=? AND batch_id=?", (interface, batch_id)
            ).fetchone()
        return str(row[0]) if row else None

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?)", (interface, batch_id, state))

    def get_cursor(self, interface: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE interface=? AND key=?", (interface, key)).fetchone()
        return str(row[0]) if row else None

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)", (interface, key, value))
