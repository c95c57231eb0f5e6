"""Mapping-language additions (``first_of``, ``join``, ``allow_empty``, ``checks``) and the no-silent-empty-file rule.

Each addition is exercised through the shipped UBL mapping or a small mapping written here, decoding real bytes;
misuse is reported by ``load_mapping`` (what ``mapping check`` runs) with its YAML line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.ports import ConfigError, DecodeError
from tests.unit.translators.support import MAPPINGS, SAMPLES, envelope, split
from translators.cli import translate_command
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

UBL = SAMPLES / "ubl"
INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"

#: A minimal mapping over a tiny document: the fields below are what each test varies.
_HEAD = """canonical: Product
format: xml
namespaces: {p: urn:p}
record: /p:Catalog/p:Item
fields:
  sku: {path: p:Sku, required: true}
  list_price: {path: p:Price, convert: decimal, default: "1"}
  currency: {const: EUR}
"""


def _mapping(tmp_path: Path, fields: str, extra: str = "") -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(_HEAD.replace("fields:\n", extra + "fields:\n") + fields, encoding="utf-8")
    return path


def _decode(mapping: Path, body: bytes, **kwargs: object) -> tuple[list, list]:  # type: ignore[type-arg]
    return split(XmlDecoder(load_mapping(mapping), **kwargs).decode(envelope(body)))  # type: ignore[arg-type]


def test_first_of_takes_the_first_source_in_mapping_order_not_document_order(tmp_path: Path) -> None:
    """``first_of``: the value of the first listed path that has one wins, wherever it stands in the document."""
    mapping = _mapping(tmp_path, "  name: {first_of: [p:Name, p:Label/@text, p:Code], required: true}\n")
    body = (
        b'<Catalog xmlns="urn:p">'
        b'<Item><Sku>1</Sku><Code>c1</Code><Label text="l1"/><Name>n1</Name></Item>'
        b'<Item><Sku>2</Sku><Code>c2</Code><Label text="l2"/></Item>'
        b"<Item><Sku>3</Sku><Code>c3</Code><Name>  </Name></Item>"
        b"<Item><Sku>4</Sku></Item>"
        b"</Catalog>"
    )
    ok, [failed] = _decode(mapping, body)
    assert [r.record.name for r in ok] == ["n1", "l2", "c3"]
    assert failed.ordinal == 3 and failed.error.location.field == "name"


def test_first_of_in_ubl_currency_and_buyer() -> None:
    """The shipped UBL mapping reads the currency from @currencyID when DocumentCurrencyCode is absent (UBL
    2.0), and identifies a buyer without PartyIdentification by its EndpointID."""
    body = (UBL / "invoice-default-ns.xml").read_bytes()
    body = body.replace(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", b"")
    assert b"DocumentCurrencyCode" not in body
    buyer = body.index(b"<cac:AccountingCustomerParty>")
    start = body.index(b"<cac:PartyIdentification>", buyer)
    end = body.index(b"</cac:PartyIdentification>", start) + len(b"</cac:PartyIdentification>")
    body = body[:start] + b'<cbc:EndpointID schemeID="0088">5790000435975</cbc:EndpointID>' + body[end:]
    [ok], _ = split(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(body)))
    assert (ok.record.currency, ok.record.customer_id) == ("EUR", "5790000435975")


def test_join_keeps_every_text_and_encoder_splits_it_again(tmp_path: Path) -> None:
    """``join``: all ``cbc:Note`` elements become one note; the XML encoder writes them back one by one."""
    from translators.xml_encoder import XmlEncoder

    body = (UBL / "invoice-default-ns.xml").read_bytes()
    first = body.index(b"<cbc:Note>")
    body = body[:first] + b"<cbc:Note>first</cbc:Note><cbc:Note>second</cbc:Note>" + body[first:]
    mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
    [ok], _ = split(XmlDecoder(mapping).decode(envelope(body)))
    assert ok.record.note is not None and ok.record.note.startswith("first\nsecond\n")
    rendered = XmlEncoder(mapping).render(ok.record)
    assert rendered.count(b"<cbc:Note>") >= 3 and b"<cbc:Note>second</cbc:Note>" in rendered
    [again], _ = split(XmlDecoder(mapping).decode(envelope(rendered)))
    assert again.record.note == ok.record.note


@pytest.mark.parametrize(
    ("fields", "line", "message"),
    [
        ("  name: {first_of: [p:Name], path: p:Other}\n", 9, "first_of replaces path"),
        ("  name: {first_of: [p:Name, 'x:Bad']}\n", 9, "namespace prefix 'x'"),
        ("  name: {path: p:Name, join: ','}\n", 9, "join needs a list of texts"),
    ],
)
def test_misuse_is_reported_with_its_line(tmp_path: Path, fields: str, line: int, message: str) -> None:
    """``mapping check`` reports each misuse of first_of/join on the field's YAML line."""
    with pytest.raises(ConfigError) as info:
        load_mapping(_mapping(tmp_path, fields))
    [problem] = [p for p in info.value.problems if message in p.message]
    assert problem.line == line


def test_first_of_and_join_are_refused_outside_xml(tmp_path: Path) -> None:
    """The other formats do not read ``first_of``/``join``: a mapping using them is refused, not half-run."""
    path = tmp_path / "m.yaml"
    path.write_text(
        "canonical: Product\nformat: csv\ncsv: {}\nfields:\n  sku: sku\n  name: {first_of: [a, b]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    [problem] = info.value.problems
    assert problem.line == 6 and "XML mappings only" in problem.message


def test_file_with_other_root_fails_naming_both_roots(tmp_path: Path) -> None:
    """A document whose root the mapping does not expect is a failed file, not an empty batch."""
    decoder = XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml"))
    body = b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>'
    with pytest.raises(DecodeError) as info:
        list(decoder.decode(envelope(body, origin="drop/order.xml")))
    message = str(info.value)
    assert "root element {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order" in message
    assert f"expected {{{INV}}}Invoice" in message and "drop/order.xml" in message
    assert info.value.location is not None and info.value.location.file == "drop/order.xml"


def test_wrapper_without_records_fails_and_allow_empty_accepts_it(tmp_path: Path) -> None:
    """The expected wrapper with no record at the record path fails too, unless the feed allows empty files
    (decoder option or the mapping's ``allow_empty``)."""
    mapping = _mapping(tmp_path, "")
    with pytest.raises(DecodeError, match="holds no element at record path /p:Catalog/p:Item"):
        _decode(mapping, b'<Catalog xmlns="urn:p"/>')
    assert _decode(mapping, b'<Catalog xmlns="urn:p"/>', allow_empty=True) == ([], [])
    allowing = _mapping(tmp_path, "", extra="allow_empty: true\n")
    assert _decode(allowing, b'<Catalog xmlns="urn:p"/>') == ([], [])


def test_translate_exits_non_zero_on_a_file_without_records(tmp_path: Path) -> None:
    """``translate`` names the file and both roots and exits 2; ``--allow-empty`` exits 0 with no output."""
    drop = tmp_path / "order.xml"
    drop.write_bytes(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')
    args = [str(drop), "--mapping", str(MAPPINGS / "ubl-invoice.yaml")]
    result = CliRunner().invoke(translate_command, args)
    assert result.exit_code == 2 and result.stdout == ""
    assert str(drop) in result.stderr and "root element" in result.stderr and "Invoice" in result.stderr
    allowed = CliRunner().invoke(translate_command, [*args, "--allow-empty"])
    assert (allowed.exit_code, allowed.stdout) == (0, "")


def test_translate_marks_partial_output(tmp_path: Path) -> None:
    """Records printed before the file fails are announced as partial output on stderr."""
    good = (UBL / "invoice-default-ns.xml").read_bytes().split(b"?>", 1)[1]
    drop = tmp_path / "batch.xml"
    drop.write_bytes(b"<Batch>" + good + good + b"<broken>")
    result = CliRunner().invoke(translate_command, [str(drop), "--mapping", str(MAPPINGS / "ubl-invoice.yaml")])
    assert result.exit_code == 2
    assert result.stdout.count("\n") == 2
    assert "partial output: 2 record(s)" in result.stderr


def test_checks_option_turns_on_the_line_net_rule(tmp_path: Path) -> None:
    """A mapping's ``checks: [line_net]`` refuses a line whose net is not quantity x price; by default (EN 16931)
    the same document decodes."""
    shipped = (MAPPINGS / "ubl-invoice.yaml").read_text(encoding="utf-8")
    strict = tmp_path / "ubl-invoice-strict.yaml"
    strict.write_text(shipped.replace("fields:\n", "checks: [line_net]\nfields:\n", 1), encoding="utf-8")
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "units.csv").write_bytes((MAPPINGS / "codes" / "units.csv").read_bytes())
    body = (UBL / "invoice-default-ns.xml").read_bytes()
    price = body.index(b"<cbc:PriceAmount")
    end = body.index(b"</cbc:PriceAmount>", price)
    start = body.index(b">", price) + 1
    body = body[:start] + str(float(body[start:end]) + 1).encode() + body[end:]
    assert len(split(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(body)))[0]) == 1
    _, [failure] = split(XmlDecoder(load_mapping(strict)).decode(envelope(body)))
    assert "lines[0].line_extension_amount" in str(failure.error)


_SUB = (
    b"<cac:SubInvoiceLine><cbc:ID>1.1</cbc:ID>"
    b'<cbc:LineExtensionAmount currencyID="EUR">7.00</cbc:LineExtensionAmount>'
    b"<cac:Item><cbc:Name>Group</cbc:Name></cac:Item>"
    b"<cac:SubInvoiceLine><cbc:ID>1.1.1</cbc:ID>"
    b'<cbc:InvoicedQuantity unitCode="XPP">2</cbc:InvoicedQuantity>'
    b'<cbc:LineExtensionAmount currencyID="EUR">7.00</cbc:LineExtensionAmount>'
    b"<cac:Item><cbc:Name>Part</cbc:Name></cac:Item>"
    b'<cac:Price><cbc:PriceAmount currencyID="EUR">3.50</cbc:PriceAmount></cac:Price>'
    b"</cac:SubInvoiceLine></cac:SubInvoiceLine>"
)


def _with_sub_lines() -> bytes:
    body = (UBL / "invoice-default-ns.xml").read_bytes()
    end = body.index(b"</cac:InvoiceLine>")
    return body[:end] + _SUB + body[end:]


def test_recursive_reads_sub_lines_to_any_depth_and_writes_them_back() -> None:
    """``recursive``: XRechnung sub-lines nest with the line's own fields; they count in no total; the encoder
    writes them back and a second decode gives the same invoice."""
    from translators.xml_encoder import XmlEncoder

    mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
    [plain], _ = split(XmlDecoder(mapping).decode(envelope((UBL / "invoice-default-ns.xml").read_bytes())))
    [ok], _ = split(XmlDecoder(mapping).decode(envelope(_with_sub_lines())))
    [group] = ok.record.lines[0].sub_lines
    [part] = group.sub_lines
    assert (group.line_id, group.name, group.quantity, group.unit_price) == ("1.1", "Group", None, None)
    assert (part.line_id, part.name, part.unit_code, str(part.quantity), str(part.unit_price)) == (
        "1.1.1",
        "Part",
        "XPP",
        "2",
        "3.50",
    )
    assert ok.record.payable_amount == plain.record.payable_amount and len(ok.record.lines) == len(plain.record.lines)
    rendered = XmlEncoder(mapping).render(ok.record)
    assert rendered.count(b"<cac:SubInvoiceLine>") == 2
    [again], _ = split(XmlDecoder(mapping).decode(envelope(rendered)))
    assert again.record == ok.record


def test_generic_xml_mapping_carries_sub_lines() -> None:
    """The generic XML mapping (the XSLT encoder's input) nests sub-lines too and reads them back."""
    from translators.mapping.generic import generic_mapping
    from translators.xml_encoder import XmlEncoder

    [ok], _ = split(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(_with_sub_lines())))
    generic = generic_mapping("Invoice", "xml")
    [again], _ = split(XmlDecoder(generic).decode(envelope(XmlEncoder(generic).render(ok.record))))
    assert again.record == ok.record


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("  name: {path: p:Name, recursive: true}\n", "recursive needs many: true"),
    ],
)
def test_recursive_misuse_is_reported(tmp_path: Path, fields: str, message: str) -> None:
    """A recursive field must be a list whose items have the object's fields."""
    with pytest.raises(ConfigError) as info:
        load_mapping(_mapping(tmp_path, fields))
    assert any(message in p.message and p.line is not None for p in info.value.problems), info.value.problems


def test_recursive_items_must_have_the_objects_fields(tmp_path: Path) -> None:
    """Customer addresses are no customers: a recursive list whose items lack the object's fields is refused."""
    path = tmp_path / "m.yaml"
    path.write_text(
        "canonical: Customer\nformat: xml\nrecord: /C\nfields:\n  customer_number: N\n  name: M\n"
        "  addresses: {path: A, many: true, recursive: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    [problem] = info.value.problems
    assert problem.line == 7
    assert "items (Address) have no field 'addresses', 'customer_number', 'name'" in problem.message


def test_conversion_error_quotes_the_raw_text() -> None:
    """A value pydantic cannot read is quoted in the record's error (``2,602.50`` is not a plain decimal)."""
    body = (UBL / "invoice-default-ns.xml").read_bytes().replace(b">1194.05<", b">1,194.05<")
    _, [failure] = split(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(body)))
    assert "payable_amount: Input should be a valid decimal (got '1,194.05')" in str(failure.error)


def test_hook_module_beside_the_mapping_imports_without_pythonpath(tmp_path: Path) -> None:
    """A mapping's hook module in the mapping's own folder is found; the folder leaves sys.path afterwards."""
    import sys

    (tmp_path / "esb_test_hook_beside.py").write_text(
        "def upper(data):\n    return {**data, 'name': data['name'].upper()}\n", encoding="utf-8"
    )
    mapping = _mapping(tmp_path, "  name: p:Name\n", extra="hook: esb_test_hook_beside:upper\n")
    ok, _ = _decode(mapping, b'<Catalog xmlns="urn:p"><Item><Sku>1</Sku><Name>widget</Name></Item></Catalog>')
    assert [r.record.name for r in ok] == ["WIDGET"]
    assert str(tmp_path) not in sys.path
    missing = _mapping(tmp_path, "  name: p:Name\n", extra="hook: esb_test_no_such_hook:upper\n")
    with pytest.raises(ConfigError, match="cannot import module 'esb_test_no_such_hook'"):
        load_mapping(missing)


@pytest.mark.parametrize("form", ["windows-1252 declaration", "UTF-16 with BOM"])
def test_declared_or_bom_encoding_decodes(form: str) -> None:
    """Input in the encoding its XML declaration or BOM names decodes to the same text."""
    text = (UBL / "invoice-default-ns.xml").read_bytes().split(b"?>", 1)[1].decode().replace("Cable set", "Câble «set»")
    data = (
        b'<?xml version="1.0" encoding="windows-1252"?>' + text.encode("cp1252")
        if form.startswith("windows")
        else text.encode("utf-16")
    )
    [ok], _ = split(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(data)))
    assert "Câble «set»" in [line.name for line in ok.record.lines]


def test_wrong_encoding_declaration_is_refused_with_its_position() -> None:
    """Bytes that do not match the declared encoding fail the file, naming line and column."""
    text = (UBL / "invoice-default-ns.xml").read_bytes().split(b"?>", 1)[1].decode().replace("Cable set", "Câble")
    data = b'<?xml version="1.0" encoding="utf-8"?>' + text.encode("cp1252")
    with pytest.raises(DecodeError, match="encoding") as info:
        list(XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml")).decode(envelope(data)))
    assert info.value.location is not None and info.value.location.line is not None
