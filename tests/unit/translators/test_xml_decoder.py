"""XML decoding through declarative mappings: UBL goldens, namespace styles, per-record failures, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.ports import DecodeError, HostileInput, RecordInvalid
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

UBL = SAMPLES / "ubl"
STYLES = [
    "invoice-default-ns.xml",
    "invoice-odd-prefixes.xml",
    "invoice-default-per-element.xml",
    "invoice-local-prefixes.xml",
]


def _decode(mapping: str, data: bytes | Path) -> tuple[list, list]:  # type: ignore[type-arg]
    return split(XmlDecoder(load_mapping(MAPPINGS / mapping)).decode(envelope(data)))


def _golden(name: str) -> object:
    return json.loads((EXPECTED / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("sample", STYLES)
def test_ubl_invoice_matches_golden_in_every_prefix_style(sample: str) -> None:
    """Each of four namespace-prefix styles of the same UBL invoice decodes to the same golden canonical JSON."""
    ok, failed = _decode("ubl-invoice.yaml", UBL / sample)
    assert failed == []
    assert [r.record.model_dump(mode="json") for r in ok] == _golden("ubl-invoice.json")


def test_ubl_credit_note_matches_golden() -> None:
    """A UBL CreditNote decodes to an Invoice of kind credit_note with its billing reference, as the golden."""
    ok, failed = _decode("ubl-creditnote.yaml", UBL / "creditnote.xml")
    assert failed == []
    assert [r.record.model_dump(mode="json") for r in ok] == _golden("ubl-creditnote.json")
    assert ok[0].record.kind == "credit_note" and ok[0].record.billing_reference == "INV-2024-0001"


def test_amounts_are_exact_decimals_keeping_scale() -> None:
    """Amounts arrive as Decimal with the scale written in the file (never through float)."""
    from decimal import Decimal

    ok, _ = _decode("ubl-invoice.yaml", UBL / "invoice-default-ns.xml")
    invoice = ok[0].record
    assert isinstance(invoice.payable_amount, Decimal) and str(invoice.payable_amount) == "1194.05"
    assert str(invoice.lines[1].unit_price) == "25.50"


def _batch(*bodies: bytes) -> bytes:
    return b"<?xml version='1.0'?>\n<Batch>\n" + b"\n".join(bodies) + b"\n</Batch>\n"


def _invoice_body() -> bytes:
    data = (UBL / "invoice-default-ns.xml").read_bytes()
    return data.split(b"?>", 1)[1].strip()


def test_bad_record_becomes_failure_and_batch_goes_on() -> None:
    """A record with a non-decimal quantity fails with field, line, xpath and fragment; the others decode."""
    good = _invoice_body()
    bad = good.replace(b'unitCode="C62">3<', b'unitCode="C62">three<')
    ok, failed = _decode("ubl-invoice.yaml", _batch(good, bad, good))
    assert [r.ordinal for r in ok] == [0, 2]
    [failure] = failed
    assert failure.ordinal == 1
    assert isinstance(failure.error, RecordInvalid)
    loc = failure.error.location
    assert loc is not None and loc.field == "lines[1].quantity" and loc.xpath == "/inv:Invoice[2]"
    assert loc.file == "input" and loc.line is not None and loc.line > 100
    assert "three" in failure.fragment and failure.fragment.lstrip().startswith("<Invoice")


def test_unknown_code_is_an_error_naming_the_code() -> None:
    """A code missing from a closed code table (payment terms) fails the record with a message naming it."""
    bad = _invoice_body().replace(b"<cbc:ID>PT30</cbc:ID>", b"<cbc:ID>PT45</cbc:ID>")
    _, [failure] = _decode("ubl-invoice.yaml", _batch(bad))
    assert "'PT45'" in str(failure.error) and failure.error.location.field == "payment_terms.code"


def test_open_unit_table_normalises_synonyms_and_passes_other_codes() -> None:
    """UN/ECE Rec 20 is open: the units table maps its synonyms (C62 -> EA) and passes any other code through."""
    body = _invoice_body().replace(b'unitCode="HUR">10<', b'unitCode="XPP">10<')
    [ok], _ = _decode("ubl-invoice.yaml", _batch(body))
    assert [line.unit_code for line in ok.record.lines][:2] == ["XPP", "EA"]


def test_business_rule_violation_is_a_record_failure() -> None:
    """Totals that do not add up fail strict validation as a RecordInvalid for that record only."""
    bad = _invoice_body().replace(b">1194.05<", b">1194.06<")
    ok, [failure] = _decode("ubl-invoice.yaml", _batch(_invoice_body(), bad))
    assert len(ok) == 1
    assert "BR-CO-16: payable_amount" in str(failure.error)
    assert failure.error.detail["rules"] == ["BR-CO-16"]


def test_missing_required_field_names_it() -> None:
    """A record without its required customer id fails naming the field."""
    bad = _invoice_body().replace(b"<cbc:ID>4711</cbc:ID>", b"")
    _, [failure] = _decode("ubl-invoice.yaml", _batch(bad))
    assert failure.error.location.field == "customer_id" and "required" in str(failure.error)


def test_not_well_formed_batch_raises_with_location() -> None:
    """A batch cut in the middle raises DecodeError after yielding the complete records before it."""
    data = _batch(_invoice_body(), _invoice_body())[:-500]
    decoder = XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml"))
    seen = []
    with pytest.raises(DecodeError) as info:
        for item in decoder.decode(envelope(data, origin="cut.xml")):
            seen.append(item)
    assert len(seen) == 1
    assert info.value.location is not None and info.value.location.file == "cut.xml"


def test_doctype_batch_is_refused() -> None:
    """An invoice file carrying a DOCTYPE is refused as hostile before any record."""
    data = (
        b'<?xml version="1.0"?><!DOCTYPE Batch [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        + _batch(_invoice_body()).split(b"?>", 1)[1]
    )
    with pytest.raises(HostileInput):
        list(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(data)))


def test_processed_records_are_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the next record arrives, no processed record precedes it in the tree (flat memory for any size)."""
    import translators.xml_decoder as module

    real = module.safe_iterparse
    children_seen: list[int] = []

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        for element in real(*args, **kwargs):
            before = list(element.itersiblings(preceding=True))
            children_seen.append(len(before) + sum(len(e) for e in before))
            yield element

    monkeypatch.setattr(module, "safe_iterparse", watching)
    ok, _ = _decode("ubl-invoice.yaml", _batch(*[_invoice_body()] * 6))
    assert len(ok) == 6
    assert children_seen == [0] + [1] * 5  # only the last processed record, already emptied


def test_xsd_validation_per_record(tmp_path: Path) -> None:
    """With an XSD in the mapping, a record violating it fails alone with the schema's message."""
    (tmp_path / "rec.xsd").write_text(
        """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t"
            elementFormDefault="qualified">
          <xs:element name="Customer"><xs:complexType><xs:sequence>
            <xs:element name="No" type="xs:string"/><xs:element name="Name" type="xs:string"/>
          </xs:sequence></xs:complexType></xs:element></xs:schema>""",
        encoding="utf-8",
    )
    (tmp_path / "m.yaml").write_text(
        "canonical: Customer\nformat: xml\nnamespaces: {t: 'urn:t'}\nrecord: /t:Customer\nxsd: rec.xsd\n"
        "fields:\n  customer_number: t:No\n  name: t:Name\n",
        encoding="utf-8",
    )
    data = (
        b'<L xmlns="urn:t"><Customer><No>1</No><Name>A</Name></Customer>'
        b"<Customer><No>2</No><Name>B</Name><Extra/></Customer></L>"
    )
    ok, [failure] = split(XmlDecoder(load_mapping(tmp_path / "m.yaml")).decode(envelope(data)))
    assert [r.record.customer_number for r in ok] == ["1"]
    assert "Extra" in str(failure.error)


@pytest.mark.parametrize(
    ("mapping", "sample", "golden"),
    [
        ("idoc-orders05.yaml", "idoc/orders05.xml", "idoc-orders05.json"),
        ("idoc-invoic02.yaml", "idoc/invoic02.xml", "idoc-invoic02.json"),
    ],
)
def test_idoc_samples_match_goldens(mapping: str, sample: str, golden: str) -> None:
    """IDoc ORDERS05 and INVOIC02 decode through qualifier predicates and code tables to their goldens."""
    ok, failed = _decode(mapping, SAMPLES / sample)
    assert failed == []
    assert [r.record.model_dump(mode="json") for r in ok] == _golden(golden)


def test_sap_trailing_minus_sign_is_read() -> None:
    """An SAP amount written with its sign last ("4.96-") is read as a negative decimal, exactly."""
    data = (SAMPLES / "idoc" / "invoic02.xml").read_bytes().replace(b"<SUMME>19.00</SUMME>", b"<SUMME>19.00-</SUMME>")
    _, failed = _decode("idoc-invoic02.yaml", data)
    assert "tax_total: -19.00" in str(failed[0].error)


_NESTED_NAMES = """
canonical: Product
format: xml
record: {record}
fields:
  sku: Sku
  name: Name
  currency: Cur
  list_price: {path: Price, convert: decimal}
"""


@pytest.mark.parametrize("record", ["/Catalog/Products/Product", "/Products/Product"])
def test_record_path_is_matched_as_a_path_not_by_element_name(tmp_path: Path, record: str) -> None:
    """Only elements at the record path are records: a same-named element nested in a record, or elsewhere in
    the document, is neither decoded as a record nor cleared away from the record that contains it. The path
    may leave out wrappers above it (the end of the element's path must match)."""
    mapping = tmp_path / "products.yaml"
    mapping.write_text(_NESTED_NAMES.replace("{record}", record), encoding="utf-8")
    document = b"""<?xml version="1.0"?>
<Catalog>
  <Archive><Product><Sku>OLD-1</Sku><Name>Retired</Name></Product></Archive>
  <Products>
    <Product><Sku>A-1</Sku><Related><Product><Sku>B-2</Sku></Product></Related><Name>Anvil</Name>
      <Cur>EUR</Cur><Price>10.00</Price></Product>
    <Product><Sku>C-3</Sku><Name>Cable</Name><Cur>EUR</Cur><Price>2.50</Price></Product>
  </Products>
</Catalog>
"""
    ok, failed = split(XmlDecoder(load_mapping(mapping)).decode(envelope(document)))
    assert failed == []
    assert [(r.record.sku, r.record.name, str(r.record.list_price)) for r in ok] == [
        ("A-1", "Anvil", "10.00"),
        ("C-3", "Cable", "2.50"),
    ]
    assert [r.ordinal for r in ok] == [0, 1]
    assert ok[1].location.xpath == f"{record}[2]"


def test_invoice_document_with_credit_note_type_code_is_a_credit_note() -> None:
    """EN 16931's BT-3 gives a document its type: a UBL Invoice with InvoiceTypeCode 381 decodes as a credit
    note; 380 stays an invoice."""
    body = _invoice_body()
    assert b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>" in body
    credit = body.replace(b"<cbc:InvoiceTypeCode>380<", b"<cbc:InvoiceTypeCode>381<")
    [invoice, note], _ = _decode("ubl-invoice.yaml", _batch(body, credit))
    assert (invoice.record.kind, note.record.kind) == ("invoice", "credit_note")
    assert note.record.document_type == "381"
