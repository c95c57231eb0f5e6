"""``load_stored`` (the delivery side's load of a payload the ledger wrote) gives the very model strict
validation gives, without running the business rules again."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.canonical import MODELS, canonical_json, load_stored, model_for, validate_strict

EXPECTED = Path(__file__).parents[3] / "samples" / "translators" / "expected"


def _samples() -> list[tuple[str, dict[str, Any]]]:
    """(canonical name, record) of every golden record, its type found by which model validates it."""
    out = []
    for f in sorted(EXPECTED.glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        for rec in data if isinstance(data, list) else [data]:
            for name, model in MODELS.items():
                try:
                    validate_strict(model, rec)
                except (ValidationError, TypeError, ValueError):
                    continue
                out.append((name, rec))
                break
    return out


def test_stored_payloads_load_as_strict_validation_loads_them() -> None:
    samples = _samples()
    assert {"Invoice", "Customer"} <= {name for name, _ in samples}, f"samples under {EXPECTED}"
    for name, data in samples:
        model = model_for(name)
        record = validate_strict(model, data)
        payload = canonical_json(record)
        assert load_stored(model, payload) == validate_strict(model, payload)


def test_stored_payloads_skip_business_rules_but_not_types() -> None:
    """A payload whose totals do not add up loads (its rules passed when it was stored); a wrong type fails."""
    name, data = next((n, d) for n, d in _samples() if n == "Invoice")
    model = model_for(name)
    record = validate_strict(model, data)
    broken = record.model_copy(update={"payable_amount": record.payable_amount + Decimal(1)})
    payload = canonical_json(broken)
    with pytest.raises(ValidationError):
        validate_strict(model, payload)
    assert load_stored(model, payload).payable_amount == broken.payable_amount
    with pytest.raises(ValidationError):
        load_stored(model, payload.replace(b'"issue_date":"', b'"issue_date":"x'))
