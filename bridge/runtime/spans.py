"""The spans of the runtime's work (ingest, claim, encode, sink call, compare) when tracing is on.

A worker asks :func:`batch_spans` once per claimed batch: None when tracing is off (so a delivery costs one
``is None`` test), else a :class:`BatchSpans` that records the batch's ``claim`` span (a root of its own: a
claim serves many transactions) and, per delivery, a ``deliver`` span in the trace of the record's
transaction (``bridge.ports.trace``: the same trace id its ``traceparent`` carries) with ``encode`` and
``sink_call`` children, linked to the claim. The sink receives the ``sink_call`` span's context as its
``traceparent``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer

from bridge.observability import tracing
from bridge.ports import Outcome, OutcomeStatus
from bridge.ports.trace import span_id_of, trace_id_of
from bridge.store.records import ClaimedDelivery

__all__ = ["BatchSpans", "batch_spans", "claim_started", "ingest_span", "transaction_parent"]

_T = TypeVar("_T")


def transaction_parent(transaction_id: str) -> Any:
    """The context of a transaction's trace root (derived, so every process finds the same one)."""
    return tracing.remote_parent(trace_id_of(transaction_id), span_id_of(transaction_id, 0))


def claim_started() -> int:
    """When a claim began (ns), only worth reading when tracing is on; 0 otherwise."""
    return time.time_ns() if tracing.state.tracer is not None else 0


@contextmanager
def ingest_span(interface: str, batch: int, origin: str, transaction_id: str) -> Iterator[Span | None]:
    """The ``ingest`` span of one batch (decode and commit of all its records) in its transaction's trace."""
    if tracing.state.tracer is None:
        yield None
        return
    attrs = {
        "esb.interface": interface,
        "esb.batch_id": batch,
        "esb.origin": origin,
        "esb.transaction_id": transaction_id,
    }
    with tracing.span("ingest", attrs, parent=transaction_parent(transaction_id)) as current:
        yield current


class BatchSpans:
    """The spans of one claimed batch; every method is called only when tracing is on."""

    def __init__(self, tracer: Tracer, target: str, claimed: Sequence[ClaimedDelivery], started_ns: int) -> None:
        self._tracer = tracer
        self._target = target
        claim = tracer.start_span(
            "claim", start_time=started_ns or None, attributes={"esb.target": target, "esb.claimed": len(claimed)}
        )
        claim.end()
        self._link = Link(claim.get_span_context())
        self._open: dict[int, Span] = {}
        self._calls: dict[int, Span] = {}

    def _deliver_span(self, c: ClaimedDelivery) -> Span:
        span = self._open.get(c.id)
        if span is None:
            span = self._tracer.start_span(
                "deliver",
                context=transaction_parent(c.transaction_id),
                links=[self._link],
                attributes={
                    "esb.interface": c.interface,
                    "esb.target": self._target,
                    "esb.message_id": c.message_id,
                    "esb.transaction_id": c.transaction_id,
                    "esb.attempt": c.attempts + 1,
                },
            )
            self._open[c.id] = span
        return span

    def encode(self, c: ClaimedDelivery, step: Callable[[], _T]) -> _T:
        """Run ``step`` (the encode, errors included) inside ``encode`` under the delivery's span."""
        ctx = trace.set_span_in_context(self._deliver_span(c))
        with self._tracer.start_as_current_span("encode", context=ctx):
            return step()

    def sink_call(self, c: ClaimedDelivery) -> str:
        """Start the ``sink_call`` span of ``c``; returns the ``traceparent`` the sink sends."""
        ctx = trace.set_span_in_context(self._deliver_span(c))
        span = self._calls[c.id] = self._tracer.start_span(
            "sink_call", context=ctx, kind=SpanKind.CLIENT, attributes={"esb.target": self._target}
        )
        return tracing.traceparent_of(span)

    def finished(self, c: ClaimedDelivery, outcome: Outcome | None) -> None:
        """End the delivery's spans with its outcome (None: not sent, its claim was lost)."""
        status = outcome.status.value if outcome is not None else "claim_lost"
        for span in (self._calls.pop(c.id, None), self._open.pop(c.id, None)):
            if span is None:
                continue
            span.set_attribute("esb.outcome", status)
            if outcome is None or outcome.status is not OutcomeStatus.DELIVERED:
                span.set_status(Status(StatusCode.ERROR, outcome.detail if outcome else "claim lost"))
            span.end()

    def close(self) -> None:
        """End whatever is still open (a delivery whose encode failed has no sink call)."""
        for span in [*self._calls.values(), *self._open.values()]:
            span.end()
        self._calls.clear()
        self._open.clear()


def batch_spans(target: str, claimed: Sequence[ClaimedDelivery], started_ns: int) -> BatchSpans | None:
    """The spans of a claimed batch, or None when tracing is off."""
    tracer = tracing.state.tracer
    return None if tracer is None else BatchSpans(tracer, target, claimed, started_ns)
