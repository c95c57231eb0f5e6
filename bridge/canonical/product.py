"""Product (item) master data: what can be ordered, invoiced or subscribed to, keyed by SKU."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import RuledModel, register
from ._money import (
    AwareDateTime,
    CurrencyCode,
    NonNegativeAmount,
    TaxCategoryCode,
    TaxRate,
)

__all__ = ["Product"]


@register
class Product(RuledModel):
    """A sellable item; prices here are list prices, documents carry their own agreed prices."""

    sku: Annotated[str, Field(min_length=1)]
    """The ERP's item number."""
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    status: Literal["active", "discontinued", "draft"] = "active"
    unit_code: Annotated[str, Field(min_length=1, max_length=3)] = "EA"
    """UN/ECE Recommendation 20 unit code (EA, HUR, KGM...)."""
    gtin: Annotated[str, Field(pattern=r"^\d{8}$|^\d{12,14}$")] | None = None
    list_price: NonNegativeAmount | None = None
    currency: CurrencyCode | None = None
    tax_category: TaxCategoryCode = "S"
    tax_rate: TaxRate | None = None
    product_group: str | None = None
    updated_at: AwareDateTime | None = None

    @property
    def business_key(self) -> str:
        """The SKU."""
        return self.sku

    def _business_rules(self) -> list[str]:
        if self.list_price is not None and self.currency is None:
            return ["list_price: given without currency"]
        return []
