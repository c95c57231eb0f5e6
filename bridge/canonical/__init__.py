"""Canonical business models shared by every translator, adapter projection and comparison.

Pydantic v2, frozen, exact (``Decimal`` money with an ISO-4217 currency, timezone-aware datetimes), each
with a ``business_key`` and a ``schema_version``. Validate inbound data with :func:`validate_strict` and data
read back from a target with :func:`validate_observed`. Depends on nothing else of ours; does no I/O.
"""

from ._base import (
    MODELS,
    CanonicalModel,
    ValidationMode,
    json_schemas,
    load_stored,
    model_for,
    validate_observed,
    validate_strict,
)
from ._money import (
    ISO_4217_CODES,
    Amount,
    AwareDateTime,
    CountryCode,
    CurrencyCode,
    Quantity,
    TaxCategoryCode,
    TaxRate,
    minor_units,
    round_half_up,
    round_money,
)
from .content import (
    canonical_json,
    content_hash,
    keyed_payload_and_hash,
    legacy_content_hash,
    payload_and_hash,
    value_text,
    value_tree,
)
from .invoice import AllowanceCharge, Invoice, InvoiceLine, TaxLine, TaxRounding
from .order import SalesOrder, SalesOrderLine
from .party import Address, Contact, Customer, PaymentTerms
from .payment import Payment, PaymentAllocation
from .product import Product
from .subscription import BillingPeriod, Subscription, SubscriptionItem

__all__ = [
    "ISO_4217_CODES",
    "MODELS",
    "Address",
    "AllowanceCharge",
    "Amount",
    "AwareDateTime",
    "BillingPeriod",
    "CanonicalModel",
    "Contact",
    "CountryCode",
    "CurrencyCode",
    "Customer",
    "Invoice",
    "InvoiceLine",
    "Payment",
    "PaymentAllocation",
    "PaymentTerms",
    "Product",
    "Quantity",
    "SalesOrder",
    "SalesOrderLine",
    "Subscription",
    "SubscriptionItem",
    "TaxCategoryCode",
    "TaxLine",
    "TaxRate",
    "TaxRounding",
    "ValidationMode",
    "canonical_json",
    "content_hash",
    "json_schemas",
    "keyed_payload_and_hash",
    "legacy_content_hash",
    "load_stored",
    "minor_units",
    "model_for",
    "payload_and_hash",
    "round_half_up",
    "round_money",
    "validate_observed",
    "validate_strict",
    "value_text",
    "value_tree",
]
