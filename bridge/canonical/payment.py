"""Payments received from (or made to) a party, and which invoices they settle."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ._base import CanonicalModel, RuledModel, register
from ._money import (
    AwareDateTime,
    CurrencyCode,
    PositiveAmount,
    decimal_str,
    exceeds_minor_units,
    sum_decimals,
)

__all__ = ["Payment", "PaymentAllocation"]


class PaymentAllocation(CanonicalModel):
    """The part of a payment applied to one invoice (or credit note)."""

    invoice_number: Annotated[str, Field(min_length=1)]
    amount: PositiveAmount

    @property
    def business_key(self) -> str:
        """The settled invoice's number."""
        return self.invoice_number


@register
class Payment(RuledModel):
    """A payment; its allocations may leave part of it unapplied, never more than it."""

    payment_id: Annotated[str, Field(min_length=1)]
    direction: Literal["incoming", "outgoing"] = "incoming"
    status: Literal["pending", "completed", "failed", "refunded", "cancelled"] = "completed"
    customer_id: str | None = None
    """Customer number of the paying (or paid) party."""
    amount: PositiveAmount
    currency: CurrencyCode
    value_date: date
    received_at: AwareDateTime | None = None
    method: Literal["bank_transfer", "card", "direct_debit", "cash", "cheque", "other"]
    reference: str | None = None
    """Remittance information as given by the payer."""
    bank_reference: str | None = None
    allocations: tuple[PaymentAllocation, ...] = ()

    @property
    def business_key(self) -> str:
        """The payment id."""
        return self.payment_id

    @property
    def unallocated_amount(self) -> Decimal:
        """What is left after the allocations (on account)."""
        return self.amount - sum_decimals(a.amount for a in self.allocations)

    def _business_rules(self) -> list[str]:
        out: list[str] = []
        for number, count in Counter(a.invoice_number for a in self.allocations).items():
            if count > 1:
                out.append(f"allocations: invoice {number!r} allocated {count} times")
        allocated = sum_decimals(a.amount for a in self.allocations)
        if allocated > self.amount:
            out.append(f"allocations: sum {decimal_str(allocated)} > amount {decimal_str(self.amount)}")
        for path, value in [("amount", self.amount)] + [
            (f"allocations[{i}].amount", a.amount) for i, a in enumerate(self.allocations)
        ]:
            if exceeds_minor_units(value, self.currency):
                out.append(f"{path}: {decimal_str(value)} has more decimals than {self.currency} allows")
        return out
