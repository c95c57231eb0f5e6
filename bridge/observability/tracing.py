"""OpenTelemetry spans of the bridge's work, only when an exporter is configured; nothing at all otherwise.

:data:`state.tracer` is None unless :func:`install` (or :func:`configured`, from ``observability.otlp_endpoint``
or ``OTEL_EXPORTER_OTLP_ENDPOINT``) set one up: the runtime checks it once per batch, and a record costs one
``is None`` test when tracing is off. The SDK and the OTLP exporter are the optional extra ``esb-bridge[otel]``;
only the API is a dependency.

A record's spans (ingest of its batch, its delivery attempts with encode and sink call) belong to the trace
of its transaction: the trace id is derived from the transaction id exactly as the ``traceparent`` sent to
targets is (same digits, ``bridge.ports.trace``), so the bridge's spans, the target's spans and a search by
transaction id meet in one trace. Batch-level work that spans many transactions (a claim, a comparison
round) is a root span of its own, linked from the delivery spans it served.

This module imports nothing of the bridge (the ids are computed by the caller).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags, Tracer

__all__ = ["ENDPOINT_ENV", "configured", "install", "remote_parent", "span", "state", "traceparent_of"]

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SCOPE = "esb_bridge"


@dataclass
class _State:
    tracer: Tracer | None = None
    provider: Any = None


#: the process's tracer (None: tracing off) and the SDK provider that owns it
state = _State()


def install(exporter: Any, *, service_name: str = "esb-bridge", batch: bool = True) -> Tracer:
    """Trace to ``exporter`` (an SDK ``SpanExporter``) from now on; ``batch=False`` exports each span when it
    ends (tests with the in-memory exporter). Replaces an earlier set-up."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    uninstall()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    state.provider = provider
    state.tracer = provider.get_tracer(SCOPE)
    return state.tracer


def uninstall() -> None:
    """Tracing off; spans not yet exported are flushed first."""
    provider, state.provider, state.tracer = state.provider, None, None
    if provider is not None:
        provider.shutdown()


@contextmanager
def configured(endpoint: str | None, service_name: str = "esb-bridge") -> Iterator[Tracer | None]:
    """Traces to the OTLP/HTTP ``endpoint`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT``) while the block runs; with
    neither, leaves tracing as it is (off, or what a caller installed)."""
    url = endpoint or os.environ.get(ENDPOINT_ENV)
    if not url:
        yield state.tracer
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # the optional extra is missing: say so instead of running untraced
        raise RuntimeError(
            "tracing is configured (observability.otlp_endpoint or OTEL_EXPORTER_OTLP_ENDPOINT) but the "
            "OpenTelemetry SDK/exporter is not installed: pip install 'esb-bridge[otel]'"
        ) from exc
    traces = url if url.rstrip("/").endswith("/v1/traces") else url.rstrip("/") + "/v1/traces"
    tracer = install(OTLPSpanExporter(endpoint=traces), service_name=service_name)
    try:
        yield tracer
    finally:
        uninstall()


def remote_parent(trace_id: str, span_id: str) -> Context:
    """A context whose parent is the (not recorded here) root of a transaction's trace."""
    ctx = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(ctx))


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[Span | None]:
    """A span while the block runs, or None when tracing is off (attributes with None values are dropped)."""
    tracer = state.tracer
    if tracer is None:
        yield None
        return
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attrs) as current:
        yield current


def traceparent_of(current: Span) -> str:
    """The W3C ``traceparent`` of ``current`` (what a target receives to join its trace)."""
    ctx = current.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
