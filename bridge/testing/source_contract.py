"""The contract suite of the :class:`~bridge.ports.Source` port, for any source adapter (ours or a plugin's).

Why a suite: the runtime's "nothing lost, nothing twice" rests on what every source promises (the same
identity when unacknowledged input is read again after a crash, nothing handed on again once acknowledged,
an envelope that says where it came from). Those promises are checked here once, against the adapter's
real peer, instead of being re-asserted (or forgotten) in every adapter's own tests.

Use: subclass :class:`SourceContract` in a test module (name the subclass ``Test...``) and provide a pytest
fixture ``source_peer`` that returns a :class:`SourcePeer` for your adapter::

    class TestMySource(SourceContract):
        @pytest.fixture
        def source_peer(self, my_server, tmp_path):
            return MyPeer(my_server, tmp_path)

The inherited ``test_*`` methods then run against it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import ClassVar

from bridge.ports import (
    DecodeError,
    Envelope,
    IdentityRule,
    Location,
    Source,
    SourceContext,
    SourceLedger,
    SystemClock,
)
from bridge.testing.ledger import MemorySourceLedger

__all__ = ["SourceContract", "SourcePeer"]


class SourcePeer(ABC):
    """How the suite reaches one source adapter and its peer (an SFTP server, a SOAP service, a webhook sender).

    Subclasses implement :meth:`build` and :meth:`put`; the rest has defaults. Call :meth:`close` (or use the
    peer as a context manager) to close every source it opened.
    """

    #: The interface name sources are opened for.
    interface: ClassVar[str] = "contract"
    #: Metadata keys every envelope of this source carries.
    metadata_keys: ClassVar[frozenset[str]] = frozenset()
    #: How long to keep polling for input the peer was given (webhook retries take seconds).
    poll_timeout: ClassVar[float] = 10.0
    #: How long to keep polling to be sure nothing more comes.
    quiet_period: ClassVar[float] = 0.5

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self._stack = ExitStack()
        self._open: list[Source] = []

    @abstractmethod
    def build(self) -> Source:
        """A new, not yet entered instance of the adapter, configured against the peer."""

    @abstractmethod
    def put(self, n: int) -> None:
        """Put the ``n``-th new unit of input at the peer (a file, a changed record, an event)."""

    def marker(self, n: int) -> bytes:
        """Bytes the payload of the envelope carrying input ``n`` contains."""
        return f"contract-{n}".encode()

    def offer_again(self) -> None:
        """Make the peer offer what it already offered, as it would by itself (default: it does so anyway).

        A left file is listed again on every poll and a change feed re-reads its overlap window without help;
        a webhook sender has to be asked to replay.
        """
        return None

    def open_source(self, ledger: SourceLedger) -> Source:
        """A new instance, entered and opened on ``ledger`` (as the runtime does after a start or a crash)."""
        source = self._stack.enter_context(self.build())
        source.open(SourceContext(self.interface, SystemClock(), self.spool_dir, ledger))
        self._open.append(source)
        return source

    def stop(self, source: Source) -> None:
        """Close ``source`` now (its process ended); a later :meth:`open_source` stands for the restart."""
        if source in self._open:
            self._open.remove(source)
            source.__exit__(None, None, None)

    def close(self) -> None:
        for source in list(self._open):
            self.stop(source)
        self._stack.close()

    def __enter__(self) -> SourcePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collect(peer: SourcePeer, source: Source, want: int) -> list[Envelope]:
    """Poll until ``want`` envelopes came or ``peer.poll_timeout`` passed, and return them. ``want=0``: poll
    for ``peer.quiet_period`` and return whatever came (nothing, for a source that keeps its promises).

    A source may hand on unacknowledged input again on its next poll (the runtime acknowledges in between),
    so polling stops as soon as ``want`` arrived.
    """
    got: list[Envelope] = []
    if want == 0:
        quiet = time.monotonic() + peer.quiet_period
        while time.monotonic() < quiet:
            got += list(source.poll())
            time.sleep(0.05)
        return got
    deadline = time.monotonic() + peer.poll_timeout
    while len(got) < want and time.monotonic() < deadline:
        got += list(source.poll())
        if len(got) < want:
            time.sleep(0.05)
    return got


def _payload(envelope: Envelope) -> bytes:
    with envelope.open() as stream:
        return stream.read()


def _describe(envelopes: list[Envelope]) -> list[tuple[str, str]]:
    return [(e.batch_id, e.identity) for e in envelopes]


def _first_input(peer: SourcePeer, ledger: SourceLedger) -> tuple[Source, Envelope]:
    """A source opened on ``ledger``, then input 0 put at the peer: the source and its one envelope."""
    source = peer.open_source(ledger)
    peer.put(0)
    envelopes = collect(peer, source, 1)
    assert len(envelopes) == 1, f"one input, {len(envelopes)} envelopes: {_describe(envelopes)}"
    return source, envelopes[0]


def _new_input_still_comes(peer: SourcePeer, source: Source) -> Envelope:
    """Input 1 put at the peer arrives through ``source`` (a source that went quiet proves nothing)."""
    peer.put(1)
    fresh = collect(peer, source, 1)
    assert fresh and peer.marker(1) in _payload(fresh[-1]), "new input is not handed on any more"
    return fresh[-1]


class SourceContract:
    """Behaviour every source must show against its real peer. Needs a ``source_peer`` fixture."""

    def test_envelope_says_what_and_where(self, source_peer: SourcePeer) -> None:
        """One unit of input arrives as one envelope: its bytes, ids, origin, time and declared metadata."""
        ledger = MemorySourceLedger()
        _, envelope = _first_input(source_peer, ledger)
        assert envelope.interface == source_peer.interface, f"envelope of interface {envelope.interface!r}"
        ids = (envelope.batch_id, envelope.identity, envelope.origin, envelope.transaction_id)
        assert all(ids), f"batch id, identity, origin and transaction id must all be set: {ids}"
        assert isinstance(envelope.identity_rule, IdentityRule), "the envelope declares its identity rule"
        assert envelope.received_at.utcoffset() is not None, "received_at is timezone-aware"
        body = _payload(envelope)
        assert source_peer.marker(0) in body, f"the payload does not carry input 0: {body[:200]!r}"
        assert _payload(envelope) == body, "Envelope.open() must give the same bytes every time"
        assert envelope.size is None or envelope.size == len(body), f"size {envelope.size} of {len(body)} bytes"
        missing = source_peer.metadata_keys - set(_keys(envelope.metadata))
        assert not missing, f"envelope metadata lacks {sorted(missing)}: {dict(envelope.metadata)}"

    def test_unacknowledged_input_comes_back_with_the_same_identity(self, source_peer: SourcePeer) -> None:
        """Input handed on but never acknowledged (the process died) is handed on again after a restart,
        with the same batch id and identity, so the runtime derives the same message ids."""
        ledger = MemorySourceLedger()
        first, before = _first_input(source_peer, ledger)
        source_peer.stop(first)
        again = collect(source_peer, source_peer.open_source(ledger), 1)
        assert _describe(again) == _describe([before]), "re-polled unacknowledged input changed identity"

    def test_nothing_is_handed_on_again_after_acknowledge(self, source_peer: SourcePeer) -> None:
        """Once acknowledged (as the runtime does it: ``acknowledge``, then the batch marked acknowledged),
        input is not handed on again: not by the same instance, not when the peer offers it again, not after
        a restart; new input still is. A change feed may re-read acknowledged records once more through its
        overlap (the port makes that a no-op by record identity), but never an acknowledged batch."""
        ledger = MemorySourceLedger()
        source, envelope = _first_input(source_peer, ledger)
        acked = _Finished(source_peer, ledger)
        acked.acknowledge(source, envelope)
        source.acknowledge(envelope)  # the port: acknowledge is idempotent
        acked.settle(source, "by the same instance")
        source_peer.offer_again()
        acked.settle(source, "when the peer offered it again")
        source_peer.stop(source)
        restarted = source_peer.open_source(ledger)
        source_peer.offer_again()
        acked.settle(restarted, "after a restart")
        fresh = _new_input_still_comes(source_peer, restarted)
        assert fresh.batch_id not in acked.batches, "new input came as an acknowledged batch"

    def test_failed_input_is_put_aside(self, source_peer: SourcePeer) -> None:
        """Input the runtime failed as a whole (the batch marked failed, then ``fail``) is not handed on again,
        by the same instance or after a restart; new input still is."""
        ledger = MemorySourceLedger()
        source, envelope = _first_input(source_peer, ledger)
        settled = _Finished(source_peer, ledger)
        settled.fail(source, envelope)
        settled.settle(source, "by the same instance after fail")
        source_peer.stop(source)
        restarted = source_peer.open_source(ledger)
        settled.settle(restarted, "after fail and a restart")
        _new_input_still_comes(source_peer, restarted)


class _Finished:
    """What the suite acknowledged or failed, and the check that none of it comes back."""

    #: How many overlap re-reads of a change feed the suite acknowledges before it calls the source unsettled.
    rereads = 3

    def __init__(self, peer: SourcePeer, ledger: SourceLedger) -> None:
        self.peer = peer
        self.ledger = ledger
        self.batches: set[str] = set()
        self.identities: set[str] = set()
        self.reread = 0

    def acknowledge(self, source: Source, envelope: Envelope) -> None:
        """As the runtime does once the batch is committed."""
        source.acknowledge(envelope)
        self.ledger.mark_batch(envelope.interface, envelope.batch_id, "acknowledged", origin=envelope.origin)
        self.batches.add(envelope.batch_id)
        self.identities.add(envelope.identity)

    def fail(self, source: Source, envelope: Envelope) -> None:
        """As the runtime does when a whole batch cannot be read: the batch is committed as failed (with its
        dead letter keeping the input), then the source is told."""
        self.ledger.mark_batch(envelope.interface, envelope.batch_id, "failed", origin=envelope.origin)
        source.fail(envelope, DecodeError("contract: the batch cannot be read", location=Location(file="contract")))
        self.batches.add(envelope.batch_id)
        self.identities.add(envelope.identity)

    def settle(self, source: Source, when: str) -> None:
        """Poll for the peer's quiet period, acknowledging as the runtime would between polls: nothing
        acknowledged or failed may come back (a change feed's overlap re-read aside; see the tests)."""
        quiet = time.monotonic() + self.peer.quiet_period
        while time.monotonic() < quiet:
            for envelope in source.poll():
                assert envelope.batch_id not in self.batches, (
                    f"a batch acknowledged or failed is handed on again {when}"
                )
                if envelope.identity_rule is not IdentityRule.CHANGE:
                    assert envelope.identity not in self.identities, (
                        f"input acknowledged or failed is handed on again {when}"
                    )
                self.reread += 1
                assert self.reread <= self.rereads, f"the change feed keeps re-reading finished records ({when})"
                self.acknowledge(source, envelope)
            time.sleep(0.05)


def _keys(metadata: Mapping[str, str]) -> list[str]:
    return [k for k, v in metadata.items() if v != ""]
