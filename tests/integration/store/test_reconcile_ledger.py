"""The ledger side of reconciliation and shutdown on both backends: what a target was delivered (newest per key,
dry runs and failures left out), reconciliation rows written and read back as the newest run, own leases freed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Self

from bridge.config.reconcile import ReconcileConfig
from bridge.ports import ListedRecord, SimulatedClock
from bridge.store.ledger import Ledger
from bridge.store.records import DeliveryStatus
from cutover.reconcile import PathToReconcile, Reconciler
from tests.integration.store.conftest import Deliver, message


def _payload(day: str, amount: str) -> str:
    return json.dumps({"issue_date": day, "totals": {"payable": amount}})


class _Listing:
    """A target listing (our port) over fixed records."""

    def __init__(self, records: list[ListedRecord]) -> None:
        self.records = records

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def list_records(self) -> Iterator[ListedRecord]:
        yield from self.records


def test_newest_delivered_record_per_key_is_reconciled_and_stored(ledger: Ledger, deliver: Deliver) -> None:
    """k1's second version replaces its first; k3 (dead) is not delivered; rows per date, newest run read back."""
    deliver(
        [
            message(1, "k1", paths=("legacy",), payload=_payload("2026-01-05", "10.00")),
            message(2, "k2", paths=("legacy",), payload=_payload("2026-01-06", "5")),
        ],
        {"legacy": DeliveryStatus.DELIVERED},
    )
    deliver(
        [message(3, "k1", paths=("legacy",), payload=_payload("2026-01-05", "12.50"))],
        {"legacy": DeliveryStatus.DELIVERED},
        batch="b2",
    )
    deliver(
        [message(4, "k3", paths=("legacy",), payload=_payload("2026-01-05", "99"))],
        {"legacy": DeliveryStatus.DEAD},
        batch="b3",
    )
    assert [(r.business_key, r.message_id[-1]) for r in ledger.delivered_records("i", "legacy-t")] == [
        ("k1", "1"),
        ("k2", "2"),
        ("k1", "3"),
    ]
    rules = ReconcileConfig(date="issue_date", amount="totals.payable")
    listing = _Listing([ListedRecord("k1", date(2026, 1, 5), Decimal("12.5")), ListedRecord("k9", date(2026, 1, 6))])
    reconciler = Reconciler(ledger)
    reconciler.reconcile("i", rules, [PathToReconcile("legacy", "legacy-t", None)])
    report = reconciler.reconcile("i", rules, [PathToReconcile("legacy", "legacy-t", listing)])
    rows = {r.business_date: r for r in ledger.latest_reconciliations("i")}
    assert {r.run_id for r in rows.values()} == {report.run_id}
    first, second = rows["2026-01-05"], rows["2026-01-06"]
    assert (first.status, first.ledger_count, first.ledger_amount, first.target_amount) == (
        "matched",
        1,
        Decimal("12.50"),
        Decimal("12.5"),
    )
    assert (second.status, second.ledger_count, second.target_count, second.differences) == ("differs", 1, 1, 2)
    assert [(k["key"], k["issue"]) for k in second.detail["keys"]] == [
        ("k2", "missing_at_target"),
        ("k9", "extra_at_target"),
    ]


def test_own_leases_are_released_and_another_node_polls_at_once(ledger: Ledger) -> None:
    """After release_own_leases another node takes a poll lease without waiting for its expiry."""
    assert ledger.acquire_lease("poll:i", timedelta(minutes=5))
    other = Ledger(ledger.engine, ledger.clock, node="other-host:1")
    assert not other.acquire_lease("poll:i", timedelta(minutes=5))
    assert ledger.release_own_leases() == 1
    assert other.acquire_lease("poll:i", timedelta(minutes=5))


def test_a_pruned_payload_is_checked_for_presence_only(ledger: Ledger, deliver: Deliver, clock: SimulatedClock) -> None:
    """After ``ledger prune`` the record still counts; it takes the target's date and amount (no false diff)."""
    deliver(
        [
            message(1, "k1", paths=("legacy",), payload=_payload("2026-01-05", "10.00")),
            message(2, "k2", paths=("legacy",), payload=_payload("2026-01-05", "7")),
        ],
        {"legacy": DeliveryStatus.DELIVERED},
    )
    clock.advance(timedelta(days=2))
    assert ledger.prune_payloads(clock.now() - timedelta(days=1)).messages == 2
    rules = ReconcileConfig(date="issue_date", amount="totals.payable")
    listing = _Listing([ListedRecord("k1", date(2026, 1, 5), Decimal("10"))])
    report = Reconciler(ledger).reconcile("i", rules, [PathToReconcile("legacy", "legacy-t", listing)])
    rows = {r.business_date: r for r in report.rows}
    assert (rows["2026-01-05"].status, rows["2026-01-05"].ledger_count, rows["2026-01-05"].detail["pruned"]) == (
        "matched",
        1,
        1,
    )
    assert [(k["key"], k["issue"]) for k in rows[""].detail["keys"]] == [("k2", "missing_at_target")]
