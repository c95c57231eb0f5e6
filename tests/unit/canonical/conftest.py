"""Builders of valid canonical documents as plain JSON-like data, with totals computed independently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

LineSpec = tuple[str, str, str]
"""(quantity, unit_price, tax_rate) as strings."""


def _r(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _category(rate: str | Decimal) -> str:
    """Standard rated (S) above 0 %, zero rated (Z) at 0 %: EN 16931's BR-S-05 and BR-Z-05."""
    return "S" if Decimal(rate) > 0 else "Z"


def build_invoice(
    lines: Sequence[LineSpec],
    *,
    currency: str = "EUR",
    places: int = 2,
    rounding: str = "per_line",
    doc_allowances: Sequence[tuple[str, str]] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """A consistent invoice: totals and tax subtotals follow ``rounding`` ("per_line" or "per_document").

    ``doc_allowances`` are (amount, tax_rate) pairs of document-level allowances (category S, or Z at 0 %).
    """
    out_lines: list[dict[str, Any]] = []
    groups: dict[Decimal, dict[str, Decimal]] = {}
    for n, (qty, price, rate) in enumerate(lines, start=1):
        net = _r(Decimal(qty) * Decimal(price), places)
        out_lines.append(
            {
                "line_id": str(n),
                "product_id": f"SKU-{n}",
                "quantity": qty,
                "unit_price": price,
                "line_extension_amount": str(net),
                "tax_category": _category(rate),
                "tax_rate": rate,
            }
        )
        g = groups.setdefault(Decimal(rate), {"taxable": Decimal(0), "line_tax": Decimal(0)})
        g["taxable"] += net
        g["line_tax"] += _r(net * Decimal(rate) / 100, places)
    acs = []
    for amount, rate in doc_allowances:
        acs.append(
            {
                "is_charge": False,
                "amount": amount,
                "reason": "discount",
                "tax_category": _category(rate),
                "tax_rate": rate,
            }
        )
        g = groups.setdefault(Decimal(rate), {"taxable": Decimal(0), "line_tax": Decimal(0)})
        g["taxable"] -= Decimal(amount)
        g["line_tax"] += _r(-Decimal(amount) * Decimal(rate) / 100, places)
    tax_lines = []
    for group_rate, g in groups.items():
        tax = g["line_tax"] if rounding == "per_line" else _r(g["taxable"] * group_rate / 100, places)
        tax_lines.append(
            {
                "tax_category": _category(group_rate),
                "tax_rate": str(group_rate),
                "taxable_amount": str(g["taxable"]),
                "tax_amount": str(tax),
            }
        )
    line_total = sum((Decimal(x["line_extension_amount"]) for x in out_lines), Decimal(0))
    allowance_total = sum((Decimal(a) for a, _ in doc_allowances), Decimal(0))
    tax_exclusive = line_total - allowance_total
    tax_total = sum((Decimal(t["tax_amount"]) for t in tax_lines), Decimal(0))
    data: dict[str, Any] = {
        "invoice_number": "INV-2024-0001",
        "issue_date": "2024-03-01",
        "due_date": "2024-03-31",
        "issued_at": "2024-03-01T09:30:00+01:00",
        "customer_id": "4711",
        "currency": currency,
        "lines": out_lines,
        "allowance_charges": acs,
        "tax_lines": tax_lines,
        "line_extension_total": str(line_total),
        "allowance_total": str(allowance_total),
        "tax_exclusive_amount": str(tax_exclusive),
        "tax_total": str(tax_total),
        "tax_inclusive_amount": str(tax_exclusive + tax_total),
        "payable_amount": str(tax_exclusive + tax_total),
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="session")
def make_invoice() -> Callable[..., dict[str, Any]]:
    """The :func:`build_invoice` builder (session scoped so hypothesis tests may use it)."""
    return build_invoice


SAMPLES: dict[str, dict[str, Any]] = {
    "Customer": {
        "customer_number": "C-4711",
        "name": "ACME GmbH",
        "tax_id": "DE123456789",
        "currency": "EUR",
        "payment_terms": {"code": "NET30", "net_days": 30},
        "addresses": [{"kind": "billing", "lines": ["Hauptstr. 1"], "city": "Berlin", "country": "DE"}],
        "contacts": [{"name": "Ada", "email": "ada@acme.example"}],
        "updated_at": "2024-03-01T08:00:00Z",
    },
    "Product": {"sku": "SKU-1", "name": "Widget", "list_price": "9.90", "currency": "EUR", "tax_rate": "19"},
    "SalesOrder": {
        "order_number": "SO-1001",
        "customer_id": "C-4711",
        "order_date": "2024-02-28",
        "currency": "EUR",
        "lines": [
            {
                "line_id": "1",
                "quantity": "3",
                "unit_price": "9.90",
                "discount_amount": "1.00",
                "line_amount": "28.70",
            },
            {"line_id": "2", "quantity": "1", "unit_price": "5", "line_amount": "5.00"},
        ],
        "line_total": "33.70",
        "tax_total": "6.40",
        "total_amount": "40.10",
    },
    "Invoice": build_invoice([("2", "10.00", "19")]),
    "Payment": {
        "payment_id": "PAY-77",
        "customer_id": "C-4711",
        "amount": "100.00",
        "currency": "EUR",
        "value_date": "2024-03-15",
        "method": "bank_transfer",
        "allocations": [{"invoice_number": "INV-2024-0001", "amount": "23.80"}],
    },
    "Subscription": {
        "subscription_id": "SUB-9",
        "customer_id": "C-4711",
        "plan_code": "PRO",
        "currency": "EUR",
        "billing_period": "month",
        "start_date": "2024-01-01",
        "items": [{"item_id": "seats", "product_id": "SKU-SEAT", "quantity": "5", "unit_price": "12.50"}],
        "recurring_amount": "62.50",
    },
}


@pytest.fixture(scope="session")
def samples() -> dict[str, dict[str, Any]]:
    """One valid input per registered document type."""
    return SAMPLES
