"""Engines for the ledger: SQLite (embedded default, WAL) and PostgreSQL (many processes).

SQLite gets WAL, ``synchronous=NORMAL`` and a busy timeout so the poll thread and delivery workers of one
process can share it. Write transactions (``engine.begin()``) start with ``BEGIN IMMEDIATE``: they take the
write lock up front, so two writers never deadlock on a read-then-upgrade. Read-only connections
(``engine.connect()``) start a plain deferred ``BEGIN``: under WAL a reader never waits for a writer (it used
to queue behind every open write transaction, 3 s and more under load).

Durability: ``synchronous=NORMAL`` does not fsync a commit (a power loss may undo the last ones), which is
fine for the delivery bookkeeping but not for the commit a source's acknowledge relies on (the file moved,
the cursor advanced, the webhook answered). That commit goes through :func:`durable_begin`: on SQLite with
``synchronous=FULL`` for that transaction (the WAL is fsync'd at its commit, which also makes every earlier
commit durable: the WAL is appended in order), on PostgreSQL with ``SET LOCAL synchronous_commit TO on``
(whatever the server's setting; PostgreSQL flushes the WAL up to that commit, earlier ones included). One
fsync per batch instead of one per transaction. ``upgrade`` applies the Alembic migrations and is called by
``esb-bridge db upgrade`` and at start-up.

A full ledger (disk full, PostgreSQL's ``disk_full``, or SQLite's page cap ``?max_pages=N`` in the URL) raises
:class:`LedgerFull`, a retryable error: the transaction that hit it is rolled back whole, so a poll stops
before it acknowledges anything and the next poll, once there is room, reads the same input again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import NullPool

from bridge.ports import RetryableError

__all__ = ["LedgerFull", "durable_begin", "is_sqlite", "make_engine", "migrations_current", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
#: Execution option marking a SQLite connection opened by ``engine.begin()`` (a writer).
_WRITER = "esb_bridge_writer"


class LedgerFull(RetryableError):
    """The ledger has no room for a write (disk or page cap full): nothing of that transaction was recorded."""

    code = "ledger_full"


#: PostgreSQL's SQLSTATE for "disk full"; SQLite's result code SQLITE_FULL
_PG_DISK_FULL, _SQLITE_FULL = "53100", 13


def _ledger_full(ctx: ExceptionContext) -> None:
    """Translate "no room" from either backend into :class:`LedgerFull` (the cause is kept)."""
    orig = ctx.original_exception
    if getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL or getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
        raise LedgerFull(
            "the ledger is full (no room on its disk or at its size cap): intake stops until there is room; "
            f"nothing of the failed write was recorded ({orig})"
        ) from orig


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_CACHE_KIB = 16384


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``postgresql://`` is mapped to the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        url, max_pages = _page_cap(url)
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
            # 16 MB of page cache per connection (SQLite's default is 2 MB): message ids are random UUIDs, so
            # their index pages are touched at random; past ~100k messages a 2 MB cache re-read most of them
            # from the OS for every insert and the CPU per record grew with the ledger.
            cur.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            if max_pages:
                cur.execute(f"PRAGMA max_page_count={max_pages}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the lock up front: no deadlock-prone read-then-upgrade between threads. Readers
            # (autobegun by engine.connect()) read a WAL snapshot and wait for nobody.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITER) else "BEGIN")

        setattr(engine, "begin", partial(_write_transaction, engine))  # noqa: B010 (an instance override)
        event.listen(engine, "handle_error", _ledger_full)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _ledger_full)
    return engine


def _page_cap(url: str) -> tuple[str, int | None]:
    """``sqlite:///x.db?max_pages=N`` -> the URL without it, and N: a cap on the ledger's size in pages
    (SQLite's ``max_page_count``; 4 KiB pages), so a ledger cannot fill the disk others need."""
    base, _, query = url.partition("?")
    keep, cap = [], None
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        if name == "max_pages":
            cap = int(value)
        else:
            keep.append(part)
    return (base + ("?" + "&".join(keep) if keep else "")), cap


@contextmanager
def _write_transaction(engine: Engine) -> Iterator[Connection]:
    """SQLite's ``engine.begin()``: as SQLAlchemy's, with the connection marked as a writer (BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITER: True})
        with conn.begin():
            yield conn


@contextmanager
def durable_begin(engine: Engine) -> Iterator[Connection]:
    """A write transaction whose commit is on disk when the block ends (see the module docstring).

    For the commit that precedes a source's acknowledge; everything else uses ``engine.begin()``.
    """
    if not is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA synchronous=FULL")  # outside a transaction: SQLite applies it to the next commit
        try:
            conn.execution_options(**{_WRITER: True})
            with conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA synchronous=NORMAL")


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
