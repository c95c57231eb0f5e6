"""``WebhookSource``: receives signed change notifications and answers 2xx only once they are durable.

A stdlib ``ThreadingHTTPServer`` runs on its own thread from ``open`` to ``__exit__``. Each request is checked
(body size limit, Standard Webhooks HMAC-SHA256 signature compared in constant time, timestamp within the
tolerance as the Clock tells, against replays), then handed to the runtime through ``poll()`` as an Envelope
with ``IdentityRule.EVENT`` (identity = the event id). The request handler *waits* until the runtime calls
``acknowledge`` (every message of the envelope committed) and only then answers 200; if that does not happen
within ``ack_timeout`` it answers 503 with ``Retry-After`` and the sender's retry is the safety net. A body that
fails as a whole is answered 200 only once the runtime kept it with its dead letter (replayable), else 503. An
event id whose batch is already acknowledged or kept in the ledger is answered 200 without being emitted
again (the ledger is read outside the handlers' lock); a retry that
arrives while the first delivery is still in flight waits on the same hand-off instead of emitting twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from pydantic import Field, SecretStr

from bridge.ports import (
    BridgeError,
    Clock,
    ConfigError,
    Envelope,
    IdentityRule,
    KindConfig,
    Resource,
    SecurityError,
    SourceContext,
)
from bridge.ports.trace import TRACEPARENT, adopted_transaction_id

__all__ = ["WebhookSource", "WebhookSourceConfig", "verify_signature"]

#: Batch states in which an event is answered 200 without being handed on: committed, or kept as a dead letter.
_FINAL = ("acknowledged", "failed")
_KEPT = "kept as a dead letter"
_REMEMBERED = 10_000


class WebhookSourceConfig(KindConfig):
    """The ``webhook`` source kind (Standard Webhooks headers by default)."""

    kind: Literal["webhook"] = "webhook"
    """Selects this plugin: ``webhook``."""
    host: str = "127.0.0.1"
    """Address the webhook server listens on."""
    port: int = Field(0, ge=0, le=65535)
    """Port the webhook server listens on (0: any free port)."""
    path: str = "/webhook"
    """URL path accepted."""
    secret: SecretStr
    """Signing secret of the Standard Webhooks signature (from the environment)."""
    tolerance: float = Field(300.0, gt=0)
    """Seconds a webhook timestamp may differ from now."""
    max_body: int = Field(1_048_576, ge=1)
    """Largest accepted body in bytes."""
    ack_timeout: float = Field(10.0, gt=0)
    """Seconds a request waits for its record to be committed before answering 503."""
    poll_wait: float = Field(0.0, ge=0)
    """Seconds a poll waits for the first webhook."""
    id_header: str = "webhook-id"
    """Header carrying the webhook id."""
    timestamp_header: str = "webhook-timestamp"
    """Header carrying the webhook timestamp."""
    signature_header: str = "webhook-signature"
    """Header carrying the signature."""
    retry_after: int = 5
    """Retry-After seconds sent with a 503."""


def _secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except ValueError as exc:
            raise ConfigError("webhook secret starts with whsec_ but is not base64") from exc
    return secret.encode()


def verify_signature(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """True when one of the ``v1,<base64>`` signatures in ``header`` is HMAC-SHA256 over ``id.timestamp.body``."""
    expected = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for part in header.split():
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(value, validate=True)
        except ValueError:
            continue
        if hmac.compare_digest(candidate, expected):
            return True
    return False


@dataclass
class _HandOff:
    """One event waiting for the runtime: set ``done`` with the result once acknowledged or failed."""

    envelope: Envelope
    done: threading.Event = field(default_factory=threading.Event)
    result: str = ""


class WebhookSource(Resource):
    """A webhook endpoint as a Source. ``url`` is known after ``open``."""

    def __init__(self, config: WebhookSourceConfig) -> None:
        self.config = config
        self._context: SourceContext | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[_HandOff] = queue.Queue()
        self._pending: dict[str, _HandOff] = {}
        #: Events finished lately (id -> acknowledged | failed), oldest first: what a request that read the
        #: ledger just before the finish must see.
        self._finished: dict[str, str] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        server, self._server = self._server, None
        with self._lock:
            for handoff in self._pending.values():
                handoff.done.set()  # waiting handlers answer 503 now instead of at their timeout
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def open(self, context: SourceContext) -> None:
        """Bind and start serving; the port is taken now (``port: 0`` picks a free one)."""
        self._context = context
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                status, body, headers = source._handle(self)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return  # requests are recorded by the runtime, not on stderr

        try:
            self._server = ThreadingHTTPServer((self.config.host, self.config.port), Handler)
        except OSError as exc:
            raise ConfigError(f"webhook: cannot listen on {self.config.host}:{self.config.port}: {exc}") from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"webhook-{context.interface}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        if self._server is None:
            raise ConfigError("webhook source is not open")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.config.path}"

    # ------------------------------------------------------------------ requests

    def _refuse(self, status: int, message: str) -> tuple[int, dict[str, str], dict[str, str]]:
        return status, {"error": message}, {}

    def _handle(self, req: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], dict[str, str]]:
        """Check and hand off one request; returns (status, JSON body, headers)."""
        ctx = self._context
        if ctx is None:
            return self._refuse(503, "not open")
        if req.path.split("?")[0] != self.config.path:
            return self._refuse(404, "unknown path")
        length_text = req.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            req.close_connection = True
            return self._refuse(411, "Content-Length required")
        length = int(length_text)
        if length > self.config.max_body:
            req.close_connection = True
            return self._refuse(413, f"body over {self.config.max_body} bytes")
        body = req.rfile.read(length)
        try:
            event_id = self._verify(req, body, ctx.clock)
        except SecurityError as exc:
            return self._refuse(401, exc.message)
        batch_id = f"webhook:{event_id}"
        # The ledger is read outside the lock: a read may wait on the database, and every other request
        # (and the runtime's acknowledge) needs the lock. An event finished after this read is in _finished.
        state = ctx.ledger.batch_state(ctx.interface, batch_id)
        with self._lock:
            state = self._finished.get(event_id, state)
            handoff = None if state in _FINAL else self._pending.get(event_id)
            if handoff is None and state not in _FINAL:
                handoff = _HandOff(self._envelope(ctx, req, event_id, batch_id, body))
                self._pending[event_id] = handoff
                self._queue.put(handoff)
        if handoff is None:
            return 200, {"status": "duplicate" if state == "acknowledged" else _KEPT, "id": event_id}, {}
        if handoff.done.wait(self.config.ack_timeout) and handoff.result == "acknowledged":
            return 200, {"status": "accepted", "id": event_id}, {}
        if handoff.result == "failed":
            return 200, {"status": _KEPT, "id": event_id}, {}
        return 503, {"error": "not yet durable; retry"}, {"Retry-After": str(self.config.retry_after)}

    def _verify(self, req: BaseHTTPRequestHandler, body: bytes, clock: Clock) -> str:
        msg_id = req.headers.get(self.config.id_header, "")
        stamp = req.headers.get(self.config.timestamp_header, "")
        signature = req.headers.get(self.config.signature_header, "")
        if not (msg_id and stamp and signature):
            raise SecurityError("missing webhook id, timestamp or signature")
        try:
            sent = float(stamp)
        except ValueError as exc:
            raise SecurityError("webhook timestamp is not a number") from exc
        if abs(clock.now().timestamp() - sent) > self.config.tolerance:
            raise SecurityError("webhook timestamp outside the tolerance (replay?)")
        if not verify_signature(self.config.secret.get_secret_value(), msg_id, stamp, body, signature):
            raise SecurityError("webhook signature does not match")
        return msg_id

    def _envelope(
        self, ctx: SourceContext, req: BaseHTTPRequestHandler, event_id: str, batch_id: str, body: bytes
    ) -> Envelope:
        meta = {"webhook_id": event_id, "webhook_timestamp": req.headers.get(self.config.timestamp_header, "")}
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("type"), str):
                meta["event_type"] = parsed["type"]
        except ValueError:
            pass  # not JSON: the decoder will say so; the source only moves bytes
        return Envelope(
            interface=ctx.interface,
            batch_id=batch_id,
            origin=f"webhook:{self.config.path}",
            identity_rule=IdentityRule.EVENT,
            identity=event_id,
            received_at=ctx.clock.now().astimezone(UTC),
            transaction_id=req.headers.get("x-correlation-id")
            or adopted_transaction_id(req.headers.get(TRACEPARENT))
            or event_id,
            body=body,
            media_type=req.headers.get("Content-Type", "application/json").split(";")[0].strip(),
            size=len(body),
            metadata=meta,
        )

    # ------------------------------------------------------------------ Source

    def poll(self) -> Iterator[Envelope]:
        """The events received so far (waiting up to ``poll_wait`` seconds for the first)."""
        try:
            wait = self.config.poll_wait
            first = self._queue.get(timeout=wait) if wait else self._queue.get_nowait()
        except queue.Empty:
            return
        yield first.envelope
        while True:
            try:
                yield self._queue.get_nowait().envelope
            except queue.Empty:
                return

    def _ctx(self) -> SourceContext:
        if self._context is None:
            raise ConfigError("webhook source is not open")
        return self._context

    def _finish(self, envelope: Envelope, state: str) -> None:
        with self._lock:
            handoff = self._pending.pop(envelope.identity, None)
            if state in _FINAL:
                self._finished[envelope.identity] = state
                while len(self._finished) > _REMEMBERED:
                    self._finished.pop(next(iter(self._finished)))
        if handoff is not None:
            handoff.result = state
            handoff.done.set()

    def acknowledge(self, envelope: Envelope) -> None:
        """The event is durable: record it and let the waiting request answer 200. Idempotent."""
        ctx = self._ctx()
        ctx.ledger.mark_batch(ctx.interface, envelope.batch_id, "acknowledged", origin=envelope.origin)
        self._finish(envelope, "acknowledged")

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        """The event failed as a whole. Kept by the runtime (its batch is ``failed``: the body sits in the
        batch dead letter, replayable), the sender gets 200 and stops retrying; not kept, it gets 503 and
        retries, so the body is never answered for while it exists nowhere but at the sender."""
        ctx = self._ctx()
        kept = ctx.ledger.batch_state(ctx.interface, envelope.batch_id) == "failed"
        self._finish(envelope, "failed" if kept else "not kept")
