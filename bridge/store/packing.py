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

Reading and writing these columns happens only inside ``bridge.store``: callers see the plain payload text
and sent bytes through the ledger's methods. A payload that is asked for after pruning raises
:class:`PayloadPruned` instead of handing out an empty body.
"""

from __future__ import annotations

import threading
import zlib
from typing import Final

import zstandard

from bridge.ports import ConfigError
from bridge.store.payload_dictionary import DICTIONARY_1

__all__ = [
    "COMPRESS_FROM",
    "NEEDS_PAYLOAD",
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


#: Sent packings that are read with the message's payload.
NEEDS_PAYLOAD: Final = (SentPacking.AS_PAYLOAD, SentPacking.DELTA)


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
            zstandard.ZstdCompressor(
                level=_ZSTD_LEVEL, dict_data=_DICT_1, write_checksum=False, write_dict_id=False
            ),
            zstandard.ZstdDecompressor(dict_data=_DICT_1),
        )
        _local.zstd = pair
    return pair


def pack_payload(text: str) -> tuple[str, bytes | None, int]:
    """(``payload``, ``payload_z``, ``packing``) column values for a payload."""
    if len(text) < COMPRESS_FROM:
        return text, None, PayloadPacking.TEXT
    return "", _zstd()[0].compress(text.encode()), PayloadPacking.ZSTD_D1


def unpack_payload(message_id: str, payload: str, payload_z: bytes | None, packing: int | None) -> str:
    """The payload text from its columns; raises :class:`PayloadPruned` if it was pruned."""
    if packing == PayloadPacking.ZSTD_D1 and payload_z is not None:
        return _zstd()[1].decompress(payload_z).decode()
    if packing == PayloadPacking.ZLIB and payload_z is not None:
        return zlib.decompress(payload_z).decode()
    if packing == PayloadPacking.PRUNED:
        raise PayloadPruned(f"message {message_id}: its payload was pruned (ledger prune); re-drop the input instead")
    return payload


def pack_sent(sent: bytes | None, payload: str) -> tuple[bytes | None, int]:
    """(``sent``, ``sent_packing``) column values: a marker when the sink got exactly the stored payload."""
    if sent is None:
        return None, SentPacking.RAW
    if sent == payload.encode():
        return None, SentPacking.AS_PAYLOAD
    if len(sent) < COMPRESS_FROM:
        return sent, SentPacking.RAW
    if payload:
        # Deflate finds the payload's runs in the sent bytes: costs what level 1 costs, about a third of its size.
        co = zlib.compressobj(_DELTA_LEVEL, zdict=payload.encode())
        return co.compress(sent) + co.flush(), SentPacking.DELTA
    return zlib.compress(sent, _LEVEL), SentPacking.ZLIB


def unpack_sent(sent: bytes | None, packing: int | None, payload: str | None) -> bytes | None:
    """The bytes the sink was handed (``payload``: the message's unpacked payload, for ``AS_PAYLOAD``/``DELTA``)."""
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
