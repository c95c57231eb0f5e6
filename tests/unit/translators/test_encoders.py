"""Encoders and projections: contract of the ports, observed mode, encoding errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest

from bridge.ports import EncodeContext, EncodeError, Encoder, PathName, Projector
from tests.unit.translators.support import MAPPINGS, SAMPLES, envelope, split
from translators.csv_decoder import CsvDecoder
from translators.csv_encoder import CsvEncoder
from translators.json_encoder import JsonMappedEncoder
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.projection import MappingProjector
from translators.xml_decoder import XmlDecoder
from translators.xml_encoder import XmlEncoder

CONTEXT = EncodeContext("test", uuid.UUID(int=7), "INV-2024-0001", PathName.CLOUD)


def _invoice():  # type: ignore[no-untyped-def]
    mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
    [item], _ = split(XmlDecoder(mapping).decode(envelope(SAMPLES / "ubl" / "invoice-default-ns.xml")))
    return mapping, item.record


def test_encoders_implement_the_port() -> None:
    """XML, CSV and mapped-JSON encoders satisfy bridge.ports.Encoder and name files by message id."""
    mapping, record = _invoice()
    encoded = XmlEncoder(mapping).encode(record, CONTEXT)
    assert isinstance(XmlEncoder(mapping), Encoder) and isinstance(MappingProjector(mapping), Projector)
    assert encoded.media_type == "application/xml" and encoded.name == f"{uuid.UUID(int=7)}.xml"
    assert b'currencyID="EUR"' in encoded.body
    json_body = JsonMappedEncoder(generic_mapping("Invoice", "json")).encode(record, CONTEXT)
    assert orjson.loads(json_body.body)["lines"][1]["unit_price"] == "25.50"


def test_mapped_json_writes_a_resolved_reference_with_the_targets_id() -> None:
    """A field resolved as a reference (EncodeContext.xrefs) is written with the target's id; without xrefs,
    or for a dotted field, the record's own value stays."""
    _, record = _invoice()
    encoder = JsonMappedEncoder(generic_mapping("Invoice", "json"))
    key = record.customer_id
    resolved = EncodeContext("test", uuid.UUID(int=7), "k", PathName.CLOUD, {"customer_id": "ERP-4711", "a.b": "x"})
    assert orjson.loads(encoder.encode(record, resolved).body)["customer_id"] == "ERP-4711"
    assert orjson.loads(encoder.encode(record, CONTEXT).body)["customer_id"] == key
    assert record.customer_id == key  # the record itself is not changed


def test_projection_notes_business_rule_violations() -> None:
    """A target body whose totals do not add up projects to a record with notes instead of failing."""
    mapping, record = _invoice()
    body = XmlEncoder(mapping).render(record).replace(b">1194.05<", b">1199.99<")
    projected = MappingProjector(mapping).project(body, "application/xml")
    assert str(projected.payable_amount) == "1199.99"
    assert any("payable_amount" in note for note in projected.notes)


def test_csv_encoding_refuses_unrepresentable_characters() -> None:
    """A character cp1252 cannot hold fails encoding naming the character instead of writing '?'."""
    mapping = load_mapping(MAPPINGS / "customer-master-csv.yaml")
    [first, *_], _ = split(CsvDecoder(mapping).decode(envelope(SAMPLES / "csv" / "customers-cp1252.csv")))
    record = first.record.model_copy(update={"name": "Check ✓ GmbH"})
    with pytest.raises(EncodeError, match="✓"):
        CsvEncoder(mapping).render(record)


def test_csv_encoder_writes_declared_dialect() -> None:
    """The customer master is written back with semicolons, decimal commas and local Berlin time."""
    mapping = load_mapping(MAPPINGS / "customer-master-csv.yaml")
    [first, *_], _ = split(CsvDecoder(mapping).decode(envelope(SAMPLES / "csv" / "customers-cp1252.csv")))
    text = CsvEncoder(mapping).render(first.record).decode("cp1252")
    header, row = text.splitlines()
    assert header.startswith("KdNr;Name;") and ";25000,00;Z030;" in row and row.endswith("15.03.2024 09:30:00")


def test_unknown_canonical_code_fails_encoding() -> None:
    """A canonical code with no legacy code in a closed table fails with EncodeError naming the field; an open
    table (the UN/ECE Rec 20 units, passthrough) writes an unknown code as it is."""
    mapping, record = _invoice()
    terms = record.payment_terms.model_copy(update={"code": "NET45"})
    with pytest.raises(EncodeError, match="NET45"):
        XmlEncoder(mapping).render(record.model_copy(update={"payment_terms": terms}))
    lines = list(record.lines)
    lines[0] = lines[0].model_copy(update={"unit_code": "XPP"})
    body = XmlEncoder(mapping).render(record.model_copy(update={"lines": tuple(lines)}))
    assert b'unitCode="XPP"' in body


def test_xml_encoder_validates_against_the_mappings_xsd(tmp_path: Path) -> None:
    """With an XSD in the mapping, a valid record renders and one breaking the schema raises ContractViolation."""
    from bridge.canonical import Customer
    from bridge.ports import ContractViolation

    (tmp_path / "c.xsd").write_text(
        """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t"
            elementFormDefault="qualified">
          <xs:element name="Customer"><xs:complexType><xs:sequence>
            <xs:element name="No" type="xs:string"/>
            <xs:element name="Name"><xs:simpleType><xs:restriction base="xs:string">
              <xs:maxLength value="10"/></xs:restriction></xs:simpleType></xs:element>
          </xs:sequence></xs:complexType></xs:element></xs:schema>""",
        encoding="utf-8",
    )
    (tmp_path / "m.yaml").write_text(
        "canonical: Customer\nformat: xml\nnamespaces: {t: 'urn:t'}\nrecord: /t:Customer\nxsd: c.xsd\n"
        "fields:\n  customer_number: t:No\n  name: t:Name\n",
        encoding="utf-8",
    )
    encoder = XmlEncoder(load_mapping(tmp_path / "m.yaml"))
    body = encoder.render(Customer(customer_number="1", name="Short"))
    assert b"<Name>Short</Name>" in body
    with pytest.raises(ContractViolation, match="Name"):
        encoder.render(Customer(customer_number="2", name="A name far too long"))
