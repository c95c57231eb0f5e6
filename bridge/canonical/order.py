"""Sales orders: the customer's commitment to buy, before invoicing.

The arithmetic is deliberately simpler than the invoice's: a line discount instead of allowance/charge lists,
and one optional tax total.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ._base import CanonicalModel, RuledModel, register
from ._money import (
    Amount,
    AwareDateTime,
    CurrencyCode,
    NonNegativeAmount,
    PositiveQuantity,
    Quantity,
    TaxCategoryCode,
    TaxRate,
    decimal_str,
    exceeds_minor_units,
    round_money,
    sum_decimals,
)
from .party import Address, PaymentTerms

__all__ = ["SalesOrder", "SalesOrderLine"]


class SalesOrderLine(CanonicalModel):
    """One ordered item: ``line_amount = quantity * unit_price / price_base_quantity - discount_amount``."""

    line_id: Annotated[str, Field(min_length=1)]
    product_id: str | None = None
    """SKU of the ordered product."""
    description: str | None = None
    quantity: Quantity
    unit_code: Annotated[str, Field(min_length=1, max_length=3)] = "EA"
    unit_price: NonNegativeAmount
    price_base_quantity: PositiveQuantity = Decimal(1)
    discount_amount: NonNegativeAmount = Decimal(0)
    line_amount: Amount
    tax_category: TaxCategoryCode = "S"
    tax_rate: TaxRate | None = None
    requested_delivery_date: date | None = None

    @property
    def business_key(self) -> str:
        """The line id, unique within its order."""
        return self.line_id

    def expected_amount(self, currency: str) -> Decimal:
        """The line amount the quantities and prices imply, rounded to the currency's minor unit."""
        gross = self.quantity * self.unit_price / self.price_base_quantity
        return round_money(gross - self.discount_amount, currency)


@register
class SalesOrder(RuledModel):
    """A sales order; ``total_amount = line_total + tax_total``."""

    order_number: Annotated[str, Field(min_length=1)]
    customer_id: Annotated[str, Field(min_length=1)]
    """Customer number of the buyer."""
    order_date: date
    created_at: AwareDateTime | None = None
    status: Literal["draft", "open", "confirmed", "shipped", "invoiced", "closed", "cancelled"] = "open"
    currency: CurrencyCode
    customer_reference: str | None = None
    """The buyer's purchase order number."""
    payment_terms: PaymentTerms | None = None
    requested_delivery_date: date | None = None
    bill_to: Address | None = None
    ship_to: Address | None = None
    lines: Annotated[tuple[SalesOrderLine, ...], Field(min_length=1)]
    line_total: Amount
    tax_total: Amount = Decimal(0)
    total_amount: Amount

    @property
    def business_key(self) -> str:
        """The order number."""
        return self.order_number

    def _business_rules(self) -> list[str]:
        out: list[str] = []
        cur = self.currency
        for line_id, count in Counter(line.line_id for line in self.lines).items():
            if count > 1:
                out.append(f"lines: line_id {line_id!r} used {count} times")
        for i, line in enumerate(self.lines):
            expected = line.expected_amount(cur)
            if line.line_amount != expected:
                out.append(f"lines[{i}].line_amount: {decimal_str(line.line_amount)} != {decimal_str(expected)}")
        lines_sum = sum_decimals(line.line_amount for line in self.lines)
        if self.line_total != lines_sum:
            out.append(f"line_total: {decimal_str(self.line_total)} != sum of lines {decimal_str(lines_sum)}")
        total = self.line_total + self.tax_total
        if self.total_amount != total:
            out.append(f"total_amount: {decimal_str(self.total_amount)} != line_total + tax_total {decimal_str(total)}")
        for name in ("line_total", "tax_total", "total_amount"):
            value: Decimal = getattr(self, name)
            if exceeds_minor_units(value, cur):
                out.append(f"{name}: {decimal_str(value)} has more decimals than {cur} allows")
        return out
