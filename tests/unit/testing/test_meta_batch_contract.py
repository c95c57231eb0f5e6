"""Meta-tests of :class:`bridge.testing.BatchSinkContract`: it passes for a correct in-memory batch sink and FAILS
for one broken in each way the contract forbids (neighbours failed with a bad item, outcomes out of order or
missing, a repeat acting twice, a dry run sent, retries inside, no batch capability). A suite that cannot
fail proves nothing.

The suite methods are called directly on a fresh suite instance with the peer a fixture would give.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from bridge.ports import Delivery, Outcome, Rejected, Resource, TargetUnavailable
from bridge.testing import BatchSinkContract, BatchSinkPeer, contract_delivery


class MemoryBatchSink(Resource):
    """A correct batch sink over a dict: refuses bodies starting with ``bad``; the flags break one promise each."""

    target = "memory"
    max_batch = 100
    fails_neighbours = False
    reverses = False
    drops_last = False
    acts_twice = False
    sends_dry_runs = False
    retries = False

    def __init__(self, store: dict[str, list[bytes]], log: list[str], broken: bool) -> None:
        self.store, self.log, self.broken = store, log, broken

    def deliver(self, delivery: Delivery) -> Outcome:
        return self.deliver_batch([delivery])[0]

    def _one(self, d: Delivery) -> Outcome:
        if d.dry_run and not self.sends_dry_runs:
            return Outcome.delivered(detail="dry run")
        for _ in range(2 if self.retries else 1):
            self.log.append(str(d.message_id))
        if self.broken:
            return Outcome.failed(TargetUnavailable("down"))
        if d.payload.body.startswith(b"bad"):
            return Outcome.rejected(Rejected("refused"))
        held = self.store.setdefault(str(d.message_id), [])
        if self.acts_twice or not held:
            held.append(d.payload.body)
        return Outcome.delivered()

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes = [self._one(d) for d in deliveries]
        if self.fails_neighbours and any(o.status != "delivered" for o in outcomes):
            outcomes = [Outcome.failed(TargetUnavailable("one item failed the batch"))] * len(outcomes)
        if self.reverses:
            outcomes.reverse()
        return outcomes[:-1] if self.drops_last and outcomes else outcomes


class Peer(BatchSinkPeer):
    def __init__(self, sink_type: type[MemoryBatchSink]) -> None:
        self.sink_type = sink_type
        self.store: dict[str, list[bytes]] = {}
        self.log: list[str] = []

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Any]:
        return nullcontext(self.sink_type(self.store, self.log, broken))

    def delivery(self, n: int) -> Delivery:
        return contract_delivery(f"ok {n}".encode(), "text/plain", business_key=f"K{n}")

    def failing_delivery(self, n: int) -> Delivery:
        return contract_delivery(f"bad {n}".encode(), "text/plain", business_key=f"B{n}")

    def effects(self, delivery: Delivery) -> Sequence[object]:
        return list(self.store.get(str(delivery.message_id), []))

    def attempts(self) -> int | None:
        return len(self.log)


def _broken(**flags: Any) -> type[MemoryBatchSink]:
    return type("Broken", (MemoryBatchSink,), flags)


TESTS: list[Callable[[BatchSinkContract, BatchSinkPeer], None]] = [
    BatchSinkContract.test_one_outcome_per_delivery_in_order,
    BatchSinkContract.test_a_failing_item_does_not_fail_its_neighbours,
    BatchSinkContract.test_a_batch_sent_again_adds_nothing,
    BatchSinkContract.test_dry_run_sends_nothing,
    BatchSinkContract.test_one_attempt_per_delivery_against_a_broken_peer,
]


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.__name__)
def test_a_correct_batch_sink_passes(test: Callable[[BatchSinkContract, BatchSinkPeer], None]) -> None:
    """Every test of the suite passes for the correct in-memory batch sink."""
    test(BatchSinkContract(), Peer(MemoryBatchSink))


@pytest.mark.parametrize(
    ("flags", "test", "message"),
    [
        ({"fails_neighbours": True}, BatchSinkContract.test_a_failing_item_does_not_fail_its_neighbours, "refused"),
        ({"reverses": True}, BatchSinkContract.test_a_failing_item_does_not_fail_its_neighbours, "refused"),
        ({"drops_last": True}, BatchSinkContract.test_one_outcome_per_delivery_in_order, "outcomes"),
        ({"acts_twice": True}, BatchSinkContract.test_a_batch_sent_again_adds_nothing, "effects after one batch"),
        ({"sends_dry_runs": True}, BatchSinkContract.test_dry_run_sends_nothing, "dry run"),
        ({"retries": True}, BatchSinkContract.test_one_attempt_per_delivery_against_a_broken_peer, "attempts"),
        ({"max_batch": 1}, BatchSinkContract.test_one_outcome_per_delivery_in_order, "max_batch is 1"),
    ],
    ids=["fails-neighbours", "out-of-order", "drops-an-outcome", "acts-twice", "sends-dry-runs", "retries", "no-batch"],
)
def test_a_broken_batch_sink_fails_the_suite(
    flags: dict[str, Any], test: Callable[[BatchSinkContract, BatchSinkPeer], None], message: str
) -> None:
    """Each broken promise makes its test of the suite fail, saying what broke."""
    with pytest.raises(AssertionError, match=message):
        test(BatchSinkContract(), Peer(_broken(**flags)))
