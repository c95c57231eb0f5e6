"""The demo's two billing mappings: each path's encoder output projects back to the same canonical invoice,
so the comparison sees only what the systems themselves change."""

from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path

import orjson

from bridge.canonical import model_for
from bridge.demo.generate import invoice
from bridge.ports import EncodeContext, PathName
from translators.json_encoder import JsonMappedEncoder
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.projection import MappingProjector
from translators.xslt import XsltEncoder

MAPS = Path(__file__).resolve().parents[3] / "samples" / "demo" / "maps"
CTX = EncodeContext("invoices-to-billing", uuid.uuid4(), "INV-1", PathName.CLOUD)


def _invoice() -> object:
    return model_for("Invoice").model_validate(invoice(random.Random(7), 1, date(2026, 1, 5), 3))


def test_cloud_mapping_sends_integer_line_numbers_and_reads_them_back_as_text() -> None:
    """The cloud API wants ``line_no: 1`` (integer); the canonical ``line_id`` reads back as ``"1"``."""
    mapping = load_mapping(MAPS / "cloud-billing-invoice.yaml")
    record = _invoice()
    body = JsonMappedEncoder(mapping).encode(record, CTX).body
    assert [ln["line_no"] for ln in orjson.loads(body)["lines"]] == [1, 2, 3]
    back = MappingProjector(mapping).project(body)
    assert [ln.line_id for ln in back.lines] == ["1", "2", "3"]
    assert back.tax_total == record.tax_total and back.payable_amount == record.payable_amount  # type: ignore[attr-defined]


def test_legacy_stylesheet_output_projects_back_through_the_legacy_mapping() -> None:
    """The old ESB's PostInvoice body keeps net lines, tax and gross total; due date is not carried."""
    record = _invoice()
    body = XsltEncoder(MAPS / "legacy-billing-soap.xsl", generic_mapping("Invoice")).encode(record, CTX).body
    back = MappingProjector(load_mapping(MAPS / "legacy-billing-invoice.yaml")).project(body)
    assert back.tax_total == record.tax_total and back.payable_amount == record.payable_amount  # type: ignore[attr-defined]
    assert [ln.tax_rate for ln in back.lines] == [ln.tax_rate for ln in record.lines]  # type: ignore[attr-defined]
    assert back.due_date is None
