"""The demo's simulated systems hold what the demo compares: legacy billing keeps the tax as sent (per line,
by the ERP), the cloud billing stores its own per-invoice figures whatever the sender claims."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from adapters.legacy.soap_call import SoapCallConfig, SoapCallSink, SoapReadBack, SoapReadBackConfig
from bridge.ports import Delivery, Encoded, Outcome, OutcomeStatus, PathName, Role
from samples.cloud_sim.server import SimServer
from samples.legacy_erp.simulator import ErpSimulator
from samples.legacy_erp.store import Customer, ErpStore

WSDL = Path(__file__).resolve().parents[3] / "samples" / "legacy_erp" / "wsdl" / "erp.wsdl"
M = "http://erp.example.com/ws/2009/messages"
C = "http://erp.example.com/ws/2009/common"


@pytest.fixture
def billing() -> Iterator[ErpSimulator]:
    store = ErpStore()
    store.customers["C-00001"] = Customer("C-00001", "Acme", "DE", modified_at=datetime(2026, 1, 1, tzinfo=UTC))
    with ErpSimulator(store) as sim:
        yield sim


def test_legacy_billing_keeps_tax_and_gross_total_as_sent(billing: ErpSimulator) -> None:
    """PostInvoice with the optional taxTotal/grossTotal/taxRate validates against the WSDL, and GetInvoice
    returns them unchanged (billing does not recompute the sender's per-line tax)."""
    body = (
        f'<m:PostInvoice xmlns:m="{M}" xmlns:c="{C}"><m:invoice><c:invoiceNumber>INV-1</c:invoiceNumber>'
        "<c:customerId>C-00001</c:customerId><c:issueDate>2026-01-05</c:issueDate><c:currency>EUR</c:currency>"
        "<c:total>20.10</c:total><c:taxTotal>3.82</c:taxTotal><c:grossTotal>23.92</c:grossTotal>"
        "<c:line><c:lineNo>1</c:lineNo><c:sku>A</c:sku><c:quantity>1</c:quantity><c:unitPrice>10.05</c:unitPrice>"
        "<c:amount>10.05</c:amount><c:taxRate>19</c:taxRate></c:line>"
        "<c:line><c:lineNo>2</c:lineNo><c:sku>B</c:sku><c:quantity>1</c:quantity><c:unitPrice>10.05</c:unitPrice>"
        "<c:amount>10.05</c:amount><c:taxRate>19</c:taxRate></c:line>"
        "</m:invoice></m:PostInvoice>"
    ).encode()
    common = {"wsdl": str(WSDL), "endpoint": billing.url, "timeout": 2, "operation_timeout": 5}
    config = SoapCallConfig(**common, operation="PostInvoice", target_id_path="invoiceId")
    sink = SoapCallSink(config, base_dir=WSDL.parent)
    with sink:
        outcome = sink.deliver(
            Delivery(
                uuid.uuid4(),
                "inv",
                PathName.LEGACY,
                Role.AUTHORITATIVE,
                "INV-1",
                1,
                Encoded(body, "application/xml"),
                "tx",
            )
        )
    assert outcome.status is OutcomeStatus.DELIVERED, outcome
    stored = billing.store.invoices["INV-1"]
    assert (stored.tax_total, stored.gross_total) == (Decimal("3.82"), Decimal("23.92"))
    assert [ln.tax_rate for ln in stored.lines] == [Decimal("19"), Decimal("19")]
    readback = SoapReadBack(
        SoapReadBackConfig(**common, operation="GetInvoice", key_param="invoiceNumber"), base_dir=WSDL.parent
    )
    with readback:
        held = readback.read_back("INV-1", Outcome(OutcomeStatus.DELIVERED))
    assert held is not None
    assert b"taxTotal>3.82<" in held and b"grossTotal>23.92<" in held
    assert held.count(b"taxRate>19<") == 2


def test_cloud_billing_stores_its_own_per_invoice_tax_over_the_senders() -> None:
    """The sender's subtotal/tax_total/total pass the contract, but the cloud billing stores its own figures:
    three lines of 0.05 at 19 % are 0.0285 tax, 0.03 rounded once per invoice (per line it would be 0.00)."""
    with SimServer() as sim:
        sim.state.config.check_references = False
        line = {
            "sku": "A",
            "description": "a",
            "quantity": "1",
            "unit_price": "0.05",
            "amount": "0.05",
            "tax_rate": "19",
        }
        body = {
            "external_id": "INV-1",
            "customer": "C-00001",
            "currency": "EUR",
            "issue_date": "2026-01-05",
            "lines": [{**line, "line_no": i} for i in (1, 2, 3)],
            "subtotal": "0.15",
            "tax_total": "0.00",
            "total": "0.15",
        }
        created = httpx.post(f"{sim.url}/v1/invoices", json=body)
        assert created.status_code == 201, created.text
        held = httpx.get(f"{sim.url}/v1/invoices/{created.json()['id']}").json()
    assert (held["subtotal"], held["tax_total"], held["total"]) == ("0.15", "0.03", "0.18")


def test_legacy_erp_keeps_the_crm_number_of_a_new_customer() -> None:
    """UpsertCustomer without a customerId creates the customer under the ERP's own id (the xref target) and
    keeps the sender's number in the optional externalRef."""
    body = (
        f'<m:UpsertCustomer xmlns:m="{M}" xmlns:c="{C}"><m:customer><c:name>Contoso</c:name>'
        "<c:country>FR</c:country><c:externalRef>CRM-00001</c:externalRef></m:customer></m:UpsertCustomer>"
    ).encode()
    with ErpSimulator() as erp:
        config = SoapCallConfig(
            wsdl=str(WSDL),
            endpoint=erp.url,
            operation="UpsertCustomer",
            target_id_path="customerId",
            timeout=2,
            operation_timeout=5,
        )
        with SoapCallSink(config, base_dir=WSDL.parent) as sink:
            outcome = sink.deliver(
                Delivery(
                    uuid.uuid4(),
                    "crm",
                    PathName.LEGACY,
                    Role.AUTHORITATIVE,
                    "CRM-00001",
                    1,
                    Encoded(body, "application/xml"),
                    "tx",
                )
            )
        assert outcome.status is OutcomeStatus.DELIVERED and outcome.target_id == "CUST-00001", outcome
        assert erp.store.customers["CUST-00001"].external_ref == "CRM-00001"
