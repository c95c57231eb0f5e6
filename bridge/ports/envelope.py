"""Envelopes, record identity and message ids: what a source hands to the pipeline.

A source moves bytes and knows no canonical model. It hands on an :class:`Envelope` (the bytes or a spooled
file, plus where they came from) and declares how the records inside are identified
(:class:`IdentityRule`). The runtime then derives each message id as UUIDv5(interface, record identity), so
re-reading the same input after a crash yields the same ids and nothing is recorded or delivered twice.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

__all__ = ["MESSAGE_NAMESPACE", "Envelope", "IdentityRule", "hash_identity", "message_id", "record_identity"]

#: Namespace of all message ids. Changing it would re-identify every record: never change it.
MESSAGE_NAMESPACE = uuid.UUID("6f1d2c9e-5b0a-4d1e-9c57-0e5b2a7f3c41")


class IdentityRule(StrEnum):
    """How the records of an envelope are identified.

    ``file``: content hash of the whole batch plus the record's ordinal (file drops);
    ``change``: business key plus the change version the record declares (the mapping's ``version`` path), or
    the record's content hash when the feed has no version (SOAP/REST change feeds: an overlapping page re-read
    is a no-op; with a version a revert A -> B -> A is a third change);
    ``event``: the envelope's own event id (webhooks, queues; one record per envelope).
    """

    FILE = "file"
    CHANGE = "change"
    EVENT = "event"


@dataclass(frozen=True)
class Envelope:
    """One unit of input (a file, a page, an event) as a source hands it on.

    Contract: ``batch_id`` is stable for the same input (for files: path, size, mtime and SHA-256), so the
    ledger can tell a new batch from one already acknowledged. Exactly one of ``body`` and ``spool_path``
    is set; ``open()`` gives a fresh binary stream every time it is called, so a decoder can stream a
    1 GB file without the source holding it in memory.
    """

    interface: str
    batch_id: str
    origin: str
    identity_rule: IdentityRule
    identity: str
    received_at: datetime
    transaction_id: str
    body: bytes | None = None
    spool_path: Path | None = None
    media_type: str = "application/octet-stream"
    size: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.body is None) == (self.spool_path is None):
            raise ValueError("an Envelope carries exactly one of body and spool_path")
        if self.received_at.tzinfo is None:
            raise ValueError("Envelope.received_at must be timezone-aware")

    def open(self) -> BinaryIO:
        """A new binary stream over the payload; the caller closes it."""
        if self.body is not None:
            return io.BytesIO(self.body)
        assert self.spool_path is not None
        return self.spool_path.open("rb")


def record_identity(
    envelope: Envelope,
    *,
    ordinal: int,
    business_key: str | None = None,
    version: str | None = None,
    content_hash: str | None = None,
) -> str:
    """The identity of one record inside an envelope, following the envelope's :class:`IdentityRule`."""
    if envelope.identity_rule is IdentityRule.FILE:
        return f"file:{envelope.identity}:{ordinal}"
    if envelope.identity_rule is IdentityRule.EVENT:
        return f"event:{envelope.identity}" if ordinal == 0 else f"event:{envelope.identity}:{ordinal}"
    if not business_key:
        raise ValueError("a change-feed record needs a business key for its identity")
    if version:
        return f"change:{business_key}:{version}"
    if not content_hash:
        raise ValueError("a change-feed record needs a change version or a content hash")
    return hash_identity(business_key, content_hash)


def hash_identity(business_key: str, content_hash: str) -> str:
    """The change-feed identity of a record whose feed declares no version: business key + content hash.

    Every change-feed record had this identity before versions were read (so an A -> B -> A revert came back
    as the first A); the runtime recognises such a message when the same change is re-read with its version.
    """
    return f"change:{business_key}:sha256:{content_hash}"


def message_id(interface: str, identity: str) -> uuid.UUID:
    """UUIDv5(interface, record identity): the idempotency key of every delivery of this record."""
    return uuid.uuid5(MESSAGE_NAMESPACE, f"{interface}\x1f{identity}")
