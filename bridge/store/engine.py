"""Engines for the ledger: SQLite (embedded default, WAL) and PostgreSQL (many processes).

SQLite gets WAL, ``synchronous=NORMAL`` and a busy timeout so the poll thread and delivery workers of one
process can share it; PostgreSQL is used as is. ``upgrade`` applies the Alembic migrations and is called by
``esb-bridge db upgrade`` and at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

__all__ = ["is_sqlite", "make_engine", "migrations_current", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``postgresql://`` is mapped to the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        if url not in ("sqlite://", "sqlite:///:memory:"):
            db = url.split("///", 1)[-1]
            if db:
                Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy not start transactions implicitly so BEGIN IMMEDIATE below is ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the lock up front: no deadlock-prone read-then-upgrade between threads.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine`` (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def migrations_current(engine: Engine) -> bool:
    """Whether the ledger is at the newest migration (the API's ``/readyz``); False if unreachable."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads
