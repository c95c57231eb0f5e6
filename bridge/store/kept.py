"""Input kept with its dead letter: the bytes of a failed feed page, webhook body or unreadable observation.

Why: a change feed cannot be asked for a page again once its cursor moved past it, and a webhook sender stops
retrying once it was answered 200. So a page or body that fails as a whole is kept, bytes and all, in the
dead letter that records the failure (in the same transaction that marks its batch ``failed``); only then
may the source move its cursor or answer 200, and ``dlq replay`` rebuilds the envelope from what was kept.

Storage: ``dead_letters.fragment`` holds the bytes as text (UTF-8 as they are, anything else base64), and
``dead_letters.location`` holds, under ``input``, what the envelope said about itself (batch id, identity
rule and identity, origin, media type, metadata), so a replay derives the same message ids the records would
have had. Input spooled to a file (a file drop) is not copied: it is put aside at its source (``error/``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.ports import Envelope, IdentityRule
from bridge.store.records import DeadLetterKind, NewDeadLetter

__all__ = ["INPUT_KEY", "keep_bytes", "kept_bytes", "kept_dead_letter", "kept_envelope"]

#: Key of the kept envelope's description inside ``dead_letters.location``.
INPUT_KEY = "input"


def keep_bytes(body: bytes) -> tuple[str, str]:
    """(text, encoding) for the ``fragment`` column: UTF-8 bodies stay readable, others go base64."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def kept_bytes(fragment: str, encoding: str) -> bytes:
    """The bytes :func:`keep_bytes` kept."""
    return base64.b64decode(fragment) if encoding == "base64" else fragment.encode("utf-8")


def kept_dead_letter(
    message_id: str,
    error: dict[str, Any],
    location: dict[str, Any] | None,
    envelope: Envelope,
    kind: DeadLetterKind = DeadLetterKind.BATCH,
) -> NewDeadLetter:
    """A dead letter of ``envelope`` that keeps its bytes when it carries them in memory (``body``)."""
    if envelope.body is None:
        return NewDeadLetter(message_id, error, location, "", kind=kind)
    fragment, encoding = keep_bytes(envelope.body)
    described = {
        "batch_id": envelope.batch_id,
        "identity_rule": envelope.identity_rule.value,
        "identity": envelope.identity,
        "origin": envelope.origin,
        "transaction_id": envelope.transaction_id,
        "media_type": envelope.media_type,
        "metadata": dict(envelope.metadata),
        "encoding": encoding,
        "size": len(envelope.body),
    }
    return NewDeadLetter(message_id, error, {**(location or {}), INPUT_KEY: described}, fragment, kind=kind)


def kept_envelope(row: Mapping[str, Any], *, received_at: datetime, batch_id: str | None = None) -> Envelope | None:
    """The envelope a dead letter row kept (under a new ``batch_id`` when given); None when it kept no bytes."""
    location = row.get("location") or {}
    described = location.get(INPUT_KEY) if isinstance(location, dict) else None
    if not isinstance(described, dict):
        return None
    body = kept_bytes(row.get("fragment") or "", str(described.get("encoding", "utf-8")))
    return Envelope(
        interface=str(row["interface"]),
        batch_id=batch_id or str(described["batch_id"]),
        origin=str(described["origin"]),
        identity_rule=IdentityRule(described["identity_rule"]),
        identity=str(described["identity"]),
        received_at=received_at,
        transaction_id=str(described["transaction_id"]),
        body=body,
        media_type=str(described.get("media_type") or "application/octet-stream"),
        size=len(body),
        metadata={str(k): str(v) for k, v in (described.get("metadata") or {}).items()},
    )
