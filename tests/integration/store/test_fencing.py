"""Fenced claims and one lane per (interface, target, business key), on SQLite and the real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.ports import ConfigError, PathName, Role, SimulatedClock
from bridge.store import schema as t
from bridge.store.dlq import StaleReplay, replay_delivery
from bridge.store.ledger import Ledger
from bridge.store.queries import dead_letters, message_detail
from bridge.store.records import DeliveryStatus, LastWrite, NewMessage, NewRoute, XrefWrite
from tests.integration.store.conftest import attempt, message, outlive_lease

AUTH = NewRoute(PathName.CLOUD, Role.AUTHORITATIVE, "t1")
SHADOW = NewRoute(PathName.CLOUD, Role.SHADOW, "t1")
LEASE = timedelta(minutes=1)


def _msg(i: int, key: str, route: NewRoute = AUTH) -> NewMessage:
    return replace(message(i, key, mode="cloud_only"), routes=(route,))


def _record(ledger: Ledger, *messages: NewMessage, batch: str = "b1") -> None:
    b = ledger.open_batch("i", batch, "o")
    ledger.record_chunk("i", b, list(messages), [])
    ledger.release_batch("i", b)


def test_a_lost_claims_outcome_changes_nothing(ledger: Ledger, clock: SimulatedClock) -> None:
    """A worker whose lease ran out and whose claim was taken over records no attempt, state, dead letter or xref."""
    other = Ledger(ledger.engine, clock, node="other:2")
    m = _msg(1, "A")
    _record(ledger, m)
    [stale] = ledger.claim("t1", 10, timedelta(seconds=1))
    outlive_lease(ledger, clock, 1)
    assert other.reap_expired_claims() == 1
    [fresh] = other.claim("t1", 10, LEASE)
    now = clock.now()
    dead = attempt(
        stale,
        now,
        DeliveryStatus.DEAD,
        error={"message": "stale"},
        xref=XrefWrite("customer", "crm", "A", "cus_stale"),
        last_write=LastWrite("crm", "Customer", "A", "h" * 64),
    )
    recorded = ledger.finish([dead])
    detail = message_detail(ledger.engine, m.id)
    assert detail is not None
    [d] = detail["deliveries"]
    assert (d["status"], d["claimed_by"], d["attempts"], d["attempts_log"]) == ("in_progress", "other:2", 0, [])
    assert detail["state"] == "accepted"
    assert dead_letters(ledger.engine) == []
    assert ledger.lookup_xref("customer", "crm", "A") is None
    assert ledger.last_write_hashes("crm", "Customer", ["A"]) == {}
    assert recorded == []
    assert other.finish([attempt(fresh, now, DeliveryStatus.DELIVERED)]) != []
    detail = message_detail(ledger.engine, m.id)
    assert detail is not None and detail["state"] == "delivered"
    assert [a["status"] for a in detail["deliveries"][0]["attempts_log"]] == ["delivered"]


def test_claims_carry_a_token_and_renewal_keeps_only_held_claims(ledger: Ledger, clock: SimulatedClock) -> None:
    """Each claim has its own token and node; renewing extends a held lease and reports a lost one as lost."""
    _record(ledger, _msg(1, "A"), _msg(2, "B"))
    [a] = ledger.claim("t1", 1, timedelta(seconds=1))
    [b] = ledger.claim("t1", 1, timedelta(seconds=1))
    assert a.claim_token and b.claim_token and a.claim_token != b.claim_token
    assert a.claimed_by == ledger.node
    assert ledger.renew_claims([a], timedelta(minutes=5)) == {a.id}
    outlive_lease(ledger, clock, 1)
    assert ledger.reap_expired_claims() == 1  # b only: a was renewed
    assert ledger.renew_claims([a, b], LEASE) == {a.id}


def test_leases_run_on_the_database_clock_on_postgresql(ledger: Ledger, clock: SimulatedClock) -> None:
    """PostgreSQL times leases by now() in SQL, whatever a node's clock says; SQLite by the ledger's Clock."""
    _record(ledger, _msg(1, "A"))
    ledger.claim("t1", 10, LEASE)
    clock.advance(3600)
    reaped = ledger.reap_expired_claims()
    assert reaped == (1 if ledger.engine.dialect.name == "sqlite" else 0)


def test_one_lane_per_target_and_key_whatever_the_role(ledger: Ledger, clock: SimulatedClock) -> None:
    """An older shadow version and a newer authoritative one of a key to one target are never claimed together."""
    _record(ledger, _msg(1, "A", SHADOW), _msg(2, "A", AUTH), _msg(3, "B", AUTH))
    first = ledger.claim("t1", 10, LEASE)
    assert [(c.business_key, c.role) for c in first] == [("A", Role.SHADOW), ("B", Role.AUTHORITATIVE)]
    assert ledger.claim("t1", 10, LEASE) == []
    ledger.finish([attempt(c, clock.now(), DeliveryStatus.DELIVERED) for c in first])
    [second] = ledger.claim("t1", 10, LEASE)
    assert (second.business_key, second.role, second.message_id) == ("A", Role.AUTHORITATIVE, _msg(2, "A").id)


def test_another_target_is_another_lane(ledger: Ledger) -> None:
    """The same key to the shadow sandbox target (another system) does not wait for the real target."""
    _record(ledger, _msg(1, "A", AUTH), _msg(2, "A", NewRoute(PathName.CLOUD, Role.SHADOW, "t1:shadow")))
    assert len(ledger.claim("t1", 10, LEASE)) == 1
    assert len(ledger.claim("t1:shadow", 10, LEASE)) == 1


def _dead_then_newer_delivered(ledger: Ledger, clock: SimulatedClock) -> int:
    """Version 1 of key A dies; version 2 is delivered after it; returns v1's dead letter id."""
    _record(ledger, _msg(1, "A"), _msg(2, "A"))
    [v1] = ledger.claim("t1", 10, LEASE)
    ledger.finish([attempt(v1, clock.now(), DeliveryStatus.DEAD, error={"message": "422"})])
    [v2] = ledger.claim("t1", 10, LEASE)  # a dead delivery leaves the lane: the newer one goes on
    ledger.finish([attempt(v2, clock.now(), DeliveryStatus.DELIVERED)])
    [dl] = dead_letters(ledger.engine)
    return int(dl["id"])


def test_replay_of_a_stale_version_is_refused(ledger: Ledger, clock: SimulatedClock) -> None:
    """Replaying a dead delivery is refused once a newer version of its key was delivered to the target."""
    dl_id = _dead_then_newer_delivered(ledger, clock)
    with pytest.raises(ConfigError, match="newer version of 'A' was delivered to t1") as info:
        replay_delivery(ledger, dl_id, "tester")
    assert isinstance(info.value, StaleReplay) and "--force --reason" in str(info.value)
    with pytest.raises(ConfigError, match="needs a reason"):
        replay_delivery(ledger, dl_id, "tester", force=True, reason=" ")
    assert [d["id"] for d in dead_letters(ledger.engine)] == [dl_id]  # still open, delivery still dead
    assert ledger.claim("t1", 10, LEASE) == []


def test_forced_replay_of_a_stale_version_is_audited(ledger: Ledger, clock: SimulatedClock) -> None:
    """--force --reason replays the old version anyway; the audit event keeps the reason and the newer delivery."""
    dl_id = _dead_then_newer_delivered(ledger, clock)
    replay_delivery(ledger, dl_id, "tester", force=True, reason="v2 was sent to the wrong tenant")
    [again] = ledger.claim("t1", 10, LEASE)
    assert again.message_id == _msg(1, "A").id
    with ledger.engine.connect() as conn:
        [event] = conn.execute(select(t.audit_events)).all()
    assert (event.actor, event.action, event.reason) == ("tester", "dlq.replay", "v2 was sent to the wrong tenant")
    assert event.detail["forced"] is True and event.detail["newer_delivery_id"] > event.detail["delivery_id"]


def test_replay_is_refused_while_a_newer_version_is_in_flight(ledger: Ledger, clock: SimulatedClock) -> None:
    """A newer version being sent now also makes a replay stale: it would land after it."""
    _record(ledger, _msg(1, "A"), _msg(2, "A"))
    [v1] = ledger.claim("t1", 10, LEASE)
    ledger.finish([attempt(v1, clock.now(), DeliveryStatus.DEAD, error={"message": "422"})])
    assert len(ledger.claim("t1", 10, LEASE)) == 1  # v2 in flight
    [dl] = dead_letters(ledger.engine)
    with pytest.raises(StaleReplay, match="is being delivered"):
        replay_delivery(ledger, int(dl["id"]), "tester")


def test_a_forced_replay_never_runs_beside_a_newer_delivery_in_flight(ledger: Ledger, clock: SimulatedClock) -> None:
    """The replayed older delivery waits for the lane: not claimable while a newer one is in progress."""
    _record(ledger, _msg(1, "A"), _msg(2, "A"))
    [v1] = ledger.claim("t1", 10, LEASE)
    ledger.finish([attempt(v1, clock.now(), DeliveryStatus.DEAD, error={"message": "422"})])
    [v2] = ledger.claim("t1", 10, LEASE)
    [dl] = dead_letters(ledger.engine)
    replay_delivery(ledger, int(dl["id"]), "tester", force=True, reason="operator knows")
    assert ledger.claim("t1", 10, LEASE) == []
    ledger.finish([attempt(v2, clock.now(), DeliveryStatus.DELIVERED)])
    assert [c.id for c in ledger.claim("t1", 10, LEASE)] == [v1.id]
