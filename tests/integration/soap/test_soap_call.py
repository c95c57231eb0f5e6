"""SoapCallSink and SoapReadBack against the real simulator: outcomes, fault classes, hardening limits."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.legacy.soap_call import SoapCallConfig, SoapCallSink, SoapReadBack, SoapReadBackConfig
from bridge.ports import (
    ConnectionFailed,
    ContractViolation,
    Delivery,
    Encoded,
    HostileInput,
    Outcome,
    OutcomeStatus,
    PathName,
    Rejected,
    Role,
    SecurityError,
    TargetUnavailable,
    TimeoutExpired,
)
from samples.legacy_erp.simulator import ErpSimulator

M = "http://erp.example.com/ws/2009/messages"
C = "http://erp.example.com/ws/2009/common"


def invoice_xml(number: str = "INV-9001", total: str = "39.80", customer: str = "CUST-00001") -> bytes:
    return (
        f'<m:PostInvoice xmlns:m="{M}" xmlns:c="{C}"><m:invoice><c:invoiceNumber>{number}</c:invoiceNumber>'
        f"<c:customerId>{customer}</c:customerId><c:issueDate>2026-01-05</c:issueDate>"
        f"<c:currency>EUR</c:currency><c:total>{total}</c:total><c:line><c:lineNo>1</c:lineNo><c:sku>A</c:sku>"
        f"<c:quantity>2</c:quantity><c:unitPrice>19.90</c:unitPrice><c:amount>{total}</c:amount></c:line>"
        "</m:invoice></m:PostInvoice>"
    ).encode()


def delivery(body: bytes, key: str = "INV-9001") -> Delivery:
    return Delivery(
        uuid.uuid4(), "invoices", PathName.LEGACY, Role.AUTHORITATIVE, key, 1, Encoded(body, "application/xml"), "tx-1"
    )


def sink_for(url: str, wsdl: Path, **overrides: Any) -> SoapCallSink:
    values: dict[str, Any] = {
        "wsdl": str(wsdl),
        "endpoint": url,
        "operation": "PostInvoice",
        "target_id_path": "invoiceId",
        "operation_timeout": 5,
        "timeout": 2,
    }
    return SoapCallSink(SoapCallConfig(**{**values, **overrides}), base_dir=wsdl.parent)


def deliver(sim: ErpSimulator, wsdl: Path, body: bytes | None = None, **overrides: Any) -> Outcome:
    with sink_for(sim.url, wsdl, **overrides) as sink:
        return sink.deliver(delivery(body or invoice_xml()))


def test_delivered_with_response_target_id_and_message_id_header(sim: ErpSimulator, wsdl: Path) -> None:
    """A valid invoice is delivered once: response body XML, the ERP's id, the message id sent as a header."""
    with sink_for(sim.url, wsdl) as sink:
        d = delivery(invoice_xml())
        outcome = sink.deliver(d)
    assert outcome.status is OutcomeStatus.DELIVERED
    assert outcome.target_id and outcome.target_id.startswith("E")
    assert outcome.response is not None and b"PostInvoiceResponse" in outcome.response
    assert b"soap" not in outcome.response  # the body element alone, without the envelope's namespaces
    assert sim.stats.last_headers["X-Message-Id"] == str(d.message_id)
    assert sim.stats.by_operation == {"PostInvoice": 1}
    assert "soap.request" in outcome.metadata and "E0" in outcome.metadata["soap.response"]
    assert sim.store.get_invoice("INV-9001").status == "POSTED"


def test_redelivery_of_same_content_is_idempotent(sim: ErpSimulator, wsdl: Path) -> None:
    """Posting the same invoice twice yields the same target id (the ERP treats it as a repeat)."""
    first, second = deliver(sim, wsdl), deliver(sim, wsdl)
    assert first.status is second.status is OutcomeStatus.DELIVERED and first.target_id == second.target_id


def test_business_fault_is_rejected_with_fault_detail(sim: ErpSimulator, wsdl: Path) -> None:
    """A client fault (different content for an existing number) is rejected, keeping the fault detail."""
    deliver(sim, wsdl)
    outcome = deliver(sim, wsdl, invoice_xml(total="59.70").replace(b">2<", b">3<"))
    assert outcome.status is OutcomeStatus.REJECTED and isinstance(outcome.error, Rejected)
    assert outcome.error.detail["fault_code"] == "soap:Client.DuplicateInvoice"
    assert outcome.response is not None and b"DuplicateInvoice" in outcome.response


def test_soap12_sender_fault_is_rejected(sim: ErpSimulator, wsdl: Path) -> None:
    """Over SOAP 1.2, a Sender fault with an erp:UnknownCustomer subcode is rejected."""
    outcome = deliver(sim, wsdl, invoice_xml(customer="CUST-404"), port="ErpSoap12")
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.error is not None and outcome.error.detail["fault_subcodes"] == ["erp:UnknownCustomer"]


def test_server_fault_is_failed(sim: ErpSimulator, wsdl: Path) -> None:
    """A server-side fault is retryable: failed, and nothing was stored."""
    sim.set_knobs(fault_code="Busy", fault_client=False, fault_count=1)
    outcome = deliver(sim, wsdl)
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, TargetUnavailable)


def test_configured_fault_codes_and_strings_override(sim: ErpSimulator, wsdl: Path) -> None:
    """retryable_faults turns a client fault retryable; permanent_fault_strings makes a server fault permanent."""
    sim.set_knobs(fault_code="Locked", fault_client=True, fault_count=1)
    assert deliver(sim, wsdl, retryable_faults=["Locked"]).status is OutcomeStatus.FAILED
    sim.set_knobs(fault_code="Closed", fault_client=False, fault_count=1)
    assert deliver(sim, wsdl, permanent_fault_strings=["closed"]).status is OutcomeStatus.REJECTED


def test_http_500_without_envelope_is_failed(sim: ErpSimulator, wsdl: Path) -> None:
    """An HTML 500 page (no SOAP envelope) is a retryable TargetUnavailable."""
    sim.set_knobs(fail_500=1)
    outcome = deliver(sim, wsdl)
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, TargetUnavailable)
    assert outcome.metadata["soap.http_status"] == "500"


def test_contract_violation_is_rejected_before_any_call(sim: ErpSimulator, wsdl: Path) -> None:
    """A body missing a required element is rejected as ContractViolation and never sent."""
    outcome = deliver(sim, wsdl, invoice_xml().replace(b"<c:currency>EUR</c:currency>", b""))
    assert isinstance(outcome.error, ContractViolation) and sim.stats.requests == 0


def test_connection_refused_is_failed(wsdl: Path) -> None:
    """A closed port gives a retryable ConnectionFailed outcome."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sink_for(f"http://127.0.0.1:{port}/ws/erp", wsdl) as sink:
        outcome = sink.deliver(delivery(invoice_xml()))
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, ConnectionFailed)


def test_hanging_server_times_out_within_bound(sim: ErpSimulator, wsdl: Path) -> None:
    """A server that never answers makes the call fail with TimeoutExpired after operation_timeout, not later."""
    sim.set_knobs(hang=30)
    started = time.monotonic()
    outcome = deliver(sim, wsdl, operation_timeout=1.0)
    elapsed = time.monotonic() - started
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, TimeoutExpired)
    assert 0.9 <= elapsed < 3.0


def test_trickling_server_hits_the_whole_call_deadline(sim: ErpSimulator, wsdl: Path) -> None:
    """A server sending a slice every 0.4 s never trips the per-read timeout; the call deadline still ends it."""
    sim.set_knobs(trickle=0.4)
    started = time.monotonic()
    outcome = deliver(sim, wsdl, operation_timeout=1.0)
    elapsed = time.monotonic() - started
    assert isinstance(outcome.error, TimeoutExpired) and "not complete" in outcome.error.message
    assert elapsed < 2.5


@pytest.mark.parametrize("omit_length", [False, True])
def test_oversized_response_is_refused(sim: ErpSimulator, wsdl: Path, omit_length: bool) -> None:
    """A response over max_response_bytes is refused (declared length or while streaming) as HostileInput."""
    sim.set_knobs(oversize=3_000_000, omit_length=omit_length)
    outcome = deliver(sim, wsdl, max_response_bytes=1_000_000)
    assert outcome.status is OutcomeStatus.REJECTED and isinstance(outcome.error, HostileInput)
    assert len(outcome.metadata["soap.response"]) <= 64 * 1024


def test_xxe_in_response_is_refused(sim: ErpSimulator, wsdl: Path) -> None:
    """A response with an external-entity DOCTYPE is refused; the entity is never resolved."""
    sim.set_knobs(xxe=True)
    outcome = deliver(sim, wsdl)
    assert isinstance(outcome.error, HostileInput)
    everything = repr(outcome)
    assert "root:x:0" not in everything


def test_basic_auth_from_secret(sim: ErpSimulator, wsdl: Path) -> None:
    """HTTP basic credentials are sent; wrong ones give a SecurityError (401) and the password is not captured."""
    sim.set_knobs(basic=("esb", "pa55word"))
    good = deliver(sim, wsdl, basic={"username": "esb", "password": "pa55word"})
    assert good.status is OutcomeStatus.DELIVERED
    bad = deliver(sim, wsdl, invoice_xml("INV-9002"), basic={"username": "esb", "password": "nope"})
    assert bad.status is OutcomeStatus.REJECTED and isinstance(bad.error, SecurityError)
    assert "pa55word" not in repr(good) and "nope" not in repr(bad.metadata)


def test_tls_verification_on_and_ca_bundle(wsdl: Path, tls_files: tuple[Path, Path]) -> None:
    """Against a self-signed HTTPS endpoint the call is refused by default and succeeds with its CA bundle."""
    simulator = ErpSimulator(tls=tls_files)
    simulator.store.seed(customers=2)
    with simulator:
        refused = deliver(simulator, wsdl)
        assert isinstance(refused.error, SecurityError)
        trusted = deliver(simulator, wsdl, ca_bundle=str(tls_files[0]))
        assert trusted.status is OutcomeStatus.DELIVERED


def test_read_back_by_business_key(sim: ErpSimulator, wsdl: Path) -> None:
    """Read-back returns GetInvoice's body for a delivered invoice and None for an unknown one."""
    outcome = deliver(sim, wsdl)
    config = SoapReadBackConfig(wsdl=str(wsdl), endpoint=sim.url, operation="GetInvoice", key_param="invoiceNumber")
    with SoapReadBack(config, base_dir=wsdl.parent) as reader:
        body = reader.read_back("INV-9001", outcome)
        missing = reader.read_back("INV-0000000", outcome)
    assert body is not None and b"<c:status>POSTED</c:status>" in body and missing is None


def test_concurrent_deliveries_keep_their_own_capture(sim: ErpSimulator, wsdl: Path) -> None:
    """Deliveries on several threads each get their own response and capture (no cross-talk)."""
    from concurrent.futures import ThreadPoolExecutor

    with sink_for(sim.url, wsdl) as sink:
        bodies = {f"INV-T{i}": invoice_xml(f"INV-T{i}") for i in range(16)}
        with ThreadPoolExecutor(4) as pool:
            outcomes = dict(zip(bodies, pool.map(lambda b: sink.deliver(delivery(b)), bodies.values()), strict=True))
    for number, outcome in outcomes.items():
        assert outcome.status is OutcomeStatus.DELIVERED
        assert number in outcome.metadata["soap.request"]
        assert outcome.target_id == sim.store.get_invoice(number).invoice_id


def test_remote_wsdl_is_fetched_once_into_the_cache(sim: ErpSimulator, tmp_path: Path) -> None:
    """A WSDL given by URL (with its XSD imports) is fetched once; later opens read the local cache only."""
    config = SoapCallConfig(
        wsdl=f"{sim.url}?wsdl", wsdl_cache="wsdl-cache.db", endpoint=sim.url, operation="GetInvoice"
    )
    with SoapCallSink(config, base_dir=tmp_path):
        pass
    fetched = sim.stats.documents
    assert fetched == 3  # the WSDL and its two XSDs
    again = SoapReadBackConfig(
        wsdl=config.wsdl,
        wsdl_cache=config.wsdl_cache,
        endpoint=sim.url,
        operation="GetInvoice",
        key_param="invoiceNumber",
    )
    with SoapReadBack(again, base_dir=tmp_path) as reader:
        assert reader.read_back("INV-0000001", Outcome.delivered()) is not None
    assert sim.stats.documents == fetched


def test_knobs_over_http_admin_endpoint(sim: ErpSimulator, wsdl: Path) -> None:
    """Another process can set the simulator's knobs over POST /_admin/knobs (used by the demo)."""
    import httpx

    base = sim.url.rsplit("/ws/", 1)[0]
    assert httpx.post(f"{base}/_admin/knobs", json={"fail_500": 1}).status_code == 204
    assert deliver(sim, wsdl).status is OutcomeStatus.FAILED
    assert deliver(sim, wsdl).status is OutcomeStatus.DELIVERED
    assert httpx.get(f"{base}/_admin/stats").json()["by_operation"] == {"PostInvoice": 1}
