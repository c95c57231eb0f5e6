"""Protection at rest: the ledger's stored bytes of interfaces with sensitive fields, sealed with AES-GCM.

Why whole blobs, not fields: what the ledger keeps of a record is bytes (the canonical JSON payload, the
bytes a sink was handed, a target's response, an observation's body, a dead letter's fragment or a kept feed
page). Only the first has a field structure the store could walk; a CSV fragment, an XML response or a
base64 page has none. Sealing the whole blob of an interface that declares ``compare.sensitive`` fields
covers all of them with one AES-GCM call per blob; comparisons never needed the stored bytes to be readable
in SQL, and equality is kept by keyed hashes (:mod:`bridge.canonical.content`, ``keyed_content_hash``).

Format of a sealed blob: ``MAGIC`` (``\\x89ESB``: a byte no UTF-8 text, JSON, XML or zlib stream starts
with), a format byte, the key id's length and the key id (ASCII), a 12-byte random nonce, then the AES-GCM
ciphertext and tag; the header is the associated data, so a key id cannot be swapped. Text columns
(``dead_letters.fragment``) hold ``TEXT_PREFIX`` + the blob in base64. A blob is opened with the key its id
names, so a ring of the current key and old ones reads everything while ``ledger rekey`` moves rows to the
current key.

Keys come only from the environment (``ESB_BRIDGE_DATA_KEY``; parsed by :meth:`KeyRing.parse`, never from
a file or the config). This module reads no environment itself: ``bridge.config.protection`` does.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bridge.ports import ConfigError

__all__ = [
    "MAGIC",
    "OFF",
    "TEXT_PREFIX",
    "KeyRing",
    "Protection",
    "SealedDataUnavailable",
    "is_sealed",
    "key_id_of",
    "new_key",
]

MAGIC = b"\x89ESB"
_FORMAT = 1
_NONCE = 12
TEXT_PREFIX = "esb-sealed:"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")

Seal = Callable[[bytes], bytes]


class SealedDataUnavailable(ConfigError):
    """A stored blob is sealed with a key this process does not have (``ESB_BRIDGE_DATA_KEY`` unset or rotated
    past it): it is not handed out in clear, and nothing is delivered from it."""


def is_sealed(blob: bytes | None) -> bool:
    """Whether ``blob`` is a sealed blob (by its header)."""
    return blob is not None and blob[:4] == MAGIC


def key_id_of(blob: bytes) -> str:
    """The id of the key a sealed blob was sealed with."""
    n = blob[5]
    return blob[6 : 6 + n].decode("ascii")


def new_key(key_id: str) -> str:
    """A fresh key entry for ``ESB_BRIDGE_DATA_KEY``: ``id:`` + 32 random bytes in base64."""
    if not _KEY_ID.match(key_id):
        raise ConfigError(f"key id {key_id!r}: 1-32 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


@dataclass(frozen=True)
class KeyRing:
    """The current data key (seals) and every key that may open (current first, then old ones)."""

    current: str
    keys: dict[str, AESGCM] = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """``id:base64key[,id:base64key...]``; the first entry is the current key, the others only open."""
        keys: dict[str, AESGCM] = {}
        order: list[str] = []
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise ConfigError("ESB_BRIDGE_DATA_KEY: each entry is id:base64key (id: letters, digits, . _ -)")
            try:
                secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError) as exc:
                raise ConfigError(f"ESB_BRIDGE_DATA_KEY: key {key_id} is not base64") from exc
            if len(secret) not in (16, 24, 32):
                raise ConfigError(f"ESB_BRIDGE_DATA_KEY: key {key_id} must be 16, 24 or 32 bytes (32 recommended)")
            if key_id in keys:
                raise ConfigError(f"ESB_BRIDGE_DATA_KEY: key id {key_id} appears twice")
            keys[key_id] = AESGCM(secret)
            order.append(key_id)
        if not order:
            raise ConfigError("ESB_BRIDGE_DATA_KEY is empty")
        return cls(order[0], keys)

    def seal(self, data: bytes) -> bytes:
        """``data`` sealed with the current key (one AES-GCM call)."""
        kid = self.current.encode("ascii")
        header = MAGIC + bytes((_FORMAT, len(kid))) + kid
        nonce = os.urandom(_NONCE)
        return header + nonce + self.keys[self.current].encrypt(nonce, data, header)

    def open(self, blob: bytes) -> bytes:
        """The bytes a sealed blob holds; raises :class:`SealedDataUnavailable` without its key."""
        if blob[4] != _FORMAT:
            raise SealedDataUnavailable(f"sealed blob of unknown format {blob[4]}")
        kid = key_id_of(blob)
        aead = self.keys.get(kid)
        if aead is None:
            raise SealedDataUnavailable(f"stored data is sealed with key {kid!r}, which ESB_BRIDGE_DATA_KEY lacks")
        start = 6 + len(kid)
        try:
            return aead.decrypt(blob[start : start + _NONCE], blob[start + _NONCE :], blob[:start])
        except InvalidTag as exc:
            raise SealedDataUnavailable(
                f"stored data sealed with key {kid!r} does not open: wrong key or damaged"
            ) from exc


class Protection:
    """Which interfaces' stored bytes are sealed, and the key ring that seals and opens them.

    ``seals(interface)`` is a set lookup: an interface without sensitive fields pays nothing else. Opening
    needs no config: a blob says by its header whether it is sealed, so old clear rows and sealed rows mix.
    """

    def __init__(
        self, ring: KeyRing | None = None, sensitive: Iterable[str] = (), hash_key: bytes | None = None
    ) -> None:
        self.ring = ring
        #: interfaces that declare sensitive fields
        self.sensitive: frozenset[str] = frozenset(sensitive)
        #: interfaces whose new blobs are sealed (the sensitive ones, when a data key is configured)
        self.sealed: frozenset[str] = self.sensitive if ring is not None else frozenset()
        self._hash_key = hash_key

    def hash_key_for(self, interface: str) -> bytes | None:
        """The HMAC key of ``interface``'s content hashes (None: plain SHA-256, no sensitive fields or no key)."""
        return self._hash_key if interface in self.sensitive else None

    def seals(self, interface: str) -> bool:
        return interface in self.sealed

    def sealer(self, interface: str) -> Seal | None:
        """The seal function for ``interface``'s new blobs, or None when they are stored as they are."""
        return self.ring.seal if self.ring is not None and interface in self.sealed else None

    def seal(self, interface: str, data: bytes | None) -> bytes | None:
        """``data`` as stored for ``interface``."""
        if data is None or self.ring is None or interface not in self.sealed:
            return data
        return self.ring.seal(data)

    def seal_text(self, interface: str, text: str) -> str:
        """A text column's value as stored for ``interface`` (sealed: prefix + base64 of the blob)."""
        if not text or self.ring is None or interface not in self.sealed:
            return text
        return TEXT_PREFIX + base64.b64encode(self.ring.seal(text.encode())).decode("ascii")

    def open(self, blob: bytes | None) -> bytes | None:
        """The stored bytes in clear (a blob that is not sealed is returned as it is)."""
        if blob is None or blob[:4] != MAGIC:
            return blob
        if self.ring is None:
            raise SealedDataUnavailable(
                f"stored data is sealed with key {key_id_of(blob)!r} and ESB_BRIDGE_DATA_KEY is not set"
            )
        return self.ring.open(blob)

    def open_blob(self, blob: bytes) -> bytes:
        """:meth:`open` of a blob that is there (the ``open_`` of :mod:`bridge.store.packing`)."""
        opened = self.open(blob)
        assert opened is not None
        return opened

    def open_text(self, text: str | None) -> str | None:
        """A text column's value in clear."""
        if not text or not text.startswith(TEXT_PREFIX):
            return text
        blob = self.open(base64.b64decode(text[len(TEXT_PREFIX) :]))
        return None if blob is None else blob.decode()


#: No key: nothing is sealed; a sealed blob does not open.
OFF = Protection()
