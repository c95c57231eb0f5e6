"""The simulator's webhook sender: Standard Webhooks signatures (HMAC-SHA256), retried until a 2xx.

Every change becomes an event ``{id, type, created, data: {object}}`` queued for each subscriber; a sender
thread POSTs it with ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>`` over
``"{id}.{timestamp}.{body}"``, and retries non-2xx answers and timeouts with backoff, like a real provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


def secret_bytes(secret: str) -> bytes:
    """``whsec_<base64>`` secrets are base64; anything else is used as UTF-8."""
    return base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass
class Subscriber:
    url: str
    secret: str
    types: tuple[str, ...] = ()


@dataclass
class Attempt:
    event_id: str
    url: str
    status: int | None
    at: float
    error: str = ""


@dataclass
class WebhookSender:
    """Queues events per subscriber and delivers them on one thread with retries."""

    backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)
    timeout: float = 15.0
    now: Callable[[], float] = time.time
    """Where the signed ``webhook-timestamp`` comes from (the demo signs in its simulated time)."""
    subscribers: list[Subscriber] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    _queue: queue.Queue[tuple[Subscriber, str, bytes, int, bool, int, int] | None] = field(default_factory=queue.Queue)
    _generation: int = 0
    _thread: threading.Thread | None = None
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.subscribers.clear()
            self.attempts.clear()
            self.events.clear()
            self._seq = 0
            self._generation += 1  # anything still queued or scheduled for retry belongs to the past

    def subscribe(self, url: str, secret: str, types: tuple[str, ...] = ()) -> None:
        with self._lock:
            self.subscribers.append(Subscriber(url, secret, types))

    def publish(self, event_type: str, obj: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            event = {
                "id": f"evt_{self._seq:06d}",
                "type": event_type,
                "created": int(self.now()),
                "data": {"object": obj},
            }
            self.events[event["id"]] = event
            targets = [s for s in self.subscribers if not s.types or event_type in s.types]
        body = json.dumps(event).encode()
        for sub in targets:
            self._queue.put((sub, event["id"], body, 0, False, 0, self._generation))

    def resend(self, event_id: str, *, tamper: bool = False, timestamp_offset: int = 0) -> None:
        """Send an event again (a provider's replay), optionally with a broken signature or an old timestamp."""
        body = json.dumps(self.events[event_id]).encode()
        with self._lock:
            targets = list(self.subscribers)
        for sub in targets:
            self._queue.put((sub, event_id, body, 0, tamper, timestamp_offset, self._generation))

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                sub, event_id, body, attempt, tamper, offset, generation = item
                if generation != self._generation:
                    continue
                timestamp = int(self.now()) + offset
                signature = sign(sub.secret, event_id, timestamp, body + (b" " if tamper else b""))
                headers = {
                    "content-type": "application/json",
                    "webhook-id": event_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": signature,
                }
                status: int | None = None
                error = ""
                try:
                    status = client.post(sub.url, content=body, headers=headers).status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                with self._lock:
                    if generation != self._generation:
                        continue
                    self.attempts.append(Attempt(event_id, sub.url, status, time.monotonic(), error))
                if (status is None or status >= 300) and not tamper and offset == 0 and attempt < len(self.backoff):
                    retry = (sub, event_id, body, attempt + 1, False, 0, generation)
                    timer = threading.Timer(self.backoff[attempt], self._queue.put, args=(retry,))
                    timer.daemon = True
                    timer.start()
