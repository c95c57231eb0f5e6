"""Exact money, currencies and timezone handling shared by all models."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.canonical import (
    Invoice,
    Payment,
    Product,
    Subscription,
    minor_units,
    round_half_up,
    validate_observed,
    validate_strict,
)


def test_float_money_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """A float amount is a type error in strict mode, with a message saying floats are not accepted."""
    with pytest.raises(ValidationError, match=r"a float is not accepted.*input_value=100\.0, input_type=float"):
        validate_strict(Payment, {**samples["Payment"], "amount": 100.0, "allocations": []})


def test_float_money_rejected_in_observed_mode_too(samples: dict[str, dict[str, Any]]) -> None:
    """Type errors stay errors in observed mode: only business rules become notes."""
    with pytest.raises(ValidationError, match="float"):
        validate_observed(Product, {**samples["Product"], "list_price": 9.9})


def test_float_quantity_rejected_in_json(samples: dict[str, dict[str, Any]]) -> None:
    """A JSON number with a fraction is rejected for a decimal field, a JSON string is not."""
    good = Payment.model_validate(samples["Payment"]).model_dump_json()
    with pytest.raises(ValidationError, match="float"):
        Payment.model_validate_json(good.replace('"amount":"100.00"', '"amount":100.5', 1))


@pytest.mark.parametrize("value", ["9.90", 9, Decimal("9.90")])
def test_str_int_decimal_money_accepted(samples: dict[str, dict[str, Any]], value: object) -> None:
    """Strings, ints and Decimals are accepted as money and become Decimals."""
    product = Product.model_validate({**samples["Product"], "list_price": value})
    assert product.list_price == Decimal(str(value))


def test_bool_money_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """A bool is not silently taken as 0 or 1."""
    with pytest.raises(ValidationError, match="bool"):
        Product.model_validate({**samples["Product"], "list_price": True})


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_finite_money_rejected(samples: dict[str, dict[str, Any]], value: str) -> None:
    """NaN and infinity are not amounts."""
    with pytest.raises(ValidationError):
        Product.model_validate({**samples["Product"], "list_price": value})


@pytest.mark.parametrize("code", ["XYZ", "eur", "XTS", "HRK", "EURO"])
def test_unknown_currency_rejected(samples: dict[str, dict[str, Any]], code: str) -> None:
    """Only current upper-case ISO-4217 codes are accepted (not test, withdrawn or lower-case codes)."""
    with pytest.raises(ValidationError, match="currency"):
        Subscription.model_validate({**samples["Subscription"], "currency": code})


def test_naive_datetime_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """A datetime without offset is rejected with a message naming the problem."""
    with pytest.raises(ValidationError, match="naive datetime rejected: a timezone offset is required"):
        Invoice.model_validate({**samples["Invoice"], "issued_at": "2024-03-01T09:30:00"})


def test_aware_datetime_keeps_offset(samples: dict[str, dict[str, Any]]) -> None:
    """An aware datetime is kept with its offset."""
    invoice = Invoice.model_validate(samples["Invoice"])
    assert invoice.issued_at is not None and invoice.issued_at.utcoffset() is not None
    assert invoice.issued_at.isoformat() == "2024-03-01T09:30:00+01:00"


def test_decimal_scale_preserved_through_json(samples: dict[str, dict[str, Any]]) -> None:
    """model_dump_json writes decimals as exact strings keeping their scale, and they read back equal."""
    invoice = Invoice.model_validate(samples["Invoice"])
    text = invoice.model_dump_json()
    assert '"unit_price":"10.00"' in text and '"payable_amount":"23.80"' in text
    again = Invoice.model_validate_json(text)
    assert again == invoice
    assert str(again.lines[0].unit_price) == "10.00"


def test_minor_units_and_rounding() -> None:
    """The minor-unit table knows zero- and three-decimal currencies; rounding is half-up, not banker's."""
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert round_half_up(Decimal("0.125"), 2) == Decimal("0.13")
    assert round_half_up(Decimal("-0.125"), 2) == Decimal("-0.13")


@pytest.mark.parametrize("value", ["12.50", -3, Decimal("-0.01")])
def test_amount_json_schema_accepts_what_validation_accepts(value: object) -> None:
    """The published JSON Schema admits decimal strings and ints (never floats), with the bounds as keywords."""
    schema = Invoice.model_json_schema(mode="validation")
    amount = schema["properties"]["payable_amount"]
    assert {"type": "number"} not in amount["anyOf"]
    kinds = {branch["type"] for branch in amount["anyOf"]}
    assert kinds == {"string", "integer"}
    non_negative = schema["$defs"]["InvoiceLine"]["properties"]["unit_price"]["anyOf"]
    assert {"type": "integer", "minimum": 0} in non_negative
    pattern = next(b["pattern"] for b in amount["anyOf"] if b["type"] == "string")
    assert re.match(pattern, str(value))


def _decimal_inside(node: object) -> bool:
    """True when a decimal schema sits in ``node`` without crossing into a nested model."""
    if isinstance(node, dict):
        if node.get("type") == "decimal":
            return True
        if node.get("type") == "model":
            return False
        return any(_decimal_inside(v) for k, v in node.items() if k != "serialization")
    if isinstance(node, list):
        return any(_decimal_inside(v) for v in node)
    return False


def _python_validators_on_decimals(node: object, trail: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        kind = str(node.get("type", ""))
        if kind.startswith("function-") and _decimal_inside(node.get("schema")):
            found.append(f"{trail} ({kind})")
        for key, child in node.items():
            if key != "serialization":
                found += _python_validators_on_decimals(child, f"{trail}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += _python_validators_on_decimals(child, f"{trail}[{i}]")
    return found


def test_decimal_fields_validate_without_python_callbacks() -> None:
    """Money and quantity checks run in pydantic-core: no Python function validator around any decimal field.

    A per-field Python callback (a BeforeValidator, or a Field bound pydantic cannot push into the core schema)
    costs more than the rest of an invoice's validation; this guards the fast path.
    """
    from typing import Annotated

    from pydantic import BaseModel, Field

    from bridge.canonical import MODELS, Amount

    class Slow(BaseModel):
        amount: Annotated[Amount, Field(ge=0)]  # the bound pydantic can only add as a Python function

    assert _python_validators_on_decimals(Slow.__pydantic_core_schema__, "Slow") != []
    for name, model in MODELS.items():
        assert _python_validators_on_decimals(model.__pydantic_core_schema__, name) == [], name
