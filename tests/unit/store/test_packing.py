"""How payloads are packed: the frozen dictionary, round trips of every packing, and what is written now."""

from __future__ import annotations

import hashlib
import threading
import zlib

import pytest

from bridge.store.packing import (
    COMPRESS_FROM,
    PayloadPacking,
    PayloadPruned,
    SentPacking,
    pack_payload,
    pack_sent,
    unpack_payload,
    unpack_sent,
)
from bridge.store.payload_dictionary import DICTIONARY_1, DICTIONARY_1_SHA256

#: Written into ledgers since 2026-12: if this changes, every ZSTD_D1 payload ever stored is unreadable.
FROZEN = "f44549a1d5b6490439f8bf4bebf44da66ba9a2bfad552724c91ad56fd7163e0e"

INVOICE = (
    '{"currency":"EUR","customer_id":"C0001","due_date":"2024-04-14","invoice_number":"INV-7","issue_date":'
    '"2024-03-15","kind":"invoice","lines":[' + ",".join(
        f'{{"description":"Article {i}","line_extension_amount":"{i}.00","line_id":"{i}","quantity":"1",'
        f'"tax_category":"S","tax_rate":"19","unit_price":"{i}.00"}}'
        for i in range(1, 6)
    ) + '],"payable_amount":"17.85","schema_version":"1.0"}'
)


def test_dictionary_1_is_frozen() -> None:
    assert DICTIONARY_1_SHA256 == FROZEN
    assert hashlib.sha256(DICTIONARY_1).hexdigest() == FROZEN


def test_a_large_payload_is_written_with_zstd_and_dictionary_1_and_reads_back() -> None:
    payload, z, packing = pack_payload(INVOICE)
    assert (payload, packing) == ("", PayloadPacking.ZSTD_D1) and z is not None
    assert len(z) < len(zlib.compress(INVOICE.encode(), 1)), "the dictionary should beat plain zlib"
    assert unpack_payload("m", payload, z, packing) == INVOICE


def test_small_payloads_stay_text() -> None:
    small = INVOICE[: COMPRESS_FROM - 1]
    assert pack_payload(small) == (small, None, PayloadPacking.TEXT)
    assert unpack_payload("m", small, None, PayloadPacking.TEXT) == small


def test_rows_written_before_stay_readable() -> None:
    assert unpack_payload("m", "", zlib.compress(INVOICE.encode(), 1), PayloadPacking.ZLIB) == INVOICE
    assert unpack_payload("m", INVOICE, None, PayloadPacking.TEXT) == INVOICE


def test_a_pruned_payload_raises_instead_of_reading_empty() -> None:
    with pytest.raises(PayloadPruned):
        unpack_payload("m", "", None, PayloadPacking.PRUNED)


def test_sent_bytes_equal_to_the_payload_are_not_stored_again() -> None:
    assert pack_sent(INVOICE.encode(), INVOICE) == (None, SentPacking.AS_PAYLOAD)
    other = INVOICE.replace("EUR", "USD").encode()
    packed, packing = pack_sent(other, INVOICE)
    assert packing == SentPacking.DELTA and packed is not None and len(packed) < 100
    assert unpack_sent(packed, packing, INVOICE) == other


def test_threads_pack_and_unpack_at_once() -> None:
    """Each thread has its own zstd contexts (they are not thread-safe): many at once round-trip."""
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(200):
            text = INVOICE.replace("INV-7", f"INV-{n}-{i}")
            if unpack_payload("m", *pack_payload(text)) != text:
                errors.append(f"{n}/{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
