"""The extension points of esb-bridge, each with its contract.

Adapters and translators implement these protocols; the runtime only ever talks to them. A contract says
what a method may raise, when it may be called and what it must not do. Constructors of implementations
do no I/O: resources open in ``__enter__`` and close in ``__exit__`` (:class:`bridge.ports.Resource` writes
both once). How an implementation becomes a plugin, and how the core checks it, is :mod:`bridge.ports.plugins`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, ClassVar, Protocol, Self, runtime_checkable
from uuid import UUID

from pydantic import BaseModel

from bridge.ports.clock import Clock
from bridge.ports.envelope import Envelope
from bridge.ports.errors import BridgeError, Location
from bridge.ports.outcome import Outcome

__all__ = [
    "ChangeNotifier",
    "DecodedRecord",
    "Decoder",
    "Delivery",
    "DryRunCheck",
    "EncodeContext",
    "Encoded",
    "Encoder",
    "FragmentBytes",
    "PathName",
    "Projector",
    "ReadBack",
    "Record",
    "RecordFailure",
    "Role",
    "Route",
    "Router",
    "RoutingDecision",
    "Sink",
    "Source",
    "SourceContext",
    "SourceLedger",
    "StoredEncoder",
]

#: A canonical record (``bridge.canonical``). Ports only need pydantic's surface of it.
Record = BaseModel


class PathName(StrEnum):
    """The two sides of every interface."""

    LEGACY = "legacy"
    CLOUD = "cloud"


class Role(StrEnum):
    """``authoritative``: its failure is the message's failure; ``shadow``: runs, is compared, never blocks."""

    AUTHORITATIVE = "authoritative"
    SHADOW = "shadow"


class _Resource(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


# --------------------------------------------------------------------------------------------- sources


@runtime_checkable
class SourceLedger(Protocol):
    """The slice of the ledger a source may use: batch states and durable cursors.

    Batch states follow ``discovered -> claimed -> spooled -> decoded -> acknowledged | failed``; a source
    must skip a batch whose state is ``acknowledged`` even when its after-processing (move) failed. ``failed``
    is written by the runtime in the transaction that stores the batch dead letter (with the input's bytes).
    Cursors (watermarks, page tokens, ``updated_since``) are written by the source in ``acknowledge`` only,
    i.e. after every record of the batch is durably committed.
    """

    def batch_state(self, interface: str, batch_id: str) -> str | None: ...

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None: ...

    def get_cursor(self, interface: str, key: str) -> str | None: ...

    def set_cursor(self, interface: str, key: str, value: str) -> None: ...

    def relocate_batch(self, interface: str, batch_id: str, origin: str, moved_to: str) -> None:
        """The batch's input was moved after processing (archive or error folder): the dead letters that named
        ``origin`` as their file now name ``moved_to``, where a person will find the file."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What the runtime gives a source when it opens: its interface, time, a spool folder and the ledger."""

    interface: str
    clock: Clock
    spool_dir: Path
    ledger: SourceLedger


@runtime_checkable
class Source(_Resource, Protocol):
    """Where documents come from (SFTP drop, folder, SOAP poll, REST poll, webhook, queue).

    Contract:
    - ``poll()`` yields the envelopes ready now, oldest first, and may be lazy (one file downloaded at a
      time). It is called from one scheduler thread per interface, never concurrently for one source. It
      raises :class:`~bridge.ports.errors.RetryableError` when the peer is unreachable (the poll is simply
      retried next cycle) and never yields a half-written input.
    - ``acknowledge(envelope)`` is called once every message and dead letter of the envelope is committed;
      only then may the source move/delete the input or advance its cursor. It must be idempotent.
    - ``fail(envelope, error)`` is called when the whole batch failed (file-level error); the source puts the
      input aside (e.g. an ``error/`` folder with a sidecar saying why) so it is not read again. The runtime
      calls it after the batch is committed as ``failed`` together with its dead letter, which keeps the
      envelope's bytes when it carried them in memory (``body``: a feed page, a webhook body). A source whose
      input cannot be read again (a cursor, a sender that stops retrying) moves past it only when its batch
      state is ``failed``; otherwise the input is not kept and the source must not move past it.
    - A source knows no canonical model; it never calls a decoder or a sink.
    """

    def open(self, context: SourceContext) -> None: ...

    def poll(self) -> Iterator[Envelope]: ...

    def acknowledge(self, envelope: Envelope) -> None: ...

    def fail(self, envelope: Envelope, error: BridgeError) -> None: ...


@runtime_checkable
class ChangeNotifier(Protocol):
    """Optional capability of a source that can tell when new input arrived (e.g. watchdog on a folder).

    Contract: ``wait_for_change(timeout)`` blocks at most ``timeout`` seconds and returns True when something
    changed since the last call. It only *wakes* the poller early; what is ready is still decided by ``poll``.
    """

    def wait_for_change(self, timeout: float) -> bool: ...


# --------------------------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class DecodedRecord:
    """One canonical record and where it came from. ``version`` is the change version, when the feed has one."""

    ordinal: int
    record: Record
    location: Location
    version: str | None = None


@dataclass(frozen=True)
class RecordFailure:
    """A record that failed conversion or validation: it becomes a dead letter; the batch goes on."""

    ordinal: int
    error: BridgeError
    fragment: str = ""


@runtime_checkable
class Decoder(Protocol):
    """Bytes -> canonical records. Pure: no I/O but reading the given stream, no clock, no environment.

    Contract: ``decode`` streams (bounded memory for any input size) and yields one item per record in
    input order with ordinals 0, 1, 2, ... A record-level problem is yielded as :class:`RecordFailure`
    (with its location and the original fragment); a batch-level problem (not well-formed, wrong encoding,
    hostile input) is raised as :class:`~bridge.ports.errors.DecodeError` with its location.
    """

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]: ...


@runtime_checkable
class FragmentBytes(Protocol):
    """Optional for decoders: how a dead letter's text fragment becomes input again for a replay.

    Without it the runtime replays ``fragment.encode("utf-8")``. A decoder whose input has another encoding
    (a cp1252 CSV export) says so here, so a replayed fragment decodes exactly as its file did.
    """

    def fragment_bytes(self, fragment: str) -> bytes: ...


# --------------------------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class EncodeContext:
    """What an encoder may know besides the record: ids and the resolved cross-references."""

    interface: str
    message_id: UUID
    business_key: str
    path: PathName
    xrefs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Encoded:
    """A rendered body for one target, with its media type and, for file targets, a suggested name."""

    body: bytes
    media_type: str
    name: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    #: True for a body read from a stream (:class:`bridge.ports.StreamedEncoded`): a sink that can should
    #: read it with :meth:`open` in pieces; ``body`` then reads the whole stream into memory.
    streamed: ClassVar[bool] = False

    @property
    def size(self) -> int:
        """The body's length in bytes (known without reading a streamed body)."""
        return len(self.body)

    def open(self) -> BinaryIO:
        """The body as a binary stream, read from the start (a new stream on each call)."""
        return io.BytesIO(self.body)


@runtime_checkable
class Encoder(Protocol):
    """Canonical record -> bytes for one target. Pure; raises :class:`~bridge.ports.errors.EncodeError`."""

    def encode(self, record: Record, context: EncodeContext) -> Encoded: ...


@runtime_checkable
class StoredEncoder(Encoder, Protocol):
    """An encoder that can encode straight from the stored canonical JSON, without loading the record.

    Why: the ledger stores each record as :func:`bridge.canonical.canonical_json` after strict validation; an
    encoder whose output is a function of those bytes alone (the ``json`` encoder sends them as they are)
    saves loading and re-dumping the model at every delivery, most of a delivery's CPU. Contract:
    ``encode_stored(canonical_json(r), ctx)`` returns what ``encode(r, ctx)`` returns, byte for byte, or
    ``None`` when it needs the record after all (the runtime then calls ``encode``). The runtime uses it only
    for paths that resolve no cross-references (those need the record's fields).
    """

    def encode_stored(self, payload: str, context: EncodeContext) -> Encoded | None: ...


@runtime_checkable
class Projector(Protocol):
    """A path's projection: its target's bytes (sent body, response or read-back) -> canonical record.

    Projections validate in the models' ``observed`` mode, so a target's business-rule violation becomes a
    note on the record instead of an error. Pure.
    """

    def project(self, body: bytes, media_type: str | None) -> Record: ...


# --------------------------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Delivery:
    """One attempt's input for a sink: the encoded body plus the ids the target needs for idempotency."""

    message_id: UUID
    interface: str
    path: PathName
    role: Role
    business_key: str
    attempt: int
    payload: Encoded
    transaction_id: str
    dry_run: bool = False
    #: Resolved cross-references (e.g. ``{"customer": "cus_9x"}``) for URL templates and headers.
    xrefs: Mapping[str, str] = field(default_factory=dict)
    #: W3C ``traceparent`` of the runtime's sink-call span when tracing is on; None: derived from the ids
    #: (read it through :func:`bridge.ports.trace.traceparent`, never directly).
    traceparent: str | None = None


@runtime_checkable
class Sink(_Resource, Protocol):
    """Where a path delivers (REST API, SOAP operation, SFTP/folder drop, event broker).

    Contract: ``deliver`` makes exactly ONE attempt and returns an :class:`~bridge.ports.outcome.Outcome`;
    it never retries, sleeps or orders messages (the runtime's delivery workers do). It must be idempotent
    per ``message_id`` (used as idempotency key or file name), may be called concurrently from several
    threads for different business keys, and reports errors through the outcome rather than raising
    (a raised :class:`~bridge.ports.errors.BridgeError` is classified by type; anything else is a bug).
    ``target`` names the target for per-target pools and limits.
    """

    target: str

    def deliver(self, delivery: Delivery) -> Outcome: ...


@runtime_checkable
class DryRunCheck(Protocol):
    """A sink that can check a delivery without sending it: what a dry run of its path shows.

    The runtime never hands a dry-run delivery to ``deliver`` or ``deliver_batch`` (a sink that forgot to
    short-circuit would send shadow traffic to production); it calls ``check_dry_run`` instead where the sink
    offers it, else records the dry run as not sent. ``check_dry_run`` has no side effect on the target: it
    validates what it can locally (the URL, a contract, a WSDL body, a file name) and returns the outcome
    the dry run records (delivered, or the error the real call would surely have met).
    """

    def check_dry_run(self, delivery: Delivery) -> Outcome: ...


@runtime_checkable
class BatchSink(Sink, Protocol):
    """A sink that delivers many deliveries in one go (one bulk request, one write and fsync, one session).

    Contract: ``deliver_batch`` returns exactly one :class:`~bridge.ports.outcome.Outcome` per delivery, in
    order, mapping partial failures back to the delivery they concern; like ``deliver`` it makes ONE attempt
    per delivery and reports errors through the outcomes. A raised :class:`~bridge.ports.errors.BridgeError`
    applies to every delivery of the call. ``max_batch`` bounds how many deliveries one call may carry; the
    runtime calls ``deliver_batch`` (never ``deliver``) for claims of a target whose sink declares it.
    """

    max_batch: int

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...


@runtime_checkable
class ReadBack(Protocol):
    """Queries a target after delivery for what it now holds (bytes for the path's projection)."""

    def read_back(self, business_key: str, outcome: Outcome) -> bytes | None: ...


# --------------------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class Route:
    """One path a message takes, in a role; ``dry_run`` encodes and validates without sending."""

    path: PathName
    role: Role
    dry_run: bool = False
    sandbox: bool = True
    """For a shadow: deliver to the path's sandbox (``shadow_sink``) when it has one. ``False`` feeds the real
    target without making it authoritative (``legacy_feed``: a rollback then loses nothing)."""


@dataclass(frozen=True)
class RoutingDecision:
    """Which paths a message takes and why: recorded with the message (mode, flag version, rollout)."""

    routes: tuple[Route, ...]
    mode: str
    flag_version: int = 0
    rollout: str | None = None


@runtime_checkable
class Router(Protocol):
    """Chooses per message which paths run and which is authoritative (cutover flag + rollout).

    Contract: deterministic for the same (interface, business key, flag version); no I/O except reading
    the current flag; called on the poll side inside the chunk's transaction preparation.
    """

    def route(self, interface: str, record: Record, business_key: str) -> RoutingDecision: ...
