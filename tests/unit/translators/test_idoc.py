"""SAP IDocs as real systems write them: the IDoc mappings' variants, and the flat-file format."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.plugins import registry
from bridge.ports import DecodedRecord, DecodeError, Decoder, PluginContext, PluginRole, RecordFailure
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split
from translators.cli import translate_command
from translators.idoc_flat import IdocFlatDecoder, flat_tree, flat_xml, load_segments, segment_type
from translators.idoc_segments import SEGMENTS
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

IDOC = SAMPLES / "idoc"


def _decode(mapping: str, data: bytes | Path, *, flat: bool = False) -> tuple[list[Any], list[Any]]:
    decoder: Any = XmlDecoder(load_mapping(MAPPINGS / mapping))
    if flat:
        decoder = IdocFlatDecoder(decoder)
    ok, failed = split(decoder.decode(envelope(data)))
    return [r.record for r in ok], failed


def test_billing_output_invoice_reads_extension_root_e1edp26_amounts_and_free_text_terms() -> None:
    """An INVOIC02 under its extension's root, with line amounts only in E1EDP26, no SUMID 002 and free-text
    terms, decodes: price 001, net 003, net total = gross - tax, ZTERM the code, ZTERM_TXT the description,
    the E1EDK18 term with a percentage the cash discount and the longest other the net days."""
    [invoice, _], failed = _decode("idoc-invoic02.yaml", IDOC / "invoic02-billing.xml")
    assert failed == []
    assert (invoice.invoice_number, invoice.currency, str(invoice.issue_date)) == ("0091000777", "EUR", "2024-05-02")
    assert [(line.unit_price, line.line_extension_amount) for line in invoice.lines] == [
        (Decimal("10.00"), Decimal("40.00")),
        (Decimal("8.00"), Decimal("20.00")),
    ]
    assert (invoice.line_extension_total, invoice.tax_exclusive_amount, invoice.tax_total) == (60, 60, Decimal("11.40"))
    assert invoice.payable_amount == invoice.tax_inclusive_amount == Decimal("71.40")
    terms = invoice.payment_terms
    assert (terms.code, terms.net_days, terms.discount_percent, terms.discount_days) == ("ZB14", 30, 2, 10)
    assert terms.description == "Bis 13.05.2024 2 % Skonto; Bis 02.06.2024 ohne Abzug; 10 Tage 2 %, 30 Tage netto"


def test_sap_tax_codes_open_list_settled_by_rate_and_vat_ids() -> None:
    """A tax code missing from codes/sap-tax-codes.csv is S at a positive rate (A1 at 19 %) and K at 0 %
    between two EU VAT ids (BU, DE seller, FR buyer); a listed code keeps its table category (V0 -> Z)."""
    [standard, intra], failed = _decode("idoc-invoic02.yaml", IDOC / "invoic02-billing.xml")
    assert failed == []
    assert [line.tax_category for line in standard.lines] == ["S", "S"]
    assert [(line.tax_category, line.tax_rate) for line in intra.lines] == [("K", 0)]
    listed = (IDOC / "invoic02-billing.xml").read_bytes().replace(b"<MWSKZ>BU</MWSKZ>", b"<MWSKZ>V0</MWSKZ>")
    [_, zero], _ = _decode("idoc-invoic02.yaml", listed)
    assert zero.lines[0].tax_category == "Z"


def test_unknown_zero_rate_tax_code_fails_naming_code_and_table() -> None:
    """A zero-rate tax code the table does not list, without two EU VAT ids, fails its record with the code
    and the table to add it to; the other IDoc of the file decodes."""
    data = (IDOC / "invoic02-billing.xml").read_bytes().replace(b"<KUNDEUINR>FR40123456789</KUNDEUINR>", b"")
    ok, [failure] = _decode("idoc-invoic02.yaml", data)
    assert [r.invoice_number for r in ok] == ["0091000777"]
    message = str(failure.error)
    assert "lines[0].tax_category" in message and "'BU'" in message and "sap-tax-codes.csv" in message


def test_mapping_refuses_an_idoc_of_another_type() -> None:
    """A mapping reads any root element, so the control record's IDOCTYP must be its type: an ORDERS05
    through the INVOIC02 mapping fails naming both types."""
    ok, failed = _decode("idoc-invoic02.yaml", IDOC / "orders05.xml")
    assert ok == []
    assert "IDoc type 'ORDERS05' is not INVOIC02" in str(failed[0].error)


def test_purchase_order_with_sold_to_without_address_and_open_units() -> None:
    """An ORDERS05 whose sold-to partner has no address has no bill_to (instead of failing on a missing
    country); an ISO unit the table does not list (FTK) is kept; with only SUMID 002 the total is the net."""
    [order, _], failed = _decode("idoc-orders05.yaml", IDOC / "orders05-variants.xml")
    assert failed == []
    assert (order.order_number, order.customer_id, order.status, order.bill_to) == ("4500990001", "2000", "open", None)
    assert [line.unit_code for line in order.lines] == ["FTK", "EA"]
    assert order.lines[0].description == 'Oak plank 5"'
    assert order.line_total == order.total_amount == Decimal("298.05")


def test_order_response_without_sold_to_is_confirmed_for_its_receiver() -> None:
    """An ORDRSP without an AG partner names its customer as the IDoc's receiver (a customer, RCVPRT KU) and
    is a confirmed order."""
    [_, response], failed = _decode("idoc-orders05.yaml", IDOC / "orders05-variants.xml")
    assert failed == []
    assert (response.customer_id, response.status, response.customer_reference) == ("4711", "confirmed", "PO-5521")
    assert (response.tax_total, response.total_amount) == (Decimal("7.60"), Decimal("47.58"))


def test_order_response_to_a_logical_system_without_partner_fails() -> None:
    """Without a sold-to, bill-to or ship-to partner and with a receiver that is no customer, the order has no
    customer: the record fails naming customer_id rather than taking a system name for one."""
    data = (IDOC / "orders05-variants.xml").read_bytes().replace(b"<RCVPRT>KU</RCVPRT>", b"<RCVPRT>LS</RCVPRT>")
    ok, [failure] = _decode("idoc-orders05.yaml", data)
    assert len(ok) == 1
    assert "customer_id" in str(failure.error)


@pytest.mark.parametrize(
    ("mapping", "stem"),
    [("idoc-invoic02.yaml", "invoic02"), ("idoc-orders05.yaml", "orders05")],
)
def test_flat_files_decode_to_the_xml_goldens(mapping: str, stem: str) -> None:
    """The flat-file form of the IDoc samples decodes with the same mapping to the same records as their XML
    form (invoic02.idoc with segment types, orders05.idoc with versioned external names E2...005)."""
    ok, failed = _decode(mapping, IDOC / f"{stem}.idoc", flat=True)
    assert failed == []
    golden = json.loads((EXPECTED / f"idoc-{stem}.json").read_text(encoding="utf-8"))
    assert [r.model_dump(mode="json") for r in ok] == golden


def test_flat_record_location_is_its_control_record_line() -> None:
    """Each IDoc of a flat file is located at the line of its EDI_DC40 record, in the flat file itself."""
    decoder = IdocFlatDecoder(XmlDecoder(load_mapping(MAPPINGS / "idoc-invoic02.yaml")))
    items = list(decoder.decode(envelope(IDOC / "invoic02.idoc")))
    assert all(isinstance(i, DecodedRecord) for i in items)
    lines = (IDOC / "invoic02.idoc").read_text(encoding="utf-8").splitlines()
    control = [n for n, text in enumerate(lines, start=1) if text.startswith("EDI_DC40")]
    assert [(i.location.file, i.location.line) for i in items] == [("invoic02.idoc", n) for n in control]


def test_flat_decoder_passes_the_xml_port_format_through() -> None:
    """One idoc_flat interface takes both formats: an XML IDoc goes to the XML decoder unchanged."""
    ok, failed = _decode("idoc-orders05.yaml", IDOC / "orders05.xml", flat=True)
    assert failed == [] and [r.order_number for r in ok] == ["4500012345"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("E2EDKA1003", "E1EDKA1"), ("E2EDP26", "E1EDP26"), ("E1EDK01", "E1EDK01"), ("Z2XSK01000", "Z1XSK01"),
     ("/ACME/E1HEAD", "_-ACME_-E1HEAD")],
)  # fmt: skip
def test_segment_names_are_read_as_segment_types(raw: str, expected: str) -> None:
    """External segment names with a version, and SAP namespaces, are read as the XML port names them."""
    assert segment_type(raw) == expected


def _record(name: str, number: int, parent: int, sdata: str) -> str:
    level = 2 if parent == 0 else 3
    return f"{name:<30}100{'0' * 15}1{number:06d}{parent:06d}{level:02d}{sdata}"


_CONTROL = "EDI_DC40  100" + "0" * 15 + "1" + " " * 10 + f"{'ORDERS05':<30}"


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        ([_record("E1EDK01", 1, 0, "")], 1, "before any EDI_DC40"),
        ([_CONTROL, _record("E1EDP01", 1, 0, ""), _record("E1EDP19", 2, 7, "")], 3, "parent segment 7"),
        ([_CONTROL, "E1EDK01" + " " * 50 + "XX"], 2, "not an IDoc data record"),
        ([_CONTROL, _record("E1EDK02", 1, 0, "001PO\x01")], 2, "control character"),
        ([_CONTROL, _record("E1EDK02", 1, 0, "").replace("0" * 15 + "1", "0" * 15 + "2", 1)], 2, "interleaved"),
        (["", "  "], None, "no EDI_DC40 control record"),
    ],
)
def test_flat_file_errors_name_their_line(lines: list[str], line: int | None, words: str) -> None:
    """A file that is not a well-formed flat IDoc fails as a whole, with the line (and field) at fault."""
    with pytest.raises(DecodeError, match=words) as caught:
        flat_xml(lines, "in.idoc")
    assert caught.value.location is not None and caught.value.location.line == line


def test_segment_layouts_from_csv_extend_the_shipped_ones(tmp_path: Path) -> None:
    """A segments CSV adds an extension segment's fields; a segment without a layout keeps its place in the
    hierarchy with no fields; segments nest by their parent segment number."""
    (tmp_path / "z.csv").write_text("# segment,field,length\nZ1ACME,BIOCERT,10\nZ1ACME,ORIGIN,2\n", encoding="utf-8")
    lines = [_CONTROL, _record("E1EDKA1", 1, 0, "RE 0000004711"), _record("Z2ACME000", 2, 1, "BE-BIO-01 BE")]
    lines += [_record("Z1OTHER", 3, 1, "ignored"), _record("E1EDK01", 4, 0, "")]
    tree = flat_tree(lines, "in.idoc", {**SEGMENTS, **load_segments(tmp_path / "z.csv")})
    [partner] = tree.xpath("/ORDERS05/IDOC/E1EDKA1")
    assert (partner.findtext("PARVW"), partner.findtext("PARTN")) == ("RE", "0000004711")
    assert (partner.findtext("Z1ACME/BIOCERT"), partner.findtext("Z1ACME/ORIGIN")) == ("BE-BIO-01", "BE")
    assert len(partner.find("Z1OTHER")) == 0
    assert [e.tag for e in tree.xpath("/ORDERS05/IDOC/*")] == ["EDI_DC40", "E1EDKA1", "E1EDK01"]


def test_segment_csv_with_a_bad_row_names_its_line(tmp_path: Path) -> None:
    """A segments CSV row that is not segment,field,length is refused with its line."""
    (tmp_path / "z.csv").write_text("Z1ACME,BIOCERT,ten\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"z\.csv:1"):
        load_segments(tmp_path / "z.csv")


def test_idoc_flat_plugin_builds_with_its_segment_layouts(tmp_path: Path) -> None:
    """Decoder kind ``idoc_flat`` builds from its config block: mapping and segments CSV resolved against the
    config folder, the encoding handed on."""
    (tmp_path / "maps").symlink_to(MAPPINGS, target_is_directory=True)
    (tmp_path / "z.csv").write_text("Z1ACME,BIOCERT,10\n", encoding="utf-8")
    plugin = registry.get(PluginRole.DECODER, "idoc_flat")
    block = {"kind": "idoc_flat", "mapping": "maps/idoc-orders05.yaml", "segments": "z.csv", "encoding": "cp1252"}
    config = plugin.config_model.model_validate(block)
    built = plugin.build(config, PluginContext(base_dir=tmp_path, interface="i", canonical="SalesOrder"))
    assert isinstance(built, IdocFlatDecoder) and isinstance(built, Decoder)
    assert (built.encoding, built.layouts["Z1ACME"], built.layouts["E1EDK01"][0]) == (
        "cp1252",
        (("BIOCERT", 10),),
        ("ACTION", 3),
    )


def test_translate_reads_a_flat_idoc() -> None:
    """`esb-bridge translate` reads a flat-file IDoc with the IDoc XML mapping, as a new user tries it."""
    args = [str(IDOC / "orders05.idoc"), "-m", str(MAPPINGS / "idoc-orders05.yaml")]
    result = CliRunner().invoke(translate_command, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["order_number"] == "4500012345"


def test_dead_letter_fragment_of_a_flat_idoc_replays() -> None:
    """A failed flat IDoc's dead-letter fragment (its IDoc as XML) decodes again through the same decoder."""
    data = (IDOC / "orders05.idoc").read_bytes().replace(b"4500012345", b"          ", 1)
    decoder = IdocFlatDecoder(XmlDecoder(load_mapping(MAPPINGS / "idoc-orders05.yaml")))
    [failure] = list(decoder.decode(envelope(data)))
    assert isinstance(failure, RecordFailure) and "order_number" in str(failure.error)
    fragment = failure.fragment.replace('<E1EDK01 SEGMENT="1">', '<E1EDK01 SEGMENT="1"><BELNR>4500012345</BELNR>')
    [replayed] = list(decoder.decode(envelope(fragment.encode("utf-8"))))
    assert isinstance(replayed, DecodedRecord) and replayed.record.order_number == "4500012345"
