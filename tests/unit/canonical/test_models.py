"""Base behaviour, registry, schemas and the simpler documents' business rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.canonical import (
    MODELS,
    Customer,
    Payment,
    SalesOrder,
    Subscription,
    json_schemas,
    model_for,
    validate_observed,
    validate_strict,
)

DOCUMENTS = ["Customer", "Product", "SalesOrder", "Invoice", "Payment", "Subscription"]
EXPECTED_KEYS = {
    "Customer": "C-4711",
    "Product": "SKU-1",
    "SalesOrder": "SO-1001",
    "Invoice": "INV-2024-0001",
    "Payment": "PAY-77",
    "Subscription": "SUB-9",
}


def test_registry_holds_the_six_documents() -> None:
    """MODELS maps each document name to its class, and model_for looks names up."""
    assert sorted(MODELS) == sorted(DOCUMENTS)
    assert model_for("Invoice").__name__ == "Invoice"


def test_model_for_unknown_name_lists_valid_names() -> None:
    """An unknown model name raises KeyError naming the valid ones."""
    with pytest.raises(KeyError, match="valid names: Customer, Invoice, Payment"):
        model_for("Order")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_business_key_per_model(samples: dict[str, dict[str, Any]], name: str) -> None:
    """Each document's business key is its stable business number."""
    assert validate_strict(model_for(name), samples[name]).business_key == EXPECTED_KEYS[name]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_json_round_trip_is_equal(samples: dict[str, dict[str, Any]], name: str) -> None:
    """model_dump(mode="json") validates back to an equal model for every document type."""
    cls = model_for(name)
    model = validate_strict(cls, samples[name])
    assert cls.model_validate(model.model_dump(mode="json")) == model
    assert validate_strict(cls, model.model_dump_json()) == model


def test_wrong_schema_version_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """A document claiming another schema version fails instead of being misread."""
    with pytest.raises(ValidationError, match="schema_version"):
        Customer.model_validate({**samples["Customer"], "schema_version": "2.0"})


def test_unknown_field_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """Extra fields are forbidden, so a mapping typo cannot go unnoticed."""
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Customer.model_validate({**samples["Customer"], "nmae": "typo"})


def test_models_are_frozen(samples: dict[str, dict[str, Any]]) -> None:
    """Canonical models are immutable once validated."""
    customer = Customer.model_validate(samples["Customer"])
    with pytest.raises(ValidationError, match="frozen"):
        customer.name = "Other"  # type: ignore[misc]


def test_unknown_validation_mode_rejected(samples: dict[str, dict[str, Any]]) -> None:
    """A misspelt validation mode is an error, not silently strict."""
    with pytest.raises(ValueError, match="unknown validation mode"):
        Customer.model_validate(samples["Customer"], context={"mode": "lenient"})


def test_json_schemas_cover_all_documents() -> None:
    """json_schemas returns a validation-mode JSON Schema for each of the six documents."""
    schemas = json_schemas()
    assert sorted(schemas) == sorted(DOCUMENTS)
    for name, schema in schemas.items():
        assert schema["title"] == name and "schema_version" in schema["properties"]
    assert "business_key" not in schemas["Invoice"]["properties"]


def test_sales_order_wrong_total_raises_and_notes(samples: dict[str, dict[str, Any]]) -> None:
    """A sales order whose total does not add up fails strictly and is noted when observed."""
    bad = {**samples["SalesOrder"], "total_amount": "40.00"}
    message = "total_amount: 40.00 != line_total + tax_total 40.10"
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate_strict(SalesOrder, bad)
    assert validate_observed(SalesOrder, bad).notes == (message,)


def test_sales_order_line_amount_checked(samples: dict[str, dict[str, Any]]) -> None:
    """Each order line amount must equal quantity * price / base quantity - discount."""
    data = samples["SalesOrder"]
    lines = [{**data["lines"][0], "line_amount": "29.70"}, data["lines"][1]]
    notes = validate_observed(SalesOrder, {**data, "lines": lines}).notes
    assert "lines[0].line_amount: 29.70 != 28.70" in notes


def test_payment_over_allocated_is_a_business_rule(samples: dict[str, dict[str, Any]]) -> None:
    """Allocations summing above the payment amount raise strictly and become a note when observed."""
    allocations = [{"invoice_number": "A", "amount": "60"}, {"invoice_number": "B", "amount": "50.00"}]
    bad = {**samples["Payment"], "allocations": allocations}
    with pytest.raises(ValidationError, match=re.escape("allocations: sum 110.00 > amount 100.00")):
        validate_strict(Payment, bad)
    assert validate_observed(Payment, bad).notes == ("allocations: sum 110.00 > amount 100.00",)


def test_payment_amount_must_be_positive(samples: dict[str, dict[str, Any]]) -> None:
    """A zero payment is invalid in any mode."""
    with pytest.raises(ValidationError, match="greater than 0"):
        validate_observed(Payment, {**samples["Payment"], "amount": "0", "allocations": []})


def test_subscription_end_before_start(samples: dict[str, dict[str, Any]]) -> None:
    """A subscription ending before it starts violates a business rule."""
    bad = {**samples["Subscription"], "end_date": "2023-12-31"}
    with pytest.raises(ValidationError, match="end_date: 2023-12-31 is before start_date 2024-01-01"):
        validate_strict(Subscription, bad)
    assert validate_observed(Subscription, bad).notes == ("end_date: 2023-12-31 is before start_date 2024-01-01",)


def test_subscription_billing_period_is_closed(samples: dict[str, dict[str, Any]]) -> None:
    """Billing periods are a fixed vocabulary."""
    with pytest.raises(ValidationError, match="billing_period"):
        Subscription.model_validate({**samples["Subscription"], "billing_period": "fortnight"})


def test_observed_notes_are_not_duplicated_on_revalidation(samples: dict[str, dict[str, Any]]) -> None:
    """Re-validating an observed document's dump keeps one note per violation."""
    observed = validate_observed(Subscription, {**samples["Subscription"], "recurring_amount": "60.00"})
    again = validate_observed(Subscription, observed.model_dump(mode="json"))
    assert again.notes == observed.notes == ("recurring_amount: 60.00 != sum of items 62.50",)


def test_rules_need_a_ruled_model() -> None:
    """A model defining business rules without deriving from RuledModel is refused at class creation.

    Only RuledModel runs the rules; without this check the rules would silently never run.
    """
    from bridge.canonical._base import CanonicalModel, RuledModel

    with pytest.raises(TypeError, match="derive it from RuledModel"):

        class Forgetful(CanonicalModel):
            amount: int

            def _business_rules(self) -> list[str]:
                return ["always"]

    class Careful(RuledModel):
        amount: int

        def _business_rules(self) -> list[str]:
            return ["amount: always wrong"] if self.amount < 0 else []

    with pytest.raises(ValueError, match="amount: always wrong"):
        Careful.model_validate({"amount": -1})
