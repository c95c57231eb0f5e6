"""The contract suite of the :class:`~bridge.ports.BatchSink` port: many deliveries in one call, per-message truth.

Why a suite of its own: a batch is one request, one write and fsync, one session, but the ledger still keeps
one outcome per message. So a batch sink must map what the peer did back to each delivery (in order, one
outcome each), must not let one bad message fail its neighbours, must keep the per-message idempotency of
:class:`~bridge.testing.SinkContract` when a whole batch is sent again (the runtime re-sends a claim it could
not record), and must send nothing for a dry run. As in the Sink suite, every promise is checked where the
effects land (lines in the file, entities in the simulator's store, events in the queue), not at the sink's
own word.

Use: subclass :class:`BatchSinkContract` (name the subclass ``Test...``) and provide a pytest fixture
``batch_peer`` returning a :class:`BatchSinkPeer`. A batch sink is a sink too: run :class:`SinkContract`
against it as well.
"""

from __future__ import annotations

import dataclasses
import time
from abc import abstractmethod
from typing import ClassVar

from bridge.ports import BatchSink, BridgeError, Delivery, Outcome, OutcomeStatus
from bridge.testing.sink_contract import SinkPeer

__all__ = ["BatchSinkContract", "BatchSinkPeer"]


class BatchSinkPeer(SinkPeer):
    """A :class:`SinkPeer` whose sink is a :class:`~bridge.ports.BatchSink`, plus a message the peer refuses."""

    #: Deliveries in the batches the suite sends (at most the sink's ``max_batch``).
    batch_size: ClassVar[int] = 5

    @abstractmethod
    def failing_delivery(self, n: int) -> Delivery:
        """A delivery the peer itself refuses on its own merits (a body it finds invalid, a name already taken
        by other bytes, an event too large for the queue), preparing the peer for it when needed; distinct
        ``n`` give distinct messages, and ``delivery(m)`` stays acceptable beside it."""


def _batch_sink(sink: object) -> BatchSink:
    assert isinstance(sink, BatchSink), f"{type(sink).__name__} is not a BatchSink (max_batch, deliver_batch)"
    assert sink.max_batch > 1, f"max_batch is {sink.max_batch}: the runtime would never call deliver_batch"
    return sink


def _statuses(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.status}: {o.detail or o.error}" for o in outcomes]


class BatchSinkContract:
    """Behaviour every batch sink must show against its real peer. Needs a ``batch_peer`` fixture."""

    def test_one_outcome_per_delivery_in_order(self, batch_peer: BatchSinkPeer) -> None:
        """A batch the peer accepts gives one delivered outcome per delivery and lands once per message."""
        batch = [batch_peer.delivery(n) for n in range(batch_peer.batch_size)]
        with batch_peer.open_sink() as opened:
            sink = _batch_sink(opened)
            assert len(batch) <= sink.max_batch
            outcomes = sink.deliver_batch(batch)
            assert sink.deliver_batch([]) == [], "an empty batch has no outcomes"
        assert len(outcomes) == len(batch), f"{len(batch)} deliveries, {len(outcomes)} outcomes"
        assert all(o.status is OutcomeStatus.DELIVERED for o in outcomes), _statuses(outcomes)
        for d in batch:
            assert len(batch_peer.effects(d)) == 1, f"effects of {d.business_key}: {batch_peer.effects(d)}"

    def test_a_failing_item_does_not_fail_its_neighbours(self, batch_peer: BatchSinkPeer) -> None:
        """The peer's refusal of one message is mapped back to that message, first or in the middle; the
        others of the batch are delivered, each once."""
        good = [batch_peer.delivery(n) for n in range(batch_peer.batch_size - 2)]
        bad_first, bad_middle = batch_peer.failing_delivery(0), batch_peer.failing_delivery(1)
        middle = len(good) // 2 + 1
        batch = [bad_first, *good[: middle - 1], bad_middle, *good[middle - 1 :]]
        with batch_peer.open_sink() as opened:
            outcomes = _batch_sink(opened).deliver_batch(batch)
        assert len(outcomes) == len(batch), f"{len(batch)} deliveries, {len(outcomes)} outcomes"
        refused = [i for i, o in enumerate(outcomes) if o.status is not OutcomeStatus.DELIVERED]
        assert refused == [0, middle], f"expected only 0 and {middle} refused: {_statuses(outcomes)}"
        assert all(o.error is not None for o in (outcomes[0], outcomes[middle])), "a refusal carries its error"
        for d in good:
            assert len(batch_peer.effects(d)) == 1, f"effects of {d.business_key}: {batch_peer.effects(d)}"

    def test_a_batch_sent_again_adds_nothing(self, batch_peer: BatchSinkPeer) -> None:
        """The same batch again (the runtime could not record the first), on the same sink and after a
        restart, and a message id twice in one batch, are delivered and leave the peer as the first left it."""
        batch = [batch_peer.delivery(n) for n in range(batch_peer.batch_size - 1)]
        with batch_peer.open_sink() as opened:
            sink = _batch_sink(opened)
            first = sink.deliver_batch([*batch, batch[0]])
            after_one = [list(batch_peer.effects(d)) for d in batch]
            again = sink.deliver_batch(batch)
        assert all(o.status is OutcomeStatus.DELIVERED for o in first), _statuses(first)
        assert all(len(e) == 1 for e in after_one), f"effects after one batch: {after_one}"
        assert all(o.status is OutcomeStatus.DELIVERED for o in again), _statuses(again)
        assert [list(batch_peer.effects(d)) for d in batch] == after_one, "a repeated batch changed the peer"
        newcomer = batch_peer.delivery(batch_peer.batch_size)
        with batch_peer.open_sink() as opened:  # as after a restart: the sink has no memory of the first
            restarted = _batch_sink(opened).deliver_batch([newcomer, *batch])
        assert all(o.status is OutcomeStatus.DELIVERED for o in restarted), _statuses(restarted)
        assert [list(batch_peer.effects(d)) for d in batch] == after_one, "a batch after a restart changed the peer"
        assert len(batch_peer.effects(newcomer)) == 1, "a new message in a repeated batch did not land once"

    def test_dry_run_sends_nothing(self, batch_peer: BatchSinkPeer) -> None:
        """Dry-run deliveries in a batch are reported delivered and reach nothing at the peer."""
        batch = [dataclasses.replace(batch_peer.delivery(n), dry_run=True) for n in range(batch_peer.batch_size)]
        with batch_peer.open_sink() as opened:
            before = batch_peer.attempts()
            outcomes = _batch_sink(opened).deliver_batch(batch)
            after = batch_peer.attempts()
        assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED] * len(batch), _statuses(outcomes)
        assert all(len(batch_peer.effects(d)) == 0 for d in batch), "a dry run reached the peer"
        if before is not None and after is not None:
            assert after == before, f"a dry run made {after - before} attempts at the peer"

    def test_one_attempt_per_delivery_against_a_broken_peer(self, batch_peer: BatchSinkPeer) -> None:
        """Against a failing peer one call makes at most one attempt per delivery, quickly, and every outcome
        says not delivered (or a BridgeError is raised, which applies to the whole batch)."""
        batch = [batch_peer.delivery(n) for n in range(batch_peer.batch_size)]
        with batch_peer.open_sink(broken=True) as opened:
            sink = _batch_sink(opened)
            before = batch_peer.attempts()
            started = time.monotonic()
            try:
                outcomes: list[Outcome] | None = sink.deliver_batch(batch)
            except BridgeError:
                outcomes = None
            elapsed = time.monotonic() - started
            after = batch_peer.attempts()
        if outcomes is not None:
            assert len(outcomes) == len(batch), f"{len(batch)} deliveries, {len(outcomes)} outcomes"
            assert all(o.status is not OutcomeStatus.DELIVERED for o in outcomes), _statuses(outcomes)
        assert elapsed < batch_peer.attempt_seconds, f"one batch took {elapsed:.1f}s: retrying or sleeping inside?"
        if before is not None and after is not None:
            assert 1 <= after - before <= len(batch), f"{after - before} attempts for {len(batch)} deliveries"
