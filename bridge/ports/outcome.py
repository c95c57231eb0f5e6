"""Outcomes: what one delivery attempt produced.

A sink returns an :class:`Outcome` for every attempt instead of raising, so the runtime sees the target's
response even for a rejection (kept with the dead letter) and the ``retry_after`` the target asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.ports.errors import BridgeError, PermanentError, RetryableError

__all__ = ["Outcome", "OutcomeStatus"]


class OutcomeStatus(StrEnum):
    """``delivered``: the target has it; ``rejected``: it never will (permanent);
    ``failed``: not this time (retryable)."""

    DELIVERED = "delivered"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """The result of exactly one delivery attempt.

    ``response`` is the target's response body (bytes, for projection and dead letters); ``target_id`` is the
    id the target gave the entity (recorded as an xref); ``retry_after`` (seconds) is the delay the target
    asked for, which the runtime's backoff honours.
    """

    status: OutcomeStatus
    response: bytes | None = None
    media_type: str | None = None
    target_id: str | None = None
    retry_after: float | None = None
    detail: str = ""
    error: BridgeError | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def delivered(
        cls,
        *,
        response: bytes | None = None,
        media_type: str | None = None,
        target_id: str | None = None,
        detail: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> Outcome:
        return cls(OutcomeStatus.DELIVERED, response, media_type, target_id, None, detail, None, metadata or {})

    @classmethod
    def rejected(
        cls,
        error: PermanentError,
        *,
        response: bytes | None = None,
        media_type: str | None = None,
    ) -> Outcome:
        return cls(OutcomeStatus.REJECTED, response, media_type, None, None, error.message, error)

    @classmethod
    def failed(
        cls,
        error: RetryableError,
        *,
        response: bytes | None = None,
        media_type: str | None = None,
        retry_after: float | None = None,
    ) -> Outcome:
        wait = retry_after if retry_after is not None else error.retry_after
        return cls(OutcomeStatus.FAILED, response, media_type, None, wait, error.message, error)

    @classmethod
    def from_error(cls, error: BridgeError, *, response: bytes | None = None) -> Outcome:
        """Classify an error by its type: retryable -> failed, anything else -> rejected."""
        if isinstance(error, RetryableError):
            return cls.failed(error, response=response)
        if not isinstance(error, PermanentError):
            error = PermanentError(error.message, location=error.location, detail=error.detail)
        return cls.rejected(error, response=response)
