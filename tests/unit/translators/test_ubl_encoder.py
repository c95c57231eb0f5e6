"""The UBL mappings read in reverse: XSD-valid UBL 2.1 (write_fixed adds what the model does not carry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ports import ConfigError
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, SAMPLES, xsd
from tests.unit.translators.test_cii import _load
from tests.unit.translators.test_cii_encoder import _decode
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder
from translators.xml_encoder import XmlEncoder


@pytest.mark.parametrize(
    ("fixture", "mapping", "schema"),
    [
        (SAMPLES / "cii" / "factur-x-en16931.xml", "ubl-invoice.yaml", "UBL-Invoice-2.1.xsd"),
        (SAMPLES / "cii" / "factur-x-extended.xml", "ubl-invoice.yaml", "UBL-Invoice-2.1.xsd"),
        (SAMPLES / "ubl" / "creditnote.xml", "ubl-creditnote.yaml", "UBL-CreditNote-2.1.xsd"),
    ],
)
def test_ubl_encoder_output_is_valid_and_reads_back(fixture: Path, mapping: str, schema: str) -> None:
    """An invoice read from CII (with sub-lines) or UBL, written as UBL 2.1, validates and decodes back equal."""
    source = load_mapping(MAPPINGS / ("cii-invoice.yaml" if fixture.parent.name == "cii" else mapping))
    invoice = _decode(XmlDecoder(source), fixture)
    ubl = load_mapping(MAPPINGS / mapping)
    body = XmlEncoder(ubl).render(invoice)
    found = xsd(f"ubl-2.1/maindoc/{schema}")
    assert found.validate(parse_bytes(body)), [str(e) for e in found.error_log][:3]
    assert _decode(XmlDecoder(ubl), body).model_dump(mode="json") == invoice.model_dump(mode="json")


def test_write_fixed_takes_element_paths_of_xml_mappings(tmp_path: Path) -> None:
    """write_fixed with an attribute path, or in a CSV mapping, is a mapping problem naming the key."""
    text = "canonical: Invoice\nformat: xml\nrecord: /X\nwrite_fixed: {'A/@b': {C: v}, D: {'E/@f': v}}\n"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text + "fields: {invoice_number: ID}\n")
    assert len([p for p in info.value.problems if "write_fixed" in str(p)]) == 2
