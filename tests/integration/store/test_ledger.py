"""Ledger behaviour on SQLite and the real PostgreSQL (``store_url`` runs each test on both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bridge.ports import PathName, Role, SimulatedClock
from bridge.store.engine import make_engine, upgrade
from bridge.store.ledger import Ledger
from bridge.store.records import DeliveryStatus, NewDeadLetter, NewMessage, NewRoute
from bridge.store.schema import metadata
from tests.integration.store.conftest import attempt, message, outlive_lease

ROUTE = NewRoute(PathName.CLOUD, Role.AUTHORITATIVE, "t1")


def _msg(i: int, key: str, routes: tuple[NewRoute, ...] = (ROUTE,)) -> NewMessage:
    return replace(message(i, key, mode="legacy_only"), routes=routes)


def test_migrations_match_the_tables(store_url: str) -> None:
    """The Alembic migrations create exactly the tables the code declares (no drift)."""
    engine = make_engine(store_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_rerecording_a_chunk_is_a_noop(ledger: Ledger) -> None:
    """Recording the same messages twice creates no second message or delivery."""
    batch = ledger.open_batch("i", "b1", "file:///x")
    assert ledger.record_chunk("i", batch, [_msg(1, "A"), _msg(2, "B")], []) == 2
    assert ledger.record_chunk("i", batch, [_msg(1, "A"), _msg(2, "B")], []) == 0
    assert ledger.release_batch("i", batch) == 2
    assert len(ledger.claim("t1", 10, timedelta(minutes=1))) == 2


def test_held_deliveries_are_not_claimable_until_release(ledger: Ledger) -> None:
    """Deliveries of a batch still decoding stay held; a cancelled batch never delivers."""
    batch = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", batch, [_msg(1, "A")], [])
    assert ledger.claim("t1", 10, timedelta(minutes=1)) == []
    ledger.cancel_batch(batch, "truncated")
    assert ledger.claim("t1", 10, timedelta(minutes=1)) == []
    assert ledger.batch_state("i", "b1") == "failed"


def test_claims_keep_per_key_order(ledger: Ledger, clock: SimulatedClock) -> None:
    """Only the oldest open delivery of a business key is claimable; other keys go in parallel."""
    batch = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", batch, [_msg(1, "A"), _msg(2, "A"), _msg(3, "B")], [])
    ledger.release_batch("i", batch)
    first = ledger.claim("t1", 10, timedelta(minutes=1))
    assert [c.business_key for c in first] == ["A", "B"]
    assert ledger.claim("t1", 10, timedelta(minutes=1)) == []
    now = clock.now()
    ledger.finish([attempt(c, now, DeliveryStatus.DELIVERED) for c in first])
    second = ledger.claim("t1", 10, timedelta(minutes=1))
    assert [(c.business_key, c.message_id[-1]) for c in second] == [("A", "2")]


def test_expired_claims_are_reaped(ledger: Ledger, clock: SimulatedClock) -> None:
    """A claim whose lease ran out (dead worker) becomes pending again (lease on the Clock or the DB's clock)."""
    batch = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", batch, [_msg(1, "A")], [])
    ledger.release_batch("i", batch)
    assert len(ledger.claim("t1", 10, timedelta(seconds=1))) == 1
    assert ledger.reap_expired_claims() == 0
    outlive_lease(ledger, clock, 1)
    assert ledger.reap_expired_claims() == 1
    assert len(ledger.claim("t1", 10, timedelta(seconds=30))) == 1


def test_dead_record_and_cursor_and_xref(ledger: Ledger) -> None:
    """Record dead letters, cursors and xrefs are stored and read back."""
    batch = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", batch, [], [NewDeadLetter("m1", {"message": "bad"}, {"line": 3}, "{oops")])
    ledger.record_chunk("i", batch, [], [NewDeadLetter("m1", {"message": "bad"}, {"line": 3}, "{oops")])
    ledger.set_cursor("i", "since", "2026-01-01")
    ledger.set_cursor("i", "since", "2026-01-02")
    assert ledger.get_cursor("i", "since") == "2026-01-02"
    ledger.put_xref("customer", "erp", "4711", "cus_9x")
    assert ledger.lookup_xref("customer", "erp", "4711") == "cus_9x"
    assert ledger.lookup_xref("customer", "erp", "1") is None


def test_leases_exclude_other_nodes_until_expiry(store_url: str, clock: SimulatedClock) -> None:
    """A lease held by one node refuses another until it expires; then the other takes it over."""
    engine = make_engine(store_url)
    upgrade(engine)
    a, b = Ledger(engine, clock, node="a:1"), Ledger(engine, clock, node="b:2")
    assert a.acquire_lease("poll:x", timedelta(seconds=60))
    assert not b.acquire_lease("poll:x", timedelta(seconds=60))
    assert a.acquire_lease("poll:x", timedelta(seconds=60))
    clock.advance(61)
    assert b.acquire_lease("poll:x", timedelta(seconds=60))
    assert not a.acquire_lease("poll:x", timedelta(seconds=60))
    engine.dispose()


def test_lease_of_a_dead_local_process_is_taken_over_at_once(store_url: str, clock: SimulatedClock) -> None:
    """A lease held by a killed process of this host does not block a restarted process until expiry."""
    import socket
    import subprocess

    engine = make_engine(store_url)
    upgrade(engine)
    proc = subprocess.Popen(["true"])
    proc.wait()
    host = socket.gethostname()
    dead = Ledger(engine, clock, node=f"{host}:{proc.pid}")
    assert dead.acquire_lease("poll:x", timedelta(minutes=5))
    assert Ledger(engine, clock, node="elsewhere:1").acquire_lease("poll:x", timedelta(minutes=5)) is None
    assert Ledger(engine, clock).acquire_lease("poll:x", timedelta(minutes=5))
    engine.dispose()


def test_next_due_ignores_deliveries_blocked_behind_their_key(ledger: Ledger, clock: SimulatedClock) -> None:
    """A due delivery queued behind a backing-off one of the same key is not 'due': the head's time is."""
    batch = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", batch, [_msg(1, "A"), _msg(2, "A")], [])
    ledger.release_batch("i", batch)
    [head] = ledger.claim("t1", 10, timedelta(minutes=1))
    now = clock.now()
    later = now + timedelta(seconds=30)
    ledger.finish([attempt(head, now, DeliveryStatus.PENDING, next_attempt_at=later)])
    assert ledger.next_due(["t1"]) == later
