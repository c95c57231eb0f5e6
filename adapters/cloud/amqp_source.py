"""``AmqpSource`` (kind ``amqp``): a RabbitMQ queue as a source, each message acknowledged only once durable.

Why this shape: a queue forgets a message the moment it is acked, so the ack must come after the ledger
commit, never before (``acknowledge`` is the runtime's "committed"). Until then the message is unacked and
the broker holds it; if this process dies, the broker hands it out again (``redelivered``), and the ledger
says whether it was already committed: a message whose batch is acknowledged or kept (failed, its bytes with
the dead letter) is acked at once without being handed on, so a redelivery or a producer's re-publish of the
same event id changes nothing. ``prefetch`` bounds what the broker sends before we ack: the unacked window is
also the most this source holds in memory.

Identity (``IdentityRule.EVENT``): the CloudEvents ``id`` (structured mode: the JSON envelope; binary mode:
the ``cloudEvents:id`` / ``cloudEvents_id`` / ``ce_id`` / ``ce-id`` header), else the AMQP ``message_id``
property, else the SHA-256 of the body (a producer that sets no id gets content de-duplication, said in the
docs). In structured mode the decoder gets the event's ``data`` (``data_base64`` decoded), with its
``datacontenttype``; in binary mode the body as it is.

One thread at a time: pika's BlockingConnection is not thread-safe; the runtime polls one interface from one
thread and acknowledges settled batches under the same interface lock. A lost connection is a retryable
``ConnectionFailed``; the next poll reconnects after a backoff on the Clock (1 s doubling to 60 s), and the
unacked messages of the lost channel come back by redelivery (their stale delivery tags are never acked).
A batch the bridge failed and kept is rejected (``requeue=False``) when the queue has a dead-letter exchange,
so the broker's own dead-letter routing sees it too, else acked; one not kept is requeued.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pika
import pika.exceptions
from pydantic import Field, SecretStr

from bridge.ports import (
    BridgeError,
    ConfigError,
    ConnectionFailed,
    Envelope,
    IdentityRule,
    KindConfig,
    Resource,
    SourceContext,
)
from bridge.ports.trace import adopted_transaction_id

__all__ = ["AmqpSource", "AmqpSourceConfig", "event_identity"]

log = logging.getLogger("esb_bridge.adapters.amqp")

#: Batch states whose message is acked on sight: committed, or kept with its dead letter.
_FINAL = ("acknowledged", "failed")
_CE_PREFIXES = ("cloudEvents:", "cloudEvents_", "ce_", "ce-")
_STRUCTURED = "application/cloudevents+json"
_MAX_BACKOFF = 60.0


class AmqpBinding(KindConfig):
    """Bind the queue to an exchange (declared when missing)."""

    kind: Literal["binding"] = "binding"
    """Always ``binding`` (a nested block, not a plugin)."""
    exchange: str
    """Exchange the queue is bound to."""
    exchange_type: Literal["topic", "direct", "fanout", "headers"] = "topic"
    """Type of the exchange when it is declared."""
    routing_keys: list[str] = Field(default_factory=lambda: ["#"])
    """Routing keys (patterns for a topic exchange) bound."""


class AmqpSourceConfig(KindConfig):
    """The ``amqp`` source kind: consume a RabbitMQ queue, ack after the ledger commit."""

    kind: Literal["amqp"] = "amqp"
    """Selects this plugin: ``amqp``."""
    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F")
    """AMQP broker URL; write ``${AMQP_URL}`` to take it (and its credentials) from the environment."""
    queue: str
    """Queue consumed."""
    declare: bool = True
    """Declare the queue (durable) when missing, with the dead-letter exchange below; off: it must exist."""
    dead_letter_exchange: str | None = None
    """The queue's dead-letter exchange (``x-dead-letter-exchange``): a batch the bridge failed and kept in its
    dead-letter queue is also rejected to it."""
    bind: AmqpBinding | None = None
    """Bind the queue to an exchange."""
    prefetch: int = Field(100, ge=1, le=10_000)
    """Most unacked messages the broker sends this consumer (the window before the ledger commit)."""
    max_batch: int = Field(500, ge=1)
    """Most messages one poll hands on."""
    poll_wait: float = Field(0.5, ge=0)
    """Seconds a poll waits for the first message."""
    heartbeat: int = Field(30, ge=0)
    """AMQP heartbeat interval in seconds."""
    socket_timeout: float = Field(5.0, gt=0)
    """Seconds a socket operation may take."""
    mode: Literal["auto", "binary", "structured", "plain"] = "auto"
    """CloudEvents content mode: auto (structured when the content type says so, binary when the headers carry
    CloudEvents attributes, else a plain message), or forced."""


def _ce_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """CloudEvents attributes of a binary-mode message, from any of the usual header prefixes."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        for prefix in _CE_PREFIXES:
            if key.startswith(prefix) and value is not None:
                raw = value.decode() if isinstance(value, bytes) else str(value)
                out.setdefault(key[len(prefix) :], raw)
    return out


@dataclass(frozen=True)
class _Event:
    """What one message says: its id, the bytes for the decoder, their media type and a few attributes."""

    identity: str
    body: bytes
    media_type: str
    attributes: dict[str, str]


def event_identity(properties: pika.BasicProperties, body: bytes, mode: str = "auto") -> _Event:
    """The identity and payload of one message (see the module doc); raises ``ValueError`` when a structured
    CloudEvent is not a JSON object with an ``id``."""
    content_type = (properties.content_type or "").split(";")[0].strip()
    headers = dict(properties.headers or {})
    if mode == "structured" or (mode == "auto" and content_type == _STRUCTURED):
        event = json.loads(body)
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
            raise ValueError("a structured CloudEvent must be a JSON object with a string id")
        if "data_base64" in event:
            data = base64.b64decode(event["data_base64"])
        elif isinstance(event.get("data"), str) and "json" not in str(event.get("datacontenttype", "json")):
            data = event["data"].encode()
        else:
            data = json.dumps(event.get("data")).encode()
        attrs = {k: str(v) for k, v in event.items() if k not in ("data", "data_base64") and v is not None}
        return _Event(event["id"], data, str(event.get("datacontenttype", "application/json")), attrs)
    attrs = _ce_headers(headers) if mode in ("auto", "binary") else {}
    identity = attrs.get("id") or properties.message_id or f"sha256:{hashlib.sha256(body).hexdigest()}"
    return _Event(identity, body, content_type or "application/octet-stream", attrs)


class AmqpSource(Resource):
    """A RabbitMQ queue as a Source (see the module doc)."""

    def __init__(self, config: AmqpSourceConfig) -> None:
        self.config = config
        self._context: SourceContext | None = None
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        #: bumps with each connection: a delivery tag is valid only on the channel it came from
        self._generation = 0
        #: batch id -> (connection generation, delivery tag) of messages handed on and not yet acked
        self._tags: dict[str, tuple[int, int]] = {}
        self._backoff = 0.0
        self._connect_after: datetime | None = None

    # ------------------------------------------------------------------ lifecycle

    def open(self, context: SourceContext) -> None:
        """Remember the context; the connection opens at the first poll (and again after a loss)."""
        self._context = context

    def close(self) -> None:
        self._drop()

    def _ctx(self) -> SourceContext:
        if self._context is None:
            raise ConfigError("amqp source is not open")
        return self._context

    def _drop(self) -> None:
        """Forget the connection (the broker requeues what it had sent us unacked)."""
        connection, self._connection, self._channel = self._connection, None, None
        self._tags.clear()
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()

    def _connect(self) -> Any:
        """The channel, connecting (with the backoff after a failure) when there is none."""
        if self._channel is not None and self._connection is not None and self._connection.is_open:
            return self._channel
        self._drop()
        clock = self._ctx().clock
        if self._connect_after is not None and clock.now() < self._connect_after:
            wait = (self._connect_after - clock.now()).total_seconds()
            raise ConnectionFailed(f"amqp: reconnecting to queue {self.config.queue} in {wait:.0f}s")
        params = pika.URLParameters(self.config.url.get_secret_value())
        params.heartbeat = self.config.heartbeat
        params.socket_timeout = self.config.socket_timeout
        params.blocked_connection_timeout = self.config.socket_timeout * 6
        try:
            connection = pika.BlockingConnection(params)
            channel = connection.channel()
            if self.config.declare:
                args = {"x-dead-letter-exchange": self.config.dead_letter_exchange}
                channel.queue_declare(
                    self.config.queue, durable=True, arguments={k: v for k, v in args.items() if v}
                )
            else:
                channel.queue_declare(self.config.queue, passive=True)
            if self.config.bind is not None:
                b = self.config.bind
                channel.exchange_declare(b.exchange, exchange_type=b.exchange_type, durable=True)
                for key in b.routing_keys:
                    channel.queue_bind(self.config.queue, b.exchange, routing_key=key)
            channel.basic_qos(prefetch_count=self.config.prefetch)
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._backoff = min(_MAX_BACKOFF, max(1.0, self._backoff * 2))
            self._connect_after = clock.now() + timedelta(seconds=self._backoff)
            raise ConnectionFailed(
                f"amqp: cannot consume queue {self.config.queue}: {type(exc).__name__}: {exc}"
                f" (next try in {self._backoff:.0f}s)"
            ) from exc
        self._connection, self._channel = connection, channel
        self._generation += 1
        self._backoff, self._connect_after = 0.0, None
        return channel

    # ------------------------------------------------------------------ Source

    def poll(self) -> Iterator[Envelope]:
        """The messages the broker has for us now (at most ``max_batch``; waiting ``poll_wait`` for the first).

        Already-finished event ids are acked and skipped; every other message is handed on unacked."""
        ctx = self._ctx()
        channel = self._connect()
        handed = 0
        wait: float | None = self.config.poll_wait or 0.01
        try:
            for method, properties, body in channel.consume(self.config.queue, auto_ack=False, inactivity_timeout=wait):
                if method is None:  # nothing within the wait
                    break
                envelope = self._envelope(ctx, method, properties, body)
                if envelope is None:
                    continue
                self._tags[envelope.batch_id] = (self._generation, method.delivery_tag)
                handed += 1
                yield envelope
                if handed >= self.config.max_batch or handed >= self.config.prefetch:
                    break
                wait = 0.01  # after the first message: only what is already here
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._drop()
            raise ConnectionFailed(f"amqp: connection to queue {self.config.queue} lost: {exc}") from exc
        finally:
            self._cancel(channel)

    def _cancel(self, channel: Any) -> None:
        """End the consume generator (messages prefetched but not handed on are requeued by the broker)."""
        if self._channel is not channel:
            return
        try:
            channel.cancel()
        except (pika.exceptions.AMQPError, OSError):
            self._drop()

    def _envelope(self, ctx: SourceContext, method: Any, properties: Any, body: bytes) -> Envelope | None:
        try:
            event = event_identity(properties, body, self.config.mode)
        except ValueError as exc:
            # not a readable event: handed on under its content hash; the decoder will fail it with the bytes
            log.warning("amqp %s: message %s: %s", self.config.queue, method.delivery_tag, exc)
            event = _Event(f"sha256:{hashlib.sha256(body).hexdigest()}", body, "application/octet-stream", {})
        batch_id = f"amqp:{self.config.queue}:{event.identity}"
        state = ctx.ledger.batch_state(ctx.interface, batch_id)
        if state in _FINAL:  # a redelivery, or the producer sent it again: committed already, nothing to do
            self._channel.basic_ack(method.delivery_tag)
            return None
        if batch_id in self._tags:  # the same event twice in the unacked window: the first one decides
            self._channel.basic_ack(method.delivery_tag)
            return None
        meta = {
            "amqp_queue": self.config.queue,
            "amqp_redelivered": "true" if method.redelivered else "false",
            "amqp_routing_key": method.routing_key or "",
            "event_type": event.attributes.get("type", properties.type or ""),
            "event_source": event.attributes.get("source", ""),
            "event_subject": event.attributes.get("subject", ""),
        }
        return Envelope(
            interface=ctx.interface,
            batch_id=batch_id,
            origin=f"amqp:{self.config.queue}",
            identity_rule=IdentityRule.EVENT,
            identity=event.identity,
            received_at=ctx.clock.now().astimezone(UTC),
            transaction_id=event.attributes.get("correlationid")
            or properties.correlation_id
            or adopted_transaction_id(event.attributes.get("traceparent"))
            or event.identity,
            body=event.body,
            media_type=event.media_type,
            size=len(event.body),
            metadata=meta,
        )

    def _settle(self, envelope: Envelope, how: Literal["ack", "reject", "requeue"]) -> None:
        tag = self._tags.pop(envelope.batch_id, None)
        if tag is None or tag[0] != self._generation or self._channel is None:
            return  # acked before, or its channel is gone: the broker redelivers and the ledger decides
        try:
            if how == "ack":
                self._channel.basic_ack(tag[1])
            else:
                self._channel.basic_nack(tag[1], requeue=how == "requeue")
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._drop()  # the broker redelivers it; its batch state makes that a no-op
            log.warning("amqp %s: %s of %s not sent (%s): redelivery will settle it", self.config.queue, how,
                        envelope.identity, exc)  # fmt: skip

    def acknowledge(self, envelope: Envelope) -> None:
        """Every record of the message is committed: ack it (idempotent)."""
        self._settle(envelope, "ack")

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        """The message failed as a whole. Kept with its dead letter (batch ``failed``): acked, or rejected to the
        queue's dead-letter exchange when it has one; not kept: requeued, never dropped."""
        ctx = self._ctx()
        if ctx.ledger.batch_state(ctx.interface, envelope.batch_id) != "failed":
            self._settle(envelope, "requeue")
        else:
            self._settle(envelope, "reject" if self.config.dead_letter_exchange else "ack")
