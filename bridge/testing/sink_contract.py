"""The contract suite of the :class:`~bridge.ports.Sink` port, for any sink adapter (ours or a plugin's).

Why a suite: the runtime retries a delivery whenever it cannot be sure the last attempt landed (a crash
after the write, a lost response), so every sink must make a repeat of the same message id harmless, and
must leave retrying to the runtime. Those promises are checked here where the effects land, at the real
peer (its folder, its store, its request log), not at the sink's own word.

Use: subclass :class:`SinkContract` (name the subclass ``Test...``) and provide a pytest fixture
``sink_peer`` returning a :class:`SinkPeer`; the inherited ``test_*`` methods run against it.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from bridge.ports import BridgeError, Delivery, Encoded, OutcomeStatus, PathName, Role, Sink

__all__ = ["SinkContract", "SinkPeer", "contract_delivery"]


def contract_delivery(
    body: bytes,
    media_type: str,
    *,
    business_key: str,
    message_id: uuid.UUID | None = None,
    interface: str = "contract",
    path: PathName = PathName.CLOUD,
) -> Delivery:
    """A first-attempt authoritative delivery of ``body`` (a helper for :meth:`SinkPeer.delivery`)."""
    return Delivery(
        message_id=message_id or uuid.uuid4(),
        interface=interface,
        path=path,
        role=Role.AUTHORITATIVE,
        business_key=business_key,
        attempt=1,
        payload=Encoded(body=body, media_type=media_type),
        transaction_id=f"contract-{business_key}",
    )


class SinkPeer(ABC):
    """How the suite reaches one sink adapter and its peer (a folder, an SFTP server, a SOAP or REST service)."""

    #: Longest a single failing attempt may take (a sink that sleeps and retries inside takes longer).
    attempt_seconds: ClassVar[float] = 10.0

    @abstractmethod
    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        """The adapter against its peer, as a context manager giving the entered sink. ``broken=True``: against
        a peer that fails every attempt transiently (an unreachable host, a 503, a folder it cannot write)."""

    @abstractmethod
    def delivery(self, n: int) -> Delivery:
        """The ``n``-th delivery the peer accepts; distinct ``n`` give distinct messages (and message ids)."""

    @abstractmethod
    def effects(self, delivery: Delivery) -> Sequence[object]:
        """What the peer holds for ``delivery``'s message, one item per effect, read at the peer (files by that
        name, entities created for it, events by its id), comparable between calls."""

    def attempts(self) -> int | None:
        """How many attempts (requests, connections) the peer has seen so far, when it can count them."""
        return None


class SinkContract:
    """Behaviour every sink must show against its real peer. Needs a ``sink_peer`` fixture."""

    def test_delivered_outcome_and_one_effect(self, sink_peer: SinkPeer) -> None:
        """A delivery the peer accepts is reported delivered and lands exactly once."""
        delivery = sink_peer.delivery(0)
        assert len(sink_peer.effects(delivery)) == 0, "the peer already holds the message before delivery"
        with sink_peer.open_sink() as sink:
            assert isinstance(sink.target, str) and sink.target, "a sink names its target"
            outcome = sink.deliver(delivery)
        assert outcome.status is OutcomeStatus.DELIVERED, f"{outcome.status}: {outcome.detail}"
        assert len(sink_peer.effects(delivery)) == 1, f"effects at the peer: {sink_peer.effects(delivery)}"

    def test_repeat_is_delivered_without_a_second_effect(self, sink_peer: SinkPeer) -> None:
        """The same message id again (the runtime was not sure the first landed) is reported delivered and
        leaves the peer as the first left it; another message still lands as its own effect."""
        first, other = sink_peer.delivery(0), sink_peer.delivery(1)
        with sink_peer.open_sink() as sink:
            assert sink.deliver(first).status is OutcomeStatus.DELIVERED, "first delivery not delivered"
            after_one = list(sink_peer.effects(first))
            repeat = sink.deliver(first)
            assert repeat.status is OutcomeStatus.DELIVERED, f"repeat: {repeat.status}: {repeat.detail}"
        after_two = list(sink_peer.effects(first))
        assert len(after_one) == 1, f"effects after one delivery: {after_one}"
        assert after_two == after_one, f"a repeat changed the peer: {after_one} -> {after_two}"
        with sink_peer.open_sink() as sink:  # as after a restart: the sink has no memory of the first
            assert sink.deliver(first).status is OutcomeStatus.DELIVERED, "repeat after a restart not delivered"
            assert sink.deliver(other).status is OutcomeStatus.DELIVERED, "another message not delivered"
        assert list(sink_peer.effects(first)) == after_one, "a repeat after a restart changed the peer"
        assert len(sink_peer.effects(other)) == 1, "a second message did not land as its own effect"

    def test_one_attempt_per_call(self, sink_peer: SinkPeer) -> None:
        """Against a failing peer, ``deliver`` makes one attempt and reports it (it neither retries, sleeps
        nor raises anything but a BridgeError); the runtime decides what happens next."""
        delivery = sink_peer.delivery(2)
        with sink_peer.open_sink(broken=True) as sink:
            before = sink_peer.attempts()
            started = time.monotonic()
            try:
                outcome = sink.deliver(delivery)
            except BridgeError:
                outcome = None  # the port allows a raised BridgeError (classified by type)
            elapsed = time.monotonic() - started
            after = sink_peer.attempts()
        assert outcome is None or outcome.status is not OutcomeStatus.DELIVERED, "a broken peer took the message"
        assert elapsed < sink_peer.attempt_seconds, f"one attempt took {elapsed:.1f}s: retrying or sleeping inside?"
        if before is not None and after is not None:
            assert after - before == 1, f"one deliver call, {after - before} attempts at the peer"
