"""Invoices stored by the ledger before the EN 16931 additions still validate, and hash to what was stored.

``tests/fixtures/ledger/invoices-schema-1.0.jsonl`` holds Invoice payloads with their content hashes as the
ledger of main at 0e2b9bc wrote them (demo invoices from its ``messages`` table, and the UBL and IDoc samples
decoded by that commit). A stored payload must validate under today's model in strict mode, and re-serialise to
the same canonical JSON: the content hash is part of a change-feed record's identity, so a changed hash would
give an unchanged record a new message id and deliver it twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bridge.canonical import Invoice, canonical_json, validate_strict

STORED = Path(__file__).resolve().parents[2] / "fixtures" / "ledger" / "invoices-schema-1.0.jsonl"
ROWS = [json.loads(line) for line in STORED.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("row", ROWS, ids=[json.loads(r["payload"])["invoice_number"] for r in ROWS])
def test_stored_invoice_validates_and_keeps_its_content_hash(row: dict[str, str]) -> None:
    """A payload stored under schema 1.0 validates strictly and dumps to the same bytes and hash."""
    assert hashlib.sha256(row["payload"].encode()).hexdigest() == row["content_hash"]
    invoice = validate_strict(Invoice, row["payload"])
    assert invoice.schema_version == "1.0"
    body = canonical_json(invoice)
    assert body.decode() == row["payload"]
    assert hashlib.sha256(body).hexdigest() == row["content_hash"]


def test_new_fields_appear_in_the_dump_once_set() -> None:
    """The EN 16931 additions are written when they carry a value (and validate back)."""
    stored = json.loads(ROWS[-1]["payload"])
    stored["document_type"] = "384"
    stored["lines"][0]["name"] = "Item name"
    invoice = validate_strict(Invoice, stored)
    dumped = invoice.model_dump(mode="json")
    assert dumped["document_type"] == "384" and dumped["lines"][0]["name"] == "Item name"
    assert validate_strict(Invoice, dumped) == invoice
