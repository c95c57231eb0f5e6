"""Issue 17, hole "false mismatches and missed echoes from decimal scale": values, not spellings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bridge.canonical import Customer
from bridge.config.compare import CompareRules
from cutover.comparator import projection_tree
from cutover.compare import Differ, status_of


def _customer(limit: str) -> Customer:
    return Customer.model_validate({"customer_number": "C-1", "name": "Acme", "currency": "EUR", "credit_limit": limit})


def test_a_decimal_of_another_scale_is_a_match_without_a_rule() -> None:
    """``100.00`` against ``100`` is the same amount: no entry (it was a value mismatch without a tolerance)."""
    differ = Differ(CompareRules(), date(2026, 1, 5))
    assert differ.diff(projection_tree(_customer("100.00")), projection_tree(_customer("100"))) == []
    entries = differ.diff(projection_tree(_customer("100.00")), projection_tree(_customer("100.01")))
    assert [(e.path, e.legacy, e.cloud) for e in entries] == [("credit_limit", "100.00", "100.01")]


def test_a_scale_rule_compares_the_scale_too() -> None:
    """A field listed under ``scale`` differs when only its scale does; the entry shows both spellings."""
    differ = Differ(CompareRules(scale=("credit_limit",)), date(2026, 1, 5))
    entries = differ.diff(projection_tree(_customer("100.00")), projection_tree(_customer("100")))
    assert [(e.path, e.legacy, e.cloud, e.rule) for e in entries] == [("credit_limit", "100.00", "100", "scale")]
    assert status_of(entries) == "mismatch"
    assert differ.diff(projection_tree(_customer("100.00")), projection_tree(_customer("100.00"))) == []


def test_content_hashes_compare_values() -> None:
    """Equal values hash alike whatever their scale; different values do not; the old, scale-sensitive hash
    (of the stored payload) is still computable for ledgers written before."""
    from bridge.canonical import canonical_json, content_hash, legacy_content_hash, value_text

    assert content_hash(_customer("100.00")) == content_hash(_customer("100")) != content_hash(_customer("100.5"))
    old = legacy_content_hash(canonical_json(_customer("100.00")).decode())
    assert old != legacy_content_hash(canonical_json(_customer("100")).decode())
    assert [value_text(Decimal(x)) for x in ("100.00", "1.50", "-0.00", "1E+2", "0.10")] == [
        "100",
        "1.5",
        "0",
        "100",
        "0.1",
    ]
