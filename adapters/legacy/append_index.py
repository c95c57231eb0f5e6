"""The message ids already appended to one JSON-lines file, kept on disk beside it: bounded memory at any volume.

The ``file`` sink's ``append`` mode must recognise a redelivery (same message id) and write nothing. Holding
every id ever written in a Python set grew with the file (~120 MB at a million lines); this index is a small
SQLite file beside the output, ``.<name>.ids.sqlite``, whose memory is SQLite's page cache whatever the volume.

The output file stays the truth and the index is derived from it, so it never needs to be durable itself:

* the index records, with the ids, how many bytes of the output it covers; opening it indexes the lines
  past that offset (lines appended by a process killed before it updated the index), so a line written
  just before a SIGKILL is still recognised;
* an index that covers more than the file holds (the file was truncated or replaced), or that cannot be
  read, is rebuilt from the file;
* a torn last line (a writer killed mid-``write`` is impossible with one ``write`` on ``O_APPEND``, but the file
  may have been copied or cut by hand) is not indexed, and the next append starts on a new line.

One writer process per output file, as for the file itself. SQLite errors leave as :class:`OSError`, which
the sink reports like any other failed write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

__all__ = ["AppendIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS covered (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);
"""
_SCAN_CHUNK = 10_000
_IN_CHUNK = 500  # well under SQLite's default limit of bound parameters


class AppendIndex:
    """The ids of one append file; not thread-safe (the sink holds its lock around every call)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = output.with_name(f".{output.name}.ids.sqlite")
        self._db: sqlite3.Connection | None = None
        #: the output ends without a newline (a torn line): the next append starts with one
        self.torn_tail = False

    def open(self) -> None:
        """Open (or rebuild) the index and index whatever the output holds past what it covers."""
        try:
            self._db = self._connect()
            self._catch_up()
        except sqlite3.OperationalError as exc:  # cannot open or lock it (a missing folder, another writer)
            self.close()
            raise OSError(f"cannot open the id index {self.path}: {exc}") from exc
        except sqlite3.DatabaseError:  # not an index, or damaged: derived data, rebuilt from the output
            self.close()
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                p.unlink(missing_ok=True)
            try:
                self._db = self._connect()
                self._catch_up()
            except sqlite3.Error as exc:
                self.close()
                raise OSError(f"cannot rebuild the id index {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def present(self, message_ids: Sequence[str]) -> set[str]:
        """Which of ``message_ids`` are indexed: one query per 500 ids instead of one per id."""
        found: set[str] = set()
        try:
            db = self._conn()
            for start in range(0, len(message_ids), _IN_CHUNK):
                part = message_ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(part))
                found.update(row[0] for row in db.execute(f"SELECT id FROM ids WHERE id IN ({marks})", part))
        except sqlite3.Error as exc:
            raise OSError(f"cannot read the id index {self.path}: {exc}") from exc
        return found

    def add(self, message_ids: Sequence[str], covered: int) -> None:
        """Record ``message_ids`` as appended (one transaction for a whole batch), the output now being
        ``covered`` bytes long."""
        try:
            self._store([(mid,) for mid in message_ids], covered)
        except sqlite3.Error as exc:
            raise OSError(f"cannot write the id index {self.path}: {exc}") from exc
        self.torn_tail = False

    # ------------------------------------------------------------------ internals

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the id index is not open")
        return self._db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # WAL + NORMAL: no fsync per commit; a commit lost in a power cut is re-derived from the output.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-8192")  # 8 MB: ids are random, a 2 MB cache re-read pages past ~50k ids
        db.executescript(_SCHEMA)
        db.isolation_level = "DEFERRED"  # back to implicit transactions, committed by ``with db``
        return db

    def _catch_up(self) -> None:
        db = self._conn()
        row = db.execute("SELECT bytes FROM covered WHERE one = 1").fetchone()
        covered = int(row[0]) if row else 0
        size = self.output.stat().st_size if self.output.exists() else 0
        if covered > size:  # the output was truncated or replaced: what the index holds is not in it
            with db:
                db.execute("DELETE FROM ids")
            covered = 0
        if covered == size:
            self.torn_tail = False
            return
        with self.output.open("rb") as f:
            f.seek(covered)
            batch: list[tuple[str]] = []
            for raw in f:
                if not raw.endswith(b"\n"):  # a torn last line: not a delivery, and not covered
                    self.torn_tail = True
                    break
                covered += len(raw)
                mid = _message_id(raw)
                if mid is not None:
                    batch.append((mid,))
                if len(batch) >= _SCAN_CHUNK:
                    self._store(batch, covered)
                    batch = []
            self._store(batch, covered)

    def _store(self, batch: list[tuple[str]], covered: int) -> None:
        db = self._conn()
        with db:
            db.executemany("INSERT OR IGNORE INTO ids (id) VALUES (?)", batch)
            db.execute("INSERT OR REPLACE INTO covered (one, bytes) VALUES (1, ?)", (covered,))


def _message_id(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["message_id"])
    except (ValueError, KeyError, TypeError):
        return None
