"""Issue 17, holes "SQLite readers wait behind writers" and "the commit before an acknowledge may not be
durable": read-only connections never queue behind a writer, and the commit an acknowledge follows is fsync'd.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, insert

from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.engine import durable_begin, make_engine
from bridge.store.ledger import open_ledger
from tests.conftest import PG_BASE_URL, _pg_reachable, require_peer


def test_a_plain_select_answers_while_a_writer_holds_its_transaction(tmp_path: Path) -> None:
    """A ledger read (``batch_state``) answers at once while another connection holds an open write
    transaction for 2 s (it waited the writer out behind BEGIN IMMEDIATE before issue 17)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url, SimulatedClock()) as ledger:
        ledger.mark_batch("i", "b1", "acknowledged")
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with ledger.engine.begin() as conn:
                conn.execute(
                    insert(t.poll_state).values(interface="i", key="k", value="v", updated_at=ledger.clock.now())
                )
                holding.set()
                release.wait(5)

        th = threading.Thread(target=writer)
        th.start()
        try:
            assert holding.wait(5)
            started = time.monotonic()
            state = ledger.batch_state("i", "b1")
            waited = time.monotonic() - started
        finally:
            release.set()
            th.join(10)
    assert state == "acknowledged"
    assert waited < 0.5, f"a read waited {waited:.2f} s behind a writer"


def test_writers_still_take_the_write_lock_up_front(tmp_path: Path) -> None:
    """``engine.begin()`` on SQLite starts BEGIN IMMEDIATE, ``engine.connect()`` a deferred BEGIN."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE x (a INTEGER)")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM x").all()
    engine.dispose()
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_the_commit_before_an_acknowledge_is_durable_on_sqlite(tmp_path: Path) -> None:
    """``release_batch`` (the commit a source's acknowledge follows) commits with ``synchronous=FULL`` (the WAL
    fsync'd), as SQLite's own statement trace shows; other transactions keep ``NORMAL``."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    traced: list[str] = []
    with open_ledger(url, SimulatedClock()) as ledger:
        batch = ledger.open_batch("i", "b1", "origin")

        @event.listens_for(ledger.engine, "checkout")
        def _trace(dbapi_conn, *_):  # type: ignore[no-untyped-def]
            dbapi_conn.set_trace_callback(traced.append)

        ledger.engine.pool.dispose()  # new connections, traced from their first statement
        ledger.release_batch("i", batch)
        with ledger.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    full = traced.index("PRAGMA synchronous=FULL")
    commit = next(i for i, s in enumerate(traced) if i > full and s.upper().startswith("COMMIT"))
    assert "PRAGMA synchronous=NORMAL" in traced[commit:], "synchronous was not set back after the durable commit"
    assert any("UPDATE batches" in s for s in traced[full:commit]), "release_batch did not commit under FULL"
    assert mode == 1, "the durable setting leaked into other transactions"


@pytest.mark.postgres
def test_the_commit_before_an_acknowledge_is_durable_on_postgresql() -> None:
    """Even when the operator turned ``synchronous_commit`` off for the ledger's sessions, the durable
    transaction runs with it on."""
    require_peer("PostgreSQL at 127.0.0.1:5432", _pg_reachable())
    engine = make_engine(f"{PG_BASE_URL}?options=-csynchronous_commit%3Doff")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
        with durable_begin(engine) as conn:
            inside = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        with engine.connect() as conn:
            after = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    finally:
        engine.dispose()
    assert (inside, after) == ("on", "off")
