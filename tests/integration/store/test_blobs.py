"""The blob store (the bytes of forwarded batches): chunked, compressed, sealed, read back exactly, pruned."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.blobs import CHUNK, GROUP, BlobMissing
from bridge.store.ledger import Ledger
from bridge.store.sealing import KeyRing, Protection, SealedDataUnavailable, new_key

BLOB = "00000000-0000-0000-0000-00000000b10b"
CLEAR = b"TAX-ID-DE123456789"


def mixed(size: int) -> bytes:
    """Bytes that are partly incompressible (random) and partly repetitive, so both chunk packings occur."""
    half = size // 2
    return os.urandom(half) + (CLEAR + b" invoice line\n") * ((size - half) // 32 + 1)


def test_a_blob_over_many_chunks_reads_back_byte_for_byte(ledger: Ledger) -> None:
    """A blob longer than one transaction's group of chunks is stored whole and streamed back exactly."""
    data = mixed((GROUP + 2) * CHUNK + 12345)[: (GROUP + 2) * CHUNK + 12345]
    info = ledger.store_blob("customers", BLOB, io.BytesIO(data))
    assert (info.size, info.chunks, info.complete) == (len(data), GROUP + 3, True)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    with ledger.open_blob(BLOB) as stream:
        pieces = iter(lambda: stream.read(300_000), b"")
        assert b"".join(pieces) == data
    assert ledger.blob_bytes() < len(data), "the repetitive half is stored compressed"


def test_a_complete_blob_is_not_written_again(ledger: Ledger) -> None:
    """Storing the same id twice (a re-read batch) keeps the first blob and reads nothing of the stream."""
    ledger.store_blob("customers", BLOB, io.BytesIO(b"first"))

    class Unread(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the stream of a blob already stored was read")

    assert ledger.store_blob("customers", BLOB, Unread()).size == 5
    with ledger.open_blob(BLOB) as stream:
        assert stream.read() == b"first"


def test_an_incomplete_blob_is_written_again_from_the_start(ledger: Ledger) -> None:
    """A blob a crash left incomplete is not readable, and the next store rewrites it whole."""
    ledger.store_blob("customers", BLOB, io.BytesIO(b"x" * 10))
    with ledger.engine.begin() as conn:
        conn.execute(update(t.blobs).values(complete=False))
    with pytest.raises(BlobMissing):
        ledger.open_blob(BLOB)
    ledger.store_blob("customers", BLOB, io.BytesIO(b"whole"))
    with ledger.open_blob(BLOB) as stream:
        assert stream.read() == b"whole"


def test_a_missing_chunk_is_an_error_never_a_short_file(ledger: Ledger) -> None:
    """Reading a blob whose chunk went missing raises instead of handing out fewer bytes."""
    ledger.store_blob("customers", BLOB, io.BytesIO(os.urandom(2 * CHUNK + 1)))
    with ledger.engine.begin() as conn:
        conn.execute(t.blob_chunks.delete().where(t.blob_chunks.c.seq == 1))
    with ledger.open_blob(BLOB) as stream, pytest.raises(BlobMissing, match="chunk 1 of 3 is missing"):
        stream.read()


def test_a_sensitive_interface_blob_is_sealed_and_opens_with_the_key(store_url: str, clock: SimulatedClock) -> None:
    """For an interface with sensitive fields every chunk is sealed: no clear bytes in the table, the key opens it."""
    from bridge.store.ledger import open_ledger

    ring = KeyRing.parse(new_key("k1"))
    data = (CLEAR + b"\n") * 100_000
    with open_ledger(store_url, clock, protection=Protection(ring, ["customers"])) as sealed:
        sealed.store_blob("customers", BLOB, io.BytesIO(data))
        with sealed.engine.connect() as conn:
            stored = [bytes(r[0]) for r in conn.execute(select(t.blob_chunks.c.data))]
        assert stored and all(CLEAR not in s for s in stored)
        with sealed.open_blob(BLOB) as stream:
            assert stream.read() == data
    with (
        open_ledger(store_url, clock) as keyless,
        keyless.open_blob(BLOB) as stream,
        pytest.raises(SealedDataUnavailable, match="ESB_BRIDGE_DATA_KEY"),
    ):
        stream.read()


def test_prune_drops_orphan_blobs_and_keeps_a_waiting_one(ledger: Ledger, clock: SimulatedClock) -> None:
    """A blob whose message never got recorded is dropped by prune once old enough; a young one stays."""
    ledger.store_blob("customers", BLOB, io.BytesIO(b"orphan"))
    young = ledger.prune_payloads(clock.now() - timedelta(days=1))
    assert (young.blobs, ledger.blob_info(BLOB) is not None) == (0, True)
    clock.advance(timedelta(days=2).total_seconds())
    would = ledger.prune_payloads(clock.now() - timedelta(days=1), dry_run=True)
    assert (would.blobs, would.blob_bytes > 0, ledger.blob_info(BLOB) is not None) == (1, True, True)
    done = ledger.prune_payloads(clock.now() - timedelta(days=1))
    assert (done.blobs, ledger.blob_info(BLOB)) == (1, None)


def test_rekey_moves_blob_chunks_to_the_current_key(store_url: str, clock: SimulatedClock) -> None:
    """``ledger rekey`` seals clear chunks of a sensitive interface and re-seals old-key chunks; the blob then
    opens with the new key alone."""
    from bridge.store.ledger import open_ledger
    from bridge.store.rekey import rekey

    old, new = new_key("old"), new_key("new")
    data = os.urandom(CHUNK) + (CLEAR + b"\n") * 1000
    with open_ledger(store_url, clock) as clear:  # stored before a key was set: in clear
        clear.store_blob("customers", BLOB, io.BytesIO(data))
    with open_ledger(store_url, clock, protection=Protection(KeyRing.parse(old), ["customers"])) as led:
        led.store_blob("customers", "b2", io.BytesIO(data))
    ring = KeyRing.parse(f"{new},{old}")
    with open_ledger(store_url, clock, protection=Protection(ring, ["customers"])) as led:
        stats = rekey(led)
        assert (stats.sealed.get("blob_chunks"), stats.resealed.get("blob_chunks")) == (2, 2)
    with open_ledger(store_url, clock, protection=Protection(KeyRing.parse(new), ["customers"])) as led:
        for blob in (BLOB, "b2"):
            with led.open_blob(blob) as stream:
                assert stream.read() == data
        with led.engine.connect() as conn:
            assert all(CLEAR not in bytes(d) for d in conn.scalars(select(t.blob_chunks.c.data)))
