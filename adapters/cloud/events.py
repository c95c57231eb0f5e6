"""CloudEvents 1.0 sinks: ``AmqpEventSink`` (RabbitMQ, AMQP 0-9-1) and ``HttpEventSink`` (binary/structured).

Each delivery becomes one CloudEvent: ``id`` = message id (consumers de-duplicate on it, so a re-publish
after a lost confirm is harmless), ``subject`` = business key, ``time`` from the Clock, ``type``/``source``/
``dataschema`` from config, ``datacontenttype`` from the encoder. The AMQP sink publishes persistent
messages with publisher confirms to its own declared exchange, routing key = event type; a publish counts
as delivered only when the broker confirmed it, and a dropped connection is a retryable failure. It is a
:class:`~bridge.ports.BatchSink`: a batch is published in full and its confirms are awaited once
(``amqp_confirms.py``), each message getting the broker's own verdict. Publishes are serialised on one
connection (pika's BlockingConnection is not thread-safe).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pika
import pika.exceptions
from pydantic import BaseModel, ConfigDict, Field

from adapters.cloud._http import classify
from adapters.cloud.amqp_confirms import Confirm, ConfirmedChannel, Message
from adapters.cloud.auth import AuthConfig, AuthorizedClient
from bridge.ports import (
    BridgeError,
    Clock,
    ConfigError,
    ConnectionFailed,
    Delivery,
    KindConfig,
    Outcome,
    PeerCheck,
    Resource,
    SystemClock,
    TargetUnavailable,
    TimeoutExpired,
)
from bridge.ports.trace import TRACEPARENT, trace_headers, traceparent

__all__ = [
    "AMQP_PREFIX",
    "AmqpEventSink",
    "AmqpSettings",
    "CloudEventsSinkConfig",
    "HttpEventSink",
    "HttpSettings",
    "cloud_event",
    "structured_body",
]

#: Attribute prefix of the CloudEvents AMQP binding (binary content mode, application properties).
AMQP_PREFIX = "cloudEvents:"
STRUCTURED_MEDIA = "application/cloudevents+json; charset=utf-8"


class AmqpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    """AMQP broker URL (credentials from the environment)."""
    exchange: str = "esb-bridge.events"
    """Exchange events are published to (declared when missing)."""
    exchange_type: Literal["topic", "direct", "fanout", "headers"] = "topic"
    """Type of the exchange."""
    routing_key: str | None = None
    """Routing key (the event type when unset)."""
    mandatory: bool = True
    """Publish as mandatory: an unroutable event is an error, not lost."""
    socket_timeout: float = 5.0
    """Seconds a socket operation may take."""
    heartbeat: int = 30
    """AMQP heartbeat interval in seconds."""
    batch_size: int = Field(500, ge=1, le=10_000)
    """Events published per batch, their publisher confirms awaited once for the batch."""


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    url: str
    """URL events are POSTed to."""
    auth: AuthConfig | None = None
    """Authentication of the HTTP endpoint."""
    timeout: float = 10.0
    """Seconds one request may take."""


class CloudEventsSinkConfig(KindConfig):
    """The ``cloudevents`` sink kind: one of ``amqp`` and ``http``."""

    kind: Literal["cloudevents"] = "cloudevents"
    """Selects this plugin: ``cloudevents``."""
    type: str
    """CloudEvents type attribute (e.g. com.example.invoice.created)."""
    source: str
    """CloudEvents source attribute (a URI naming the producer)."""
    dataschema: str | None = None
    """CloudEvents dataschema attribute."""
    mode: Literal["binary", "structured"] = "binary"
    """binary (attributes as headers) or structured (one JSON envelope)."""
    amqp: AmqpSettings | None = None
    """Publish to an AMQP exchange (one of amqp and http)."""
    http: HttpSettings | None = None
    """POST to an HTTP endpoint (one of amqp and http)."""
    target: str | None = None
    """Target name used for delivery limits and listings."""


def cloud_event(delivery: Delivery, config: CloudEventsSinkConfig, clock: Clock) -> dict[str, str]:
    """The CloudEvents 1.0 context attributes of one delivery (without ``data``)."""
    attrs = {
        "specversion": "1.0",
        "id": str(delivery.message_id),
        "source": config.source,
        "type": config.type,
        "subject": delivery.business_key,
        "time": clock.now().isoformat().replace("+00:00", "Z"),
        "datacontenttype": delivery.payload.media_type,
        "correlationid": delivery.transaction_id,
        # the CloudEvents distributed-tracing extension: the record's W3C trace context (bridge.ports.trace)
        "traceparent": traceparent(delivery),
    }
    if config.dataschema:
        attrs["dataschema"] = config.dataschema
    return attrs


def structured_body(attrs: Mapping[str, str], data: bytes) -> bytes:
    """Structured content mode: the attributes and the data in one JSON document."""
    event: dict[str, Any] = dict(attrs)
    media = attrs.get("datacontenttype", "")
    if "json" in media:
        try:
            event["data"] = json.loads(data)
        except ValueError:
            event["data_base64"] = base64.b64encode(data).decode()
    elif media.startswith("text/"):
        event["data"] = data.decode("utf-8")
    else:
        event["data_base64"] = base64.b64encode(data).decode()
    return json.dumps(event, separators=(",", ":")).encode()


class AmqpEventSink(Resource):
    """Publishes CloudEvents to RabbitMQ with publisher confirms, a batch at a time (a :class:`BatchSink`)."""

    def __init__(self, config: CloudEventsSinkConfig, *, clock: Clock | None = None) -> None:
        if config.amqp is None:
            raise ConfigError("cloudevents sink over AMQP needs an 'amqp' block")
        self.config = config
        self.settings = config.amqp
        self.clock = clock or SystemClock()
        self.target = config.target or f"amqp:{self.settings.exchange}"
        #: events published per ``deliver_batch`` call, their confirms awaited once
        self.max_batch = self.settings.batch_size
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: ConfirmedChannel | None = None
        self._open = False

    def on_enter(self) -> None:
        self._open = True

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._drop()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: log in to the broker and open a channel; the exchange is only looked up
        (passive: a missing one is reported, not created, since ``run`` declares it). Nothing is published."""
        params = pika.URLParameters(self.settings.url)
        params.socket_timeout = self.settings.socket_timeout
        params.connection_attempts = 1
        peer = f"amqp://{params.host}:{params.port}{params.virtual_host}"
        try:
            connection = pika.BlockingConnection(params)
        except (pika.exceptions.AMQPError, OSError) as exc:
            return [PeerCheck("amqp connection", peer, False, f"{type(exc).__name__}: {exc}".rstrip(": "))]
        checks = [PeerCheck("amqp connection", peer, True, f"as {params.credentials.username}")]
        try:
            channel = connection.channel()
            try:
                channel.exchange_declare(exchange=self.settings.exchange, passive=True)
                checks.append(PeerCheck("amqp exchange", peer, True, self.settings.exchange))
            except pika.exceptions.ChannelClosedByBroker:
                checks.append(
                    PeerCheck("amqp exchange", peer, True, f"{self.settings.exchange} missing: run declares it")
                )
        except (pika.exceptions.AMQPError, OSError) as exc:
            checks.append(PeerCheck("amqp channel", peer, False, f"{type(exc).__name__}: {exc}"))
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()
        return checks

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()  # closing a dead connection: nothing left to release

    def _ensure_channel(self) -> ConfirmedChannel:
        """Connect, enable confirms and declare the exchange (lazily, and again after a dropped connection)."""
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop()
        params = pika.URLParameters(self.settings.url)
        params.socket_timeout = self.settings.socket_timeout
        params.blocked_connection_timeout = self.settings.socket_timeout * 2
        params.heartbeat = self.settings.heartbeat
        params.connection_attempts = 1
        self._connection = pika.BlockingConnection(params)
        channel = ConfirmedChannel(
            self._connection,
            self.settings.exchange,
            mandatory=self.settings.mandatory,
            timeout=self.settings.socket_timeout,
        )
        channel.channel.exchange_declare(
            exchange=self.settings.exchange, exchange_type=self.settings.exchange_type, durable=True
        )
        self._channel = channel
        return channel

    def _message(self, delivery: Delivery) -> Message:
        attrs = cloud_event(delivery, self.config, self.clock)
        if self.config.mode == "structured":
            body = structured_body(attrs, delivery.payload.body)
            content_type = STRUCTURED_MEDIA
            headers: dict[str, Any] = {TRACEPARENT: attrs["traceparent"]}
        else:
            body = delivery.payload.body
            content_type = delivery.payload.media_type
            headers = {AMQP_PREFIX + k: v for k, v in attrs.items() if k != "datacontenttype"}
            headers[TRACEPARENT] = attrs["traceparent"]
        properties = pika.BasicProperties(
            content_type=content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=attrs["id"],
            correlation_id=delivery.transaction_id,
            type=attrs["type"],
            headers=headers,
            timestamp=int(self.clock.now().timestamp()),
        )
        return Message(self.settings.routing_key or attrs["type"], body, properties)

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: nothing is published (see ``_dry_run_check``)."""
        return _dry_run_check(delivery)

    def deliver(self, delivery: Delivery) -> Outcome:
        """Publish and wait for the broker's confirm: delivered only when confirmed."""
        return self.deliver_batch([delivery])[0]

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Publish every delivery, then wait once for the broker's confirms; one outcome per delivery, in
        order: an ack is delivered; a nack, a return (unroutable) or no confirm in time is a retryable failure
        of that message only. A connection lost meanwhile fails every message not confirmed yet (retryable;
        a re-publish carries the same CloudEvent id for consumers to de-duplicate)."""
        if not self._open:
            return [Outcome.from_error(ConfigError("AmqpEventSink used outside its 'with' block"))] * len(deliveries)
        outcomes: list[Outcome] = [_DRY_RUN] * len(deliveries)
        sent = [i for i, d in enumerate(deliveries) if not d.dry_run]
        messages = [self._message(deliveries[i]) for i in sent]
        if not messages:
            return outcomes
        where = f"AMQP publish {self.settings.exchange}/{messages[0].routing_key}"
        with self._lock:
            try:
                confirms = self._ensure_channel().publish(messages)
            except (pika.exceptions.AMQPError, OSError) as exc:
                # Covers a connection cut mid-publish: the confirm never came, so the events may or may not be
                # in the broker. Retryable for each.
                self._drop_quietly()
                kind = TimeoutExpired if "timeout" in type(exc).__name__.lower() else ConnectionFailed
                error: BridgeError = kind(f"{where}: {type(exc).__name__}: {exc}")
                for i in sent:
                    d = deliveries[i]
                    concerning = error.concerning(interface=d.interface, message_id=str(d.message_id))
                    outcomes[i] = Outcome.from_error(concerning)
                return outcomes
            if Confirm.UNCONFIRMED in confirms:  # late confirms would arrive on a channel that moved on
                self._drop_quietly()
        for i, message, confirm in zip(sent, messages, confirms, strict=True):
            outcomes[i] = _confirmed(confirm, message, where, self.settings.socket_timeout)
        return outcomes

    def _drop_quietly(self) -> None:
        try:
            self._drop()
        except Exception:  # the connection is already broken; the outcome says so
            self._connection, self._channel = None, None


_DRY_RUN = Outcome.delivered(detail="dry run: not published", metadata={"dry_run": "true"})


def _dry_run_check(delivery: Delivery) -> Outcome:
    """``DryRunCheck`` of both event sinks: the event's body and attributes are built by the runtime's encoder
    already, so there is nothing more to check without a broker; nothing is published."""
    return _DRY_RUN


def _confirmed(confirm: Confirm, message: Message, where: str, timeout: float) -> Outcome:
    """The outcome of one message from the broker's answer about it."""
    if confirm is Confirm.ACK:
        return Outcome.delivered(target_id=message.properties.message_id, metadata={"routing_key": message.routing_key})
    if confirm is Confirm.RETURNED:
        return Outcome.failed(TargetUnavailable(f"{where}: unroutable (no queue bound to the exchange)"))
    if confirm is Confirm.NACK:
        return Outcome.failed(TargetUnavailable(f"{where}: broker refused the message (nack)"))
    return Outcome.failed(TimeoutExpired(f"{where}: no confirm within {timeout}s"))


class HttpEventSink(Resource):
    """POSTs CloudEvents to an HTTP endpoint in binary (``ce-*`` headers) or structured content mode."""

    def __init__(self, config: CloudEventsSinkConfig, *, clock: Clock | None = None) -> None:
        if config.http is None:
            raise ConfigError("cloudevents sink over HTTP needs an 'http' block")
        self.config = config
        self.settings = config.http
        self.clock = clock or SystemClock()
        self.target = config.target or self.settings.url
        self._http = AuthorizedClient(self.settings.auth, self.clock, timeout=self.settings.timeout)

    def on_enter(self) -> None:
        self._http.open()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the token endpoint (OAuth2) and the event endpoint's server (nothing sent)."""
        return self._http.connect_checks(self.settings.url)

    def close(self) -> None:
        self._http.close()

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: nothing is published (see ``_dry_run_check``)."""
        return _dry_run_check(delivery)

    def deliver(self, delivery: Delivery) -> Outcome:
        if not self._http.is_open:
            return Outcome.from_error(ConfigError("HttpEventSink used outside its 'with' block"))
        attrs = cloud_event(delivery, self.config, self.clock)
        if self.config.mode == "structured":
            body = structured_body(attrs, delivery.payload.body)
            headers = {"Content-Type": STRUCTURED_MEDIA}
        else:
            body = delivery.payload.body
            headers = {f"ce-{k}": v for k, v in attrs.items() if k != "datacontenttype"}
            headers["Content-Type"] = delivery.payload.media_type
        headers.update(trace_headers(delivery))
        where = f"POST {self.settings.url}"
        if delivery.dry_run:
            return Outcome.delivered(detail="dry run: not sent", metadata={"dry_run": "true"})
        try:
            response = self._http.request("POST", self.settings.url, content=body, headers=headers)
        except BridgeError as exc:
            return Outcome.from_error(exc)
        outcome = classify(
            response.status_code,
            response.content,
            response.headers,
            self.clock,
            where=where,
            target_id_field="",
            attempt=delivery.attempt,
        )
        if outcome.status == "delivered":
            return Outcome.delivered(
                response=response.content,
                media_type=outcome.media_type,
                target_id=attrs["id"],
                metadata=outcome.metadata,
            )
        return outcome
