"""How payload bytes are kept in the ledger: once, compressed where large, and prunable.

Why: the ledger used to hold every record's canonical JSON twice (``messages.payload`` and, as the bytes the
sink was handed, ``deliveries.sent``, usually the very same bytes for a ``json`` encoder), uncompressed: six
times the input size. Now

* ``messages.packing`` says where a message's payload is: ``TEXT`` (0, every row written before migration
  0006) in ``messages.payload``; ``ZLIB`` in ``messages.payload_z`` (zlib level 1, written until 2026-12:
  about a third of the JSON, ~45 us a record, most of it setting up deflate's state); ``ZSTD_D1`` in
  ``messages.payload_z`` (zstd level 3 with the frozen preset dictionary of
  :mod:`bridge.store.payload_dictionary`: about a sixth, ~7 us, the form written now); ``PRUNED``: dropped
  by ``ledger prune``, only ids, states and hashes remain;
* ``deliveries.sent_packing`` says where the sent bytes are: ``RAW`` (0, old rows) in ``deliveries.sent``;
  ``ZLIB`` compressed there; ``AS_PAYLOAD``: equal to the message's payload, so not stored again; ``DELTA``:
  zlib with the message's payload as the preset dictionary (an encoder that writes the same fields in another
  order or shape: 2 KB of invoice JSON become about 200 bytes); ``PRUNED``.

Sealed (issue 17, :mod:`bridge.store.sealing`): for an interface with sensitive fields, ``SEALED`` is added to
either packing and the bytes that would be stored (zlib or plain; the payload then goes to ``payload_z``) are
sealed with AES-GCM after compression, one call per blob. ``AS_PAYLOAD`` stores nothing, so it stays as it is.

Reading and writing these columns happens only inside ``bridge.store``: callers see the plain payload text
and sent bytes through the ledger's methods. A payload that is asked for after pruning raises
:class:`PayloadPruned` instead of handing out an empty body.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from typing import Final

import zstandard

from bridge.ports import ConfigError
from bridge.store.payload_dictionary import DICTIONARY_1
from bridge.store.sealing import OFF

__all__ = [
    "COMPRESS_FROM",
    "NEEDS_PAYLOAD",
    "SEALED",
    "PayloadPacking",
    "PayloadPruned",
    "SentPacking",
    "pack_payload",
    "pack_sent",
    "unpack_payload",
    "unpack_sent",
]

#: Bodies shorter than this are stored as they are: zlib's header and Huffman tables cost more than it saves.
COMPRESS_FROM = 256
_LEVEL = 1
_DELTA_LEVEL = 6


class PayloadPacking:
    """Values of ``messages.packing`` (plain ints: they are bound as SQL parameters as they are)."""

    TEXT: Final = 0
    ZLIB: Final = 1
    ZSTD_D1: Final = 2
    PRUNED: Final = 4


class SentPacking:
    """Values of ``deliveries.sent_packing``."""

    RAW: Final = 0
    ZLIB: Final = 1
    AS_PAYLOAD: Final = 2
    DELTA: Final = 3
    PRUNED: Final = 4


#: Added to a payload or sent packing whose stored bytes are sealed (``packing & ~SEALED`` is the rest).
SEALED: Final = 8

#: Sent packings that are read with the message's payload.
NEEDS_PAYLOAD: Final = (
    SentPacking.AS_PAYLOAD,
    SentPacking.DELTA,
    SentPacking.AS_PAYLOAD | SEALED,
    SentPacking.DELTA | SEALED,
)

Seal = Callable[[bytes], bytes]
Open = Callable[[bytes], bytes]


def _no_key(data: bytes) -> bytes:
    opened = OFF.open(data)  # raises SealedDataUnavailable for a sealed blob
    assert opened is not None
    return opened


class PayloadPruned(ConfigError):
    """The payload of this message was dropped by ``ledger prune``: it cannot be delivered or replayed again."""


_ZSTD_LEVEL = 3
_DICT_1 = zstandard.ZstdCompressionDict(DICTIONARY_1, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
_DICT_1.precompute_compress(level=_ZSTD_LEVEL)
_local = threading.local()  # zstd (de)compressors are reused (that is what makes them fast) but not shared


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    pair: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(_local, "zstd", None)
    if pair is None:
        # No checksum or dictionary id in each frame: the packing value names the dictionary, and the row's
        # bytes are the ledger database's to protect. The content size stays (it sizes the output buffer).
        pair = (
            zstandard.ZstdCompressor(level=_ZSTD_LEVEL, dict_data=_DICT_1, write_checksum=False, write_dict_id=False),
            zstandard.ZstdDecompressor(dict_data=_DICT_1),
        )
        _local.zstd = pair
    return pair


def pack_payload(text: str, seal: Seal | None = None) -> tuple[str, bytes | None, int]:
    """(``payload``, ``payload_z``, ``packing``) column values for a payload (``seal``: sealed, in payload_z)."""
    if len(text) < COMPRESS_FROM:
        if seal is not None:
            return "", seal(text.encode()), PayloadPacking.TEXT | SEALED
        return text, None, PayloadPacking.TEXT
    packed = _zstd()[0].compress(text.encode())
    if seal is not None:
        return "", seal(packed), PayloadPacking.ZSTD_D1 | SEALED
    return "", packed, PayloadPacking.ZSTD_D1


def unpack_payload(
    message_id: str, payload: str, payload_z: bytes | None, packing: int | None, open_: Open = _no_key
) -> str:
    """The payload text from its columns; raises :class:`PayloadPruned` if it was pruned, and
    :class:`~bridge.store.sealing.SealedDataUnavailable` for a sealed one that ``open_`` cannot open."""
    if packing is not None and packing & SEALED and payload_z is not None:
        opened, base = open_(payload_z), packing & ~SEALED
        return opened.decode() if base == PayloadPacking.TEXT else unpack_payload(message_id, "", opened, base)
    if packing == PayloadPacking.ZSTD_D1 and payload_z is not None:
        return _zstd()[1].decompress(payload_z).decode()
    if packing == PayloadPacking.ZLIB and payload_z is not None:
        return zlib.decompress(payload_z).decode()
    if packing == PayloadPacking.PRUNED:
        raise PayloadPruned(f"message {message_id}: its payload was pruned (ledger prune); re-drop the input instead")
    return payload


def pack_sent(sent: bytes | None, payload: str, seal: Seal | None = None) -> tuple[bytes | None, int]:
    """(``sent``, ``sent_packing``) column values: a marker when the sink got exactly the stored payload."""
    if sent is None:
        return None, SentPacking.RAW
    if sent == payload.encode():
        return None, SentPacking.AS_PAYLOAD
    if seal is not None:
        packed, packing = pack_sent(sent, payload)
        assert packed is not None
        return seal(packed), packing | SEALED
    if len(sent) < COMPRESS_FROM:
        return sent, SentPacking.RAW
    if payload:
        # Deflate finds the payload's runs in the sent bytes: costs what level 1 costs, about a third of its size.
        co = zlib.compressobj(_DELTA_LEVEL, zdict=payload.encode())
        return co.compress(sent) + co.flush(), SentPacking.DELTA
    return zlib.compress(sent, _LEVEL), SentPacking.ZLIB


def unpack_sent(sent: bytes | None, packing: int | None, payload: str | None, open_: Open = _no_key) -> bytes | None:
    """The bytes the sink was handed (``payload``: the message's unpacked payload, for ``AS_PAYLOAD``/``DELTA``)."""
    if packing is not None and packing & SEALED:
        return None if sent is None else unpack_sent(open_(sent), packing & ~SEALED, payload)
    if packing == SentPacking.AS_PAYLOAD:
        return None if payload is None else payload.encode()
    if packing == SentPacking.ZLIB and sent is not None:
        return zlib.decompress(sent)
    if packing == SentPacking.DELTA and sent is not None:
        if payload is None:
            return None
        do = zlib.decompressobj(zdict=payload.encode())
        return do.decompress(sent) + do.flush()
    if packing == SentPacking.PRUNED:
        return None
    return sent
