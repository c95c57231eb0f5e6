"""What every HTTP adapter of this package shares: error translation, Retry-After and response classification.

The one place where httpx's exceptions and HTTP status codes become the bridge's error tree: timeouts and
connection errors, 408, 429 and 5xx are retryable (:class:`TargetUnavailable` etc., with the ``Retry-After``
the target asked for, in seconds or as an HTTP date measured against the Clock); 401/403 are a
:class:`SecurityError`; any other 4xx is :class:`Rejected` with the response body kept for the dead letter.

A 409 is the one answer that needs evidence: it is "delivered" only when a :class:`ReplayRule` shows that the
target already holds THIS request (our idempotency key); on a first attempt without that evidence it is a
business conflict (rejected); on a retry without it, an :class:`AmbiguousOutcome` dead letter that names the
rule to add. The id in an unproven 409 body belongs to another entity and is never returned as ``target_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from bridge.ports import (
    AmbiguousOutcome,
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
    "ReplayRule",
    "classify",
    "json_field",
    "parse_retry_after",
    "transport_error",
]

RETRYABLE_STATUS = frozenset({408, 425, 429})


class ReplayRule(BaseModel):
    """What proves that a 409 answers our own earlier request (same idempotency key), not another entity's.

    Any one piece of evidence is enough: the 409's error code is one of ``codes`` (the target says "this
    idempotency key was used"), the response carries ``header`` (e.g. ``Idempotent-Replayed``), or the JSON
    field ``body_field`` of the 409 body equals our idempotency key. ``readback`` (sinks with a read-back
    URL) names fields compared between what was sent and what the target holds afterwards.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    header: str | None = None
    """Response header whose presence proves a 409 replays our own request (e.g. Idempotent-Replayed)."""
    body_field: str | None = None
    """JSON field of a 409 body that equals our idempotency key when it replays our request."""
    readback: list[str] = Field(default_factory=list)
    """Fields compared between what was sent and what the target holds (sinks with a read-back URL)."""

    def confirms(
        self, body: bytes, headers: Mapping[str, str], *, code: str | None, codes: Iterable[str], key: str | None
    ) -> bool:
        """True when the 409 ``body``/``headers`` prove the target holds the request with idempotency ``key``."""
        if code is not None and code in set(codes):
            return True
        if self.header and headers.get(self.header.lower(), headers.get(self.header, "")).strip().lower() not in (
            "",
            "false",
            "0",
        ):
            return True
        if self.body_field and key is not None:
            value = json_field(body, self.body_field)
            return value is not None and str(value) == key
        return False


_NO_RULE = ReplayRule()


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
    replay: ReplayRule | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """One HTTP answer as an Outcome.

    A 409 counts as delivered only with evidence that the target holds this very request: its error code is
    one of ``duplicate_codes``, or ``replay`` confirms it (header, body field). Without evidence it is a
    business conflict on a first attempt (rejected) and an :class:`AmbiguousOutcome` on a retry (the first
    attempt's answer may have been lost, or another message owns the entity: the bridge does not guess).
    """
    media = headers.get("content-type")
    meta = {"http_status": str(status), **(metadata or {})}
    target_id = json_field(body, target_id_field)
    target = str(target_id) if isinstance(target_id, str | int) else None
    if 200 <= status < 300:
        return Outcome.delivered(response=body, media_type=media, target_id=target, metadata=meta)
    code = _error_code(body)
    if status == 409:
        rule = replay or _NO_RULE
        if rule.confirms(body, headers, code=code, codes=duplicate_codes, key=idempotency_key):
            return Outcome.delivered(
                response=body,
                media_type=media,
                target_id=target,
                detail=f"duplicate: target already holds it (409 {code or ''})".strip(),
                metadata={**meta, "duplicate": "true"},
            )
        if attempt > 1:
            return Outcome.rejected(_ambiguous(where, attempt, code), response=body, media_type=media)
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


def _ambiguous(where: str, attempt: int, code: str | None) -> AmbiguousOutcome:
    """The dead letter of an unproven 409 on a retry: what happened and which rule would settle it."""
    shown = f" (error code {code!r})" if code else ""
    codes = f"duplicate_codes: [{code}] (if that code means 'idempotency key already used'), " if code else ""
    return AmbiguousOutcome(
        f"{where}: HTTP 409{shown} on attempt {attempt}: nothing shows the target holds this message "
        "(the first attempt may have created it, or another message owns it); to settle it configure on the "
        f"sink one of: {codes}replay.header (a response header such as Idempotent-Replayed), replay.body_field "
        "(a 409 body field equal to the Idempotency-Key) or replay.readback (fields compared with a read-back)",
        detail={"status": 409, "code": code, "attempt": attempt},
    )
