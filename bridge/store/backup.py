"""``esb-bridge ledger backup FILE``: a consistent copy of a live SQLite ledger, through SQLite's online backup.

The backup reads one snapshot (under WAL a reader never blocks the bridge's writers, and they never block
it), writes it to a temporary file next to FILE, fsyncs it and renames it into place, so FILE is either the
whole backup or absent. A PostgreSQL ledger is backed up with PostgreSQL's own tools:
:func:`pg_dump_command` says how (docs/operations.md "Backup and restore of the ledger").
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bridge.ports import ConfigError
from bridge.store.engine import is_sqlite

__all__ = ["BackupResult", "backup_sqlite", "pg_dump_command"]


class BackupResult:
    """What a backup wrote: the file and its size in bytes."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size


def backup_sqlite(engine: Engine, dest: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the live SQLite ledger of ``engine`` to ``dest`` (atomically; refuses an existing file unless told)."""
    if not is_sqlite(engine):
        raise ConfigError(f"ledger backup copies SQLite ledgers; for PostgreSQL use: {pg_dump_command(engine, dest)}")
    if dest.exists() and not overwrite:
        raise ConfigError(f"{dest} exists (use --force to replace it)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    with engine.connect() as conn:
        source = conn.connection.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)  # one step: one consistent snapshot of the source
            target.execute("PRAGMA journal_mode=DELETE")  # the backup is one self-contained file
        finally:
            target.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)
    folder = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return BackupResult(dest, dest.stat().st_size)


def pg_dump_command(engine: Engine, dest: Path) -> str:
    """The ``pg_dump`` command that backs up a PostgreSQL ledger to ``dest`` (the password left out)."""
    url = make_url(str(engine.url)).set(drivername="postgresql", password=None)
    return f"pg_dump --format=custom --file {dest} '{url.render_as_string(hide_password=False)}'"
