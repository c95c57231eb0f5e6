"""The Source and Sink contract suites (``bridge.testing``) against the cloud adapters' real peers.

Sources: ``RestPollSource`` against the simulator's customer change feed under uvicorn (input: a created
customer), ``WebhookSource`` fed by the simulator's own signed webhook sender (input: a published event; the
sender retries while the bridge has not acknowledged, as a provider does). Sinks: ``RestSink`` (effects: the
customers the simulator created for the external id), ``HttpEventSink`` and ``AmqpEventSink`` (effects: the
CloudEvents the receiver holds for the message id, one per distinct (source, id, data): CloudEvents
consumers de-duplicate on source and id, so that is what a repeat must not add to; a copy with other data
under the same id would count).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import pika
import pytest

from adapters.cloud.amqp_source import AmqpSource, AmqpSourceConfig
from adapters.cloud.events import (
    AMQP_PREFIX,
    AmqpEventSink,
    AmqpSettings,
    CloudEventsSinkConfig,
    HttpEventSink,
    HttpSettings,
)
from adapters.cloud.rest import BulkConfig, RestSink, RestSinkConfig
from adapters.cloud.rest_poll import RestPollSource, RestPollSourceConfig
from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig
from bridge.ports import Delivery, Sink, Source, SourceLedger
from bridge.testing import (
    BatchSinkContract,
    BatchSinkPeer,
    DeadPeer,
    SinkContract,
    SinkPeer,
    SourceContract,
    SourcePeer,
    contract_delivery,
)
from samples.cloud_sim import FaultRule, SimServer
from tests.integration.cloud.cloud_fakes import TcpProxy
from tests.integration.sftp_drops.conftest import free_port

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="
EVENT_TYPE = "com.example.contract.created"

# --------------------------------------------------------------------------------------------- sources


class RestPollPeer(SourcePeer):
    metadata_keys: ClassVar[frozenset[str]] = frozenset({"page", "count", "watermark"})

    def __init__(self, sim: SimServer, spool: Path) -> None:
        super().__init__(spool)
        self.sim = sim

    def build(self) -> Source:
        return RestPollSource(RestPollSourceConfig(url=self.sim.url + "/v1/customers", page_size=5, overlap=30))

    def put(self, n: int) -> None:
        key = self.marker(n).decode()
        self.sim.state.create("customers", {"external_id": key, "name": key}, None)


class TestRestPollSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, sim: SimServer, tmp_path: Path) -> Iterator[SourcePeer]:
        with RestPollPeer(sim, tmp_path) as peer:
            yield peer


class WebhookPeer(SourcePeer):
    """The sender reaches every source instance through one TCP proxy port. Stopping a source also kills the
    proxy, dropping the sender's kept-alive connections as the end of a process would (an in-process
    ``__exit__`` leaves them served by the closed instance); the next instance listens on the same port."""

    poll_timeout: ClassVar[float] = 15.0
    quiet_period: ClassVar[float] = 1.5
    metadata_keys: ClassVar[frozenset[str]] = frozenset({"webhook_id", "webhook_timestamp", "event_type"})

    def __init__(self, sim: SimServer, spool: Path) -> None:
        super().__init__(spool)
        self.sim = sim
        self.port = free_port()
        self.proxy = TcpProxy(self.port, port=free_port())
        sim.sender.subscribe(f"http://127.0.0.1:{self.proxy.port}/webhook", SECRET)

    def build(self) -> Source:
        config = WebhookSourceConfig(secret=SECRET, port=self.port, ack_timeout=1.0)  # type: ignore[arg-type]
        return WebhookSource(config)

    def open_source(self, ledger: SourceLedger) -> Source:
        source = super().open_source(ledger)
        self.proxy.start()
        return source

    def stop(self, source: Source) -> None:
        super().stop(source)
        self.proxy.kill()

    def put(self, n: int) -> None:
        self.sim.sender.publish("customer.created", {"external_id": self.marker(n).decode()})

    def offer_again(self) -> None:
        for event_id in list(self.sim.sender.events):
            self.sim.sender.resend(event_id)


class TestWebhookSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, sim: SimServer, tmp_path: Path) -> Iterator[SourcePeer]:
        with WebhookPeer(sim, tmp_path) as peer:
            yield peer


class AmqpSourcePeer(SourcePeer):
    """A queue of its own on the real RabbitMQ; input n is a binary-mode CloudEvent with its own id. Stopping a
    source closes its connection, so the broker requeues what it had not acked, as at a process's end;
    ``offer_again`` re-publishes every event under the same id, as an at-least-once producer does."""

    metadata_keys: ClassVar[frozenset[str]] = frozenset({"amqp_queue", "amqp_redelivered", "event_type"})

    def __init__(self, url: str, spool: Path) -> None:
        super().__init__(spool)
        self.url = url
        self.queue = f"contract-{uuid.uuid4().hex[:10]}"
        self.sent: list[int] = []

    def build(self) -> Source:
        return AmqpSource(AmqpSourceConfig(url=self.url, queue=self.queue, poll_wait=0.2))  # type: ignore[arg-type]

    def _publish(self, n: int) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            ch = conn.channel()
            ch.queue_declare(self.queue, durable=True)
            headers = {f"{AMQP_PREFIX}id": f"evt-{self.queue}-{n}", f"{AMQP_PREFIX}type": EVENT_TYPE}
            props = pika.BasicProperties(content_type="application/json", delivery_mode=2, headers=headers)
            ch.basic_publish("", self.queue, json.dumps({"external_id": self.marker(n).decode()}).encode(), props)
        finally:
            conn.close()

    def put(self, n: int) -> None:
        self._publish(n)
        self.sent.append(n)

    def offer_again(self) -> None:
        for n in list(self.sent):
            self._publish(n)

    def close(self) -> None:
        super().close()
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            conn.channel().queue_delete(self.queue)
        finally:
            conn.close()


class TestAmqpSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, rabbitmq: str, tmp_path: Path) -> Iterator[SourcePeer]:
        with AmqpSourcePeer(rabbitmq, tmp_path) as peer:
            yield peer


# --------------------------------------------------------------------------------------------- sinks


@contextlib.contextmanager
def _faulted(sim: SimServer, prefix: str, broken: bool, sink: Sink) -> Iterator[Sink]:
    """``sink`` entered; when ``broken``, every request under ``prefix`` answered 503 meanwhile."""
    with sink:
        if broken:
            sim.state.add_fault(FaultRule(path_prefix=prefix, status=503))
        try:
            yield sink
        finally:
            sim.state.clear_faults()


class RestPeer(SinkPeer):
    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        return _faulted(self.sim, "/v1/customers", broken, RestSink(RestSinkConfig(url=self.sim.url + "/v1/customers")))

    def delivery(self, n: int) -> Delivery:
        key = f"CUS-{n}"
        body = json.dumps({"external_id": key, "name": f"Customer {n}"}).encode()
        return contract_delivery(body, "application/json", business_key=key)

    def effects(self, delivery: Delivery) -> Sequence[object]:
        with self.sim.state.lock:
            records = self.sim.state.records["customers"].values()
            return sorted(r["id"] for r in records if r["external_id"] == delivery.business_key)

    def attempts(self) -> int | None:
        return len([r for r in self.sim.state.requests if r.path == "/v1/customers" and r.method == "POST"])


class TestRestSinkContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, sim: SimServer) -> SinkPeer:
        return RestPeer(sim)


class RestBulkPeer(RestPeer, BatchSinkPeer):
    """``RestSink`` with a ``bulk:`` block: one POST to ``/v1/customers/bulk`` per batch; the simulator refuses
    an item with a region its schema does not know (422 for that item only)."""

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        bulk = BulkConfig(url=self.sim.url + "/v1/customers/bulk", batch_size=50)
        return _faulted(
            self.sim, "/v1/customers", broken, RestSink(RestSinkConfig(url=self.sim.url + "/v1/customers", bulk=bulk))
        )

    def failing_delivery(self, n: int) -> Delivery:
        key = f"CUS-BAD-{n}"
        body = json.dumps({"external_id": key, "name": f"Customer {n}", "region": "MARS"}).encode()
        return contract_delivery(body, "application/json", business_key=key)

    def attempts(self) -> int | None:
        return len([r for r in self.sim.state.requests if r.path.startswith("/v1/customers") and r.method == "POST"])


class TestRestBulkSinkContract(SinkContract, BatchSinkContract):
    @pytest.fixture
    def sink_peer(self, sim: SimServer) -> SinkPeer:
        return RestBulkPeer(sim)

    @pytest.fixture
    def batch_peer(self, sim: SimServer) -> BatchSinkPeer:
        return RestBulkPeer(sim)


def _event_delivery(n: int) -> Delivery:
    key = f"EVT-{n}"
    return contract_delivery(json.dumps({"external_id": key}).encode(), "application/json", business_key=key)


def _distinct(events: Sequence[tuple[str, str, str]], message_id: uuid.UUID) -> list[tuple[str, str, str]]:
    return sorted({e for e in events if e[1] == str(message_id)})


class HttpEventPeer(SinkPeer):
    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        config = CloudEventsSinkConfig(
            type=EVENT_TYPE, source="/esb-bridge/contract", http=HttpSettings(url=self.sim.url + "/v1/events")
        )
        return _faulted(self.sim, "/v1/events", broken, HttpEventSink(config))

    def delivery(self, n: int) -> Delivery:
        return _event_delivery(n)

    def effects(self, delivery: Delivery) -> Sequence[object]:
        with self.sim.state.lock:
            received = list(self.sim.state.events_received)
        events = [(str(e.get("source")), str(e.get("id")), str(e.get("data"))) for e in received]
        return _distinct(events, delivery.message_id)

    def attempts(self) -> int | None:
        return len([r for r in self.sim.state.requests if r.path == "/v1/events"])


class TestHttpEventSinkContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, sim: SimServer) -> SinkPeer:
        return HttpEventPeer(sim)


class AmqpEventPeer(SinkPeer):
    """A queue bound to the test's own exchange holds what the broker routed; read without consuming twice."""

    def __init__(self, url: str, exchange: str, dead: DeadPeer, queue_arguments: dict[str, Any] | None = None) -> None:
        self.url = url
        self.exchange = exchange
        self.dead = dead
        self.seen: list[tuple[str, str, str]] = []
        self._connection = pika.BlockingConnection(pika.URLParameters(url))
        self._channel = self._connection.channel()
        self._channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        declared = self._channel.queue_declare("", exclusive=True, auto_delete=True, arguments=queue_arguments)
        self._queue = declared.method.queue
        self._channel.queue_bind(self._queue, exchange, routing_key="com.example.#")

    def close(self) -> None:
        self._connection.close()

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        url = f"amqp://guest:guest@127.0.0.1:{self.dead.port}/%2F" if broken else self.url
        settings = AmqpSettings(url=url, exchange=self.exchange, socket_timeout=2)
        config = CloudEventsSinkConfig(type=EVENT_TYPE, source="/esb-bridge/contract", amqp=settings)
        return AmqpEventSink(config)

    def delivery(self, n: int) -> Delivery:
        return _event_delivery(n)

    def effects(self, delivery: Delivery) -> Sequence[object]:
        deadline = time.monotonic() + 0.3  # confirmed publishes are routed; give a late copy a moment
        while time.monotonic() < deadline:
            method, props, body = self._channel.basic_get(self._queue, auto_ack=True)
            if method is None:
                time.sleep(0.05)
                continue
            headers: dict[str, Any] = props.headers or {}
            self.seen.append((str(headers.get(AMQP_PREFIX + "source")), str(props.message_id), body.decode()))
        return _distinct(self.seen, delivery.message_id)

    def attempts(self) -> int | None:
        return self.dead.accepted


class TestAmqpEventSinkContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, rabbitmq: str) -> Iterator[SinkPeer]:
        exchange = f"esb-contract-{uuid.uuid4().hex[:8]}"
        with DeadPeer() as dead:
            peer = AmqpEventPeer(rabbitmq, exchange, dead)
            try:
                yield peer
            finally:
                peer.close()
                conn = pika.BlockingConnection(pika.URLParameters(rabbitmq))
                conn.channel().exchange_delete(exchange)
                conn.close()


class AmqpBatchPeer(AmqpEventPeer, BatchSinkPeer):
    """The bound queue holds at most 64 KB and refuses what would not fit (``reject-publish``): RabbitMQ nacks
    an event too large for it, that one only."""

    def failing_delivery(self, n: int) -> Delivery:
        key = f"EVT-BIG-{n}"
        body = json.dumps({"external_id": key, "padding": "x" * 100_000}).encode()
        return contract_delivery(body, "application/json", business_key=key)


class TestAmqpEventSinkBatchContract(BatchSinkContract):
    @pytest.fixture
    def batch_peer(self, rabbitmq: str) -> Iterator[BatchSinkPeer]:
        exchange = f"esb-contract-{uuid.uuid4().hex[:8]}"
        limit = {"x-max-length-bytes": 65_536, "x-overflow": "reject-publish"}
        with DeadPeer() as dead:
            peer = AmqpBatchPeer(rabbitmq, exchange, dead, limit)
            try:
                yield peer
            finally:
                peer.close()
                conn = pika.BlockingConnection(pika.URLParameters(rabbitmq))
                conn.channel().exchange_delete(exchange)
                conn.close()
