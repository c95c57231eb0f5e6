"""Delivery workers: claim -> resolve xrefs -> encode -> ONE sink attempt -> record outcome, retry or dead-letter.

All retrying lives here, never in a sink: exponential backoff with jitter honouring ``retry_after``, a
maximum number of attempts and a maximum age, then the dead-letter queue. Claims are per target, in batches,
at most one open delivery per business key (the ledger enforces the order), and the outcomes of a batch are
written in one transaction. Redelivery after a crash is safe because sinks are idempotent per message id.

Claims are fenced: the worker renews its batch's lease between attempts (a rate-limiter sleep or a slow
sink cannot let it run out unnoticed), sends nothing for a claim it lost, and the ledger records no outcome
for one (``Ledger.finish`` checks the claim token); each lost claim is logged at WARNING.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from logging import INFO, WARNING
from typing import TypeVar
from uuid import UUID

from bridge import observability as observe
from bridge.canonical import load_stored, model_for
from bridge.observability.logs import event
from bridge.ports import (
    BatchSink,
    BridgeError,
    Clock,
    Delivery,
    DependencyPending,
    DryRunCheck,
    EncodeContext,
    Encoded,
    Outcome,
    OutcomeStatus,
    PermanentError,
    Record,
    Sink,
    StoredEncoder,
)
from bridge.ports.failpoints import failpoint
from bridge.runtime.batching import BatchSizer
from bridge.runtime.circuit import CircuitBreaker
from bridge.runtime.forward import forwarded_bytes
from bridge.runtime.limits import RateLimiter
from bridge.runtime.redact import Redactor
from bridge.runtime.retry import backoff_delay
from bridge.runtime.sabotage import sabotaged_delivery_id
from bridge.runtime.spans import BatchSpans, batch_spans, claim_started
from bridge.runtime.wiring import InterfaceRuntime, PathRuntime
from bridge.store.ledger import Ledger
from bridge.store.records import AttemptResult, ClaimedDelivery, DeliveryStatus, LastWrite, MessageKind, XrefWrite

__all__ = ["TargetWorker"]

log = logging.getLogger("esb_bridge.runtime.delivery")

_T = TypeVar("_T")


class TargetWorker:
    """Delivers the deliveries of one target (an interface path, or its shadow sink)."""

    def __init__(
        self,
        target: str,
        rt: InterfaceRuntime,
        path: PathRuntime,
        shadow_sink: bool,
        ledger: Ledger,
        clock: Clock,
        *,
        lease: float = 300.0,
        seed: int = 0,
        progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.target = target
        self.rt = rt
        self.path = path
        self.shadow_sink = shadow_sink
        self.ledger = ledger
        self.clock = clock
        self.lease = timedelta(seconds=lease)
        self.limiter = RateLimiter(path.limits.rate, clock)
        self._rng = random.Random(f"{seed}:{target}")
        self._rng_lock = threading.Lock()
        self._model = model_for(rt.canonical)
        self._sizer = BatchSizer(path.limits.batch, path.limits.max_batch, self.lease)
        self._size = path.limits.batch
        #: stops calling a failing target, probes it, resumes (bridge.runtime.circuit)
        self.circuit = CircuitBreaker(target, rt.name, path.limits.circuit, clock, ledger)
        #: told (target, attempts recorded) after each batch: the CLI's progress display, or None
        self.progress = progress
        # Paths with references need the record's fields to resolve them, so they always load it.
        self._stored_encoding = isinstance(path.encoder, StoredEncoder) and not path.references
        #: set when ``run`` shuts down: the rest of a claimed batch is not sent (its claims are released)
        self.stopping = threading.Event()
        sensitive = rt.config.compare.sensitive
        #: masks the record's sensitive values in error texts (bridge.runtime.redact); None: nothing sensitive
        self._redactor = Redactor(sensitive) if sensitive else None

    def run_batch(self) -> int:
        """Claim and process one batch; returns how many deliveries were attempted (0 = nothing due)."""
        permit = self.circuit.permit()
        if permit == 0:
            return 0
        t0 = claim_started()
        claimed = self.ledger.claim(self.target, self._size if permit is None else permit, self.lease)
        if not claimed:
            if permit is not None:
                self.circuit.probe_done()  # nothing due: no probe was sent
            return 0
        failpoint("claimed")  # claims held, nothing sent
        spans = batch_spans(self.target, claimed, t0)  # None unless tracing is on
        began = time.monotonic()
        claims = _Claims(self, claimed)
        sink = self.path.sink_for(self.shadow_sink)
        assert sink is not None
        bulk = isinstance(sink, BatchSink) and sink.max_batch > 1
        step = sink.max_batch if isinstance(sink, BatchSink) and bulk else 1
        results: list[AttemptResult] = []
        given_back: Sequence[ClaimedDelivery] = ()
        try:
            for start in range(0, len(claimed), step):
                if self.stopping.is_set():
                    break
                if self.circuit.is_open():  # opened by this batch or another thread's: send no more
                    given_back = claimed[start:]
                    break
                chunk = self._attempt_chunk(claimed[start : start + step], claims, sink, bulk, spans)
                self.circuit.record(chunk)
                results += chunk
        finally:
            if spans is not None:
                spans.close()
            if permit is not None:  # the probe's verdict is in (or it was not sent): the next may go
                self.circuit.probe_done()
        failpoint("after_send")  # the sink called, its outcomes not recorded
        recorded = self.ledger.finish(results)
        failpoint("after_finish")
        if given_back:
            self.ledger.release_claims(given_back)
        observe.attempts_finished(recorded)
        kept = {id(r) for r in recorded}
        for r in results:
            if id(r) not in kept:
                log.warning(
                    "%s %s: claim of delivery %d lost (lease ran out, taken over): its %s outcome is not recorded",
                    r.delivery.interface,
                    r.delivery.message_id,
                    r.delivery.id,
                    r.next_status.value,
                )
        self._log_batch(results, recorded)
        if self.progress is not None:
            self.progress(self.target, len(recorded))
        self._size = self._sizer.next(self._size, len(claimed), results, time.monotonic() - began)
        return len(results)

    def _log_batch(self, results: Sequence[AttemptResult], recorded: Sequence[AttemptResult]) -> None:
        """One INFO line per claimed batch (counts by what the deliveries became), one WARNING per dead one."""
        counts = {s: 0 for s in (DeliveryStatus.DELIVERED, DeliveryStatus.PENDING, DeliveryStatus.DEAD)}
        txns: dict[str, None] = {}
        for r in recorded:
            counts[r.next_status] = counts.get(r.next_status, 0) + 1
            if len(txns) < 5:
                txns[r.delivery.transaction_id] = None
            if r.next_status is DeliveryStatus.DEAD:
                d = r.delivery
                event(
                    log,
                    WARNING,
                    "delivery_dead",
                    interface=d.interface,
                    message_id=d.message_id,
                    transaction_id=d.transaction_id,
                    target=self.target,
                    business_key=d.business_key,
                    attempts=r.number,
                    outcome=r.outcome.value,
                    detail=r.detail,
                    gave_up=(r.error or {}).get("gave_up"),
                )
        first = recorded[0].delivery if recorded else None
        event(
            log,
            INFO,
            "deliveries_done",
            interface=self.rt.name,
            target=self.target,
            message_id=first.message_id if first else None,
            transaction_ids=list(txns),
            attempts=len(results),
            delivered=counts[DeliveryStatus.DELIVERED],
            retrying=counts[DeliveryStatus.PENDING],
            dead=counts[DeliveryStatus.DEAD],
            claims_lost=len(results) - len(recorded),
        )

    # ----------------------------------------------------------------- attempts

    def _attempt_chunk(
        self, chunk: Sequence[ClaimedDelivery], claims: _Claims, sink: Sink, bulk: bool, spans: BatchSpans | None
    ) -> list[AttemptResult]:
        """One attempt of each delivery of ``chunk``: encoded one by one, then sent by ONE ``deliver_batch``
        (``bulk``) or by ``deliver`` each (a chunk of one then). A delivery whose claim was lost before the
        sink call gets no result (nothing sent).

        The claims are checked (and their lease renewed when due) after the rate limiter's wait and right
        before the call, outside the plugin error handling: a ledger error stops the batch, it is no outcome.
        """
        results: list[AttemptResult] = []
        ready: list[tuple[ClaimedDelivery, datetime, Delivery]] = []
        for c in chunk:
            number = c.attempts + 1
            started = self.clock.now()
            if spans is None:
                encoded = self._guard(c, lambda c=c: self._encode(c))  # type: ignore[misc]
            else:
                encoded = self._guard(c, lambda c=c: spans.encode(c, lambda: self._encode(c)))  # type: ignore[misc]
            if isinstance(encoded, Outcome):
                if spans is not None:
                    spans.finished(c, encoded)
                results.append(self._result(c, number, started, encoded, None))
                continue
            self.limiter.acquire()
            body, xrefs = encoded
            parent = spans.sink_call(c) if spans is not None else None
            ready.append((c, started, self._delivery(c, number, body, xrefs, parent)))
        sendable = []
        for c, started, delivery in ready:
            if claims.holds(c):
                sendable.append((c, started, delivery))
                continue
            if spans is not None:
                spans.finished(c, None)
            log.warning(
                "%s %s: claim of delivery %d lost before attempt %d (lease ran out, taken over): not sent",
                c.interface,
                c.message_id,
                c.id,
                delivery.attempt,
            )
        # Dry runs never reach deliver/deliver_batch: the runtime, not each sink, keeps them off the target.
        outcome_of = {
            c.id: self._guard(c, lambda d=d: dry_run_outcome(sink, d))  # type: ignore[misc]
            for c, _, d in sendable
            if c.dry_run
        }
        live = [x for x in sendable if not x[0].dry_run]
        if live:
            failpoint("before_send")  # encoded and still claimed, not sent
        if bulk and isinstance(sink, BatchSink) and live:
            outcomes = self._deliver_batch(sink, [x[0] for x in live], [x[2] for x in live])
        else:
            outcomes = [self._guard(c, lambda d=d: sink.deliver(d)) for c, _, d in live]  # type: ignore[misc]
        outcome_of.update((c.id, o) for (c, _, _), o in zip(live, outcomes, strict=True))
        for c, started, delivery in sendable:
            if spans is not None:
                spans.finished(c, outcome_of[c.id])
            # A streamed body (a forward) is not stored again as "sent": its blob is the record of what was sent.
            sent = None if delivery.payload.streamed else delivery.payload.body
            results.append(self._result(c, delivery.attempt, started, outcome_of[c.id], sent))
        return results

    @staticmethod
    def _delivery(
        c: ClaimedDelivery, number: int, body: Encoded, xrefs: dict[str, str], traceparent: str | None = None
    ) -> Delivery:
        return Delivery(
            UUID(sabotaged_delivery_id(c.message_id)),
            c.interface,
            c.path,
            c.role,
            c.business_key,
            number,
            body,
            c.transaction_id,
            c.dry_run,
            xrefs=xrefs,
            traceparent=traceparent,
        )

    @staticmethod
    def _deliver_batch(
        sink: BatchSink, claimed: Sequence[ClaimedDelivery], deliveries: Sequence[Delivery]
    ) -> list[Outcome]:
        """One ``deliver_batch`` call; an error it raises (or a wrong number of outcomes) is every
        delivery's outcome, since the sink said nothing about any one of them."""
        try:
            outcomes = sink.deliver_batch(deliveries)
        except Exception as exc:  # classified per delivery by _plugin_error
            return [_plugin_error(c, exc) for c in claimed]
        if len(outcomes) != len(deliveries):
            err = PermanentError(
                f"sink returned {len(outcomes)} outcomes for {len(deliveries)} deliveries (a bug in the sink)"
            )
            return [_plugin_error(c, err) for c in claimed]
        return list(outcomes)

    def _encode(self, c: ClaimedDelivery) -> tuple[Encoded, dict[str, str]]:
        if c.kind is MessageKind.FORWARD:
            # The original bytes, unchanged, streamed from the ledger's blob (dropped when recorded delivered).
            return forwarded_bytes(self.ledger, c.message_id, c.payload), {}
        # The stored payload is canonical JSON the ledger wrote after strict validation at ingest: load it
        # without its business rules (see bridge.canonical.load_stored). Encoding stays here, at delivery, with
        # the path's current encoder: caching encoded bodies at ingest would store a second copy per path and
        # send stale bodies after an encoder or mapping change; a replay re-encodes what is stored now.
        encoder = self.path.encoder
        assert encoder is not None, "a delivered path has an encoder"
        if self._stored_encoding:  # no record needed: the encoder's output is a function of the stored bytes
            body = encoder.encode_stored(  # type: ignore[attr-defined]
                c.payload, EncodeContext(c.interface, UUID(c.message_id), c.business_key, c.path, {})
            )
            if body is not None:
                return body, {}
        record = load_stored(self._model, c.payload)
        xrefs = self._resolve(record)
        ctx = EncodeContext(c.interface, UUID(c.message_id), c.business_key, c.path, xrefs)
        return encoder.encode(record, ctx), xrefs

    @staticmethod
    def _guard(c: ClaimedDelivery, step: Callable[[], _T]) -> _T | Outcome:
        """Run a plugin step; its errors become the attempt's outcome."""
        try:
            return step()
        except Exception as exc:  # classified by _plugin_error
            return _plugin_error(c, exc)

    def _resolve(self, record: Record) -> dict[str, str]:
        out: dict[str, str] = {}
        for ref in self.path.references:
            key = _field(record, ref.field)
            if key is None or key == "":
                continue
            target_id = self.ledger.lookup_xref(ref.entity, ref.system, str(key))
            if target_id is None:
                raise DependencyPending(f"{ref.entity} {key} has no id in {ref.system} yet")
            out[ref.field] = target_id
        return out

    def _result(
        self, c: ClaimedDelivery, number: int, started: object, outcome: Outcome, sent: bytes | None
    ) -> AttemptResult:
        now = self.clock.now()
        assert isinstance(started, type(now))
        error = outcome.error.to_dict() if outcome.error else None
        detail = outcome.detail
        if self._redactor is not None and outcome.status is not OutcomeStatus.DELIVERED:
            error, detail = self._redactor.scrub(c.payload, error, detail)
        result = AttemptResult(
            delivery=c,
            number=number,
            started_at=started,
            finished_at=now,
            outcome=outcome.status,
            next_status=DeliveryStatus.DELIVERED,
            detail=detail,
            error=error,
            retry_after=outcome.retry_after,
            response=outcome.response,
            media_type=outcome.media_type,
            sent=sent,
            target_id=outcome.target_id,
        )
        if outcome.status is OutcomeStatus.DELIVERED:
            if self.path.xref is not None and outcome.target_id:
                result.xref = XrefWrite(self.path.xref.entity, self.path.xref.system, c.business_key, outcome.target_id)
            if self.path.system and not c.dry_run:
                result.last_write = LastWrite(self.path.system, c.canonical, c.business_key, c.content_hash)
            return result
        if outcome.status is OutcomeStatus.REJECTED:
            result.next_status = DeliveryStatus.DEAD  # logged once recorded (_log_batch)
            return result
        policy = self.path.retry
        first = c.first_attempt_at or started
        age = (now - first).total_seconds()
        pending = isinstance(outcome.error, DependencyPending)
        limit_age = policy.dependency_max_age if pending else policy.max_age
        if (not pending and number >= policy.max_attempts) or age >= limit_age:
            result.next_status = DeliveryStatus.DEAD
            why = f"gave up after {number} attempts over {age:.0f}s"
            result.error = {**(error or {}), "gave_up": why}
            return result
        with self._rng_lock:
            delay = backoff_delay(policy, number, outcome.retry_after, self._rng)
        result.next_status = DeliveryStatus.PENDING
        result.next_attempt_at = now + timedelta(seconds=delay)
        return result


class _Claims:
    """A batch's claims: renewed when a third of the lease has passed (by the Clock or by real time,
    whichever says more: SQLite leases run on the Clock, PostgreSQL's on the database's real clock)."""

    def __init__(self, worker: TargetWorker, claimed: Sequence[ClaimedDelivery]) -> None:
        self._worker = worker
        self._claimed = list(claimed)
        self._held = {c.id for c in claimed}
        self._renewed_at: tuple[datetime, float] = (worker.clock.now(), time.monotonic())

    def holds(self, c: ClaimedDelivery) -> bool:
        """Whether ``c`` is still ours, renewing the batch's lease first when it is due."""
        w = self._worker
        at, mono = self._renewed_at
        elapsed = max((w.clock.now() - at).total_seconds(), time.monotonic() - mono)
        if elapsed >= w.lease.total_seconds() / 3:
            self._renewed_at = (w.clock.now(), time.monotonic())
            self._held = w.ledger.renew_claims([x for x in self._claimed if x.id in self._held], w.lease)
        return c.id in self._held


def dry_run_outcome(sink: Sink, delivery: Delivery) -> Outcome:
    """What a dry-run delivery records: the sink's own check where it offers one (``DryRunCheck``), else
    "not sent" (encoded and recorded, so the shadow comparison still sees the body)."""
    if isinstance(sink, DryRunCheck):
        return sink.check_dry_run(delivery)
    return Outcome.delivered(
        detail="dry run: not sent (the sink offers no dry-run check)", metadata={"dry_run": "true"}
    )


def _plugin_error(c: ClaimedDelivery, exc: Exception) -> Outcome:
    """A plugin's error as the attempt's outcome: a BridgeError as it is classified; anything else is a bug in
    the plugin, kept visible in the DLQ (rejected, with its traceback) instead of looping on it."""
    if isinstance(exc, BridgeError):
        return Outcome.from_error(exc.concerning(interface=c.interface, message_id=c.message_id))
    err = PermanentError(
        f"unexpected {type(exc).__name__}: {exc}",
        interface=c.interface,
        message_id=c.message_id,
        detail={"traceback": traceback.format_exc(limit=8)},
    )
    return Outcome.rejected(err)


def _field(record: Record, dotted: str) -> object:
    value: object = record
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value
