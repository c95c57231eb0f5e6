"""``canonical_json``: the bytes content hashes and message ids are computed from must never change."""

from __future__ import annotations

from bridge.canonical import Customer, canonical_json


def test_canonical_json_is_the_sorted_compact_json_form_byte_for_byte() -> None:
    """Pinned bytes: sorted keys, no spaces, Decimals as strings, UTF-8 unescaped, offsets kept."""
    record = Customer.model_validate(
        {
            "customer_number": "C-1",
            "name": "Ä GmbH",
            "credit_limit": "1000.50",
            "currency": "EUR",
            "updated_at": "2026-03-01T12:00:00+01:00",
        }
    )
    assert canonical_json(record) == (
        b'{"addresses":[],"company_id":null,"contacts":[],"credit_limit":"1000.50","currency":"EUR",'
        b'"customer_number":"C-1","customer_since":null,"language":null,"legal_name":null,'
        b'"name":"\xc3\x84 GmbH","notes":[],"payment_terms":null,"schema_version":"1.0","status":"active",'
        b'"tax_id":null,"updated_at":"2026-03-01T12:00:00+01:00"}'
    )
