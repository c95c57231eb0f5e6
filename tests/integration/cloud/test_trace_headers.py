"""Every outgoing request of a record carries its transaction id: ``traceparent`` and ``X-Correlation-Id``.

Checked where the requests land: the REST simulator's request log (REST sink through the runtime, and
CloudEvents over HTTP) and the message a RabbitMQ consumer receives.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pika

from adapters.cloud.events import (
    AMQP_PREFIX,
    AmqpEventSink,
    AmqpSettings,
    CloudEventsSinkConfig,
    HttpEventSink,
    HttpSettings,
)
from bridge.config import load_config
from bridge.ports import Delivery, Encoded, OutcomeStatus, PathName, Role, SimulatedClock
from bridge.ports.trace import trace_id_of
from bridge.runtime.runner import Runner
from bridge.store.queries import MessageQuery, search_messages
from samples.cloud_sim import SimServer
from tests.integration.cloud.test_cloud_runtime_e2e import write_config
from tests.integration.runtime.conftest import write_customers

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")


def _delivery(txn: str) -> Delivery:
    body = json.dumps({"external_id": "INV-1", "total": "1.00"}).encode()
    return Delivery(
        uuid.uuid4(), "inv", PathName.CLOUD, Role.AUTHORITATIVE, "INV-1", 1, Encoded(body, "application/json"), txn
    )


def test_rest_sink_requests_carry_the_records_transaction(tmp_path: Path, sim: SimServer) -> None:
    """Through the runtime: each POST has the message's transaction id as correlation id and trace id."""
    cfg = write_config(tmp_path, sim, concurrency=2)
    write_customers(tmp_path / "drop" / "a.jsonl", 4)
    with Runner(load_config(cfg), SimulatedClock()) as runner:
        runner.run_once(max_wait=5)
        rows = search_messages(runner.ledger.engine, MessageQuery(interface="customers"))
    [txn] = {r["transaction_id"] for r in rows}
    posts = [r for r in sim.state.requests if r.method in ("POST", "PUT") and r.path.startswith("/v1/ingest/")]
    assert len(posts) == 4
    parents = set()
    for r in posts:
        assert r.correlation_id == txn
        match = TRACEPARENT.match(r.traceparent or "")
        assert match, r.traceparent
        assert match.group(1) == trace_id_of(txn) == uuid.UUID(txn).hex
        parents.add(match.group(2))
    assert len(parents) == 4  # one parent id per record's attempt


def test_cloudevents_over_http_carry_trace_context(sim: SimServer) -> None:
    """A CloudEvent POSTed to a webhook: traceparent header and ce-traceparent attribute, correlation header."""
    cfg = CloudEventsSinkConfig(type="com.example.x", source="/t", http=HttpSettings(url=sim.url + "/v1/events"))
    d = _delivery("order-file-17")
    with HttpEventSink(cfg, clock=SimulatedClock()) as sink:
        assert sink.deliver(d).status is OutcomeStatus.DELIVERED
    [logged] = [r for r in sim.state.requests if r.path == "/v1/events"]
    [event] = sim.state.events_received
    assert logged.correlation_id == "order-file-17" and event["correlationid"] == "order-file-17"
    assert logged.traceparent == event["traceparent"]
    match = TRACEPARENT.match(logged.traceparent or "")
    assert match and match.group(1) == trace_id_of("order-file-17")


def test_amqp_event_carries_trace_context(rabbitmq: str) -> None:
    """Over AMQP the CloudEvent has the traceparent extension attribute and a plain traceparent header."""
    exchange = f"esb-trace-{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    ch = conn.channel()
    try:
        ch.exchange_declare(exchange, exchange_type="topic", durable=True)
        queue = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        ch.queue_bind(queue, exchange, routing_key="#")
        cfg = CloudEventsSinkConfig(
            type="com.example.x", source="/t", amqp=AmqpSettings(url=rabbitmq, exchange=exchange)
        )
        txn = str(uuid.uuid4())
        with AmqpEventSink(cfg, clock=SimulatedClock()) as sink:
            assert sink.deliver(_delivery(txn)).status is OutcomeStatus.DELIVERED
        method, props, _ = ch.basic_get(queue, auto_ack=True)
        assert method is not None
    finally:
        ch.exchange_delete(exchange)
        conn.close()
    assert props.correlation_id == txn and props.headers[AMQP_PREFIX + "correlationid"] == txn
    assert props.headers["traceparent"] == props.headers[AMQP_PREFIX + "traceparent"]
    match = TRACEPARENT.match(props.headers["traceparent"])
    assert match and match.group(1) == uuid.UUID(txn).hex
