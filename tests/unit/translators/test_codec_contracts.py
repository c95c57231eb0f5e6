"""The Decoder and Encoder contract suites (``bridge.testing``) over every shipped decoder and encoder.

Decoders: ``xml``, ``csv``, ``json``, ``fixed_width`` (translators) and the core ``jsonl``; encoders: ``xml``,
``csv``, ``json-mapped`` (string and number decimals), ``xslt`` (translators) and the core ``json``. Inputs are
small documents through the generic mappings of ``Product`` (and the shipped bank-payment and invoice files);
each encoder round-trips through the decoder of the same mapping where its output is meant to be read.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from bridge.canonical import Product, canonical_json
from bridge.ports import PluginContext
from bridge.testing import (
    DecoderCase,
    DecoderContract,
    EncoderCase,
    EncoderContract,
    RoundTripEncoderContract,
    StoredEncoderContract,
)
from tests.unit.translators.support import MAPPINGS, ROOT, SAMPLES, envelope, split
from translators.canonical_json import JsonEncoder, JsonEncoderConfig, JsonLinesConfig, JsonLinesDecoder
from translators.csv_decoder import CsvDecoder
from translators.csv_encoder import CsvEncoder
from translators.fixed_width import FixedWidthDecoder
from translators.json_decoder import JsonDecoder
from translators.json_encoder import JsonMappedEncoder
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder
from translators.xml_encoder import XmlEncoder
from translators.xslt import XsltEncoder

NS = "urn:esb-bridge:canonical:1"
CONTEXT = PluginContext(base_dir=ROOT, interface="contract", canonical="Product")


def _product_xml(sku: str, price: str = "1.50") -> str:
    return (
        f'<Product xmlns="{NS}"><sku>{sku}</sku><name>n</name>'
        f"<list_price>{price}</list_price><currency>EUR</currency></Product>"
    )


def _products() -> list[Product]:
    return [
        Product.model_validate({"sku": "A-1", "name": "Widget", "list_price": Decimal("1.50"), "currency": "EUR"}),
        Product.model_validate(
            {"sku": "B-2", "name": "Gadget ü", "list_price": Decimal("123456789.91"), "currency": "CHF"}
        ),
    ]


# --------------------------------------------------------------------------------------------- decoders


class TestXmlDecoderContract(DecoderContract):
    @pytest.fixture
    def decoder_case(self) -> DecoderCase:
        return DecoderCase(
            XmlDecoder(generic_mapping("Product", "xml")),
            good=f"<Products>{_product_xml('A')}{_product_xml('B')}</Products>".encode(),
            bad=f"<Products>{_product_xml('A')}{_product_xml('B', 'abc')}{_product_xml('C')}</Products>".encode(),
            bad_ordinal=1,
            records=3,
            empty_is_error=True,  # an XML document has a root element
            media_type="application/xml",
        )


CSV_HEADER = b"sku,name,list_price,currency\r\n"


class TestCsvDecoderContract(DecoderContract):
    @pytest.fixture
    def decoder_case(self) -> DecoderCase:
        return DecoderCase(
            CsvDecoder(generic_mapping("Product", "csv")),
            good=CSV_HEADER + b"A,n,1.50,EUR\r\nB,n,2.00,EUR\r\n",
            bad=CSV_HEADER + b"A,n,1.50,EUR\r\nB,n,abc,EUR\r\nC,n,2.00,EUR\r\n",
            bad_ordinal=1,
            records=3,
            empty_is_error=False,  # today an empty file is a batch of no rows (see the report to issue 11)
            media_type="text/csv",
        )


class TestJsonDecoderContract(DecoderContract):
    """One JSON document is one record, so the bad input is that one record."""

    @pytest.fixture
    def decoder_case(self) -> DecoderCase:
        return DecoderCase(
            JsonDecoder(generic_mapping("Product", "json")),
            good=b'{"sku":"A","name":"n","list_price":"1.50","currency":"EUR"}',
            bad=b'{"sku":"A","name":"n","list_price":"abc","currency":"EUR"}',
            bad_ordinal=0,
            records=1,
            empty_is_error=True,  # not a JSON document
            media_type="application/json",
        )


BANK = (SAMPLES / "fixed" / "bank-payments.txt").read_bytes()


class TestFixedWidthDecoderContract(DecoderContract):
    @pytest.fixture
    def decoder_case(self) -> DecoderCase:
        bad = BANK.replace(b"PAY-240315-0002 20240315", b"PAY-240315-0002 2024XX15")  # a bad date, same sum
        assert bad != BANK
        return DecoderCase(
            FixedWidthDecoder(load_mapping(MAPPINGS / "bank-payments-fixed.yaml")),
            good=BANK,
            bad=bad,
            bad_ordinal=1,
            records=3,
            empty_is_error=True,  # a bank file has header and trailer records
        )


class TestJsonLinesDecoderContract(DecoderContract):
    @pytest.fixture
    def decoder_case(self) -> DecoderCase:
        line = b'{"sku":"%s","name":"n","list_price":"%s","currency":"EUR"}\n'
        return DecoderCase(
            JsonLinesDecoder(JsonLinesConfig(kind="jsonl"), CONTEXT),
            good=line % (b"A", b"1.50") + line % (b"B", b"2.00"),
            bad=line % (b"A", b"1.50") + line % (b"B", b"abc") + line % (b"C", b"2.00"),
            bad_ordinal=1,
            records=3,
            empty_is_error=False,  # JSON Lines: an empty file is zero records
            media_type="application/x-ndjson",
        )


# --------------------------------------------------------------------------------------------- encoders


class TestXmlEncoderContract(RoundTripEncoderContract):
    @pytest.fixture
    def encoder_case(self) -> EncoderCase:
        mapping = generic_mapping("Product", "xml")
        return EncoderCase(XmlEncoder(mapping), _products(), decoder=XmlDecoder(mapping))


class TestCsvEncoderContract(RoundTripEncoderContract):
    @pytest.fixture
    def encoder_case(self) -> EncoderCase:
        mapping = generic_mapping("Product", "csv")
        return EncoderCase(CsvEncoder(mapping), _products(), decoder=CsvDecoder(mapping))


@pytest.mark.parametrize("decimals", ["string", "number"])
class TestJsonMappedEncoderContract(RoundTripEncoderContract):
    @pytest.fixture
    def encoder_case(self, decimals: str) -> EncoderCase:
        mapping = generic_mapping("Product", "json")
        encoder = JsonMappedEncoder(mapping, decimals=decimals)  # type: ignore[arg-type]
        return EncoderCase(encoder, _products(), decoder=JsonDecoder(mapping), media_type="application/json")


class TestXsltEncoderContract(EncoderContract):
    """The shipped legacy stylesheet renders BILLDOC, a format nothing decodes again: determinism only."""

    @pytest.fixture
    def encoder_case(self) -> EncoderCase:
        mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
        [item], _ = split(XmlDecoder(mapping).decode(envelope(SAMPLES / "ubl" / "invoice-default-ns.xml")))
        other = item.record.model_copy(update={"invoice_number": "INV-2024-0002"})
        encoder = XsltEncoder(MAPPINGS / "legacy-billing.xsl", generic_mapping("Invoice"))
        return EncoderCase(encoder, [item.record, other])


class TestCoreJsonEncoderContract(RoundTripEncoderContract, StoredEncoderContract):
    @pytest.fixture
    def encoder_case(self) -> EncoderCase:
        encoder = JsonEncoder(JsonEncoderConfig(kind="json"), CONTEXT)
        decoder = JsonLinesDecoder(JsonLinesConfig(kind="jsonl"), CONTEXT)
        return EncoderCase(encoder, _products(), decoder=decoder, media_type="application/json")


class TestIndentedJsonEncoderContract(EncoderContract):
    """Indented, the encoder re-dumps the record (``encode_stored`` declines); not one record per line, so no
    ``jsonl`` round trip: the JSON value equals the stored canonical JSON's."""

    @pytest.fixture
    def encoder_case(self) -> EncoderCase:
        encoder = JsonEncoder(JsonEncoderConfig(kind="json", indent=True), CONTEXT)
        decoder = JsonLinesDecoder(JsonLinesConfig(kind="jsonl"), CONTEXT)
        case = EncoderCase(encoder, _products(), decoder=decoder, media_type="application/json")
        for record in case.records:
            assert encoder.encode_stored(canonical_json(record).decode(), case.context) is None
            body = encoder.encode(record, case.context).body
            assert b"\n  " in body and orjson.loads(body) == orjson.loads(canonical_json(record))
        return case
