"""The demo's two billing mappings: each path's encoder output projects back to the same canonical invoice,
so the comparison sees only what the systems themselves change."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from bridge.canonical import model_for
from bridge.ports import DecodedRecord, EncodeContext, Envelope, IdentityRule, PathName, RecordFailure
from samples.demo_app.generate import invoice
from translators.json_decoder import JsonDecoder
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


def _event(obj: object) -> Envelope:
    body = orjson.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": obj}})
    return Envelope(
        interface="customers-from-crm",
        batch_id="b",
        origin="webhook",
        identity_rule=IdentityRule.EVENT,
        identity="evt_1",
        received_at=datetime(2026, 1, 5, tzinfo=UTC),
        transaction_id="t",
        body=body,
    )


def test_crm_webhook_event_decodes_with_its_single_address_object_as_a_list() -> None:
    """The json decoder reads the record at ``data.object``; the CRM's one ``address`` object (and its one
    ``line1`` text) becomes the canonical one-item ``addresses`` list."""
    decoder = JsonDecoder(load_mapping(MAPS / "crm-customer-event.yaml"))
    crm = {"external_id": "CRM-1", "name": "Contoso", "address": {"line1": "Road 1", "city": "Lyon", "country": "FR"}}
    (item,) = list(decoder.decode(_event(crm)))
    assert isinstance(item, DecodedRecord)
    assert item.record.customer_number == "CRM-1"  # type: ignore[attr-defined]
    assert [(a.lines, a.city, a.country) for a in item.record.addresses] == [(("Road 1",), "Lyon", "FR")]  # type: ignore[attr-defined]


def test_crm_event_without_a_record_object_is_a_record_failure() -> None:
    """An event whose ``data.object`` is not an object is one failed record (a dead letter), not a crash."""
    (item,) = list(JsonDecoder(load_mapping(MAPS / "crm-customer-event.yaml")).decode(_event("gone")))
    assert isinstance(item, RecordFailure) and "record path" in str(item.error)
