"""Observations and pairing rounds through the ledger API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bridge.ports import SimulatedClock
from bridge.store.ledger import Ledger
from bridge.store.observations import NewObservation, observation_message_id
from bridge.store.records import DeliveryStatus, MessageKind
from tests.integration.store.conftest import Deliver, message

SETTLE = timedelta(minutes=10)
MODES = ("dual_write",)


def _obs(identity: str, key: str, version: str | None = None, body: bytes = b"<x/>") -> NewObservation:
    return NewObservation("i", "legacy", identity, key, version, body, "application/xml", f"file:///{identity}")


def test_record_observation_is_idempotent_per_identity(ledger: Ledger) -> None:
    """The same identity recorded twice is stored once; another side is another observation."""
    assert ledger.record_observation(_obs("o1", "A")) is True
    assert ledger.record_observation(_obs("o1", "A", body=b"other")) is False
    other_side = NewObservation("i", "cloud", "o1", "A", None, b"", None, "")
    assert ledger.record_observation(other_side) is True


def test_pairing_joins_an_observation_with_its_message(ledger: Ledger, deliver: Deliver) -> None:
    """An observation meets the message of its key; the paired body is then readable for that message."""
    [mid] = deliver([message(1, "A")], {"cloud": DeliveryStatus.DELIVERED})
    ledger.record_observation(_obs("o1", "A", body=b"<legacy/>"))
    assert ledger.observed_body("i", "legacy", mid) is None
    stats = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES)
    assert (stats.paired, stats.late, stats.orphan_messages, stats.orphan_observations) == (1, 0, 0, 0)
    body = ledger.observed_body("i", "legacy", mid)
    assert body is not None and (body.body, body.media_type) == (b"<legacy/>", "application/xml")
    [row] = ledger.comparisons("i", levels=("pairing",))
    assert (row.message_id, row.status, row.diff) == (mid, "paired", {"observation": "o1"})


def test_pairing_by_version_picks_that_version(ledger: Ledger, deliver: Deliver) -> None:
    """With a version the observation pairs with the message of that version, not the newest of the key."""
    ids = deliver([message(1, "A", version="1"), message(2, "A", version="2")], {"cloud": DeliveryStatus.DELIVERED})
    ledger.record_observation(_obs("o1", "A", version="1"))
    ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES)
    assert ledger.observed_body("i", "legacy", ids[0]) is not None
    assert ledger.observed_body("i", "legacy", ids[1]) is None


def test_unpaired_sides_become_orphans_and_a_late_pair_is_recorded(
    ledger: Ledger, deliver: Deliver, clock: SimulatedClock
) -> None:
    """Past the settle window both lonely sides are orphans; an observation that arrives later is late."""
    ids = deliver(
        [message(1, "A"), message(2, "forward:i", kind=MessageKind.FORWARD, paths=("legacy",))],
        {"legacy": DeliveryStatus.DELIVERED, "cloud": DeliveryStatus.DELIVERED},
    )
    ledger.record_observation(_obs("o-lonely", "Z"))
    quiet = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES)
    assert (quiet.orphan_messages, quiet.orphan_observations) == (0, 0), "inside the window nothing is an orphan"
    clock.advance(SETTLE)
    stats = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES)
    assert (stats.orphan_messages, stats.orphan_observations) == (1, 1), "the forwarded batch is no record"
    by_id = {r.message_id: r for r in ledger.comparisons("i", levels=("pairing",))}
    assert by_id[ids[0]].status == "orphan" and by_id[ids[0]].diff == {"missing": "legacy"}
    lonely = by_id[observation_message_id("i", "o-lonely")]
    assert (lonely.status, lonely.business_key) == ("orphan", "Z")
    ledger.record_observation(_obs("o-late", "A"))
    late = ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES)
    assert (late.paired, late.late) == (0, 1)
    assert ledger.comparison_counts("i", levels=("pairing",)) == {"late": 1, "orphan": 1}
    assert ledger.pair_observations("i", "legacy", settle=SETTLE, modes=MODES).late == 0, "paired once"
