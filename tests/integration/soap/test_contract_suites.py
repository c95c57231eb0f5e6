"""The Source and Sink contract suites (``bridge.testing``) against the real SOAP server (the ERP simulator).

Source: ``SoapPollSource`` over ``GetChangedInvoices`` (input: an invoice changed in the ERP's store). Sink:
``SoapCallSink`` over ``PostInvoice`` (effects: the invoice the ERP holds for the number, with the id and
change time it gave it, so a second posting would show; attempts: the server's request counter).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.legacy.soap_call import SoapCallConfig, SoapCallSink
from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource
from bridge.ports import Delivery, PathName, Sink, Source
from bridge.testing import SinkContract, SinkPeer, SourceContract, SourcePeer, contract_delivery
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from samples.legacy_erp.store import StoreError
from tests.integration.soap.test_soap_call import invoice_xml

START = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def erp() -> Iterator[ErpSimulator]:
    """A running simulator with two customers and no invoices."""
    simulator = ErpSimulator()
    simulator.store.seed(customers=2)
    with simulator:
        yield simulator


class SoapPollPeer(SourcePeer):
    metadata_keys: ClassVar[frozenset[str]] = frozenset({"soap.operation", "soap.page", "soap.records", "soap.scan"})

    def __init__(self, erp: ErpSimulator, spool: Path) -> None:
        super().__init__(spool)
        self.erp = erp

    def build(self) -> Source:
        config = SoapPollConfig(
            wsdl=str(WSDL_PATH),
            endpoint=self.erp.url,
            operation="GetChangedInvoices",
            records_path="invoices/invoice",
            watermark_field="modifiedAt",
            page_size=50,
            operation_timeout=10,
        )
        return SoapPollSource(config, base_dir=WSDL_PATH.parent, interface=self.interface)

    def marker(self, n: int) -> bytes:
        return f"INV-C{n:04d}".encode()

    def put(self, n: int) -> None:
        self.erp.store.add_late(self.marker(n).decode(), START + timedelta(minutes=n))


class TestSoapPollSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, erp: ErpSimulator, tmp_path: Path) -> Iterator[SourcePeer]:
        with SoapPollPeer(erp, tmp_path) as peer:
            yield peer


class SoapCallPeer(SinkPeer):
    def __init__(self, erp: ErpSimulator) -> None:
        self.erp = erp

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        config = SoapCallConfig(
            wsdl=str(WSDL_PATH),
            endpoint=self.erp.url,
            operation="PostInvoice",
            target_id_path="invoiceId",
            operation_timeout=5,
            timeout=2,
        )
        sink = SoapCallSink(config, base_dir=WSDL_PATH.parent)

        @contextlib.contextmanager
        def run() -> Iterator[Sink]:
            with sink:
                if broken:
                    self.erp.knobs.fail_500 = 1_000_000  # every request answers 500 (a transient failure)
                try:
                    yield sink
                finally:
                    self.erp.knobs.fail_500 = 0

        return run()

    def delivery(self, n: int) -> Delivery:
        number = f"INV-K{n:04d}"
        body = invoice_xml(number=number, customer="CUST-00001")
        return contract_delivery(body, "application/xml", business_key=number, path=PathName.LEGACY)

    def effects(self, delivery: Delivery) -> Sequence[object]:
        try:
            invoice = self.erp.store.get_invoice(delivery.business_key)
        except StoreError:
            return []
        return [(invoice.invoice_id, invoice.modified_at, invoice.status)]

    def attempts(self) -> int | None:
        return self.erp.stats.requests


class TestSoapCallSinkContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, erp: ErpSimulator) -> SinkPeer:
        return SoapCallPeer(erp)
