"""Trace context of an outgoing call: the W3C ``traceparent`` of a delivery and its correlation header.

Every record carries one transaction id (its source's: the event's or request's correlation id, the id of the
file or page it came in). Every outgoing request of a delivery carries it twice: as the correlation header
(``X-Correlation-Id`` by default) and as the trace id of a W3C ``traceparent``, so a target's own tracing
joins the record's trace without knowing the bridge:

* trace id: the transaction id itself when it is a UUID (its 32 hex digits), else the first 16 bytes of its
  SHA-256, so it is the same for every record and retry of one transaction, across processes and restarts;
* parent id: the span of the sink call when OpenTelemetry spans are on (``Delivery.traceparent``, set by the
  runtime), else derived from message id and attempt number (distinct per attempt, flags ``00``: not
  recorded by the bridge).

Inbound, a request that carries a valid ``traceparent`` (and no correlation header) gets the transaction id
:func:`adopted_transaction_id`: its trace id in UUID form, so the records it brings continue the caller's
trace (their outgoing trace id is the incoming one).

Pure functions; adapters call :func:`trace_headers` at their boundary.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.ports.protocols import Delivery

__all__ = [
    "CORRELATION_HEADER",
    "TRACEPARENT",
    "adopted_transaction_id",
    "span_id_of",
    "trace_headers",
    "trace_id_of",
    "traceparent",
]

TRACEPARENT = "traceparent"
CORRELATION_HEADER = "X-Correlation-Id"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def adopted_transaction_id(header: str | None) -> str | None:
    """The transaction id that continues an incoming W3C ``traceparent`` (its trace id as a UUID), or None
    when the header is absent or invalid (version ``ff``, an all-zero id, a version-00 header with extra
    fields: the W3C rules)."""
    m = _TRACEPARENT.fullmatch((header or "").strip().lower())
    if m is None:
        return None
    version, trace_id, parent, _flags, rest = m.groups()
    if version == "ff" or not trace_id.strip("0") or not parent.strip("0") or (version == "00" and rest):
        return None
    return str(uuid.UUID(trace_id))


def trace_id_of(transaction_id: str) -> str:
    """The 32 hex digits of the W3C trace id of a transaction id (never all zeros)."""
    try:
        text = uuid.UUID(transaction_id).hex
    except ValueError:
        text = hashlib.sha256(transaction_id.encode()).hexdigest()[:32]
    return text if text.strip("0") else "0" * 31 + "1"


def span_id_of(message_id: uuid.UUID | str, attempt: int) -> str:
    """16 hex digits naming one attempt of one message (never all zeros)."""
    text = hashlib.sha256(f"{message_id}:{attempt}".encode()).hexdigest()[:16]
    return text if text.strip("0") else "0" * 15 + "1"


def traceparent(delivery: Delivery) -> str:
    """The ``traceparent`` header value of one attempt (the runtime's span when tracing is on)."""
    if delivery.traceparent:
        return delivery.traceparent
    return f"00-{trace_id_of(delivery.transaction_id)}-{span_id_of(delivery.message_id, delivery.attempt)}-00"


def trace_headers(delivery: Delivery, correlation_header: str | None = CORRELATION_HEADER) -> dict[str, str]:
    """``traceparent`` and (unless ``correlation_header`` is empty) the correlation header with the transaction id."""
    headers = {TRACEPARENT: traceparent(delivery)}
    if correlation_header:
        headers[correlation_header] = delivery.transaction_id
    return headers
