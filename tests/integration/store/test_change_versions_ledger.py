"""Change versions in the ledger, on SQLite and PostgreSQL: the newest message per key, the upgrade rule for
messages recorded under their content hash, and pairing by version where both sides carry one."""

from __future__ import annotations

from datetime import timedelta

from bridge.ports import SimulatedClock, hash_identity
from bridge.runtime.upgrade_identity import adopt_hash_identities
from bridge.store.ledger import Ledger
from bridge.store.observations import NewObservation
from bridge.store.records import NewMessage
from tests.integration.store.conftest import message

A, B = "a" * 64, "b" * 64
SETTLE = timedelta(minutes=10)


def change(n: int, key: str, digest: str, version: str | None) -> NewMessage:
    """Message ``n`` of ``key`` as the runtime builds it from a change feed (hash identity when no version)."""
    identity = f"change:{key}:{version}" if version else hash_identity(key, digest)
    return message(n, key, identity=identity, content_hash=digest, version=version)


def record(ledger: Ledger, messages: list[NewMessage], batch: str) -> int:
    b = ledger.open_batch("i", batch, "soap://erp")
    new = ledger.record_chunk("i", b, messages, [])
    ledger.release_batch("i", b)
    return new


def test_latest_messages_gives_the_newest_message_of_each_key(ledger: Ledger, clock: SimulatedClock) -> None:
    """Newest by recording order; keys without a message are absent."""
    record(ledger, [change(1, "K", A, None), change(2, "L", A, "1")], "b1")
    clock.advance(1)
    record(ledger, [change(3, "K", B, "2")], "b2")
    latest = ledger.latest_messages("i", ["K", "L", "M"])
    assert set(latest) == {"K", "L"}
    assert (latest["K"].id, latest["K"].identity, latest["K"].version) == (change(3, "K", B, "2").id, "change:K:2", "2")
    assert latest["L"].content_hash == A


def test_a_change_recorded_under_its_hash_is_not_recorded_again_with_its_version(ledger: Ledger) -> None:
    """The upgrade rule: same key, same content, newest message under the hash identity -> the old message."""
    old = change(1, "K", A, None)
    record(ledger, [old], "before")
    reread = [change(10, "K", A, "1")]
    adopted = adopt_hash_identities(ledger, "i", reread)
    assert (adopted[0].id, adopted[0].identity) == (old.id, old.identity)
    assert record(ledger, adopted, "after") == 0


def test_new_content_or_a_versioned_newest_message_keeps_the_version_identity(ledger: Ledger) -> None:
    """B after an old-hash A is new; A after a versioned B is new (the revert), also inside one chunk."""
    record(ledger, [change(1, "K", A, None), change(2, "L", A, None)], "before")
    chunk = [change(10, "K", B, "2"), change(11, "K", A, "3"), change(12, "L", A, "1")]
    adopted = adopt_hash_identities(ledger, "i", chunk)
    assert [m.identity for m in adopted] == ["change:K:2", "change:K:3", hash_identity("L", A)]
    assert record(ledger, adopted, "after") == 2


def test_an_observation_with_a_version_pairs_with_a_message_recorded_without_one(ledger: Ledger) -> None:
    """Messages recorded before versions were read carry none: the observation pairs with the key's newest."""
    record(ledger, [change(1, "K", A, None)], "b1")
    ledger.record_observation(NewObservation("i", "legacy", "o1", "K", "4", b"<x/>", None, "file:///o1"))
    stats = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=("dual_write",))
    assert stats.paired == 1
    assert ledger.observed_body("i", "legacy", change(1, "K", A, None).id) is not None


def test_an_observation_pairs_with_the_message_of_its_version_after_a_revert(ledger: Ledger) -> None:
    """A -> B -> A: the observation of version 3 pairs with the third message, not the first with equal content;
    an observation of a version not recorded yet waits."""
    states = [change(1, "K", A, "1"), change(2, "K", B, "2"), change(3, "K", A, "3")]
    record(ledger, states, "b1")
    for identity, version in (("o3", "3"), ("o9", "9")):
        obs = NewObservation("i", "legacy", identity, "K", version, b"<x/>", None, f"file:///{identity}")
        ledger.record_observation(obs)
    stats = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=("dual_write",))
    assert (stats.paired, stats.orphan_observations) == (1, 0)
    assert ledger.observed_body("i", "legacy", states[2].id) is not None
    assert ledger.observed_body("i", "legacy", states[0].id) is None
