"""Plain data the ledger takes and gives: drafts written by the runtime, rows read back for work and reports.

Kept apart from the SQL so the runtime and CLI can build and read them without touching SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bridge.ports import OutcomeStatus, PathName, Role

__all__ = [
    "OPEN_DELIVERY",
    "AttemptResult",
    "BatchState",
    "ClaimedDelivery",
    "ComparisonLevel",
    "ComparisonStatus",
    "DeadLetterKind",
    "DeadLetterStatus",
    "DeliveryStatus",
    "LastWrite",
    "LatestMessage",
    "MessageKind",
    "MessageState",
    "NewDeadLetter",
    "NewMessage",
    "NewRoute",
    "ObservationState",
    "XrefWrite",
]


class BatchState(StrEnum):
    """Life of one input batch (file, page, event)."""

    DISCOVERED = "discovered"
    CLAIMED = "claimed"
    SPOOLED = "spooled"
    DECODED = "decoded"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"


class MessageState(StrEnum):
    """``held`` until its batch is fully decoded; then ``accepted`` until its authoritative path finishes."""

    HELD = "held"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    DEAD = "dead"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """``held`` (batch still decoding) -> ``pending`` <-> ``in_progress`` -> ``delivered`` | ``dead``."""

    HELD = "held"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"


class MessageKind(StrEnum):
    """What a message carries: a decoded canonical record, or a batch forwarded whole (``forward`` path kind).

    A forwarded batch is not a canonical record, so comparisons, pairing and report volumes leave it out.
    """

    RECORD = "record"
    FORWARD = "forward"


class DeadLetterKind(StrEnum):
    """What failed: one record (decode/validation), one delivery, a whole batch, or an observation of the old
    ESB's output that could not be projected (kept for replay instead of dropped with a log line)."""

    RECORD = "record"
    DELIVERY = "delivery"
    BATCH = "batch"
    OBSERVATION = "observation"


class DeadLetterStatus(StrEnum):
    """``open`` until replayed or discarded by a person."""

    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


class ComparisonLevel(StrEnum):
    """What a comparison row compares: outcomes, sent payloads, read-backs, or whether both sides exist."""

    OUTCOME = "outcome"
    PAYLOAD = "payload"
    READBACK = "readback"
    PAIRING = "pairing"


class ComparisonStatus(StrEnum):
    """A comparison's verdict; ``paired``/``orphan``/``late`` are the verdicts of the ``pairing`` level."""

    MATCH = "match"
    MISMATCH = "mismatch"
    ACCEPTED = "accepted"
    ERROR = "error"
    NOT_AVAILABLE = "not_available"
    PAIRED = "paired"
    ORPHAN = "orphan"
    LATE = "late"


class ObservationState(StrEnum):
    """``pending`` until paired with a message (``paired``), or past the settle window (``orphan``, later
    ``late`` when its message turns up after all)."""

    PENDING = "pending"
    PAIRED = "paired"
    ORPHAN = "orphan"
    LATE = "late"


#: Delivery states that still block later deliveries of the same business key.
OPEN_DELIVERY = (DeliveryStatus.HELD, DeliveryStatus.PENDING, DeliveryStatus.IN_PROGRESS)


@dataclass(frozen=True)
class XrefWrite:
    """A cross-reference to record with an outcome: (entity, system, business key) -> the target's id."""

    entity: str
    system: str
    key: str
    target_id: str


@dataclass(frozen=True)
class LastWrite:
    """The bridge's own write into ``system``, remembered for echo suppression."""

    system: str
    canonical: str
    business_key: str
    content_hash: str


@dataclass(frozen=True)
class NewRoute:
    """One delivery row to create with a message."""

    path: PathName
    role: Role
    target: str
    dry_run: bool = False


@dataclass(frozen=True)
class NewMessage:
    """A decoded record ready to be recorded, with the routes the Router chose for it."""

    id: str
    ordinal: int
    identity: str
    canonical: str
    business_key: str
    content_hash: str
    payload: str
    transaction_id: str
    mode: str
    routes: tuple[NewRoute, ...]
    version: str | None = None
    location: dict[str, Any] | None = None
    flag_version: int = 0
    rollout: str | None = None
    suppressed: bool = False
    kind: MessageKind = MessageKind.RECORD
    #: the unkeyed hash of a record whose ``content_hash`` is keyed (sensitive interface): how rows and echo
    #: hashes stored before the hash key was set are recognised; never stored itself
    unkeyed_hash: str | None = None


@dataclass(frozen=True)
class LatestMessage:
    """The newest recorded message of one business key: what a change-feed re-read is compared with."""

    id: str
    identity: str
    content_hash: str
    version: str | None


@dataclass(frozen=True)
class NewDeadLetter:
    """A record that failed before it became a message (decode/validation), with where and what."""

    message_id: str
    error: dict[str, Any]
    location: dict[str, Any] | None
    fragment: str
    kind: DeadLetterKind = DeadLetterKind.RECORD


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a worker holds now, with what it needs to encode and send it."""

    id: int
    message_id: str
    interface: str
    path: PathName
    role: Role
    dry_run: bool
    target: str
    business_key: str
    attempts: int
    first_attempt_at: datetime | None
    canonical: str
    payload: str
    content_hash: str
    transaction_id: str
    kind: MessageKind = MessageKind.RECORD
    #: The fence: outcomes are written only while the delivery still carries this token (see ``Ledger.finish``).
    claim_token: str = ""
    #: The node (``host:pid``) that holds the claim.
    claimed_by: str = ""


@dataclass
class AttemptResult:
    """What one attempt produced and what happens next; written for many deliveries in one transaction."""

    delivery: ClaimedDelivery
    number: int
    started_at: datetime
    finished_at: datetime
    outcome: OutcomeStatus
    next_status: DeliveryStatus  # delivered | pending | dead
    detail: str = ""
    error: dict[str, Any] | None = None
    retry_after: float | None = None
    next_attempt_at: datetime | None = None
    response: bytes | None = None
    media_type: str | None = None
    sent: bytes | None = None
    target_id: str | None = None
    xref: XrefWrite | None = None
    last_write: LastWrite | None = None
    extra: dict[str, Any] = field(default_factory=dict)
