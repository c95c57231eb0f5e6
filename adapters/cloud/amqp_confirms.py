"""Publishing many AMQP messages with publisher confirms awaited once for all of them (pika, RabbitMQ).

Why not pika's ``BlockingChannel.confirm_delivery``: in that mode every ``basic_publish`` blocks until the
broker confirmed that one message, a network round trip (and, for persistent messages, a disk sync in the
broker) per message. Here confirms are asked for on the channel underneath (``BlockingChannel._impl``, the
one place pika's blocking API is bypassed), every message of a batch is published, and then the connection
is driven until each delivery tag was acked or nacked: RabbitMQ acks many tags at once (``multiple``), so a
batch costs one wait. A ``basic.return`` (a ``mandatory`` message nothing was bound to route to) comes
before that message's ack and is matched by the message id. Everything here runs under the caller's lock:
a pika connection is not thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pika
import pika.exceptions
import pika.spec

from bridge.ports.failpoints import failpoint

__all__ = ["Confirm", "ConfirmedChannel", "Message"]


class Confirm(StrEnum):
    """What the broker said about one published message."""

    ACK = "ack"
    NACK = "nack"
    RETURNED = "returned"
    UNCONFIRMED = "unconfirmed"
    """No answer before the deadline: the message may or may not be in the broker."""


@dataclass(frozen=True)
class Message:
    """One message to publish: routing key, body and properties (``message_id`` set: returns match on it)."""

    routing_key: str
    body: bytes
    properties: pika.BasicProperties


class ConfirmedChannel:
    """A channel of ``connection`` in confirm mode; :meth:`publish` returns one :class:`Confirm` per message."""

    def __init__(self, connection: pika.BlockingConnection, exchange: str, *, mandatory: bool, timeout: float) -> None:
        self._connection = connection
        self.exchange = exchange
        self._mandatory = mandatory
        self._timeout = timeout
        self.channel: Any = connection.channel()
        self._last_tag = 0
        self._pending: dict[int, int] = {}  # delivery tag -> index in the batch being confirmed
        self._returned: set[str] = set()  # message ids the broker returned in the current batch
        self._results: list[Confirm] = []
        self._ids: list[str | None] = []
        #: ack/nack frames received (RabbitMQ acks many tags per frame when a batch is in flight)
        self.confirm_frames = 0
        selected: list[bool] = []
        impl = self.channel._impl  # pika's own channel: confirms without a blocking wait per message
        impl.add_on_return_callback(self._on_return)
        impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: selected.append(True))
        self._drive(lambda: bool(selected))
        if not selected:
            raise pika.exceptions.AMQPChannelError("confirm.select was not answered")

    @property
    def is_open(self) -> bool:
        return bool(self.channel.is_open)

    def publish(self, messages: Sequence[Message]) -> list[Confirm]:
        """Publish ``messages`` and wait (at most the timeout) for the broker's verdict on each. A pika or
        socket error leaves the channel unusable; the caller drops the connection and counts every message
        without an answer as unconfirmed."""
        self._results = [Confirm.UNCONFIRMED] * len(messages)
        self._returned.clear()
        self._pending.clear()
        self._ids = [m.properties.message_id for m in messages]
        for index, message in enumerate(messages):
            self._last_tag += 1  # registered first: its ack may be read while the publish is flushed
            self._pending[self._last_tag] = index
            self.channel.basic_publish(
                self.exchange, message.routing_key, message.body, message.properties, mandatory=self._mandatory
            )
        failpoint("amqp_published")  # published, confirms not read
        self._drive(lambda: not self._pending)
        return list(self._results)

    def _drive(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self._timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._connection.process_data_events(time_limit=min(left, 0.25))

    def _on_return(
        self, _channel: Any, _method: Any, properties: pika.BasicProperties, _body: bytes
    ) -> None:  # pika callback
        if properties.message_id:
            self._returned.add(str(properties.message_id))

    def _on_confirm(self, frame: Any) -> None:  # pika callback: Basic.Ack or Basic.Nack
        self.confirm_frames += 1
        method = frame.method
        nack = isinstance(method, pika.spec.Basic.Nack)
        tags = [t for t in self._pending if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            index = self._pending.pop(tag, None)
            if index is None:
                continue  # a late answer for an earlier batch
            if nack:
                self._results[index] = Confirm.NACK
            elif self._ids[index] in self._returned:
                self._results[index] = Confirm.RETURNED
            else:
                self._results[index] = Confirm.ACK
