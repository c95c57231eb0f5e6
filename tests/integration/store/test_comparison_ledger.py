"""Comparison verdicts and what the comparator, gates and reports read, through the ledger API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bridge.ports import PathName, Role, SimulatedClock
from bridge.store.comparisons import NewComparison
from bridge.store.ledger import Ledger
from bridge.store.records import (
    ComparisonLevel,
    ComparisonStatus,
    DeliveryStatus,
    MessageKind,
    NewRoute,
)
from tests.integration.store.conftest import Deliver, attempt, message

D, X = DeliveryStatus.DELIVERED, DeliveryStatus.DEAD


def _verdict(mid: str, level: str, status: str, *, critical: bool = False, key: str = "K") -> NewComparison:
    lv = ComparisonLevel(level)
    return NewComparison(mid, "i", lv, ComparisonStatus(status), {"entries": [], "level": level}, key, critical)


def test_record_comparisons_keeps_the_first_verdict(ledger: Ledger, clock: SimulatedClock) -> None:
    """A (message, level) recorded twice keeps its first verdict; rows come back typed, oldest first."""
    assert ledger.record_comparisons([_verdict("m1", "outcome", "match"), _verdict("m1", "payload", "mismatch")]) == 2
    clock.advance(timedelta(seconds=5))
    assert ledger.record_comparisons([_verdict("m1", "payload", "match"), _verdict("m2", "outcome", "match")]) == 1
    rows = ledger.comparisons("i")
    assert all(isinstance(r.level, ComparisonLevel) and isinstance(r.status, ComparisonStatus) for r in rows)
    assert [(r.message_id, r.level, r.status) for r in rows] == [
        ("m1", "outcome", "match"),
        ("m1", "payload", "mismatch"),
        ("m2", "outcome", "match"),
    ]
    assert rows[0].diff == {"entries": [], "level": "outcome"}
    assert rows[0].business_key == "K" and rows[0].critical is False
    assert rows[2].created_at == clock.now()
    assert ledger.record_comparisons([]) == 0


def test_comparisons_and_counts_filter(ledger: Ledger, clock: SimulatedClock) -> None:
    """Levels, statuses, criticality and ``since`` narrow both the rows and the per-status counts."""
    ledger.record_comparisons(
        [_verdict("m1", "payload", "mismatch", critical=True), _verdict("m1", "outcome", "match")]
    )
    clock.advance(timedelta(hours=1))
    since = clock.now()
    ledger.record_comparisons([_verdict("m2", "payload", "mismatch"), _verdict("m3", "pairing", "orphan")])
    assert [r.message_id for r in ledger.comparisons("i", statuses=("mismatch",), critical=True)] == ["m1"]
    assert [r.message_id for r in ledger.comparisons("i", since=since, levels=("payload",))] == ["m2"]
    assert ledger.comparison_counts("i") == {"match": 1, "mismatch": 2, "orphan": 1}
    assert ledger.comparison_counts("i", levels=("pairing",)) == {"orphan": 1}
    assert ledger.comparison_counts("i", statuses=("mismatch",), critical=False) == {"mismatch": 1}
    assert ledger.comparison_counts("i", since=since, levels=("outcome",)) == {}
    assert ledger.comparisons("other") == []


def test_messages_to_compare_leaves_out_what_is_not_comparable(ledger: Ledger, deliver: Deliver) -> None:
    """Compared records without an outcome verdict or orphan row; forwards, other modes and held ones left out."""
    ids = deliver(
        [
            message(1, "A"),
            message(2, "B"),
            message(3, "C", mode="legacy_only", paths=("legacy",)),
            message(4, "D"),
            message(5, "forward:i", kind=MessageKind.FORWARD, paths=("legacy",)),
            message(6, "E"),
        ],
        {"legacy": D, "cloud": D},
    )
    b = ledger.open_batch("i", "b2", "file:///held")
    ledger.record_chunk("i", b, [message(7, "F")], [])  # held: its batch is still decoding
    ledger.record_comparisons([_verdict(ids[1], "outcome", "match"), _verdict(ids[3], "pairing", "orphan")])
    ready = ledger.messages_to_compare("i", ("dual_write",), 10)
    assert [(r.id, r.business_key) for r in ready] == [(ids[0], "A"), (ids[5], "E")]
    assert ready[0].created_at == ledger.clock.now()
    assert [r.id for r in ledger.messages_to_compare("i", ("dual_write",), 1)] == [ids[0]]
    assert ledger.messages_to_compare("i", ("cloud_primary",), 10) == []


def test_delivery_sides_tell_what_each_path_did(ledger: Ledger, deliver: Deliver) -> None:
    """Per message and path: final state, sent bytes, response, media type, dry run, target id."""
    [mid] = deliver([message(1, "A")], {"legacy": D, "cloud": X}, sent=b'{"a":1}')
    sides = ledger.delivery_sides([mid, "unknown"])
    assert set(sides) == {mid}
    leg, cld = sides[mid]["legacy"], sides[mid]["cloud"]
    assert (leg.status, leg.sent, leg.response, leg.media_type, leg.dry_run) == (
        D,
        b'{"a":1}',
        b"resp",
        "application/json",
        False,
    )
    assert leg.target_id == "legacy-A"
    assert cld.status is X


def test_finished_deliveries_and_routed_modes(ledger: Ledger, deliver: Deliver, clock: SimulatedClock) -> None:
    """Finished deliveries per (path, status), optionally only live ones, one path or since; modes per record."""
    deliver([message(1, "A"), message(2, "B")], {"legacy": D, "cloud": X})
    clock.advance(timedelta(hours=1))
    since = clock.now()
    deliver(
        [message(3, "C", mode="legacy_primary"), message(4, "forward:i", kind=MessageKind.FORWARD, paths=("legacy",))],
        {"legacy": D, "cloud": D},
        batch="b2",
    )
    assert ledger.finished_deliveries("i") == {("legacy", D): 4, ("cloud", X): 2, ("cloud", D): 1}
    assert ledger.finished_deliveries("i", path="cloud", since=since) == {("cloud", D): 1}
    assert ledger.finished_deliveries("i", live_only=True)[("legacy", D)] == 4
    assert ledger.routed_modes("i") == {"dual_write": 2, "legacy_primary": 1}
    assert ledger.routed_modes("i", since=since) == {"legacy_primary": 1}


def test_finished_deliveries_live_only_leaves_dry_runs_out(ledger: Ledger) -> None:
    """A dry-run shadow counts among finished deliveries, but not among live ones."""
    dry = replace(message(1, "A"), routes=(NewRoute(PathName.CLOUD, Role.SHADOW, "cloud-t", dry_run=True),))
    b = ledger.open_batch("i", "b1", "o")
    ledger.record_chunk("i", b, [dry], [])
    ledger.release_batch("i", b)
    now = ledger.clock.now()
    [c] = ledger.claim("cloud-t", 10, timedelta(minutes=1))
    ledger.finish([attempt(c, now, D)])
    assert ledger.finished_deliveries("i") == {("cloud", D): 1}
    assert ledger.finished_deliveries("i", live_only=True) == {}
