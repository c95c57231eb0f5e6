"""Property tests: canonical -> bytes -> canonical is the identity through declarative mappings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.canonical import MODELS
from tests.unit.translators.strategies import documents, invoices
from tests.unit.translators.support import MAPPINGS, envelope, split
from translators.csv_decoder import CsvDecoder
from translators.csv_encoder import CsvEncoder
from translators.json_encoder import JsonMappedEncoder
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.projection import MappingProjector
from translators.xml_decoder import XmlDecoder
from translators.xml_encoder import XmlEncoder

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json(record: Any) -> Any:
    return record.model_dump(mode="json")


def test_every_model_has_a_strategy() -> None:
    """The round-trip properties cover every registered canonical document type."""
    assert set(documents()) == set(MODELS)


CODECS = {"xml": (XmlEncoder, XmlDecoder), "csv": (CsvEncoder, CsvDecoder)}


@pytest.mark.parametrize("fmt", sorted(CODECS))
@pytest.mark.parametrize("name", sorted(documents()))
def test_roundtrip_generic(name: str, fmt: str) -> None:
    """canonical -> XML/CSV -> canonical is the identity through the generic mapping of every model."""
    mapping = generic_mapping(name, fmt)
    encoder_cls, decoder_cls = CODECS[fmt]
    encoder, decoder = encoder_cls(mapping), decoder_cls(mapping)  # type: ignore[abstract]

    @SETTINGS
    @given(documents(flat=fmt == "csv")[name])
    def check(record: Any) -> None:
        ok, failed = split(decoder.decode(envelope(encoder.render(record))))
        assert failed == []
        assert [_json(r.record) for r in ok] == [_json(record)]

    check()


@pytest.mark.parametrize("name", sorted(documents()))
def test_json_projection_roundtrip_generic(name: str) -> None:
    """canonical -> mapped JSON -> projection gives the same canonical record (decimals as strings and numbers)."""
    mapping = generic_mapping(name, "json")
    projector = MappingProjector(mapping)

    @SETTINGS
    @given(documents()[name], st.sampled_from(["string", "number"]))
    def check(record: Any, decimals: Any) -> None:
        body = JsonMappedEncoder(mapping, decimals=decimals).render(record)
        assert _json(projector.project(body, "application/json")) == _json(record)

    check()


@SETTINGS
@given(invoices(ubl=True))
def test_ubl_invoice_roundtrip(record: Any) -> None:
    """canonical -> UBL XML -> canonical is the identity through the shipped UBL invoice mapping."""
    mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
    body = XmlEncoder(mapping).render(record)
    ok, failed = split(XmlDecoder(mapping).decode(envelope(body)))
    assert failed == []
    assert _json(ok[0].record) == _json(record)
    assert _json(MappingProjector(mapping).project(body, "application/xml")) == _json(record)


@pytest.mark.parametrize("mapping_name", ["orders-header-lines-csv.yaml", "orders-repeated-keys-csv.yaml"])
def test_order_csv_mappings_roundtrip(mapping_name: str) -> None:
    """canonical -> CSV -> canonical is the identity through both shipped order CSV mappings."""
    from tests.unit.translators.strategies import sales_orders

    mapping = load_mapping(MAPPINGS / mapping_name)

    @SETTINGS
    @given(sales_orders())
    def check(record: Any) -> None:
        data = record.model_dump()
        data.update(created_at=None, payment_terms=None, bill_to=None, ship_to=None, requested_delivery_date=None)
        record = type(record).model_validate(data)
        ok, failed = split(CsvDecoder(mapping).decode(envelope(CsvEncoder(mapping).render(record))))
        assert failed == []
        assert [_json(r.record) for r in ok] == [_json(record)]

    check()


@pytest.mark.parametrize("fmt", ["xml", "csv", "json"])
def test_decimals_never_pass_through_float(fmt: str) -> None:
    """A price with more digits than a float holds survives every format digit for digit."""
    from bridge.canonical import Product

    price = Decimal("123456789012345678.91")
    assert Decimal(float(price)) != price  # a float on the way would lose the cents
    record = Product.model_validate({"sku": "X", "name": "n", "list_price": price, "currency": "EUR"})
    mapping = generic_mapping("Product", fmt)
    if fmt == "xml":
        back = split(XmlDecoder(mapping).decode(envelope(XmlEncoder(mapping).render(record))))[0][0].record
    elif fmt == "csv":
        back = split(CsvDecoder(mapping).decode(envelope(CsvEncoder(mapping).render(record))))[0][0].record
    else:
        body = JsonMappedEncoder(mapping, decimals="number").render(record)
        assert b"123456789012345678.91" in body
        back = MappingProjector(mapping).project(body, "application/json")
    assert back.list_price == price and str(back.list_price) == "123456789012345678.91"
