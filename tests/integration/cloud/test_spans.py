"""OpenTelemetry spans of a real pass (folder -> REST simulator), checked with the in-memory exporter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridge.config import load_config
from bridge.observability import tracing
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.runtime.spans import batch_spans
from samples.cloud_sim import SimServer
from tests.integration.cloud.test_cloud_runtime_e2e import write_config
from tests.integration.runtime.conftest import write_customers


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(exporter, batch=False)
    try:
        yield exporter
    finally:
        tracing.uninstall()


def test_span_tree_of_a_pass(tmp_path: Path, sim: SimServer, exported: InMemorySpanExporter) -> None:
    """ingest and each delivery (encode, sink_call) sit in the transaction's trace; claim and compare are roots."""
    write_customers(tmp_path / "drop" / "a.jsonl", 3)
    with Runner(load_config(write_config(tmp_path, sim, concurrency=1)), SimulatedClock()) as runner:
        runner.run_once(max_wait=5)
    spans = exported.get_finished_spans()
    by_name: dict[str, list[ReadableSpan]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    [ingest] = by_name["ingest"]
    txn = str(ingest.attributes["esb.transaction_id"])  # type: ignore[index]
    trace_id = uuid.UUID(txn).int
    assert ingest.context.trace_id == trace_id and ingest.parent is not None and ingest.parent.is_remote
    assert ingest.attributes["esb.interface"] == "customers"  # type: ignore[index]

    claims = {s.context.span_id for s in by_name["claim"]}
    assert all(s.parent is None for s in by_name["claim"]) and claims
    delivers = by_name["deliver"]
    assert len(delivers) == 3
    for d in delivers:
        assert d.context.trace_id == trace_id and d.attributes["esb.outcome"] == "delivered"  # type: ignore[index]
        [link] = d.links
        assert link.context.span_id in claims
    ids = {d.context.span_id for d in delivers}
    for child in ("encode", "sink_call"):
        assert len(by_name[child]) == 3
        assert {s.parent.span_id for s in by_name[child] if s.parent} == ids
    [compare, *_] = by_name["compare"]
    assert compare.parent is None

    sent = {r.traceparent for r in sim.state.requests if r.path.startswith("/v1/ingest/")}
    calls = {f"00-{s.context.trace_id:032x}-{s.context.span_id:016x}-01" for s in by_name["sink_call"]}
    assert sent == calls  # the target joins the trace under the sink call


def test_off_without_an_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an exporter there is no tracer, and a claimed batch gets no span object at all."""
    monkeypatch.delenv(tracing.ENDPOINT_ENV, raising=False)
    assert tracing.state.tracer is None
    assert batch_spans("t", [], 0) is None
    with tracing.configured(None) as tracer:
        assert tracer is None


def test_otlp_endpoint_exports_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an endpoint configured, spans reach an OTLP/HTTP receiver on 127.0.0.1 at /v1/traces."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    monkeypatch.delenv(tracing.ENDPOINT_ENV, raising=False)
    got: list[tuple[str, str, int]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            self.rfile.read(size)
            got.append((self.path, self.headers["Content-Type"], size))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with tracing.configured(f"http://127.0.0.1:{server.server_address[1]}", "esb-test") as tracer:
            assert tracer is not None and tracing.state.tracer is tracer
            with tracing.span("compare", {"esb.compared": 1}):
                pass
        assert tracing.state.tracer is None  # flushed and off again after the block
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    [(path, media, size)] = got
    assert path == "/v1/traces" and media == "application/x-protobuf" and size > 0
