"""A SOAP call carries the record's transaction id: ``traceparent`` and ``X-Correlation-Id`` at the ERP."""

from __future__ import annotations

import uuid
from pathlib import Path

from bridge.ports import OutcomeStatus
from bridge.ports.trace import trace_id_of
from samples.legacy_erp.simulator import ErpSimulator
from tests.integration.soap.test_soap_call import delivery, invoice_xml, sink_for


def test_soap_call_headers_carry_transaction(sim: ErpSimulator, wsdl: Path) -> None:
    """The simulator saw the correlation header and a W3C traceparent whose trace id is the transaction's."""
    d = delivery(invoice_xml())
    with sink_for(sim.url, wsdl) as sink:
        assert sink.deliver(d).status is OutcomeStatus.DELIVERED
    headers = {k.lower(): v for k, v in sim.stats.last_headers.items()}
    assert headers["x-correlation-id"] == d.transaction_id == "tx-1"
    version, trace_id, parent, flags = headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", trace_id_of("tx-1"), "00") and len(parent) == 16
    assert headers["x-message-id"] == str(d.message_id) and uuid.UUID(headers["x-message-id"])
