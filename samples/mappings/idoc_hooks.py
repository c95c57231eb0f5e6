"""Hooks of the IDoc mappings (``idoc-invoic02.yaml``, ``idoc-orders05.yaml``): what a qualifier lookup cannot say.

Real IDocs differ from one SAP system to the next: a mapping reads the segments every system writes, and these
hooks settle the rest from the IDoc's own content, never from a guess:

- the basic type: a mapping reads any root element (an extension such as ``ZINV_ARDO`` names the root after
  itself), so the control record's ``IDOCTYP`` must be the mapping's type (a ``function:`` of that field);
- the tax category of a line: SAP tax codes (``MWSKZ``: ``V1``, ``A1``, ``BU``...) are configured per system
  and country, so the shipped table ``codes/sap-tax-codes.csv`` is open: a code it lists gives its EN 16931
  category; an unknown code at a positive rate is standard-rated (``S``: EN 16931 has no other category with
  a rate above zero); an unknown code at 0 % with seller and buyer VAT ids of two EU countries is an
  intra-community supply (``K``: the only zero-rated category that needs both ids, BR-IC-02/03); any other
  unknown zero-rate code fails the record, naming the code and the table to add it to;
- the terms: net days and a cash discount from ``E1EDK18`` (``TAGE``, ``PRZNT``): a term with a percentage is
  the discount, the longest one without is the net period;
- totals SAP leaves out: the net total (``SUMID`` 002) is the gross (011) minus the tax (005) when absent; an
  order's total is its net plus its tax when it states no gross;
- an order response (``MESTYP`` ORDRSP) is a confirmed order, and names its customer as the IDoc's receiver when
  it carries no sold-to (``AG``), bill-to or ship-to partner and its receiver is a customer (``RCVPRT`` KU).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from translators.mapping.compiled import FieldProblem

__all__ = ["invoic02_type", "invoice", "orders05_type", "sales_order"]

#: ISO 3166 codes of the EU member states as VAT id prefixes (Greece writes EL).
_EU_VAT = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"}
)


#: EN 16931's VAT category codes (UNCL5305 subset).
_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "O", "L", "M"})


def _idoc_type(found: str, expected: str) -> str:
    if found != expected:
        raise ValueError(f"IDoc type {found!r} is not {expected}: use that type's mapping")
    return found


def invoic02_type(text: str) -> str:
    """``function:`` of EDI_DC40/IDOCTYP in the INVOIC02 mapping: the control record comes first in an IDoc,
    so an IDoc of another type fails on this before any of its other fields."""
    return _idoc_type(text, "INVOIC02")


def orders05_type(text: str) -> str:
    """``function:`` of EDI_DC40/IDOCTYP in the ORDERS05 mapping (see :func:`invoic02_type`)."""
    return _idoc_type(text, "ORDERS05")


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _intra_community(record: dict[str, Any]) -> bool:
    seller, buyer = record.get("_seller_vat") or "", record.get("_buyer_vat") or ""
    return seller[:2] in _EU_VAT and buyer[:2] in _EU_VAT and seller[:2] != buyer[:2]


def _categories(record: dict[str, Any], key: str) -> None:
    """Each line's ``tax_category`` from its SAP tax code and rate (see the module docstring)."""
    for i, item in enumerate(record.get(key, ())):
        code = item.pop("_sap_tax_code", None)
        mapped = item.pop("_tax_category", None)  # the table passes an unknown code through unchanged
        if code is None:
            continue
        if mapped != code or mapped in _CATEGORIES:
            item["tax_category"] = mapped
            continue
        rate = _decimal(item.get("tax_rate"))
        if rate is not None and rate > 0:
            item["tax_category"] = "S"
        elif rate is not None and _intra_community(record):
            item["tax_category"] = "K"
        else:
            raise FieldProblem(
                f"{key}[{i}].tax_category",
                f"SAP tax code {code!r} at {rate if rate is not None else 'no'} % is not in codes/sap-tax-codes.csv: "
                "add it with its EN 16931 category (Z, E, AE, K, G, O)",
            )


def _terms(record: dict[str, Any]) -> None:
    """Net days and cash discount from the E1EDK18 terms: a term with a percentage is the (first) discount,
    the longest term without one is the net period."""
    terms = record.pop("_terms", None) or []
    discounts = [t for t in terms if (_decimal(t.get("percent")) or 0) > 0 and "days" in t]
    net = [t["days"] for t in terms if not (_decimal(t.get("percent")) or 0) > 0 and "days" in t]
    if not discounts and not net:
        return
    out = record.setdefault("payment_terms", {})
    if net:
        out["net_days"] = max(net)
    if discounts:
        out["discount_percent"], out["discount_days"] = discounts[0]["percent"], discounts[0]["days"]


def invoice(record: dict[str, Any]) -> dict[str, Any]:
    """INVOIC02: check the type, settle the terms, the tax categories and the net total."""
    record.pop("_idoc_type", None)
    _terms(record)
    _categories(record, "lines")
    _categories(record, "allowance_charges")
    if "tax_exclusive_amount" not in record and "tax_inclusive_amount" in record:
        gross, tax = _decimal(record["tax_inclusive_amount"]), _decimal(record.get("tax_total")) or Decimal(0)
        assert gross is not None
        record["tax_exclusive_amount"] = gross - tax
    record.pop("_seller_vat", None)
    record.pop("_buyer_vat", None)
    return record


def sales_order(record: dict[str, Any]) -> dict[str, Any]:
    """ORDERS05 (ORDERS and ORDRSP): check the type, settle the status, the customer and the total."""
    record.pop("_idoc_type", None)
    message = record.pop("_message_type", None)
    receiver = record.pop("_receiver", None)
    receiver_type = record.pop("_receiver_type", None)
    if message == "ORDRSP":
        record["status"] = "confirmed"
        if "customer_id" not in record and receiver is not None and receiver_type == "KU":
            record["customer_id"] = receiver
    _categories(record, "lines")
    if "total_amount" not in record and "line_total" in record:
        net, tax = _decimal(record["line_total"]), _decimal(record.get("tax_total")) or Decimal(0)
        assert net is not None
        record["total_amount"] = net + tax
    return record
