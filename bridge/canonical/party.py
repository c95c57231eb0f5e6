"""Customer master data: the customer, its addresses, contacts and agreed payment terms.

No business arithmetic lives here; the rules are about identity and uniqueness only.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from ._base import CanonicalModel, RuledModel, register
from ._money import (
    AwareDateTime,
    CountryCode,
    CurrencyCode,
    NonNegativeAmount,
    TaxRate,
)

__all__ = ["Address", "Contact", "Customer", "PaymentTerms"]

NonEmpty = Annotated[str, Field(min_length=1)]


class PaymentTerms(RuledModel):
    """When a party pays: net days and an optional early-payment discount (UBL PaymentTerms)."""

    code: str | None = None
    """ERP terms code, e.g. "NET30"."""
    net_days: Annotated[int, Field(ge=0)] | None = None
    discount_percent: TaxRate | None = None
    discount_days: Annotated[int, Field(ge=0)] | None = None
    description: str | None = None

    @property
    def business_key(self) -> str:
        """The terms code, or a synthesised one such as "NET30"."""
        return self.code or f"NET{self.net_days if self.net_days is not None else ''}"

    def _business_rules(self) -> list[str]:
        if (self.discount_percent is None) != (self.discount_days is None):
            return ["discount_percent/discount_days: both or neither must be given"]
        return []


class Address(CanonicalModel):
    """A postal address of a party, tagged with what it is used for."""

    kind: Literal["billing", "shipping", "registered", "other"] = "billing"
    lines: Annotated[tuple[str, ...], Field(max_length=4)] = ()
    """Street lines, most specific first (none: EN 16931 asks only for the country of a postal address)."""
    city: NonEmpty | None = None
    postal_code: str | None = None
    region: str | None = None
    country: CountryCode

    @property
    def business_key(self) -> str:
        """Use, country and postal code: enough to pair one party's addresses across two systems."""
        return f"{self.kind}:{self.country}:{self.postal_code or ''}"


class Contact(CanonicalModel):
    """A person or function to reach at the customer."""

    name: NonEmpty
    role: str | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: str | None = None

    @property
    def business_key(self) -> str:
        """E-mail when known (stable across systems), else the name."""
        return (self.email or self.name).lower()


@register
class Customer(RuledModel):
    """A customer (buyer party) as the ERP knows it; ``customer_number`` is the ERP's identity."""

    customer_number: NonEmpty
    name: NonEmpty
    legal_name: str | None = None
    status: Literal["active", "inactive", "blocked"] = "active"
    tax_id: str | None = None
    """VAT or other tax registration id."""
    company_id: str | None = None
    """Legal registration id (chamber of commerce, SIREN...)."""
    currency: CurrencyCode | None = None
    """Default invoicing currency."""
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None
    payment_terms: PaymentTerms | None = None
    credit_limit: NonNegativeAmount | None = None
    addresses: tuple[Address, ...] = ()
    contacts: tuple[Contact, ...] = ()
    customer_since: date | None = None
    updated_at: AwareDateTime | None = None

    @property
    def business_key(self) -> str:
        """The customer number."""
        return self.customer_number

    def _business_rules(self) -> list[str]:
        out: list[str] = []
        if self.credit_limit is not None and self.currency is None:
            out.append("credit_limit: given without currency")
        if len(self.addresses) > 1:  # most customers have one address: skip the Counter (per-record hot path)
            for kind, count in Counter(a.kind for a in self.addresses).items():
                if count > 1 and kind in ("billing", "registered"):
                    out.append(f"addresses: {count} addresses of kind {kind!r}, at most 1 allowed")
        return out
