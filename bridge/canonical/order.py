"""Sales orders: the customer's commitment to buy, before invoicing.

The arithmetic is simpler than the invoice's: a line discount, one optional tax total and no tax breakdown.
A UBL 2.1 Order (Peppol BIS Ordering 3) also states allowances and charges, on a line and on the whole order,
and a payable amount after a prepayment and rounding: those fields exist for it, default to zero or empty, and
are left out of a dump while unset, so an order stored before them keeps its canonical JSON and content hash.
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
from .invoice import AllowanceCharge
from .party import Address, PaymentTerms

__all__ = ["SalesOrder", "SalesOrderLine"]


def _unset(value: object) -> bool:
    """Fields added after schema 1.0 was first stored are left out of a dump while unset (zero, empty, None):
    the canonical JSON, and so the content hash and message id of a stored order, stay what they were."""
    return value is None or value == 0 or value == ()


class SalesOrderLine(CanonicalModel):
    """One ordered item: ``line_amount = quantity * unit_price / price_base_quantity - discount_amount``
    ``- allowances + charges`` (the line's ``allowance_charges``, as a UBL OrderLine states them)."""

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
    allowance_charges: Annotated[tuple[AllowanceCharge, ...], Field(exclude_if=_unset)] = ()
    """Allowances and charges on this line (UBL ``cac:LineItem/cac:AllowanceCharge``)."""

    @property
    def business_key(self) -> str:
        """The line id, unique within its order."""
        return self.line_id

    def expected_amount(self, currency: str) -> Decimal:
        """The line amount the quantities and prices imply, rounded to the currency's minor unit."""
        gross = self.quantity * self.unit_price / self.price_base_quantity - self.discount_amount
        for ac in self.allowance_charges:
            gross += ac.signed_amount
        return round_money(gross, currency)


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
    allowance_charges: Annotated[tuple[AllowanceCharge, ...], Field(exclude_if=_unset)] = ()
    """Allowances and charges on the whole order (UBL ``cac:AllowanceCharge``)."""
    allowance_total: Annotated[Amount, Field(exclude_if=_unset)] = Decimal(0)
    charge_total: Annotated[Amount, Field(exclude_if=_unset)] = Decimal(0)
    tax_total: Amount = Decimal(0)
    total_amount: Amount
    """``line_total - allowance_total + charge_total + tax_total`` (UBL TaxInclusiveAmount)."""
    prepaid_amount: Annotated[Amount, Field(exclude_if=_unset)] = Decimal(0)
    rounding_amount: Annotated[Amount, Field(exclude_if=_unset)] = Decimal(0)
    payable_amount: Annotated[Amount | None, Field(exclude_if=_unset)] = None
    """When stated: ``total_amount - prepaid_amount + rounding_amount`` (UBL PayableAmount)."""

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
        if self.allowance_charges:
            allowances = sum_decimals(ac.amount for ac in self.allowance_charges if not ac.is_charge)
            charges = sum_decimals(ac.amount for ac in self.allowance_charges if ac.is_charge)
            if self.allowance_total != allowances:
                out.append(
                    f"allowance_total: {decimal_str(self.allowance_total)} != sum of allowances "
                    f"{decimal_str(allowances)}"
                )
            if self.charge_total != charges:
                out.append(f"charge_total: {decimal_str(self.charge_total)} != sum of charges {decimal_str(charges)}")
        total = self.line_total - self.allowance_total + self.charge_total + self.tax_total
        if self.total_amount != total:
            how = "line_total - allowance_total + charge_total + tax_total"
            if not (self.allowance_total or self.charge_total):
                how = "line_total + tax_total"
            out.append(f"total_amount: {decimal_str(self.total_amount)} != {how} {decimal_str(total)}")
        if self.payable_amount is not None:
            payable = self.total_amount - self.prepaid_amount + self.rounding_amount
            if self.payable_amount != payable:
                out.append(
                    f"payable_amount: {decimal_str(self.payable_amount)} != total_amount - prepaid_amount + "
                    f"rounding_amount {decimal_str(payable)}"
                )
        for name in ("line_total", "tax_total", "total_amount"):
            value: Decimal = getattr(self, name)
            if exceeds_minor_units(value, cur):
                out.append(f"{name}: {decimal_str(value)} has more decimals than {cur} allows")
        return out
