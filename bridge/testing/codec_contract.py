"""Contract suites of the :class:`~bridge.ports.Decoder` and :class:`~bridge.ports.Encoder` ports.

Why: message ids and comparisons rest on decoders and encoders being pure functions of their input (the
same bytes give the same records, a record gives the same bytes), and the dead-letter queue rests on a bad
record being a located failure that does not stop its batch. Each suite checks that for one adapter,
with inputs the adapter's test supplies; no peer is needed.

Use: subclass :class:`DecoderContract` / :class:`EncoderContract` (name it ``Test...``) and provide a
fixture ``decoder_case`` returning a :class:`DecoderCase` / ``encoder_case`` returning an :class:`EncoderCase`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bridge.canonical import canonical_json
from bridge.ports import (
    DecodedRecord,
    DecodeError,
    Decoder,
    EncodeContext,
    Encoder,
    Envelope,
    IdentityRule,
    PathName,
    Record,
    RecordFailure,
    StoredEncoder,
)

__all__ = [
    "DecoderCase",
    "DecoderContract",
    "EncoderCase",
    "EncoderContract",
    "RoundTripEncoderContract",
    "StoredEncoderContract",
    "envelope_of",
]


def envelope_of(body: bytes, *, media_type: str = "application/octet-stream", origin: str = "contract") -> Envelope:
    """An envelope over ``body`` as a file source would hand it on."""
    return Envelope(
        interface="contract",
        batch_id="contract-batch",
        origin=origin,
        identity_rule=IdentityRule.FILE,
        identity="contract",
        received_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        transaction_id="contract-tx",
        body=body,
        media_type=media_type,
        size=len(body),
    )


@dataclass(frozen=True)
class DecoderCase:
    """What the decoder suite needs: a decoder and three inputs.

    ``good`` holds valid records (two or more where the format holds several); ``bad`` holds ``records``
    records of which the one at ``bad_ordinal`` is invalid (the others valid); ``empty`` is the format's empty
    input and ``empty_is_error`` says whether the decoder must refuse it (a DecodeError) rather than yield
    nothing.
    """

    decoder: Decoder
    good: bytes
    bad: bytes
    bad_ordinal: int
    records: int
    empty: bytes = b""
    empty_is_error: bool = True
    media_type: str = "application/octet-stream"


def _split(items: Iterable[DecodedRecord | RecordFailure]) -> tuple[list[DecodedRecord], list[RecordFailure]]:
    ok: list[DecodedRecord] = []
    failed: list[RecordFailure] = []
    for item in items:
        if isinstance(item, DecodedRecord):
            ok.append(item)
        else:
            failed.append(item)
    return ok, failed


def _plain(records: Sequence[DecodedRecord]) -> list[tuple[int, Any, str | None]]:
    return [(r.ordinal, r.record.model_dump(mode="json"), r.version) for r in records]


class DecoderContract:
    """Behaviour every decoder must show. Needs a ``decoder_case`` fixture."""

    def test_same_bytes_same_records(self, decoder_case: DecoderCase) -> None:
        """Decoding is deterministic: the same input twice gives equal records, ordinals 0, 1, 2, ..."""
        case = decoder_case
        first, failed = _split(case.decoder.decode(envelope_of(case.good, media_type=case.media_type)))
        assert failed == [], f"the good input has failures: {[str(f.error) for f in failed]}"
        assert first, "the good input must hold records"
        assert [r.ordinal for r in first] == list(range(len(first))), "ordinals are not 0, 1, 2, ..."
        second, _ = _split(case.decoder.decode(envelope_of(case.good, media_type=case.media_type)))
        assert _plain(second) == _plain(first), "the same input decoded to different records"
        assert [r.location for r in second] == [r.location for r in first], "locations differ between runs"

    def test_bad_record_is_a_located_failure_and_the_rest_goes_on(self, decoder_case: DecoderCase) -> None:
        """One invalid record is yielded as a RecordFailure with its location; every other record decodes."""
        case = decoder_case
        items = list(case.decoder.decode(envelope_of(case.bad, media_type=case.media_type)))
        assert [i.ordinal for i in items] == list(range(case.records)), "one item per record, in order"
        ok, failed = _split(items)
        assert [f.ordinal for f in failed] == [case.bad_ordinal], f"failures: {[str(f.error) for f in failed]}"
        assert failed[0].error.location is not None, "a record failure says where"
        assert len(ok) == case.records - 1, "the records around the bad one did not all decode"

    def test_empty_input(self, decoder_case: DecoderCase) -> None:
        """Empty input is refused with a located DecodeError where the format has no empty form; otherwise it
        decodes to no records, without an error."""
        case = decoder_case
        try:
            items = list(case.decoder.decode(envelope_of(case.empty, media_type=case.media_type)))
        except DecodeError as exc:
            assert case.empty_is_error, f"empty input refused, but the case says it is valid: {exc}"
            return
        assert not case.empty_is_error, f"empty input silently accepted ({len(items)} items)"
        assert items == [], f"empty input decoded to {len(items)} items"


@dataclass(frozen=True)
class EncoderCase:
    """What the encoder suite needs: an encoder, records it can render and, for round trips, a decoder of the
    same mapping (or ``None`` when the encoder's output is not meant to be read back)."""

    encoder: Encoder
    records: Sequence[Record]
    decoder: Decoder | None = None
    media_type: str | None = None
    context: EncodeContext = field(
        default_factory=lambda: EncodeContext(
            interface="contract",
            message_id=UUID("00000000-0000-4000-8000-000000000001"),
            business_key="contract",
            path=PathName.LEGACY,
        )
    )


class EncoderContract:
    """Behaviour every encoder must show. Needs an ``encoder_case`` fixture."""

    def test_same_record_same_bytes(self, encoder_case: EncoderCase) -> None:
        """Encoding is deterministic, names its media type, and different records give different bytes."""
        case = encoder_case
        assert len(case.records) >= 2, "the case must hold at least two different records"
        bodies = []
        for record in case.records:
            first, second = case.encoder.encode(record, case.context), case.encoder.encode(record, case.context)
            same = (first.body, first.media_type, first.name) == (second.body, second.media_type, second.name)
            assert same, f"the same record encoded differently: {first.body[:80]!r} / {second.body[:80]!r}"
            assert first.body and first.media_type, "an encoding has a body and a media type"
            if case.media_type is not None:
                assert first.media_type == case.media_type, f"media type {first.media_type!r}"
            bodies.append(first.body)
        assert len(set(bodies)) == len(bodies), "different records rendered to the same bytes"


class StoredEncoderContract:
    """For an encoder that is a :class:`~bridge.ports.StoredEncoder`: add it beside its encoder contract."""

    def test_stored_encoding_matches(self, encoder_case: EncoderCase) -> None:
        """From the stored canonical JSON the encoder gives exactly what it gives from the record (or ``None``,
        for a record it must load); at least one record of the case is encoded from its stored form."""
        case = encoder_case
        assert isinstance(case.encoder, StoredEncoder), "the case's encoder must be a StoredEncoder"
        used = 0
        for record in case.records:
            stored = case.encoder.encode_stored(canonical_json(record).decode(), case.context)
            if stored is None:
                continue
            used += 1
            direct = case.encoder.encode(record, case.context)
            got, want = (stored.body, stored.media_type, stored.name), (direct.body, direct.media_type, direct.name)
            assert got == want, f"encode_stored gave {stored.body[:80]!r}, encode {direct.body[:80]!r}"
        assert used, "encode_stored declined every record of the case"


class RoundTripEncoderContract(EncoderContract):
    """An encoder whose output a decoder of the same mapping reads back: the suite adds the round trip.

    An encoder whose output nothing decodes again (a legacy format rendered by a stylesheet) runs
    :class:`EncoderContract` only, so no test is skipped.
    """

    def test_round_trip(self, encoder_case: EncoderCase) -> None:
        """Encoded bytes decode (through the same mapping) to the record that was encoded."""
        case = encoder_case
        assert case.decoder is not None, "a round-trip case names the decoder of the same mapping"
        for record in case.records:
            encoded = case.encoder.encode(record, case.context)
            ok, failed = _split(case.decoder.decode(envelope_of(encoded.body, media_type=encoded.media_type)))
            assert failed == [], f"the encoded record does not decode: {[str(f.error) for f in failed]}"
            back = [r.record.model_dump(mode="json") for r in ok]
            assert back == [record.model_dump(mode="json")], f"round trip changed the record: {back}"
