"""CloudEvents sinks: real RabbitMQ (publisher confirms, a connection cut mid-publish) and HTTP to the simulator."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

from adapters.cloud.events import (
    AMQP_PREFIX,
    AmqpEventSink,
    AmqpSettings,
    CloudEventsSinkConfig,
    HttpEventSink,
    HttpSettings,
)
from bridge.ports import ConnectionFailed, Delivery, Encoded, OutcomeStatus, PathName, Role, SimulatedClock
from samples.cloud_sim import SimServer
from tests.integration.cloud.cloud_fakes import TcpProxy

EVENT_TYPE = "com.example.invoice.created"


def delivery(key: str, *, mid: uuid.UUID | None = None, attempt: int = 1) -> Delivery:
    body = json.dumps({"external_id": key, "total": "13.09"}).encode()
    return Delivery(
        message_id=mid or uuid.uuid4(),
        interface="invoices-events",
        path=PathName.CLOUD,
        role=Role.AUTHORITATIVE,
        business_key=key,
        attempt=attempt,
        payload=Encoded(body, "application/json"),
        transaction_id="txn-7",
    )


class Consumer:
    """A queue bound to a test's own exchange; reads everything published, raw."""

    def __init__(self, url: str, exchange: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key="com.example.#")

    def drain(self, expect: int, timeout: float = 5.0) -> list[tuple[Any, bytes]]:
        got: list[tuple[Any, bytes]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                if len(got) >= expect:
                    time.sleep(0.2)  # anything late (a doubled publish) still arrives
                    method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
                    if method is None:
                        return got
                else:
                    time.sleep(0.05)
                    continue
            got.append((props, body))
        return got

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def exchange(rabbitmq: str) -> Iterator[str]:
    name = f"esb-test-{uuid.uuid4().hex[:8]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    conn.channel().exchange_delete(name)
    conn.close()


def amqp_config(url: str, exchange: str, mode: str = "binary") -> CloudEventsSinkConfig:
    return CloudEventsSinkConfig(
        type=EVENT_TYPE,
        source="/esb-bridge/invoices",
        mode=mode,  # type: ignore[arg-type]
        dataschema="https://schemas.example/invoice/1",
        amqp=AmqpSettings(url=url, exchange=exchange),
    )


def test_amqp_binary_attributes(rabbitmq: str, exchange: str) -> None:
    """A published event carries every CloudEvents attribute, persistent, routed by its type, confirmed."""
    consumer = Consumer(rabbitmq, exchange)
    clock = SimulatedClock()
    d = delivery("INV-1")
    try:
        with AmqpEventSink(amqp_config(rabbitmq, exchange), clock=clock) as sink:
            outcome = sink.deliver(d)
        ((props, body),) = consumer.drain(1)
    finally:
        consumer.close()
    assert outcome.status is OutcomeStatus.DELIVERED and outcome.target_id == str(d.message_id)
    h = props.headers
    assert h[AMQP_PREFIX + "id"] == str(d.message_id)
    assert h[AMQP_PREFIX + "specversion"] == "1.0"
    assert h[AMQP_PREFIX + "type"] == EVENT_TYPE
    assert h[AMQP_PREFIX + "source"] == "/esb-bridge/invoices"
    assert h[AMQP_PREFIX + "subject"] == "INV-1"
    assert h[AMQP_PREFIX + "time"] == "2026-01-05T08:00:00Z"
    assert h[AMQP_PREFIX + "dataschema"] == "https://schemas.example/invoice/1"
    assert props.content_type == "application/json" and props.delivery_mode == 2
    assert json.loads(body) == {"external_id": "INV-1", "total": "13.09"}


def test_amqp_structured_mode(rabbitmq: str, exchange: str) -> None:
    """Structured mode puts attributes and JSON data in one application/cloudevents+json body."""
    consumer = Consumer(rabbitmq, exchange)
    d = delivery("INV-2")
    try:
        with AmqpEventSink(amqp_config(rabbitmq, exchange, "structured"), clock=SimulatedClock()) as sink:
            assert sink.deliver(d).status is OutcomeStatus.DELIVERED
        ((props, body),) = consumer.drain(1)
    finally:
        consumer.close()
    event = json.loads(body)
    assert props.content_type.startswith("application/cloudevents+json")
    assert event["id"] == str(d.message_id) and event["subject"] == "INV-2"
    assert event["datacontenttype"] == "application/json" and event["data"]["total"] == "13.09"


def test_amqp_unroutable_is_retryable(rabbitmq: str, exchange: str) -> None:
    """With no queue bound, the broker returns the message: a retryable failure, not a silent loss."""
    with AmqpEventSink(amqp_config(rabbitmq, exchange)) as sink:
        outcome = sink.deliver(delivery("INV-3"))
    assert outcome.status is OutcomeStatus.FAILED


def test_connection_cut_mid_publish_is_retryable_not_lost_or_doubled(rabbitmq: str, exchange: str) -> None:
    """A cut before the confirm, and a dead proxy, are retryable; after retries each id is there exactly once."""
    consumer = Consumer(rabbitmq, exchange)
    proxy = TcpProxy(5672).start()
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
    ids = {n: uuid.uuid4() for n in range(1, 5)}
    try:
        with AmqpEventSink(amqp_config(url, exchange)) as sink:
            assert sink.deliver(delivery("K1", mid=ids[1])).status is OutcomeStatus.DELIVERED
            proxy.cut_next_write()
            cut = sink.deliver(delivery("K2", mid=ids[2]))
            assert cut.status is OutcomeStatus.FAILED and isinstance(cut.error, ConnectionFailed)
            assert sink.deliver(delivery("K2", mid=ids[2], attempt=2)).status is OutcomeStatus.DELIVERED
            assert sink.deliver(delivery("K3", mid=ids[3])).status is OutcomeStatus.DELIVERED
            proxy.kill()
            down = sink.deliver(delivery("K4", mid=ids[4]))
            assert down.status is OutcomeStatus.FAILED and isinstance(down.error, ConnectionFailed)
            proxy = TcpProxy(5672, port=proxy.port).start()
            assert sink.deliver(delivery("K4", mid=ids[4], attempt=2)).status is OutcomeStatus.DELIVERED
        raw = consumer.drain(4)
    finally:
        proxy.kill()
        consumer.close()
    seen = [p.headers[AMQP_PREFIX + "id"] for p, _ in raw]
    assert sorted(set(seen)) == sorted(str(i) for i in ids.values())  # nothing lost; de-duplicated by id
    assert seen.count(str(ids[1])) == seen.count(str(ids[3])) == seen.count(str(ids[4])) == 1
    assert seen.count(str(ids[2])) in (1, 2)  # the cut publish may have reached the broker: same id, de-duped


def test_amqp_batch_is_confirmed_once_and_a_cut_fails_only_the_unconfirmed(rabbitmq: str, exchange: str) -> None:
    """A batch of 200 is published and confirmed as one (RabbitMQ acks many tags per frame: far fewer confirm
    frames than events); a connection cut mid-batch fails each of its events, retryably, and the re-sent
    batch lands every id (a cut publish that reached the broker carries the same id, de-duplicated)."""
    consumer = Consumer(rabbitmq, exchange)
    proxy = TcpProxy(5672).start()
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
    first = [delivery(f"B{n}") for n in range(200)]
    second = [delivery(f"C{n}") for n in range(5)]
    try:
        with AmqpEventSink(amqp_config(url, exchange)) as sink:
            assert sink.max_batch == 500
            channel = sink._ensure_channel()
            assert [o.status for o in sink.deliver_batch(first)] == ["delivered"] * 200
            frames = channel.confirm_frames
            proxy.cut_next_write()
            cut = sink.deliver_batch(second)
            assert all(o.status is OutcomeStatus.FAILED and isinstance(o.error, ConnectionFailed) for o in cut)
            again = sink.deliver_batch([dataclasses.replace(d, attempt=2) for d in second])
            assert [o.status for o in again] == ["delivered"] * 5
        raw = consumer.drain(205)
    finally:
        proxy.kill()
        consumer.close()
    assert 0 < frames < 200, f"{frames} confirm frames for 200 events: confirmed one by one?"
    seen = {p.headers[AMQP_PREFIX + "id"] for p, _ in raw}
    assert seen == {str(d.message_id) for d in first + second}


def test_broker_unreachable_is_retryable() -> None:
    """No broker at the URL: a ConnectionFailed outcome."""
    proxy = TcpProxy(5672).start()
    port = proxy.port
    proxy.kill()
    cfg = amqp_config(f"amqp://guest:guest@127.0.0.1:{port}/%2F", "unused")
    with AmqpEventSink(cfg) as sink:
        outcome = sink.deliver(delivery("K5"))
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, ConnectionFailed)


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_http_content_modes(sim: SimServer, mode: str) -> None:
    """HTTP binary mode sends ce-* headers; structured mode one JSON document; both carry the same attributes."""
    cfg = CloudEventsSinkConfig(
        type=EVENT_TYPE,
        source="/esb-bridge/invoices",
        mode=mode,  # type: ignore[arg-type]
        http=HttpSettings(url=sim.url + "/v1/events"),
    )
    d = delivery("INV-9")
    with HttpEventSink(cfg, clock=SimulatedClock()) as sink:
        outcome = sink.deliver(d)
    assert outcome.status is OutcomeStatus.DELIVERED
    (event,) = sim.state.events_received
    assert event["mode"] == mode
    assert event["id"] == str(d.message_id) and event["type"] == EVENT_TYPE and event["specversion"] == "1.0"
    assert event["subject"] == "INV-9" and event["time"] == "2026-01-05T08:00:00Z"
    assert event["datacontenttype"] == "application/json"
    data = event["data"] if mode == "structured" else json.loads(event["data"])
    assert data["external_id"] == "INV-9"


def test_http_event_429_is_retryable(sim: SimServer) -> None:
    """The event endpoint's 429 comes back as a failed outcome with its Retry-After."""
    from samples.cloud_sim import FaultRule

    sim.state.add_fault(FaultRule(path_prefix="/v1/events", status=429, retry_after="2", count=1))
    cfg = CloudEventsSinkConfig(type=EVENT_TYPE, source="/s", http=HttpSettings(url=sim.url + "/v1/events"))
    with HttpEventSink(cfg) as sink:
        outcome = sink.deliver(delivery("INV-10"))
    assert outcome.status is OutcomeStatus.FAILED and outcome.retry_after == 2.0
