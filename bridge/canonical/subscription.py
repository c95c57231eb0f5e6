"""Subscriptions: recurring billing of plan items for a customer."""

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
    TaxCategoryCode,
    TaxRate,
    decimal_str,
    round_money,
    sum_decimals,
)
from .party import PaymentTerms

__all__ = ["BillingPeriod", "Subscription", "SubscriptionItem"]

BillingPeriod = Literal["day", "week", "month", "quarter", "year"]


class SubscriptionItem(CanonicalModel):
    """One recurring charge of a subscription: quantity times unit price, per billing period."""

    item_id: Annotated[str, Field(min_length=1)]
    product_id: Annotated[str, Field(min_length=1)]
    """SKU of the subscribed product or plan component."""
    description: str | None = None
    quantity: PositiveQuantity
    unit_price: NonNegativeAmount
    tax_category: TaxCategoryCode | None = None
    tax_rate: TaxRate | None = None

    @property
    def business_key(self) -> str:
        """The item id, unique within its subscription."""
        return self.item_id


@register
class Subscription(RuledModel):
    """A customer's subscription to a plan, billed every ``billing_interval`` ``billing_period``s."""

    subscription_id: Annotated[str, Field(min_length=1)]
    customer_id: Annotated[str, Field(min_length=1)]
    plan_code: Annotated[str, Field(min_length=1)]
    status: Literal["trialing", "active", "paused", "past_due", "cancelled", "expired"] = "active"
    currency: CurrencyCode
    billing_period: BillingPeriod
    billing_interval: Annotated[int, Field(ge=1)] = 1
    start_date: date
    end_date: date | None = None
    trial_end_date: date | None = None
    next_billing_date: date | None = None
    cancelled_at: AwareDateTime | None = None
    payment_terms: PaymentTerms | None = None
    items: Annotated[tuple[SubscriptionItem, ...], Field(min_length=1)]
    recurring_amount: Amount | None = None
    """Net amount per billing period, if the source states it; checked against the items."""

    @property
    def business_key(self) -> str:
        """The subscription id."""
        return self.subscription_id

    def expected_recurring_amount(self) -> Decimal:
        """Net amount per period implied by the items, each rounded to the currency's minor unit."""
        return sum_decimals(round_money(i.quantity * i.unit_price, self.currency) for i in self.items)

    def _business_rules(self) -> list[str]:
        out: list[str] = []
        if self.end_date is not None and self.end_date < self.start_date:
            out.append(f"end_date: {self.end_date} is before start_date {self.start_date}")
        for item_id, count in Counter(i.item_id for i in self.items).items():
            if count > 1:
                out.append(f"items: item_id {item_id!r} used {count} times")
        if self.recurring_amount is not None:
            expected = self.expected_recurring_amount()
            if self.recurring_amount != expected:
                out.append(
                    f"recurring_amount: {decimal_str(self.recurring_amount)} != sum of items {decimal_str(expected)}"
                )
        return out
