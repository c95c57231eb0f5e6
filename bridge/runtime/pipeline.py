"""The poll side: source -> decoder -> per-chunk transaction of messages and delivery rows -> acknowledge.

The poll thread never calls a sink. Each chunk of decoded records is written in ONE transaction (messages,
their routed delivery rows, record dead letters); the batch's deliveries are released only when the whole
batch is decoded; the source is acknowledged after that commit (``on_commit``) or once every authoritative
delivery of the batch is finished (``on_delivery``). A batch-level error cancels the batch and hands the
input back to the source's ``fail``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from logging import ERROR, INFO, WARNING

from bridge import observability as observe
from bridge.canonical import keyed_payload_and_hash, legacy_content_hash, payload_and_hash
from bridge.observability.logs import event
from bridge.ports import (
    DecodedRecord,
    DecodeError,
    Envelope,
    IdentityRule,
    Location,
    PathName,
    RecordFailure,
    Role,
    Router,
    SourceContext,
    message_id,
    record_identity,
)
from bridge.runtime.chunk_writer import ChunkWriter
from bridge.runtime.failpoints import failpoint
from bridge.runtime.forward import ForwardPlan, forward_message
from bridge.runtime.sabotage import ACK_BEFORE_COMMIT, sabotaged_message_id
from bridge.runtime.spans import ingest_span
from bridge.runtime.upgrade_identity import adopt_hash_identities
from bridge.runtime.wiring import InterfaceRuntime, target_name
from bridge.store.kept import kept_dead_letter
from bridge.store.ledger import Ledger
from bridge.store.records import BatchState, NewDeadLetter, NewMessage, NewRoute

__all__ = ["IngestStats", "Ingestor"]

log = logging.getLogger("esb_bridge.runtime.pipeline")
Progress = Callable[[str, int], None]


@dataclass
class IngestStats:
    batches: int = 0
    records: int = 0
    new_messages: int = 0
    dead_letters: int = 0
    suppressed: int = 0
    failed_batches: int = 0
    acknowledged: int = 0
    #: why the poll failed (the source raised), empty when it did not
    poll_error: str = ""
    #: the poll was skipped: the interface's backlog is above ``backpressure.max_backlog``
    paused: bool = False
    waiting_ack: dict[int, Envelope] = field(default_factory=dict)


class Ingestor:
    """Runs one poll of one interface."""

    def __init__(
        self,
        rt: InterfaceRuntime,
        ledger: Ledger,
        router: Router,
        progress: Progress | None = None,
        on_release: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.rt = rt
        #: set when the process is stopping: the poll takes no further envelope (the current one is finished)
        self.stop = stop
        self.ledger = ledger
        self.router = router
        self.progress = progress
        #: told each batch id whose deliveries were just released (wakes ``run --once``'s early delivery)
        self.on_release = on_release
        legacy = rt.paths.get(PathName.LEGACY)
        self.forwarding = legacy is not None and legacy.config.kind == "forward"
        self._plan = ForwardPlan()
        self._mode = ""
        self._change = False
        self._acked_early = False
        #: HMAC key of content hashes of an interface with sensitive fields (bridge.canonical.content)
        self._hash_key = ledger.protection.hash_key_for(rt.name)

    def poll(self, context: SourceContext, stats: IngestStats | None = None) -> IngestStats:
        """One poll: every ready envelope is recorded; returns what happened."""
        stats = stats or IngestStats()
        source = self.rt.source
        for envelope in source.poll():
            if self.stop is not None and self.stop.is_set():
                break  # stopping: this envelope is not taken; the source offers it again at the next poll
            stats.batches += 1
            batch = self.ledger.open_batch(self.rt.name, envelope.batch_id, envelope.origin)
            failpoint("batch_opened")
            before = (stats.records, stats.new_messages, stats.dead_letters, stats.suppressed)
            event(log, INFO, "batch_picked_up", size=envelope.size, **self._ids(envelope, batch))
            try:
                with ingest_span(self.rt.name, batch, envelope.origin, envelope.transaction_id):
                    self._ingest(envelope, batch, stats)
            except DecodeError as exc:
                exc.concerning(interface=self.rt.name, location=Location(file=envelope.origin))
                event(log, ERROR, "batch_failed", error=str(exc), **self._ids(envelope, batch))
                # The page/body is kept with its dead letter, in the transaction that marks it failed: only
                # then may ``fail`` move a cursor past it or answer 200 (bridge.store.kept).
                dead = kept_dead_letter(
                    str(message_id(self.rt.name, f"batch:{envelope.batch_id}")),
                    exc.to_dict(),
                    exc.location.to_dict() if exc.location else None,
                    envelope,
                )
                self.ledger.cancel_batch(batch, str(exc), interface=self.rt.name, dead=dead)
                source.fail(envelope, exc)
                stats.failed_batches += 1
                continue
            failpoint("before_release")
            self.ledger.release_batch(self.rt.name, batch)
            records, new, dead_letters, suppressed = (
                now - was
                for now, was in zip(
                    (stats.records, stats.new_messages, stats.dead_letters, stats.suppressed), before, strict=True
                )
            )
            event(
                log,
                INFO,
                "batch_committed",
                records=records,
                new_messages=new,
                dead_letters=dead_letters,
                suppressed=suppressed,
                **self._ids(envelope, batch),
            )
            if self.on_release is not None:
                self.on_release(batch)
            if self._acked_early:
                self._acked_early = False
            elif self.rt.config.acknowledge == "on_commit":
                failpoint("before_ack")
                source.acknowledge(envelope)
                failpoint("after_ack")
                self.ledger.mark_batch(self.rt.name, envelope.batch_id, BatchState.ACKNOWLEDGED, origin=envelope.origin)
                stats.acknowledged += 1
            else:
                stats.waiting_ack[batch] = envelope
        return stats

    def _ids(self, envelope: Envelope, batch: int) -> dict[str, object]:
        """The ids a batch's log lines carry (the ledger's batch id, where it came from, its transaction)."""
        return {
            "interface": self.rt.name,
            "batch_id": batch,
            "origin": envelope.origin,
            "transaction_id": envelope.transaction_id,
        }

    def _ingest(self, envelope: Envelope, batch: int, stats: IngestStats) -> None:
        self._plan = ForwardPlan()
        self._change = envelope.identity_rule is IdentityRule.CHANGE
        chunk: list[NewMessage] = []
        dead: list[NewDeadLetter] = []
        size = self.rt.config.chunk_size

        def record(part: tuple[list[NewMessage], list[NewDeadLetter]]) -> None:
            self._flush(batch, *part, stats)
            failpoint("after_chunk")

        # Full chunks are recorded on a writer thread while decoding goes on (bridge.runtime.chunk_writer).
        writer: ChunkWriter[tuple[list[NewMessage], list[NewDeadLetter]]] = ChunkWriter(
            record, name=f"record-{self.rt.name}"
        )
        try:
            for item in self.rt.decoder.decode(envelope):
                failpoint("mid_decode")
                stats.records += 1
                if isinstance(item, DecodedRecord):
                    chunk.append(self._message(envelope, item))
                else:
                    dead.append(self._undecodable(envelope, item))
                if len(chunk) + len(dead) >= size:
                    writer.submit((chunk, dead))
                    chunk, dead = [], []
        except BaseException:
            writer.close(raise_error=False)  # the batch is cancelled after every chunk already queued is in
            raise
        writer.close()
        if ACK_BEFORE_COMMIT:  # the test-only sabotage (bridge.runtime.sabotage): acknowledged too early
            self.rt.source.acknowledge(envelope)
            self._acked_early = True
        failpoint("before_last_chunk")
        self._flush(batch, chunk, dead, stats)
        if self.forwarding and self._plan.routed:
            self._record_forward(envelope, batch)

    def _undecodable(self, envelope: Envelope, item: RecordFailure) -> NewDeadLetter:
        """The dead letter of a record the decoder could not read, with its location and fragment."""
        identity = record_identity(
            envelope,
            ordinal=item.ordinal,
            business_key=f"#{item.ordinal}",
            content_hash=hashlib.sha256(item.fragment.encode()).hexdigest(),
        )
        err = item.error.concerning(interface=self.rt.name, location=Location(file=envelope.origin))
        return NewDeadLetter(
            str(message_id(self.rt.name, identity)),
            err.to_dict(),
            err.location.to_dict() if err.location else None,
            item.fragment,
        )

    def _record_forward(self, envelope: Envelope, batch: int) -> None:
        """The batch's original bytes, one delivery to the old ESB's inbox (``forward`` legacy path kind)."""
        legacy = self.rt.paths[PathName.LEGACY]
        to_sandbox = not self._plan.authoritative and self._plan.sandbox and legacy.shadow_sink is not None
        target = target_name(self.rt.name, PathName.LEGACY.value, to_sandbox)
        # The bytes are committed to the ledger's blob store before the message (bridge.runtime.forward).
        msg = forward_message(self.ledger, self.rt.name, envelope, self._plan, target, self._mode)
        self.ledger.record_chunk(self.rt.name, batch, [msg], [])

    def _flush(self, batch: int, chunk: list[NewMessage], dead: list[NewDeadLetter], stats: IngestStats) -> None:
        if not chunk and not dead:
            return
        if self._change and chunk:
            chunk = adopt_hash_identities(self.ledger, self.rt.name, chunk)
        if self.rt.config.echo is not None and chunk:
            chunk = self._suppress_echoes(chunk, stats)
        stats.new_messages += self.ledger.record_chunk(self.rt.name, batch, chunk, dead)
        observe.records_in(self.rt.name, len(chunk), len(dead))
        stats.dead_letters += len(dead)
        if dead:
            event(
                log,
                WARNING,
                "records_dead_lettered",
                interface=self.rt.name,
                batch_id=batch,
                message_id=dead[0].message_id,
                count=len(dead),
                error=dead[0].error.get("message", ""),
            )
        if self.progress:
            self.progress(self.rt.name, len(chunk) + len(dead))

    def _suppress_echoes(self, chunk: list[NewMessage], stats: IngestStats) -> list[NewMessage]:
        assert self.rt.config.echo is not None
        ours = self.ledger.last_write_hashes(
            self.rt.config.echo.system, self.rt.canonical, [m.business_key for m in chunk]
        )
        out = []
        for m in chunk:
            last = ours.get(m.business_key)
            # The pre-17 spelling hash is computed only for a key we wrote that differs by value hash: most
            # records have no last write, and that hash costs a second canonical dump. The unkeyed hash of a
            # sensitive interface matches echoes recorded before the hash key was set.
            if last is not None and (
                last == m.content_hash or last == m.unkeyed_hash or last == legacy_content_hash(m.payload)
            ):
                stats.suppressed += 1
                m = NewMessage(**{**m.__dict__, "suppressed": True, "routes": ()})
            out.append(m)
        return out

    def _message(self, envelope: Envelope, item: DecodedRecord) -> NewMessage:
        record = item.record
        key = str(getattr(record, "business_key", "")) or f"#{item.ordinal}"
        # hash by value: 100.00 and 100 alike; keyed for sensitive interfaces (bridge.canonical.content)
        unkeyed = None
        if self._hash_key is None:
            body, digest = payload_and_hash(record)
        else:
            body, digest, unkeyed = keyed_payload_and_hash(record, self._hash_key)
        identity = record_identity(
            envelope, ordinal=item.ordinal, business_key=key, version=item.version, content_hash=digest
        )
        decision = self.router.route(self.rt.name, record, key)
        self._mode = decision.mode
        routes = []
        for r in decision.routes:
            if r.path not in self.rt.paths:
                continue
            if self.forwarding and r.path is PathName.LEGACY:
                self._plan.see(r.role, r.dry_run, r.sandbox)  # the batch is forwarded whole, not per record
                continue
            shadow_target = r.role is Role.SHADOW and r.sandbox and self.rt.paths[r.path].shadow_sink is not None
            routes.append(NewRoute(r.path, r.role, target_name(self.rt.name, r.path.value, shadow_target), r.dry_run))
        return NewMessage(
            id=sabotaged_message_id(str(message_id(self.rt.name, identity))),
            ordinal=item.ordinal,
            identity=identity,
            canonical=self.rt.canonical,
            business_key=key,
            content_hash=digest,
            payload=body.decode(),
            transaction_id=envelope.transaction_id,
            mode=decision.mode,
            routes=tuple(routes),
            version=item.version,
            location=item.location.to_dict(),
            flag_version=decision.flag_version,
            rollout=decision.rollout,
            unkeyed_hash=unkeyed,
        )
