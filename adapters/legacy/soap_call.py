"""``SoapCallSink`` and ``SoapReadBack``: one SOAP call per delivery, and a read-back by business key.

The sink receives the operation's body element as XML (from the interface's encoder, maybe an XSLT),
validates it against the WSDL's input message through zeep (parse into the element's type, then render),
makes exactly ONE call and returns an :class:`Outcome`: delivered with the response body XML and the
target's id; rejected for configured permanent faults and contract violations; failed for 5xx, timeouts,
connection errors and every other fault. It never retries or sleeps: the runtime does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from adapters.legacy.soap_client import SoapConnection, SoapEndpointConfig, classify_fault
from adapters.legacy.soap_xml import elements, local_path
from bridge.ports import BridgeError, Clock, Delivery, Location, Outcome, PeerCheck, Resource, SystemClock
from bridge.ports.trace import CORRELATION_HEADER, trace_headers

__all__ = ["SoapCallConfig", "SoapCallSink", "SoapReadBack", "SoapReadBackConfig"]


class SoapCallConfig(SoapEndpointConfig):
    """A write operation (``PostInvoice``, ``UpsertCustomer``) called once per delivery."""

    kind: Literal["soap"] = "soap"
    """Selects this plugin: ``soap``."""
    operation: str
    """WSDL operation called once per delivery (e.g. PostInvoice)."""
    target_id_path: str | None = Field(default=None, description="local-name path to the id in the response body")
    message_id_header: str | None = "X-Message-Id"
    """HTTP header carrying the message id (idempotency on the server); none when unset."""
    correlation_header: str | None = CORRELATION_HEADER
    """HTTP header carrying the record's transaction id (next to the W3C ``traceparent``); none when unset."""
    target: str | None = None
    """Target name used for delivery limits and listings (the endpoint by default)."""


class SoapReadBackConfig(SoapEndpointConfig):
    """A query (``GetInvoice``) that returns what the target holds for a business key."""

    kind: Literal["soap"] = "soap"
    """Selects this plugin: ``soap``."""
    operation: str
    """WSDL query operation (e.g. GetInvoice)."""
    key_param: str
    """Parameter of the operation that receives the business key."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Further fixed parameters of the operation."""
    not_found_faults: list[str] = Field(default_factory=lambda: ["NotFound"])
    """Fault codes meaning the target holds nothing for the key."""


class _SoapResource(Resource):
    def __init__(self, config: SoapEndpointConfig, operation: str, *, base_dir: Path, clock: Clock | None) -> None:
        self._config = config
        self._operation = operation
        self._base_dir = base_dir
        self._clock = clock or SystemClock()
        self._conn: SoapConnection | None = None

    def on_enter(self) -> None:
        conn = SoapConnection(self._config, base_dir=self._base_dir, clock=self._clock)
        conn.open()
        try:
            conn.check_operation(self._operation)
        except BridgeError:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the WSDL loads with this operation and the endpoint answers (no call)."""
        return SoapConnection(self._config, base_dir=self._base_dir, clock=self._clock).connect_checks(self._operation)

    @property
    def conn(self) -> SoapConnection:
        if self._conn is None:
            raise RuntimeError(f"{type(self).__name__} is not open")
        return self._conn


class SoapCallSink(_SoapResource):
    """Implements :class:`bridge.ports.Sink` for one SOAP operation."""

    def __init__(self, config: SoapCallConfig, *, base_dir: Path, clock: Clock | None = None, target: str = "") -> None:
        super().__init__(config, config.operation, base_dir=base_dir, clock=clock)
        self.config = config
        self.target = config.target or target or config.endpoint or f"soap:{config.operation}"
        self._target_id = local_path(config.target_id_path) if config.target_id_path else None

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: the body is checked against the operation's WSDL input; no call is made."""
        op = self.config.operation
        try:
            self.conn.kwargs_from_xml(op, delivery.payload.body)
        except BridgeError as exc:
            return Outcome.from_error(exc.concerning(interface=delivery.interface, message_id=str(delivery.message_id)))
        return Outcome.delivered(
            detail=f"dry run: {op} body valid against the WSDL",
            metadata={"soap.operation": op, "soap.dry_run": "true"},
        )

    def deliver(self, delivery: Delivery) -> Outcome:
        conn = self.conn
        op = self.config.operation
        try:
            kwargs = conn.kwargs_from_xml(op, delivery.payload.body)
        except BridgeError as exc:
            return Outcome.from_error(exc.concerning(interface=delivery.interface, message_id=str(delivery.message_id)))
        if delivery.dry_run:
            return Outcome.delivered(
                detail=f"dry run: {op} body valid against the WSDL",
                metadata={"soap.operation": op, "soap.dry_run": "true"},
            )
        headers = trace_headers(delivery, self.config.correlation_header)
        if self.config.message_id_header:
            headers[self.config.message_id_header] = str(delivery.message_id)
        try:
            exchange = conn.call(op, kwargs, headers=headers)
        except BridgeError as exc:
            exc.concerning(interface=delivery.interface, message_id=str(delivery.message_id))
            return dataclasses.replace(Outcome.from_error(exc), metadata={"soap.operation": op, **conn.last_capture()})
        metadata = {"soap.operation": op, "soap.endpoint": conn.address, **exchange.capture()}
        if exchange.fault is not None:
            error = classify_fault(exchange.fault, self.config, where=Location(file=conn.address))
            error.concerning(interface=delivery.interface, message_id=str(delivery.message_id))
            fault_xml = exchange.fault.detail.encode() or None
            return dataclasses.replace(
                Outcome.from_error(error, response=fault_xml), media_type="application/xml", metadata=metadata
            )
        target_id = None
        if self._target_id is not None and exchange.body is not None:
            found = elements(self._target_id(exchange.body))
            target_id = (found[0].text or "").strip() or None if found else None
        return Outcome.delivered(
            response=exchange.body_bytes(),
            media_type="application/xml",
            target_id=target_id,
            detail=f"{op} HTTP {exchange.status}",
            metadata=metadata,
        )


class SoapReadBack(_SoapResource):
    """Implements :class:`bridge.ports.ReadBack`: ``operation(key_param=business_key)`` -> response body XML."""

    def __init__(self, config: SoapReadBackConfig, *, base_dir: Path, clock: Clock | None = None) -> None:
        super().__init__(config, config.operation, base_dir=base_dir, clock=clock)
        self.config = config

    def read_back(self, business_key: str, outcome: Outcome) -> bytes | None:
        """The target's current body for ``business_key``; None when it answers a not-found fault."""
        conn = self.conn
        exchange = conn.call(self.config.operation, {**self.config.params, self.config.key_param: business_key})
        if exchange.fault is not None:
            if exchange.fault.matches(self.config.not_found_faults, ()):
                return None
            raise classify_fault(exchange.fault, self.config, where=Location(file=conn.address, field=business_key))
        return exchange.body_bytes() if exchange.body is not None else None
