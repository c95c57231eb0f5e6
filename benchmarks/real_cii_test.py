"""Real, published CII invoices and Factur-X / ZUGFeRD PDFs through the shipped CII mapping: the decode count.

The documents are others' test files (Mustang project, XRechnung test suite, CEN EN 16931 examples, the
factur-x library's samples); they are not part of this repository and are never committed. ``ESB_BRIDGE_REAL_CII``
points to a folder holding them (any layout: every ``*.xml`` whose root is a CII CrossIndustryInvoice or a
ZUGFeRD 1.0 CrossIndustryDocument, and every ``*.pdf``, is taken; a PDF without an embedded invoice must fail
as a whole, and a ZUGFeRD 1.0 document must be refused as such: both are counted apart). It lives in
``benchmarks/`` (not collected by ``make test``) and runs on demand:
``ESB_BRIDGE_REAL_CII=/path/to/corpus .venv/bin/pytest benchmarks/real_cii_test.py -q -s``.
Every decoded document must carry the number, currency, payable, tax-exclusive and tax-inclusive totals and
top-level line count that the document states (read here independently with XPath, from the XML or the PDF's
attachment); the share decoded must reach ``ESB_BRIDGE_REAL_CII_MIN`` (default 0.8), and each refusal is
printed with its reason.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks._real_figures import assert_stated_figures
from bridge.ports import BridgeError, DecodedRecord
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, envelope
from translators.facturx import FacturxDecoder, embedded_invoice
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

CORPUS = Path(os.environ["ESB_BRIDGE_REAL_CII"]) if os.environ.get("ESB_BRIDGE_REAL_CII") else None
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
FERD = "urn:ferd:CrossIndustryDocument:invoice:1p0"
NS = {"rsm": RSM, "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
ROOTS = {f"{{{RSM}}}CrossIndustryInvoice", f"{{{FERD}}}CrossIndustryDocument"}
SUMMATION = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
SUMMATION += "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"


def _stated(root: object) -> dict[str, object]:
    """What the document itself says, read without the mapping."""

    def text(path: str) -> str | None:
        found = root.xpath(f"{path}/text()", namespaces=NS)  # type: ignore[attr-defined]
        return str(found[0]).strip() if found else None

    def amount(name: str) -> Decimal | None:
        value = text(SUMMATION + name)
        return Decimal(value) if value is not None else None

    lines = root.xpath(  # type: ignore[attr-defined]
        "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
        "[not(ram:AssociatedDocumentLineDocument/ram:ParentLineID)]",
        namespaces=NS,
    )
    return {
        "invoice_number": text("rsm:ExchangedDocument/ram:ID"),
        "currency": text("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode"),
        "payable_amount": amount("DuePayableAmount"),
        "tax_exclusive_amount": amount("TaxBasisTotalAmount"),
        "tax_inclusive_amount": amount("GrandTotalAmount"),
        "lines": len(lines),
    }


def _document(path: Path) -> bytes | None:
    """The CII XML of ``path`` (a PDF's attachment), or None when it is no invoice this measure counts."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        try:
            with path.open("rb") as stream:
                data = embedded_invoice(stream, str(path))[1]
        except BridgeError:
            return b""  # a PDF without an invoice: counted, and must be refused
    try:
        root = parse_bytes(data, origin=str(path))
    except BridgeError:
        return None
    return data if root.tag in ROOTS else None


def test_real_cii_documents_decode_with_their_stated_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """At least 80 % of the real CII documents and PDFs decode, each with the figures it states."""
    assert CORPUS is not None, "set ESB_BRIDGE_REAL_CII to a folder of real CII documents and Factur-X PDFs"
    assert CORPUS.is_dir(), f"{CORPUS} is not a folder"
    decoder = FacturxDecoder(XmlDecoder(load_mapping(MAPPINGS / "cii-invoice.yaml")))
    refused: list[str] = []
    not_invoices: list[str] = []
    zugferd1: list[str] = []
    decoded = total = 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".xml", ".pdf") and p.is_file()):
        xml = _document(path)
        if xml is None:
            continue
        total += 1
        name = path.relative_to(CORPUS)
        try:
            items = list(decoder.decode(envelope(path)))
        except BridgeError as exc:
            if not xml:  # not an invoice: counted apart, and it must fail as a whole
                not_invoices.append(f"{name}: {exc}")
                total -= 1
            elif b"urn:ferd:CrossIndustryDocument:invoice:1p0" in xml and "ZUGFeRD 1.0" in str(exc):
                zugferd1.append(str(name))  # refused by design, with the reason: counted apart
                total -= 1
            else:
                refused.append(f"{name}: file failed: {exc}")
            continue
        assert xml, f"{name}: a PDF without an embedded invoice decoded"
        [item] = items
        if not isinstance(item, DecodedRecord):
            refused.append(f"{name}: {item.error}")
            continue
        decoded += 1
        assert_stated_figures(item.record, _stated(parse_bytes(xml, origin=str(path))), name)
    with capsys.disabled():
        print(f"\nreal CII documents and PDFs decoded: {decoded} of {total}")
        print(f"ZUGFeRD 1.0 documents, each refused as such: {len(zugferd1)}")
        print(f"PDFs without an embedded invoice, each refused: {len(not_invoices)}")
        for line in not_invoices:
            print(f"  not an invoice {line[:300]}")
        for line in refused:
            print(f"  refused {line[:400]}")
    assert total > 0
    minimum = float(os.environ.get("ESB_BRIDGE_REAL_CII_MIN", "0.8"))
    assert decoded >= minimum * total, f"{decoded} of {total} decoded, below {minimum:.0%}"
