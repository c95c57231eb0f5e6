"""Meta-tests of the contract suites: each suite passes for a correct in-memory adapter and FAILS for a
deliberately broken one (a sink that writes twice on a repeat, a source that re-emits after acknowledge or
changes identity on a re-poll, a decoder that stops at a bad record, ...). A suite that cannot fail proves
nothing; these show each assertion bites.

The suite methods are called directly on a fresh suite instance with the peer/case a fixture would give.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

import pytest
from pydantic import BaseModel

from bridge.ports import (
    BridgeError,
    DecodedRecord,
    DecodeError,
    Delivery,
    EncodeContext,
    Encoded,
    Envelope,
    IdentityRule,
    Location,
    Outcome,
    RecordFailure,
    RecordInvalid,
    Sink,
    Source,
    SourceContext,
    TargetUnavailable,
)
from bridge.testing import (
    DecoderCase,
    DecoderContract,
    EncoderCase,
    RecordingSink,
    RoundTripEncoderContract,
    SinkContract,
    SinkPeer,
    SourceContract,
    SourcePeer,
    contract_delivery,
)

# --------------------------------------------------------------------------------------------- sources


class MemorySource:
    """A correct source over a peer's list of inputs; the flags break one promise each."""

    reemit_after_ack = False
    new_identity_per_instance = False
    drop_metadata = False
    wrong_interface = False
    skip_states: tuple[str, ...] = ("acknowledged", "failed")

    def __init__(self, inputs: list[bytes]) -> None:
        self.inputs = inputs
        self.instance = uuid.uuid4().hex
        self.acked: set[str] = set()
        self.ctx: SourceContext | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.ctx = None

    def open(self, context: SourceContext) -> None:
        self.ctx = context

    def poll(self) -> Iterator[Envelope]:
        ctx = self.ctx
        assert ctx is not None
        for n, body in enumerate(list(self.inputs)):
            digest = hashlib.sha256(body).hexdigest()
            identity = f"{digest}:{self.instance}" if self.new_identity_per_instance else digest
            batch_id = f"mem:{n}:{identity}"
            if not self.reemit_after_ack and (
                batch_id in self.acked or ctx.ledger.batch_state(ctx.interface, batch_id) in self.skip_states
            ):
                continue
            yield Envelope(
                interface="elsewhere" if self.wrong_interface else ctx.interface,
                batch_id=batch_id,
                origin=f"memory:{n}",
                identity_rule=IdentityRule.FILE,
                identity=identity,
                received_at=datetime.now(UTC),
                transaction_id=f"tx-{n}",
                body=body,
                size=len(body),
                metadata={} if self.drop_metadata else {"name": f"input-{n}"},
            )

    def acknowledge(self, envelope: Envelope) -> None:
        self.acked.add(envelope.batch_id)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        self.acked.add(envelope.batch_id)


class MemoryPeer(SourcePeer):
    metadata_keys: ClassVar[frozenset[str]] = frozenset({"name"})
    poll_timeout: ClassVar[float] = 1.0
    quiet_period: ClassVar[float] = 0.1

    def __init__(self, tmp_path: Path, source_type: type[MemorySource]) -> None:
        super().__init__(tmp_path)
        self.inputs: list[bytes] = []
        self.source_type = source_type

    def build(self) -> Source:
        return self.source_type(self.inputs)

    def put(self, n: int) -> None:
        self.inputs.append(b"<doc>" + self.marker(n) + b"</doc>")


class ReemitsAfterAck(MemorySource):
    reemit_after_ack = True


class NewIdentityOnRepoll(MemorySource):
    new_identity_per_instance = True


class NoMetadata(MemorySource):
    drop_metadata = True


class WrongInterface(MemorySource):
    wrong_interface = True


class ForgetsFailures(MemorySource):
    """Skips only acknowledged batches: a failed one comes back after a restart."""

    skip_states = ("acknowledged",)


SOURCE_TESTS = [name for name in dir(SourceContract) if name.startswith("test_")]


def _run(suite: object, test: str, *args: Any) -> None:
    getattr(suite, test)(*args)


@pytest.mark.parametrize("test", SOURCE_TESTS)
def test_source_suite_passes_for_a_correct_source(tmp_path: Path, test: str) -> None:
    with MemoryPeer(tmp_path, MemorySource) as peer:
        _run(SourceContract(), test, peer)


@pytest.mark.parametrize(
    ("broken", "test", "message"),
    [
        (ReemitsAfterAck, "test_nothing_is_handed_on_again_after_acknowledge", "handed on again"),
        (NewIdentityOnRepoll, "test_unacknowledged_input_comes_back_with_the_same_identity", "changed identity"),
        (NoMetadata, "test_envelope_says_what_and_where", "metadata lacks"),
        (WrongInterface, "test_envelope_says_what_and_where", "interface"),
        (ForgetsFailures, "test_failed_input_is_put_aside", "after fail and a restart"),
    ],
)
def test_source_suite_fails_for_a_broken_source(
    tmp_path: Path, broken: type[MemorySource], test: str, message: str
) -> None:
    with MemoryPeer(tmp_path, broken) as peer, pytest.raises(AssertionError, match=message):
        _run(SourceContract(), test, peer)


# --------------------------------------------------------------------------------------------- sinks


class StorePeer(SinkPeer):
    """An in-memory target: ``store`` holds every write it received, ``requests`` counts attempts."""

    attempt_seconds: ClassVar[float] = 1.0

    def __init__(self, make: Callable[[StorePeer, bool], Sink]) -> None:
        self.store: list[tuple[uuid.UUID, bytes]] = []
        self.requests = 0
        self._make = make

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        return self._make(self, broken)

    def delivery(self, n: int) -> Delivery:
        return contract_delivery(f"body {n}".encode(), "text/plain", business_key=f"K{n}")

    def effects(self, delivery: Delivery) -> Sequence[object]:
        return [body for mid, body in self.store if mid == delivery.message_id]

    def attempts(self) -> int | None:
        return self.requests


class StoreSink:
    """A correct sink into a :class:`StorePeer`; subclasses break one promise each."""

    target = "store"

    def __init__(self, peer: StorePeer, broken: bool) -> None:
        self.peer = peer
        self.broken = broken

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def attempt(self, delivery: Delivery) -> Outcome:
        self.peer.requests += 1
        if self.broken:
            return Outcome.failed(TargetUnavailable("store down"))
        if any(mid == delivery.message_id for mid, _ in self.peer.store):
            return Outcome.delivered(detail="already there")
        self.peer.store.append((delivery.message_id, delivery.payload.body))
        return Outcome.delivered()

    def deliver(self, delivery: Delivery) -> Outcome:
        return self.attempt(delivery)


class WritesTwiceOnRepeat(StoreSink):
    def attempt(self, delivery: Delivery) -> Outcome:
        self.peer.requests += 1
        if self.broken:
            return Outcome.failed(TargetUnavailable("store down"))
        self.peer.store.append((delivery.message_id, delivery.payload.body))
        return Outcome.delivered()


class RetriesInside(StoreSink):
    def deliver(self, delivery: Delivery) -> Outcome:
        for _ in range(3):
            outcome = self.attempt(delivery)
            if outcome.status == "delivered":
                break
        return outcome


class SleepsBeforeGivingUp(StoreSink):
    def deliver(self, delivery: Delivery) -> Outcome:
        outcome = self.attempt(delivery)
        if outcome.status != "delivered":
            time.sleep(1.2)  # a backoff inside the sink
        return outcome


class RejectsRepeat(StoreSink):
    def attempt(self, delivery: Delivery) -> Outcome:
        if any(mid == delivery.message_id for mid, _ in self.peer.store):
            return Outcome.failed(TargetUnavailable("duplicate"))
        return super().attempt(delivery)


class ClaimsDeliveredWhenDown(StoreSink):
    def attempt(self, delivery: Delivery) -> Outcome:
        if self.broken:
            self.peer.requests += 1
            return Outcome.delivered()
        return super().attempt(delivery)


class RaisesPlainException(StoreSink):
    def attempt(self, delivery: Delivery) -> Outcome:
        if self.broken:
            raise RuntimeError("a bug, not a BridgeError")
        return super().attempt(delivery)


SINK_TESTS = [name for name in dir(SinkContract) if name.startswith("test_")]


@pytest.mark.parametrize("test", SINK_TESTS)
def test_sink_suite_passes_for_a_correct_sink(test: str) -> None:
    _run(SinkContract(), test, StorePeer(StoreSink))


@pytest.mark.parametrize(
    ("broken", "test", "message"),
    [
        (WritesTwiceOnRepeat, "test_repeat_is_delivered_without_a_second_effect", "a repeat changed the peer"),
        (RejectsRepeat, "test_repeat_is_delivered_without_a_second_effect", "repeat: failed"),
        (RetriesInside, "test_one_attempt_per_call", "3 attempts"),
        (SleepsBeforeGivingUp, "test_one_attempt_per_call", "retrying or sleeping inside"),
        (ClaimsDeliveredWhenDown, "test_one_attempt_per_call", "a broken peer took the message"),
    ],
)
def test_sink_suite_fails_for_a_broken_sink(broken: type[StoreSink], test: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        _run(SinkContract(), test, StorePeer(broken))


def test_sink_suite_lets_a_plain_exception_through() -> None:
    """Only a BridgeError may come out of ``deliver``; anything else is a bug and fails the suite."""
    with pytest.raises(RuntimeError):
        _run(SinkContract(), "test_one_attempt_per_call", StorePeer(RaisesPlainException))


class RecordingPeer(SinkPeer):
    """The kit's RecordingSink as the peer: ``effects`` is what an idempotent target would hold, ``calls``
    everything asked; counting calls as effects must fail the repeat test (duplicates are recorded)."""

    def __init__(self, count_calls: bool) -> None:
        self.sink = RecordingSink()
        self.count_calls = count_calls

    @contextmanager
    def _open(self, broken: bool) -> Iterator[Sink]:
        before = self.sink.respond
        if broken:
            self.sink.respond = lambda d: Outcome.failed(TargetUnavailable("down"))
        try:
            with self.sink as sink:
                yield sink
        finally:
            self.sink.respond = before

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        return self._open(broken)

    def delivery(self, n: int) -> Delivery:
        return contract_delivery(f"{n}".encode(), "text/plain", business_key=f"R{n}")

    def effects(self, delivery: Delivery) -> Sequence[object]:
        if self.count_calls:
            return self.sink.calls_for(delivery.message_id)
        return [self.sink.effects[delivery.message_id]] if delivery.message_id in self.sink.effects else []

    def attempts(self) -> int | None:
        return len(self.sink.calls)


@pytest.mark.parametrize("test", SINK_TESTS)
def test_recording_sink_keeps_the_sink_contract(test: str) -> None:
    _run(SinkContract(), test, RecordingPeer(count_calls=False))


def test_recording_sink_records_the_repeat() -> None:
    peer = RecordingPeer(count_calls=True)
    with pytest.raises(AssertionError, match="a repeat changed the peer"):
        _run(SinkContract(), "test_repeat_is_delivered_without_a_second_effect", peer)
    assert len(peer.sink.repeated()) == 1


# --------------------------------------------------------------------------------------------- codecs


class Item(BaseModel):
    name: str
    qty: int


class LinesDecoder:
    """``name,qty`` per line; a line whose qty is not a number is a record failure; empty input an error."""

    stop_at_bad = False
    unlocated = False
    noisy = False
    accept_empty = False

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        with envelope.open() as stream:
            data = stream.read()
        if not data.strip() and not self.accept_empty:
            raise DecodeError("no lines", location=Location(file=envelope.origin, line=1))
        for ordinal, line in enumerate(data.decode().splitlines()):
            name, _, qty = line.partition(",")
            where = Location(file=envelope.origin, line=ordinal + 1)
            if not qty.strip().isdigit():
                error = RecordInvalid(f"qty {qty!r} is not a number", location=None if self.unlocated else where)
                if self.stop_at_bad:
                    raise error
                yield RecordFailure(ordinal, error, line)
                continue
            suffix = f"-{uuid.uuid4().hex[:4]}" if self.noisy else ""
            yield DecodedRecord(ordinal, Item(name=name + suffix, qty=int(qty)), where)


class StopsAtBadRecord(LinesDecoder):
    stop_at_bad = True


class UnlocatedFailure(LinesDecoder):
    unlocated = True


class Nondeterministic(LinesDecoder):
    noisy = True


class AcceptsEmpty(LinesDecoder):
    accept_empty = True


def _decoder_case(decoder: LinesDecoder) -> DecoderCase:
    return DecoderCase(decoder, good=b"a,1\nb,2\n", bad=b"a,1\nb,x\nc,3\n", bad_ordinal=1, records=3)


DECODER_TESTS = [name for name in dir(DecoderContract) if name.startswith("test_")]


@pytest.mark.parametrize("test", DECODER_TESTS)
def test_decoder_suite_passes_for_a_correct_decoder(test: str) -> None:
    _run(DecoderContract(), test, _decoder_case(LinesDecoder()))


@pytest.mark.parametrize(
    ("broken", "test", "exception", "message"),
    [
        (StopsAtBadRecord, "test_bad_record_is_a_located_failure_and_the_rest_goes_on", RecordInvalid, "qty"),
        (UnlocatedFailure, "test_bad_record_is_a_located_failure_and_the_rest_goes_on", AssertionError, "says where"),
        (Nondeterministic, "test_same_bytes_same_records", AssertionError, "different records"),
        (AcceptsEmpty, "test_empty_input", AssertionError, "silently accepted"),
    ],
)
def test_decoder_suite_fails_for_a_broken_decoder(
    broken: type[LinesDecoder], test: str, exception: type[Exception], message: str
) -> None:
    with pytest.raises(exception, match=message):
        _run(DecoderContract(), test, _decoder_case(broken()))


class LinesEncoder:
    """Renders an Item as ``name,qty``; the broken ones stamp each call or lose the quantity."""

    def __init__(self, mode: str = "") -> None:
        self.mode = mode
        self.calls = itertools.count()

    def encode(self, record: BaseModel, context: EncodeContext) -> Encoded:
        assert isinstance(record, Item)
        qty = 0 if self.mode == "lossy" else record.qty
        stamp = f",{next(self.calls)}" if self.mode == "stamped" else ""
        return Encoded(f"{record.name},{qty}{stamp}".encode(), "text/csv")


def _encoder_case(encoder: LinesEncoder) -> EncoderCase:
    return EncoderCase(encoder, [Item(name="a", qty=1), Item(name="b", qty=2)], decoder=LinesDecoder())


ENCODER_TESTS = [name for name in dir(RoundTripEncoderContract) if name.startswith("test_")]


@pytest.mark.parametrize("test", ENCODER_TESTS)
def test_encoder_suite_passes_for_a_correct_encoder(test: str) -> None:
    _run(RoundTripEncoderContract(), test, _encoder_case(LinesEncoder()))


@pytest.mark.parametrize(
    ("mode", "test", "message"),
    [("stamped", "test_same_record_same_bytes", "encoded differently"), ("lossy", "test_round_trip", "changed")],
)
def test_encoder_suite_fails_for_a_broken_encoder(mode: str, test: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        _run(RoundTripEncoderContract(), test, _encoder_case(LinesEncoder(mode)))
