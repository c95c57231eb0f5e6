"""The sealing of stored bytes: format, key ring, rotation, tampering, and the packings that carry it."""

from __future__ import annotations

import pytest

from bridge.ports import ConfigError
from bridge.store.packing import (
    SEALED,
    PayloadPacking,
    SentPacking,
    pack_payload,
    pack_sent,
    unpack_payload,
    unpack_sent,
)
from bridge.store.sealing import (
    MAGIC,
    OFF,
    KeyRing,
    Protection,
    SealedDataUnavailable,
    is_sealed,
    key_id_of,
    new_key,
)

K1, K2 = new_key("k1"), new_key("k2")
TEXT = '{"email": "ap1@example.com"}'


def test_a_sealed_blob_names_its_key_and_hides_its_bytes() -> None:
    """The header carries the key id; the plain bytes are not in the blob; two seals differ (random nonce)."""
    ring = KeyRing.parse(K1)
    a, b = ring.seal(TEXT.encode()), ring.seal(TEXT.encode())
    assert is_sealed(a) and a.startswith(MAGIC) and key_id_of(a) == "k1"
    assert b"example.com" not in a and a != b
    assert ring.open(a) == TEXT.encode()


def test_the_ring_opens_old_keys_and_seals_with_the_first() -> None:
    """``k2,k1``: k1's blobs open, new blobs are k2's; a ring without k1 refuses k1's blobs by name."""
    old = KeyRing.parse(K1).seal(b"x")
    ring = KeyRing.parse(f"{K2}, {K1}")
    assert ring.open(old) == b"x" and key_id_of(ring.seal(b"y")) == "k2"
    with pytest.raises(SealedDataUnavailable, match="'k1'"):
        KeyRing.parse(K2).open(old)


def test_a_changed_byte_or_a_swapped_key_id_does_not_open() -> None:
    """AES-GCM authenticates the ciphertext and the header (key id) alike."""
    ring = KeyRing.parse(f"{K1},{K2}")
    blob = bytearray(ring.seal(b"secret"))
    blob[-1] ^= 1
    with pytest.raises(SealedDataUnavailable, match="does not open"):
        ring.open(bytes(blob))
    other = KeyRing.parse(f"{new_key('k1')},{K2}")  # same id, another key
    with pytest.raises(SealedDataUnavailable):
        other.open(ring.seal(b"secret"))


@pytest.mark.parametrize("bad", ["", "nokey", "k1:", "k1:AAAA", "k 1:" + K1[3:], f"{K1},{K1}", "k1:***"])
def test_malformed_rings_are_refused(bad: str) -> None:
    """An empty ring, a missing id or key, a short key, a bad id or a repeated id is a config error."""
    with pytest.raises(ConfigError):
        KeyRing.parse(bad)


def test_protection_seals_only_sensitive_interfaces_and_opens_any_sealed_blob() -> None:
    """Blobs of other interfaces stay as they are; text columns carry a prefix; OFF refuses sealed blobs."""
    p = Protection(KeyRing.parse(K1), ["crm"])
    assert p.seal("other", b"plain") == b"plain" and p.sealer("other") is None
    sealed = p.seal("crm", b"plain")
    assert sealed is not None and is_sealed(sealed) and p.open(sealed) == b"plain"
    text = p.seal_text("crm", TEXT)
    assert text.startswith("esb-sealed:") and "example" not in text and p.open_text(text) == TEXT
    assert p.open(b"clear bytes") == b"clear bytes" and OFF.open_text("clear") == "clear"
    with pytest.raises(SealedDataUnavailable, match="not set"):
        OFF.open(sealed)
    assert Protection(None, ["crm"]).sealer("crm") is None  # no key: nothing sealed


@pytest.mark.parametrize("text", [TEXT, TEXT * 40])
def test_payload_packing_seals_after_compressing(text: str) -> None:
    """Small and large payloads: sealed into payload_z with SEALED added; large ones compressed inside the seal."""
    ring = KeyRing.parse(K1)
    payload, payload_z, packing = pack_payload(text, ring.seal)
    assert payload == "" and payload_z is not None and packing & SEALED
    base = packing & ~SEALED
    assert base == (PayloadPacking.ZSTD_D1 if len(text) >= 256 else PayloadPacking.TEXT)
    if base == PayloadPacking.ZSTD_D1:  # the sealed bytes are the compressed ones
        assert unpack_payload("m", "", ring.open(payload_z), base) == text
    assert unpack_payload("m", payload, payload_z, packing, ring.open) == text
    with pytest.raises(SealedDataUnavailable):
        unpack_payload("m", payload, payload_z, packing)


def test_sent_packing_seals_every_stored_form() -> None:
    """Raw, delta and zlib sent bytes are sealed; bytes equal to the payload are still not stored at all."""
    ring = KeyRing.parse(K1)
    payload = TEXT * 20
    assert pack_sent(payload.encode(), payload, ring.seal) == (None, SentPacking.AS_PAYLOAD)
    for sent in (b"short", (TEXT * 21).encode()):
        stored, packing = pack_sent(sent, payload, ring.seal)
        assert stored is not None and is_sealed(stored) and packing & SEALED
        assert unpack_sent(stored, packing, payload, ring.open) == sent
