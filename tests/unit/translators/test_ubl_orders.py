"""UBL 2.1 Order and OrderResponse into the canonical SalesOrder: goldens, allowances, wrong roots, misfits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.canonical import SalesOrder
from bridge.ports import DecodeError, RecordInvalid
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

UBL = SAMPLES / "ubl"


def _decode(mapping: str, data: bytes | Path) -> tuple[list, list]:  # type: ignore[type-arg]
    return split(XmlDecoder(load_mapping(MAPPINGS / mapping)).decode(envelope(data)))


@pytest.mark.parametrize(
    ("mapping", "sample", "golden"),
    [
        ("ubl-order.yaml", "order.xml", "ubl-order.json"),
        ("ubl-orderresponse.yaml", "orderresponse.xml", "ubl-orderresponse.json"),
    ],
)
def test_ubl_order_documents_match_their_goldens(mapping: str, sample: str, golden: str) -> None:
    """The project's own UBL Order and OrderResponse decode to their golden canonical SalesOrder JSON."""
    ok, failed = _decode(mapping, UBL / sample)
    assert failed == []
    expected = json.loads((EXPECTED / golden).read_text(encoding="utf-8"))
    assert [r.record.model_dump(mode="json") for r in ok] == expected


def test_order_carries_allowances_charges_prepayment_and_rounding() -> None:
    """Line and order allowances/charges, the prepaid and rounding amounts reach the SalesOrder and add up."""
    [item], _ = _decode("ubl-order.yaml", UBL / "order.xml")
    order = item.record
    assert order.order_number == "PO-2024-0815" and order.customer_id == "C-20017" and order.status == "open"
    assert [(ac.is_charge, ac.amount) for ac in order.lines[0].allowance_charges] == [
        (False, Decimal("30.00")),
        (True, Decimal("10.00")),
    ]
    assert (order.allowance_total, order.charge_total, order.total_amount) == (
        Decimal("10.00"),
        Decimal("25.00"),
        Decimal("612.85"),
    )
    assert (order.prepaid_amount, order.rounding_amount, order.payable_amount) == (
        Decimal("100.00"),
        Decimal("0.15"),
        Decimal("513.00"),
    )
    assert order.ship_to is not None and order.ship_to.kind == "shipping" and order.ship_to.postal_code == "12347"
    # product id: the seller's, else the standard (GTIN) id; description: the item's, else its name
    assert [(line.product_id, line.description) for line in order.lines] == [
        ("TW-200", "Torque wrench 40-200 Nm"),
        ("4006381333931", "Box of 100 hex bolts M8x40, zinc plated"),
    ]


def test_order_response_answers_the_order_by_its_number() -> None:
    """An OrderResponse's record is the order it answers: the OrderReference id, its code as the status."""
    [item], _ = _decode("ubl-orderresponse.yaml", UBL / "orderresponse.xml")
    assert item.record.order_number == "PO-2024-0815" and item.record.status == "confirmed"
    rejected = (UBL / "orderresponse.xml").read_bytes().replace(b">CA<", b">RE<")
    [item], _ = _decode("ubl-orderresponse.yaml", rejected)
    assert item.record.status == "cancelled"


def test_order_response_with_unknown_code_names_the_code() -> None:
    """A response code outside the table fails the record naming the field and the code."""
    _, [failure] = _decode("ubl-orderresponse.yaml", (UBL / "orderresponse.xml").read_bytes().replace(b">CA<", b">ZZ<"))
    assert failure.error.location.field == "status" and "'ZZ'" in str(failure.error)


def test_status_only_order_response_is_refused_naming_what_is_missing() -> None:
    """An acknowledgement without amounts does not fit a SalesOrder: refused with its location, not dropped."""
    data = (UBL / "orderresponse.xml").read_bytes()
    start, end = (
        data.index(b"<cac:TaxTotal>"),
        data.index(b"</cac:LegalMonetaryTotal>") + len(b"</cac:LegalMonetaryTotal>"),
    )
    _, [failure] = _decode("ubl-orderresponse.yaml", data[:start] + data[end:])
    assert isinstance(failure.error, RecordInvalid)
    assert failure.error.location.field == "line_total" and failure.error.location.xpath == "/ors:OrderResponse[1]"


@pytest.mark.parametrize(
    ("mapping", "sample", "message"),
    [
        ("ubl-order.yaml", "orderresponse.xml", "an OrderResponse is read with ubl-orderresponse.yaml"),
        ("ubl-orderresponse.yaml", "order.xml", "an Order is read with ubl-order.yaml"),
        (
            "ubl-order.yaml",
            "invoice-default-ns.xml",
            "root element {urn:oasis:names:specification:ubl:schema:xsd:"
            "Invoice-2}Invoice, expected {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order",
        ),
    ],
)
def test_a_document_of_another_type_is_a_located_file_error(mapping: str, sample: str, message: str) -> None:
    """A document whose root the mapping does not expect fails the file with the root it got, never silently."""
    with pytest.raises(DecodeError) as info:
        _decode(mapping, UBL / sample)
    assert message in str(info.value) and info.value.location is not None and info.value.location.file == sample


def test_order_amount_rules_name_the_field() -> None:
    """The extended SalesOrder checks allowance/charge totals and the payable amount, each naming its field."""
    [item], _ = _decode("ubl-order.yaml", UBL / "order.xml")
    data = item.record.model_dump(mode="json")
    bad = {**data, "charge_total": "24.00", "payable_amount": "500.00"}
    observed = SalesOrder.model_validate(bad, context={"mode": "observed"})
    assert any(n.startswith("charge_total: 24.00 != sum of charges 25.00") for n in observed.notes)
    assert any(n.startswith("payable_amount: 500.00 != total_amount") for n in observed.notes)


def test_order_fields_added_for_ubl_stay_out_of_an_older_orders_dump() -> None:
    """Unset allowances, charges, prepayment and payable leave a SalesOrder's JSON as it was before them."""
    [stored] = json.loads((EXPECTED / "idoc-orders05.json").read_text(encoding="utf-8"))
    order = SalesOrder.model_validate(stored)
    assert order.model_dump(mode="json") == stored
    assert not {"allowance_charges", "allowance_total", "payable_amount"} & order.model_dump().keys()
