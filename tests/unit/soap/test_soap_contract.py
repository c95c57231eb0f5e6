"""Config rules, WSDL-input validation of outgoing bodies, and fault classification (no network)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.legacy.soap_call import SoapCallConfig, SoapCallSink
from adapters.legacy.soap_client import SoapConnection, SoapEndpointConfig, classify_fault
from adapters.legacy.soap_xml import SoapFault
from bridge.ports import (
    ConfigError,
    ContractViolation,
    Delivery,
    Encoded,
    OutcomeStatus,
    PathName,
    Rejected,
    Role,
    SecurityError,
    SimulatedClock,
    TargetUnavailable,
)

M = "http://erp.example.com/ws/2009/messages"
C = "http://erp.example.com/ws/2009/common"
INVOICE = (
    f'<m:PostInvoice xmlns:m="{M}" xmlns:c="{C}"><m:invoice><c:invoiceNumber>INV-1</c:invoiceNumber>'
    "<c:customerId>CUST-00001</c:customerId><c:issueDate>2026-01-05</c:issueDate><c:currency>EUR</c:currency>"
    "<c:total>39.80</c:total><c:line><c:lineNo>1</c:lineNo><c:sku>A</c:sku><c:quantity>2</c:quantity>"
    "<c:unitPrice>19.90</c:unitPrice><c:amount>39.80</c:amount></c:line></m:invoice></m:PostInvoice>"
)


@pytest.fixture
def conn(erp_wsdl: Path) -> Iterator[SoapConnection]:
    config = SoapEndpointConfig(kind="soap", wsdl=str(erp_wsdl), endpoint="http://127.0.0.1:9/never-called")
    connection = SoapConnection(config, base_dir=erp_wsdl.parent, clock=SimulatedClock())
    connection.open()
    yield connection
    connection.close()


def test_timeouts_must_be_positive_and_unknown_fields_refused(erp_wsdl: Path) -> None:
    """Both timeouts are always set (positive); a typo in the config is an error, not ignored."""
    with pytest.raises(ValidationError):
        SoapEndpointConfig(kind="soap", wsdl=str(erp_wsdl), operation_timeout=0)
    with pytest.raises(ValidationError):
        SoapEndpointConfig(kind="soap", wsdl=str(erp_wsdl), timout=5)  # type: ignore[call-arg]
    config = SoapEndpointConfig(kind="soap", wsdl=str(erp_wsdl))
    assert config.timeout > 0 and config.operation_timeout > 0


def test_secrets_never_show_in_config_repr(erp_wsdl: Path) -> None:
    """WS-Security and basic-auth passwords are SecretStr: repr and dumps do not reveal them."""
    config = SoapEndpointConfig.model_validate(
        {
            "kind": "soap",
            "wsdl": str(erp_wsdl),
            "basic": {"username": "u", "password": "s3cret-basic"},
            "wsse": {"username": "u", "password": "s3cret-wsse"},
        }
    )
    assert "s3cret" not in repr(config) and "s3cret" not in config.model_dump_json()


def test_missing_wsdl_is_config_error(tmp_path: Path) -> None:
    """Opening a connection whose WSDL file does not exist is a ConfigError naming the file."""
    conn = SoapConnection(SoapEndpointConfig(kind="soap", wsdl="nope.wsdl"), base_dir=tmp_path, clock=SimulatedClock())
    with pytest.raises(ConfigError, match=r"nope\.wsdl"):
        conn.open()


def test_remote_wsdl_without_cache_is_config_error(tmp_path: Path) -> None:
    """A remote WSDL URL without a local cache is refused: no fetching at every start."""
    config = SoapEndpointConfig(kind="soap", wsdl="https://erp.example.com/ws?wsdl")
    with pytest.raises(ConfigError, match="wsdl_cache"):
        SoapConnection(config, base_dir=tmp_path, clock=SimulatedClock()).open()


def test_endpoint_override_replaces_the_vendor_address(conn: SoapConnection) -> None:
    """The configured endpoint replaces the production address in the vendor WSDL."""
    assert conn.address == "http://127.0.0.1:9/never-called"


def test_unknown_operation_is_config_error(conn: SoapConnection) -> None:
    """A configured operation missing from the bound port fails at open time with the known operations."""
    with pytest.raises(ConfigError, match="PostInvoice"):
        conn.check_operation("PostInvoices")


def test_valid_body_becomes_call_arguments(conn: SoapConnection) -> None:
    """A body element matching the WSDL input is parsed into zeep call arguments."""
    kwargs = conn.kwargs_from_xml("PostInvoice", INVOICE.encode())
    assert kwargs["invoice"]["invoiceNumber"] == "INV-1"
    assert str(kwargs["invoice"]["line"][0]["amount"]) == "39.80"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (INVOICE.replace("PostInvoice", "PostInvoiceX"), "expects body element"),
        (INVOICE.replace("<c:currency>EUR</c:currency>", ""), "does not match the WSDL"),
        (INVOICE.replace("</c:total>", "</c:total><c:bogus>1</c:bogus>"), "does not match the WSDL"),
        (INVOICE.replace("<c:total>39.80</c:total>", "<c:total>lots</c:total>"), "does not match the WSDL"),
        (INVOICE[:-5], "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + INVOICE, "not well-formed"),
    ],
)
def test_invalid_body_is_contract_violation(conn: SoapConnection, body: str, why: str) -> None:
    """A wrong root, missing or unknown element, bad type, broken XML or a DTD is a ContractViolation."""
    with pytest.raises(ContractViolation, match=why):
        conn.kwargs_from_xml("PostInvoice", body.encode())


def test_sink_rejects_invalid_body_without_calling(erp_wsdl: Path) -> None:
    """The sink turns a contract violation into a rejected outcome; the unreachable endpoint is never called."""
    config = SoapCallConfig(wsdl=str(erp_wsdl), endpoint="http://127.0.0.1:9/x", operation="PostInvoice")
    body = INVOICE.replace("<c:currency>EUR</c:currency>", "").encode()
    delivery = Delivery(
        uuid.uuid4(), "inv", PathName.LEGACY, Role.AUTHORITATIVE, "INV-1", 1, Encoded(body, "application/xml"), "tx-1"
    )
    with SoapCallSink(config, base_dir=erp_wsdl.parent) as sink:
        outcome = sink.deliver(delivery)
    assert outcome.status is OutcomeStatus.REJECTED and isinstance(outcome.error, ContractViolation)
    assert outcome.error.message_id == str(delivery.message_id)


def test_dry_run_validates_and_does_not_send(erp_wsdl: Path) -> None:
    """A dry-run delivery of a valid body is delivered without any call (the endpoint does not exist)."""
    config = SoapCallConfig(wsdl=str(erp_wsdl), endpoint="http://127.0.0.1:9/x", operation="PostInvoice")
    delivery = Delivery(
        uuid.uuid4(),
        "inv",
        PathName.CLOUD,
        Role.SHADOW,
        "INV-1",
        1,
        Encoded(INVOICE.encode(), "application/xml"),
        "tx-1",
        dry_run=True,
    )
    with SoapCallSink(config, base_dir=erp_wsdl.parent) as sink:
        outcome = sink.deliver(delivery)
    assert outcome.status is OutcomeStatus.DELIVERED and outcome.metadata["soap.dry_run"] == "true"


def _fault(code: str, string: str = "x", subcodes: tuple[str, ...] = ()) -> SoapFault:
    return SoapFault(code, code.split(":")[-1], subcodes, string, "")


def test_fault_classification_rules(erp_wsdl: Path) -> None:
    """Client/Sender faults are permanent, server faults retryable, security faults SecurityError, overrides win."""
    config = SoapEndpointConfig(
        kind="soap", wsdl=str(erp_wsdl), retryable_faults=["Locked"], permanent_fault_strings=["credit limit"]
    )
    assert isinstance(classify_fault(_fault("soap:Client.Duplicate"), config), Rejected)
    assert isinstance(classify_fault(_fault("env:Sender", subcodes=("erp:NotFound",)), config), Rejected)
    assert isinstance(classify_fault(_fault("soap:Server"), config), TargetUnavailable)
    assert isinstance(classify_fault(_fault("soap:Server", "Credit limit exceeded"), config), Rejected)
    assert isinstance(classify_fault(_fault("soap:Client.Locked"), config), TargetUnavailable)
    assert isinstance(classify_fault(_fault("wsse:FailedAuthentication"), config), SecurityError)
    assert isinstance(classify_fault(_fault("soap:Client.FailedAuthentication"), config), SecurityError)
