"""``RestSink``: one delivery attempt to a cloud REST API, classified into an Outcome; plus bulk and read-back.

With a ``bulk:`` block the sink is a :class:`~bridge.ports.BatchSink` (``max_batch`` = ``bulk.batch_size``): the
runtime hands it whole chunks, sent as one request, and the per-item results are mapped back to each message.

Every request carries ``Idempotency-Key`` = the message id (so a retry after a timeout cannot create twice)
and the transaction id as a correlation header. The URL is a template filled from the delivery
(``{business_key}``, ``{message_id}``, ``{interface}``, ``{xref.<name>}``, ``{body.<field>}``). When the
interface names an OpenAPI file, the body is validated against the operation's schema before sending.
This sink never retries, sleeps or orders: the one exception is a single OAuth2 token refresh on 401,
which is part of making the one attempt with valid credentials.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.cloud._http import ReplayRule, classify, json_field
from adapters.cloud.auth import AuthConfig, AuthorizedClient
from adapters.cloud.openapi import OpenApiSpec, Operation
from bridge.ports import (
    AmbiguousOutcome,
    BridgeError,
    Clock,
    ConfigError,
    Delivery,
    DependencyPending,
    EncodeError,
    KindConfig,
    Outcome,
    PeerCheck,
    Resource,
    SystemClock,
    TargetUnavailable,
)
from bridge.ports.failpoints import failpoint
from bridge.ports.trace import trace_headers

__all__ = ["BulkConfig", "RestReadBackConfig", "RestSink", "RestSinkConfig", "render_url"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


class BulkConfig(BaseModel):
    """A bulk endpoint: ``{items_field: [{idempotency_key, body}]}`` in, per-item results out (by index)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    url: str
    """Bulk endpoint URL."""
    batch_size: int = Field(100, ge=1, le=10_000)
    """Deliveries per bulk request."""
    items_field: str = "items"
    """Request field holding the items."""
    results_field: str = "results"
    """Response field holding the per-item results (by index)."""


class RestReadBackConfig(BaseModel):
    """``GET`` this URL template after delivery (``{business_key}``, ``{target_id}``) for the projection."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    url: str
    """URL template read after delivery ({business_key}, {target_id})."""


class RestSinkConfig(KindConfig):
    """The ``rest`` sink kind."""

    kind: Literal["rest"] = "rest"
    """Selects this plugin: ``rest``."""
    url: str
    """URL each delivery is sent to."""
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    """HTTP method."""
    auth: AuthConfig | None = None
    """Authentication (bearer, api_key or oauth2)."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra headers sent with every request (values are secrets: a static token is often one; masked in dumps)."""
    timeout: float = Field(10.0, gt=0)
    """Seconds one request may take."""
    connect_timeout: float = Field(5.0, gt=0)
    """Seconds to connect."""
    max_connections: int = Field(64, ge=1)
    """Size of the connection pool."""
    idempotency_header: str = "Idempotency-Key"
    """Header carrying the message id as idempotency key."""
    correlation_header: str = "X-Correlation-ID"
    """Header carrying the transaction id."""
    target_id_field: str = "id"
    """Response JSON field holding the id the target gave the entity."""
    duplicate_codes: list[str] = Field(default_factory=lambda: ["idempotency_key_reused", "duplicate_request"])
    """Error codes of a 409 meaning our idempotency key was already used."""
    replay: ReplayRule = Field(default_factory=ReplayRule)
    """What proves that a 409 answers our own earlier request."""
    openapi: str | None = None
    """OpenAPI spec file (relative to the config file) the request body is checked against."""
    operation: str | None = None
    """operationId in the OpenAPI spec."""
    bulk: BulkConfig | None = None
    """Send deliveries in batches to a bulk endpoint."""
    readback: RestReadBackConfig | None = None
    """Read the entity back after delivery for the comparison."""
    target: str | None = None
    """Target name used for delivery limits and listings (the URL without query by default)."""


def render_url(template: str, values: Mapping[str, str], body: bytes | None = None) -> str:
    """Fill ``{name}`` placeholders (URL-escaped). A missing ``xref.*`` is a :class:`DependencyPending`
    (the referenced entity is not delivered yet); any other missing value is an :class:`EncodeError`."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("body."):
            value: Any = json_field(body, name[5:])
        else:
            value = values.get(name)
        if value is None or value == "":
            if name.startswith("xref."):
                raise DependencyPending(f"URL needs {name}, which has no cross-reference yet")
            raise EncodeError(f"URL template {template!r}: no value for {{{name}}}")
        return quote(str(value), safe="")

    return _PLACEHOLDER.sub(one, template)


def _dry_run() -> Outcome:
    return Outcome.delivered(detail="dry run: validated, not sent", metadata={"dry_run": "true"})


def _bulk_key(deliveries: Sequence[Delivery]) -> str:
    """A bulk request's own idempotency key: stable for the same set of messages."""
    return "bulk-" + str(uuid.uuid5(uuid.NAMESPACE_URL, ",".join(sorted(str(d.message_id) for d in deliveries))))


class RestSink(Resource):
    """Delivers JSON bodies to one REST target; thread-safe (one pooled httpx client)."""

    def __init__(
        self,
        config: RestSinkConfig,
        *,
        clock: Clock | None = None,
        spec: OpenApiSpec | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.target = config.target or config.url.split("?")[0]
        self._spec = spec
        limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=config.max_connections)
        self._http = AuthorizedClient(
            config.auth,
            self.clock,
            transport=transport,
            headers=config.headers,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=limits,
        )
        self._operation: Operation | None = None
        #: a :class:`~bridge.ports.BatchSink` only with a ``bulk:`` endpoint: one request per chunk of the claim
        self.max_batch = config.bulk.batch_size if config.bulk is not None else 1

    # ------------------------------------------------------------------ lifecycle

    def on_enter(self) -> None:
        if self._spec is None and self.config.openapi:
            self._spec = OpenApiSpec.load(self.config.openapi)
        if self._spec is not None and self.config.operation:
            self._operation = self._spec.operation(self.config.method, self.config.operation)
        self._http.open()

    def close(self) -> None:
        self._http.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the token endpoint (OAuth2) and the target's server (no delivery)."""
        return self._http.connect_checks(self.config.url)

    @property
    def token_fetches(self) -> int:
        """How many OAuth2 tokens this sink fetched (tests and metrics)."""
        return self._http.auth.fetches

    # ------------------------------------------------------------------ one delivery

    def _values(self, delivery: Delivery) -> dict[str, str]:
        values = {
            "business_key": delivery.business_key,
            "message_id": str(delivery.message_id),
            "interface": delivery.interface,
        }
        values.update({f"xref.{k}": v for k, v in delivery.xrefs.items()})
        return values

    def _check_contract(self, url: str, body: bytes, media_type: str) -> None:
        if self._spec is None:
            return
        op = self._operation or self._spec.operation(self.config.method, url)
        self._spec.validate_body(op, body, media_type=media_type)

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = dict(delivery.payload.headers)
        headers["Content-Type"] = delivery.payload.media_type
        headers[self.config.idempotency_header] = str(delivery.message_id)
        headers.update(trace_headers(delivery, self.config.correlation_header))
        return headers

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> httpx.Response:
        if not self._http.is_open:
            raise ConfigError("RestSink used outside its 'with' block")
        return self._http.request(method, url, content=body, headers=headers)

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: the URL renders and the body meets the OpenAPI contract; nothing is sent."""
        try:
            url = render_url(self.config.url, self._values(delivery), delivery.payload.body)
            self._check_contract(url, delivery.payload.body, delivery.payload.media_type)
        except BridgeError as exc:
            return Outcome.from_error(exc.concerning(interface=delivery.interface, message_id=str(delivery.message_id)))
        return _dry_run()

    def deliver(self, delivery: Delivery) -> Outcome:
        """One attempt; every failure comes back as an Outcome."""
        body = delivery.payload.body
        try:
            url = render_url(self.config.url, self._values(delivery), body)
            self._check_contract(url, body, delivery.payload.media_type)
            if delivery.dry_run:
                return _dry_run()
            response = self._send(self.config.method, url, body, self._headers(delivery))
            failpoint("rest_answered")  # the target answered, the answer not read
        except BridgeError as exc:
            return Outcome.from_error(exc.concerning(interface=delivery.interface, message_id=str(delivery.message_id)))
        outcome = classify(
            response.status_code,
            response.content,
            response.headers,
            self.clock,
            where=f"{self.config.method} {url}",
            target_id_field=self.config.target_id_field,
            duplicate_codes=self.config.duplicate_codes,
            attempt=delivery.attempt,
            metadata={"url": url, **({"replayed": "true"} if response.headers.get("idempotent-replayed") else {})},
            replay=self.config.replay,
            idempotency_key=str(delivery.message_id),
        )
        return self._settle_by_readback(delivery, outcome)

    def _settle_by_readback(self, delivery: Delivery, outcome: Outcome) -> Outcome:
        """An ambiguous 409 becomes delivered when the read-back holds what we sent in every ``replay.readback``
        field; otherwise it stays ambiguous (with what differed). Other outcomes pass through unchanged."""
        fields = self.config.replay.readback
        if not isinstance(outcome.error, AmbiguousOutcome) or not fields or self.config.readback is None:
            return outcome
        try:
            held = self.read_back(delivery.business_key, Outcome.delivered())
        except BridgeError as exc:
            return Outcome.from_error(exc)
        sent = delivery.payload.body
        differ = [f for f in fields if held is None or json_field(sent, f) != json_field(held, f)]
        if differ:
            outcome.error.detail["readback_differs"] = differ if held is not None else "target holds nothing"
            return outcome
        target_id = json_field(held, self.config.target_id_field)
        return Outcome.delivered(
            response=held,
            media_type="application/json",
            target_id=str(target_id) if isinstance(target_id, str | int) else None,
            detail="duplicate: the read-back holds what was sent (409 on a retry)",
            metadata={"duplicate": "true", "replay": "readback"},
        )

    # ------------------------------------------------------------------ bulk

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Deliver through the bulk endpoint in chunks of ``batch_size``; one Outcome per delivery, in order.

        A failure of the whole request applies to every delivery of its chunk; per-item results map back by
        index. Items that break the contract are rejected locally and dry runs validated, neither sent. Each
        item carries its message id as its own idempotency key, so a re-sent chunk replays instead of
        creating again. Without ``bulk:`` this is one ``deliver`` after the other (``max_batch`` is 1 then,
        so the runtime does not call it).
        """
        if self.config.bulk is None:
            return [self.deliver(d) for d in deliveries]
        size = self.config.bulk.batch_size
        outcomes: list[Outcome] = []
        for start in range(0, len(deliveries), size):
            outcomes.extend(self._bulk_chunk(deliveries[start : start + size]))
        return outcomes

    def _bulk_chunk(self, chunk: Sequence[Delivery]) -> list[Outcome]:
        bulk = self.config.bulk
        assert bulk is not None
        results: list[Outcome | None] = [None] * len(chunk)
        items: list[dict[str, Any]] = []
        sent: list[int] = []
        for i, d in enumerate(chunk):
            try:
                self._check_contract(self.config.url, d.payload.body, d.payload.media_type)
                if d.dry_run:
                    results[i] = _dry_run()
                    continue
                items.append({"idempotency_key": str(d.message_id), "body": json.loads(d.payload.body)})
                sent.append(i)
            except BridgeError as exc:
                results[i] = Outcome.from_error(exc)
            except ValueError as exc:
                results[i] = Outcome.from_error(EncodeError(f"bulk item is not JSON: {exc}"))
        if items:
            headers = {
                "Content-Type": "application/json",
                self.config.idempotency_header: _bulk_key([chunk[i] for i in sent]),
                # one request for many records: the trace context of its first (items keep their own keys)
                **trace_headers(chunk[sent[0]], self.config.correlation_header),
            }
            try:
                response = self._send("POST", bulk.url, json.dumps({bulk.items_field: items}).encode(), headers)
            except BridgeError as exc:
                for i in sent:
                    results[i] = Outcome.from_error(exc)
                return [r for r in results if r is not None]
            whole = classify(
                response.status_code, response.content, response.headers, self.clock, where=f"POST {bulk.url}"
            )
            per_item = json_field(response.content, bulk.results_field) if whole.status == "delivered" else None
            if not isinstance(per_item, list):
                for i in sent:
                    results[i] = (
                        whole
                        if whole.status != "delivered"
                        else Outcome.from_error(
                            TargetUnavailable(f"POST {bulk.url}: no per-item results in the answer")
                        )
                    )
            else:
                by_index = {int(r.get("index", n)): r for n, r in enumerate(per_item) if isinstance(r, dict)}
                for n, i in enumerate(sent):
                    item = by_index.get(n)
                    if item is None:
                        results[i] = Outcome.from_error(TargetUnavailable(f"POST {bulk.url}: item {n} missing"))
                        continue
                    raw = json.dumps(item.get("body")).encode()
                    item_outcome = classify(
                        int(item.get("status", 500)),
                        raw,
                        {"content-type": "application/json"},
                        self.clock,
                        where=f"POST {bulk.url} item {n}",
                        target_id_field=self.config.target_id_field,
                        duplicate_codes=self.config.duplicate_codes,
                        attempt=chunk[i].attempt,
                        replay=self.config.replay,
                        idempotency_key=str(chunk[i].message_id),
                    )
                    results[i] = self._settle_by_readback(chunk[i], item_outcome)
        return [r for r in results if r is not None]

    # ------------------------------------------------------------------ read-back

    def read_back(self, business_key: str, outcome: Outcome) -> bytes | None:
        """``GET`` the read-back URL: the body, or None when the target does not know the entity (404).

        Raises a :class:`~bridge.ports.RetryableError` on transport errors, 408/429/5xx."""
        if self.config.readback is None:
            return None
        values = {"business_key": business_key, "target_id": outcome.target_id or ""}
        url = render_url(self.config.readback.url, values)
        response = self._send("GET", url, None, {"Accept": "application/json"})
        if response.status_code == 404:
            return None
        result = classify(response.status_code, response.content, response.headers, self.clock, where=f"GET {url}")
        if result.error is not None:
            raise result.error
        return response.content
