"""Real, published UBL invoices and credit notes through the shipped mappings: the decode count, and the figures.

The documents are others' test files (Peppol BIS Billing 3, CEN EN 16931, XRechnung, OASIS UBL); they are not
part of this repository (``tests/fixtures/real/ubl/README.md`` names each source, path, commit and licence).
``ESB_BRIDGE_REAL_UBL`` points to a folder holding them, one subfolder per source. It lives in ``benchmarks/``
(not collected by ``make test``: the documents cannot ship here) and runs on demand:
``ESB_BRIDGE_REAL_UBL=/path/to/corpus .venv/bin/pytest benchmarks/real_ubl_test.py -q -s``.
Every decoded document must carry the number, currency, payable, tax-exclusive and tax-inclusive totals and line
count that the document states (read here independently with XPath); the share decoded must reach
``ESB_BRIDGE_REAL_UBL_MIN`` (default 0.9), and each refusal is printed with its reason.
"""

from __future__ import annotations

import importlib.util
import os
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks._real_figures import assert_stated_figures
from bridge.ports import BridgeError, DecodedRecord
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, envelope
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

_KIND_SPEC = importlib.util.spec_from_file_location("ubl_document_kind", MAPPINGS / "ubl_document_kind.py")
assert _KIND_SPEC is not None and _KIND_SPEC.loader is not None
_KIND = importlib.util.module_from_spec(_KIND_SPEC)
_KIND_SPEC.loader.exec_module(_KIND)
CREDIT_NOTE_CODES: frozenset[str] = _KIND.CREDIT_NOTE_CODES

CORPUS = Path(os.environ.get("ESB_BRIDGE_REAL_UBL", "")) if os.environ.get("ESB_BRIDGE_REAL_UBL") else None
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ROOTS = {"Invoice": ("ubl-invoice.yaml", "InvoiceLine"), "CreditNote": ("ubl-creditnote.yaml", "CreditNoteLine")}


def _stated(root: object, line_tag: str) -> dict[str, object]:
    """What the document itself says, read without the mapping."""

    def text(path: str) -> str | None:
        found = root.xpath(path if "@" in path else f"{path}/text()", namespaces=NS)  # type: ignore[attr-defined]
        return str(found[0]).strip() if found else None

    def amount(name: str) -> Decimal | None:
        value = text(f"cac:LegalMonetaryTotal/cbc:{name}")
        return Decimal(value) if value is not None else None

    return {
        "invoice_number": text("cbc:ID"),
        "currency": text("cbc:DocumentCurrencyCode") or text("cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID"),
        "payable_amount": amount("PayableAmount"),
        "tax_exclusive_amount": amount("TaxExclusiveAmount"),
        "tax_inclusive_amount": amount("TaxInclusiveAmount"),
        "lines": len(root.xpath(f"cac:{line_tag}", namespaces=NS)),  # type: ignore[attr-defined]
    }


def test_real_ubl_documents_decode_with_their_stated_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """At least 90 % of the real documents decode, each with the figures it states; the count is printed."""
    assert CORPUS is not None, "set ESB_BRIDGE_REAL_UBL to a folder of real UBL documents"
    assert CORPUS.is_dir(), f"{CORPUS} is not a folder"
    mappings = {name: load_mapping(MAPPINGS / m) for name, (m, _) in ROOTS.items()}
    refused: list[str] = []
    decoded = total = 0
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() == ".xml"):
        root = parse_bytes(path.read_bytes(), origin=str(path))
        name = root.tag.rpartition("}")[2]
        if name not in ROOTS:
            continue  # another document type (an order, a self-billed credit note): not an invoice mapping's input
        total += 1
        try:
            items = list(XmlDecoder(mappings[name]).decode(envelope(path)))
        except BridgeError as exc:
            refused.append(f"{path.relative_to(CORPUS)}: file failed: {exc}")
            continue
        [item] = items
        if not isinstance(item, DecodedRecord):
            refused.append(f"{path.relative_to(CORPUS)}: {item.error}")
            continue
        decoded += 1
        record = item.record
        assert_stated_figures(record, _stated(root, ROOTS[name][1]), path)
        # EN 16931's BT-3 gives the type: an Invoice with a credit note type code (381...) is a credit note
        type_code = root.findtext("cbc:InvoiceTypeCode", namespaces=NS) if name == "Invoice" else None
        credit = name == "CreditNote" or (type_code or "").strip() in CREDIT_NOTE_CODES
        assert record.kind == ("credit_note" if credit else "invoice")
    with capsys.disabled():
        print(f"\nreal UBL documents decoded: {decoded} of {total}")
        for line in refused:
            print(f"  refused {line[:300]}")
    assert total > 0
    minimum = float(os.environ.get("ESB_BRIDGE_REAL_UBL_MIN", "0.9"))
    assert decoded >= minimum * total, f"{decoded} of {total} decoded, below {minimum:.0%}"
