"""The compact ledger: payloads stored once and compressed, ``ledger stats`` and ``ledger prune``, on both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from bridge.ports import SimulatedClock
from bridge.store import queries
from bridge.store import schema as t
from bridge.store.comparisons import NewComparison
from bridge.store.dlq import replay_delivery
from bridge.store.ledger import Ledger
from bridge.store.packing import PayloadPruned
from bridge.store.records import ComparisonLevel, ComparisonStatus, DeliveryStatus
from tests.integration.store.conftest import Deliver, message

#: A payload the size of a canonical invoice (about 2 KB of JSON).
BIG = json.dumps({"lines": [{"id": i, "text": f"Article {i}, blue, in the standard carton"} for i in range(40)]})


def _stats(ledger: Ledger) -> dict[str, dict[str, int]]:
    return {s.table: s.interfaces.get("i", {}) for s in ledger.ledger_stats()}


def test_a_large_payload_is_stored_compressed_and_claimed_as_it_was(ledger: Ledger) -> None:
    """Large payloads shrink in the ledger; a claim hands back exactly the text that was recorded."""
    b = ledger.open_batch("i", "b1", "file:///in")
    ledger.record_chunk("i", b, [message(1, "k1", paths=("legacy",), payload=BIG)], [])
    ledger.release_batch("i", b)
    [claimed] = ledger.claim("legacy-t", 10, timedelta(minutes=1))
    assert claimed.payload == BIG
    assert _stats(ledger)["messages"]["payload_bytes"] < len(BIG) / 3


def test_sent_bytes_equal_to_the_payload_are_stored_once_and_still_seen(ledger: Ledger, deliver: Deliver) -> None:
    """Sent bytes equal to the payload are a marker in the ledger; comparator and ``messages show`` see the bytes."""
    [mid] = deliver(
        [message(1, "k1", payload=BIG)],
        {"legacy": DeliveryStatus.DELIVERED, "cloud": DeliveryStatus.DELIVERED},
        sent=BIG.encode(),
    )
    sides = ledger.delivery_sides([mid])[mid]
    assert sides["legacy"].sent == sides["cloud"].sent == BIG.encode()
    shown = queries.message_detail(ledger.engine, mid)
    assert shown is not None and shown["payload"] == BIG
    assert [d["sent"] for d in shown["deliveries"]] == [BIG[:4000]] * 2
    # only the two 4-byte responses of the fixture are stored in deliveries, not the 2 KB sent twice
    assert _stats(ledger)["deliveries"]["payload_bytes"] == 8


def test_other_sent_bytes_are_compressed_and_read_back_exactly(ledger: Ledger, deliver: Deliver) -> None:
    """Sent bytes that differ from the payload (another encoder) are kept, compressed, byte for byte."""
    other = BIG.replace("blue", "red").encode()
    [mid] = deliver([message(1, "k1", payload=BIG)], {"legacy": DeliveryStatus.DELIVERED}, sent=other)
    assert ledger.delivery_sides([mid])[mid]["legacy"].sent == other
    shown = queries.message_detail(ledger.engine, mid)
    assert shown is not None and shown["deliveries"][0]["sent"] == other.decode()[:4000]
    # stored as a delta against the payload: a few hundred bytes of the 2.5 KB (plus the 4-byte response)
    assert 8 < _stats(ledger)["deliveries"]["payload_bytes"] < len(other) / 5


def _compare(ledger: Ledger, mid: str) -> None:
    ledger.record_comparisons([NewComparison(mid, "i", ComparisonLevel.PAYLOAD, ComparisonStatus.MATCH, {}, "k")])


def test_prune_drops_payloads_of_settled_messages_only_and_keeps_their_trace(
    ledger: Ledger, deliver: Deliver, clock: SimulatedClock
) -> None:
    """Prune drops payload bytes of delivered-and-compared (or single-path) messages; states, hashes, attempts stay."""
    both = {"legacy": DeliveryStatus.DELIVERED, "cloud": DeliveryStatus.DELIVERED}
    compared, uncompared = deliver(
        [message(1, "a", payload=BIG), message(2, "b", payload=BIG)], both, sent=BIG.encode()
    )
    _compare(ledger, compared)
    [single] = deliver(
        [message(3, "c", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED}, batch="b2"
    )
    [shadow_dead] = deliver(
        [message(4, "d", payload=BIG)], {"legacy": DeliveryStatus.DELIVERED, "cloud": DeliveryStatus.DEAD}, batch="b3"
    )
    _compare(ledger, shadow_dead)
    clock.advance(timedelta(days=10))
    [young] = deliver(
        [message(5, "e", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED}, batch="b4"
    )

    before = clock.now() - timedelta(days=7)
    dry = ledger.prune_payloads(before, dry_run=True)
    assert dry.messages == 2 and dry.payload_bytes > 0 and not ledger.is_pruned(compared)

    done = ledger.prune_payloads(before, actor="ops")
    assert (done.messages, done.payload_bytes) == (dry.messages, dry.payload_bytes)
    assert {m for m in (compared, uncompared, single, shadow_dead, young) if ledger.is_pruned(m)} == {compared, single}

    shown = queries.message_detail(ledger.engine, compared)
    assert shown is not None
    assert shown["pruned"] is True and shown["payload"] is None and shown["content_hash"] == "h" * 64
    assert shown["state"] == "delivered"
    assert [(d["status"], d["sent"], len(d["attempts_log"])) for d in shown["deliveries"]] == [
        ("delivered", None, 1)
    ] * 2
    assert ledger.delivery_sides([uncompared])[uncompared]["legacy"].sent == BIG.encode()
    assert ledger.prune_payloads(before).messages == 0, "a second prune finds nothing left"


def test_replaying_a_pruned_message_is_refused_with_the_reason(
    ledger: Ledger, deliver: Deliver, clock: SimulatedClock
) -> None:
    """A dead letter on a pruned message (reopened by hand) cannot be replayed: its payload is gone."""
    [mid] = deliver([message(1, "a", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED})
    clock.advance(timedelta(days=2))
    assert ledger.prune_payloads(clock.now() - timedelta(days=1)).messages == 1
    [delivery_id] = [d["id"] for d in (queries.message_detail(ledger.engine, mid) or {})["deliveries"]]
    with ledger.engine.begin() as conn:  # the state prune never leaves behind, made by hand
        conn.execute(
            t.dead_letters.insert().values(
                interface="i",
                kind="delivery",
                message_id=mid,
                delivery_id=delivery_id,
                error={},
                status="open",
                created_at=clock.now(),
                fragment="",
            )
        )
        conn.execute(update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(status="dead"))
    [dl] = queries.dead_letters(ledger.engine, "i")
    with pytest.raises(PayloadPruned, match=f"message {mid} was pruned"):
        replay_delivery(ledger, dl["id"], "ops")
    assert ledger.claim("legacy-t", 10, timedelta(minutes=1)) == [], "the delivery was not queued again"


def test_stats_count_rows_and_bytes_per_table_and_interface(ledger: Ledger, deliver: Deliver) -> None:
    """``stats`` gives rows per table, bytes on disk per table and rows and payload bytes per interface."""
    deliver([message(i, f"k{i}", payload=BIG) for i in range(3)], {"legacy": DeliveryStatus.DELIVERED})
    by_table = {s.table: s for s in ledger.ledger_stats()}
    assert by_table["messages"].rows == 3 and by_table["deliveries"].rows == 6 and by_table["attempts"].rows == 3
    assert by_table["messages"].interfaces["i"]["rows"] == 3
    assert by_table["messages"].bytes is None or by_table["messages"].bytes > 0
    if ledger.engine.dialect.name == "postgresql":
        assert by_table["messages"].bytes is not None


def test_downgrading_0006_writes_payloads_and_sent_bytes_back_in_full(
    store_url: str, ledger: Ledger, deliver: Deliver
) -> None:
    """Code from before 0006 reads a downgraded ledger: compressed and marker rows are plain again."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from bridge.store.engine import MIGRATIONS

    [mid] = deliver(
        [message(1, "a", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED}, sent=BIG.encode()
    )
    other = BIG.replace("blue", "red").encode()
    [delta] = deliver(
        [message(2, "b", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED}, sent=other, batch="b2"
    )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with ledger.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")  # the revision 0006 follows
    with ledger.engine.connect() as conn:
        payload = conn.execute(select(t.messages.c.payload).where(t.messages.c.id == mid)).scalar_one()
        sent = conn.execute(select(t.deliveries.c.sent).where(t.deliveries.c.message_id == mid)).scalar_one()
        sent_delta = conn.execute(select(t.deliveries.c.sent).where(t.deliveries.c.message_id == delta)).scalar_one()
    assert payload == BIG and sent == BIG.encode() and sent_delta == other
