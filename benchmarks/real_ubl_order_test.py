"""Real, published UBL 2.1 Orders and OrderResponses through the shipped mappings: the decode count and the facts.

The documents are others' files (Peppol BIS Ordering 3 examples and snippets, OpenPEPPOL/poacc-upgrade-3
``rules/examples``, ``rules/snippets``), not part of this repository. ``ESB_BRIDGE_REAL_UBL_ORDERS`` points to a
folder holding them (any depth). Every Order must decode with the number, currency, line count and payable amount
it states; OrderResponses are counted and each refusal printed (a status-only response does not fit a SalesOrder).
OrderChange and OrderCancellation files must be refused with the mapping's reason, never read as an order.
``ESB_BRIDGE_REAL_UBL_ORDERS=/path .venv/bin/pytest benchmarks/real_ubl_order_test.py -q -s``.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.ports import BridgeError, DecodedRecord, DecodeError
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, envelope
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

CORPUS = Path(os.environ["ESB_BRIDGE_REAL_UBL_ORDERS"]) if os.environ.get("ESB_BRIDGE_REAL_UBL_ORDERS") else None
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def test_real_ubl_orders_decode_with_their_stated_facts(capsys: pytest.CaptureFixture[str]) -> None:
    """Every real Order decodes with its own number, currency, lines and payable; the counts are printed."""
    assert CORPUS is not None and CORPUS.is_dir(), "set ESB_BRIDGE_REAL_UBL_ORDERS to a folder of UBL orders"
    order, response = (XmlDecoder(load_mapping(MAPPINGS / f"ubl-{m}.yaml")) for m in ("order", "orderresponse"))
    counts = {"Order": [0, 0], "OrderResponse": [0, 0], "other": [0, 0]}
    refused: list[str] = []
    for path in sorted(CORPUS.rglob("*.xml")):
        root = parse_bytes(path.read_bytes(), origin=str(path))
        name = root.tag.rpartition("}")[2]
        key = name if name in ("Order", "OrderResponse") else "other"
        counts[key][1] += 1
        decoder = response if name == "OrderResponse" else order
        try:
            [item] = list(decoder.decode(envelope(path)))
        except DecodeError as exc:
            assert key == "other", f"{path.name}: {exc}"
            assert "is refused by mapping ubl-order.yaml" in str(exc)
            counts[key][0] += 1  # refused with its reason: the right outcome for a change or cancellation
            continue
        except BridgeError as exc:
            refused.append(f"{path.name}: file failed: {exc}")
            continue
        if not isinstance(item, DecodedRecord):
            refused.append(f"{path.name}: {item.error}")
            continue
        counts[key][0] += 1
        record = item.record
        total = "AnticipatedMonetaryTotal" if name == "Order" else "LegalMonetaryTotal"
        assert record.order_number == root.findtext(
            "cbc:ID" if name == "Order" else "cac:OrderReference/cbc:ID", namespaces=NS
        )
        assert len(record.lines) == len(root.findall("cac:OrderLine/cac:LineItem", NS))
        payable = root.findtext(f"cac:{total}/cbc:PayableAmount", namespaces=NS)
        assert record.payable_amount == (Decimal(payable) if payable else None)
        currency = root.findtext("cbc:DocumentCurrencyCode", namespaces=NS)
        assert currency is None or record.currency == currency
    with capsys.disabled():
        for key, (ok, seen) in counts.items():
            print(f"\nreal UBL {key}: {ok} of {seen} {'refused with the reason' if key == 'other' else 'decoded'}")
        for line in refused:
            print(f"  refused {line[:240]}")
    assert counts["Order"][1] > 0 and counts["Order"][0] == counts["Order"][1]
    assert counts["other"][0] == counts["other"][1]
