"""What every HTTP adapter of this package shares: error translation, Retry-After and response classification.

The one place where httpx's exceptions and HTTP status codes become the bridge's error tree: timeouts and
connection errors, 408, 429 and 5xx are retryable (:class:`TargetUnavailable` etc., with the ``Retry-After``
the target asked for, in seconds or as an HTTP date measured against the Clock); 401/403 are a
:class:`SecurityError`; any other 4xx is :class:`Rejected` with the response body kept for the dead letter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bridge.ports import (
    Clock,
    ConfigError,
    ConnectionFailed,
    Location,
    Outcome,
    Rejected,
    RetryableError,
    SecurityError,
    TargetUnavailable,
    TimeoutExpired,
)

__all__ = [
    "RETRYABLE_STATUS",
    "classify",
    "json_field",
    "parse_retry_after",
    "transport_error",
]

RETRYABLE_STATUS = frozenset({408, 425, 429})


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """``Retry-After`` as seconds from now: an integer/decimal number or an HTTP date (RFC 9110), never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - clock.now()).total_seconds())


def transport_error(exc: httpx.HTTPError, *, where: str) -> RetryableError | ConfigError:
    """httpx's transport failures as bridge errors (the cause kept by the caller's ``raise ... from``)."""
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutExpired(f"{where}: {type(exc).__name__}: {exc}".rstrip(": "))
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigError(f"{where}: {exc}")
    return ConnectionFailed(f"{where}: {type(exc).__name__}: {exc}".rstrip(": "))


def json_field(body: bytes | None, dotted: str) -> Any:
    """``a.b`` of a JSON body, or None when the body is not JSON or lacks the field."""
    if not body or not dotted:
        return None
    try:
        node: Any = json.loads(body)
    except ValueError:
        return None
    for part in dotted.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _error_code(body: bytes | None) -> str | None:
    for path in ("error.code", "code", "error"):
        value = json_field(body, path)
        if isinstance(value, str):
            return value
    return None


def classify(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    clock: Clock,
    *,
    where: str,
    target_id_field: str = "id",
    duplicate_codes: Iterable[str] = (),
    attempt: int = 1,
    metadata: Mapping[str, str] | None = None,
) -> Outcome:
    """One HTTP answer as an Outcome.

    409 counts as delivered when it says our idempotency key was already used (its error code is one of
    ``duplicate_codes``) or when this is a retry (``attempt > 1``): the key is the message id, so the target
    already holds this very message.
    """
    media = headers.get("content-type")
    meta = {"http_status": str(status), **(metadata or {})}
    target_id = json_field(body, target_id_field)
    target = str(target_id) if isinstance(target_id, str | int) else None
    if 200 <= status < 300:
        return Outcome.delivered(response=body, media_type=media, target_id=target, metadata=meta)
    code = _error_code(body)
    if status == 409 and (code in set(duplicate_codes) or attempt > 1):
        return Outcome.delivered(
            response=body,
            media_type=media,
            target_id=target,
            detail=f"duplicate: target already holds it (409 {code or ''})".strip(),
            metadata={**meta, "duplicate": "true"},
        )
    if status in RETRYABLE_STATUS or status >= 500:
        wait = parse_retry_after(headers.get("retry-after"), clock)
        err = TargetUnavailable(f"{where}: HTTP {status}", retry_after=wait, detail={"status": status})
        return Outcome.failed(err, response=body, media_type=media, retry_after=wait)
    field = json_field(body, "error.field")
    location = Location(field=str(field)) if isinstance(field, str) else None
    if status in (401, 403):
        sec = SecurityError(f"{where}: HTTP {status}: authentication refused", detail={"status": status})
        return Outcome.rejected(sec, response=body, media_type=media)
    text = body[:500].decode("utf-8", "replace")
    rej = Rejected(f"{where}: HTTP {status}: {text}", location=location, detail={"status": status, "code": code})
    return Outcome.rejected(rej, response=body, media_type=media)
