"""Delivery workers: claim -> resolve xrefs -> encode -> ONE sink attempt -> record outcome, retry or dead-letter.

All retrying lives here, never in a sink: exponential backoff with jitter honouring ``retry_after``, a
maximum number of attempts and a maximum age, then the dead-letter queue. Claims are per target, in batches,
at most one open delivery per business key (the ledger enforces the order), and the outcomes of a batch are
written in one transaction. Redelivery after a crash is safe because sinks are idempotent per message id.
"""

from __future__ import annotations

import logging
import random
import threading
import traceback
from datetime import timedelta
from uuid import UUID

from bridge.canonical import model_for
from bridge.ports import (
    BridgeError,
    Clock,
    Delivery,
    DependencyPending,
    EncodeContext,
    Outcome,
    OutcomeStatus,
    PermanentError,
    Record,
)
from bridge.runtime.forward import discard_spool, forwarded_bytes, forwarded_bytes_path
from bridge.runtime.limits import RateLimiter
from bridge.runtime.retry import backoff_delay
from bridge.runtime.wiring import InterfaceRuntime, PathRuntime
from bridge.store.ledger import Ledger
from bridge.store.records import AttemptResult, ClaimedDelivery, DeliveryStatus, LastWrite, MessageKind, XrefWrite

__all__ = ["TargetWorker"]

log = logging.getLogger("esb_bridge.runtime.delivery")


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

    def run_batch(self) -> int:
        """Claim and process one batch; returns how many deliveries were attempted (0 = nothing due)."""
        claimed = self.ledger.claim(self.target, self.path.limits.batch, self.lease)
        if not claimed:
            return 0
        results = [self._attempt(c) for c in claimed]
        self.ledger.finish(results)
        for r in results:  # forwarded bytes are kept until the delivery is durably recorded as delivered
            if (
                r.delivery.kind is MessageKind.FORWARD
                and r.next_status is DeliveryStatus.DELIVERED
                and not r.delivery.dry_run
            ):
                discard_spool(forwarded_bytes_path(r.delivery.payload))
        return len(results)

    # ----------------------------------------------------------------- one attempt

    def _attempt(self, c: ClaimedDelivery) -> AttemptResult:
        number = c.attempts + 1
        started = self.clock.now()
        sent: bytes | None = None
        try:
            xrefs: dict[str, str] = {}
            if c.kind is MessageKind.FORWARD:
                encoded = forwarded_bytes(c.payload)[0]  # the original bytes, unchanged
            else:
                record = self._model.model_validate_json(c.payload)
                xrefs = self._resolve(record)
                assert self.path.encoder is not None, "a delivered path has an encoder"
                encoded = self.path.encoder.encode(
                    record, EncodeContext(c.interface, UUID(c.message_id), c.business_key, c.path, xrefs)
                )
            sent = encoded.body
            sink = self.path.sink_for(self.shadow_sink)
            assert sink is not None
            self.limiter.acquire()
            outcome = sink.deliver(
                Delivery(
                    UUID(c.message_id),
                    c.interface,
                    c.path,
                    c.role,
                    c.business_key,
                    number,
                    encoded,
                    c.transaction_id,
                    c.dry_run,
                    xrefs=xrefs,
                )
            )
        except BridgeError as exc:
            outcome = Outcome.from_error(exc.concerning(interface=c.interface, message_id=c.message_id))
        except Exception as exc:  # a bug in a plugin: keep it visible in the DLQ instead of looping on it
            err = PermanentError(
                f"unexpected {type(exc).__name__}: {exc}",
                interface=c.interface,
                message_id=c.message_id,
                detail={"traceback": traceback.format_exc(limit=8)},
            )
            outcome = Outcome.rejected(err)
        return self._result(c, number, started, outcome, sent)

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
        result = AttemptResult(
            delivery=c,
            number=number,
            started_at=started,
            finished_at=now,
            outcome=outcome.status,
            next_status=DeliveryStatus.DELIVERED,
            detail=outcome.detail,
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
            result.next_status = DeliveryStatus.DEAD
            log.warning("%s %s rejected: %s", c.interface, c.message_id, outcome.detail)
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
            log.warning("%s %s dead: %s (%s)", c.interface, c.message_id, outcome.detail, why)
            return result
        with self._rng_lock:
            delay = backoff_delay(policy, number, outcome.retry_after, self._rng)
        result.next_status = DeliveryStatus.PENDING
        result.next_attempt_at = now + timedelta(seconds=delay)
        return result


def _field(record: Record, dotted: str) -> object:
    value: object = record
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value
