"""Canonical Invoice -> UN/CEFACT CII D16B (Factur-X / ZUGFeRD 2.x profile EN 16931 or EXTENDED), kind ``cii``.

Written in code, not by the CII mapping read in reverse: CII needs what a mapping's reverse cannot say (the
document context, constant ``VAT`` tax type codes, the flat line list with ``ParentLineID`` that the
canonical sub-lines become, the tax total with its currency). Elements are written in the order of the
schema, so the output validates against the Factur-X XSDs of its profile; the tests check it, and decode
it again with ``samples/mappings/cii-invoice.yaml`` to the same canonical invoice.

What the canonical invoice does not carry is not invented: an item without a name takes its description
(BT-153 is mandatory), else the record is refused; a sub-line without quantity or price is written without
them (EXTENDED allows it); a document type that is not a UNCL1001 code (UBL 2.0 free text) is written as 380
or 381 by the kind; the payment terms keep their description and the due date only; sub-lines need the
EXTENDED profile (EN 16931 has no line hierarchy) and are refused in profile ``en16931`` instead of being
dropped. The seller is written with its id only (the canonical invoice has no seller name or address).
Pure: record in, bytes out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from lxml import etree

from bridge.ports import EncodeContext, Encoded, EncodeError, Location

__all__ = ["GUIDELINES", "CiiInvoiceEncoder"]

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
_NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT}

Profile = Literal["en16931", "extended"]
#: BT-24, the specification identifier each profile writes.
GUIDELINES: dict[str, str] = {
    "en16931": "urn:cen.eu:en16931:2017",
    "extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
}


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _sub(parent: Any, name: str, text: str | None = None, ns: str = RAM, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs or None)
    if text is not None:
        element.text = text
    return element


def _opt(parent: Any, name: str, value: object) -> None:
    """A leaf only when the value is given."""
    if value is None:
        return
    _sub(parent, name, _amount(value) if isinstance(value, Decimal) else str(value))


def _date(parent: Any, name: str, value: date) -> None:
    _sub(_sub(parent, name), "DateTimeString", value.strftime("%Y%m%d"), ns=UDT, format="102")


def _tax(parent: Any, name: str, category: str, rate: Decimal | None, **amounts: Decimal | str | None) -> None:
    """A TradeTax in schema order: CalculatedAmount, TypeCode, ExemptionReason, BasisAmount, CategoryCode, rate."""
    tax = _sub(parent, name)
    _opt(tax, "CalculatedAmount", amounts.get("calculated"))
    _sub(tax, "TypeCode", "VAT")
    _opt(tax, "ExemptionReason", amounts.get("exemption_reason"))
    _opt(tax, "BasisAmount", amounts.get("basis"))
    _sub(tax, "CategoryCode", category)
    if category != "O" and rate is not None:  # category O carries no rate (BR-O-05)
        _sub(tax, "RateApplicablePercent", _amount(rate))


def _allowance_charge(parent: Any, ac: Any, with_tax: bool) -> None:
    element = _sub(parent, "SpecifiedTradeAllowanceCharge")
    _sub(_sub(element, "ChargeIndicator"), "Indicator", "true" if ac.is_charge else "false", ns=UDT)
    _opt(element, "CalculationPercent", ac.percent)
    _opt(element, "BasisAmount", ac.base_amount)
    _sub(element, "ActualAmount", _amount(ac.amount))
    _opt(element, "ReasonCode", ac.reason_code)
    _opt(element, "Reason", ac.reason)
    if with_tax and ac.tax_category is not None:
        _tax(element, "CategoryTradeTax", ac.tax_category, ac.tax_rate)


def _type_code(invoice: Any) -> str:
    """BT-3 as sent when it is a UNCL1001 code; UBL 2.0's free text (``SalesInvoice``) says only the kind."""
    code = invoice.document_type
    if code is not None and code.isdigit():
        return str(code)
    return "381" if invoice.kind == "credit_note" else "380"


def _flat_lines(lines: Any, parent_id: str | None = None) -> Iterator[tuple[Any, str | None]]:
    """Each line and sub-line with its parent's id, depth first in document order (CII lines are flat)."""
    for line in lines:
        yield line, parent_id
        yield from _flat_lines(line.sub_lines, line.line_id)


class CiiInvoiceEncoder:
    """Encoder kind ``cii`` (implements ``bridge.ports.Encoder``): one CrossIndustryInvoice per record."""

    def __init__(self, *, profile: Profile = "en16931", pretty: bool = False) -> None:
        if profile not in GUIDELINES:
            raise ValueError(f"unknown CII profile {profile!r}; expected one of {', '.join(GUIDELINES)}")
        self.profile = profile
        self.pretty = pretty

    def render(self, invoice: Any) -> bytes:
        """The CII document bytes for one canonical Invoice; EncodeError names what cannot be written."""
        root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=_NSMAP)
        context = _sub(root, "ExchangedDocumentContext", ns=RSM)
        _sub(_sub(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINES[self.profile])
        document = _sub(root, "ExchangedDocument", ns=RSM)
        _sub(document, "ID", invoice.invoice_number)
        _sub(document, "TypeCode", _type_code(invoice))
        _date(document, "IssueDateTime", invoice.issue_date)
        for note in (invoice.note or "").split("\n") if invoice.note else ():
            _sub(_sub(document, "IncludedNote"), "Content", note)
        transaction = _sub(root, "SupplyChainTradeTransaction", ns=RSM)
        for index, (line, parent_id) in enumerate(_flat_lines(invoice.lines)):
            self._line(transaction, line, parent_id, index)
        self._agreement(transaction, invoice)
        _sub(transaction, "ApplicableHeaderTradeDelivery")
        self._settlement(transaction, invoice)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=self.pretty))

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Render ``record``; the suggested file name is derived from the message id (idempotent drops)."""
        return Encoded(self.render(record), "application/xml", name=f"{context.message_id}.xml")

    def _line(self, transaction: Any, line: Any, parent_id: str | None, index: int) -> None:
        hierarchical = parent_id is not None or bool(line.sub_lines)
        if hierarchical and self.profile != "extended":
            raise EncodeError(
                f"line {line.line_id!r} has sub-lines: CII profile {self.profile} has no line hierarchy "
                "(ParentLineID); use profile extended",
                location=Location(field=f"lines[{index}].sub_lines"),
            )
        name = line.name or line.description
        if name is None:
            raise EncodeError(
                f"line {line.line_id!r} has neither name nor description: CII needs the item name (BT-153)",
                location=Location(field=f"lines[{index}].name"),
            )
        item = _sub(transaction, "IncludedSupplyChainTradeLineItem")
        head = _sub(item, "AssociatedDocumentLineDocument")
        _sub(head, "LineID", line.line_id)
        if hierarchical:
            _opt(head, "ParentLineID", parent_id)
            _sub(head, "LineStatusReasonCode", "GROUP" if line.sub_lines else "DETAIL")
        product = _sub(item, "SpecifiedTradeProduct")
        _opt(product, "SellerAssignedID", line.product_id)
        _sub(product, "Name", name)
        if line.name is not None:
            _opt(product, "Description", line.description)
        agreement = _sub(item, "SpecifiedLineTradeAgreement")
        if line.order_line_reference is not None:
            _sub(_sub(agreement, "BuyerOrderReferencedDocument"), "LineID", line.order_line_reference)
        if line.unit_price is not None:  # a group sub-line may state none (EXTENDED only: never invented)
            price = _sub(agreement, "NetPriceProductTradePrice")
            _sub(price, "ChargeAmount", _amount(line.unit_price))
            if line.price_base_quantity != 1:
                _sub(price, "BasisQuantity", _amount(line.price_base_quantity), unitCode=line.unit_code)
        delivery = _sub(item, "SpecifiedLineTradeDelivery")
        if line.quantity is not None:
            _sub(delivery, "BilledQuantity", _amount(line.quantity), unitCode=line.unit_code)
        settlement = _sub(item, "SpecifiedLineTradeSettlement")
        _tax(settlement, "ApplicableTradeTax", line.tax_category, line.tax_rate)
        if line.period_start is not None or line.period_end is not None:
            period = _sub(settlement, "BillingSpecifiedPeriod")
            if line.period_start is not None:
                _date(period, "StartDateTime", line.period_start)
            if line.period_end is not None:
                _date(period, "EndDateTime", line.period_end)
        for ac in line.allowance_charges:
            _allowance_charge(settlement, ac, with_tax=False)
        summation = _sub(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
        _sub(summation, "LineTotalAmount", _amount(line.line_extension_amount))

    def _agreement(self, transaction: Any, invoice: Any) -> None:
        agreement = _sub(transaction, "ApplicableHeaderTradeAgreement")
        _opt(agreement, "BuyerReference", invoice.buyer_reference)
        seller = _sub(agreement, "SellerTradeParty")
        _opt(seller, "ID", invoice.supplier_id)
        buyer = _sub(agreement, "BuyerTradeParty")
        _sub(buyer, "ID", invoice.customer_id)
        address = invoice.bill_to
        if address is not None:
            postal = _sub(buyer, "PostalTradeAddress")
            _opt(postal, "PostcodeCode", address.postal_code)
            for name, text in zip(("LineOne", "LineTwo", "LineThree"), address.lines, strict=False):
                _sub(postal, name, text)
            _opt(postal, "CityName", address.city)
            _sub(postal, "CountryID", address.country)
            _opt(postal, "CountrySubDivisionName", address.region)
        if invoice.order_reference is not None:
            _sub(_sub(agreement, "BuyerOrderReferencedDocument"), "IssuerAssignedID", invoice.order_reference)

    def _settlement(self, transaction: Any, invoice: Any) -> None:
        settlement = _sub(transaction, "ApplicableHeaderTradeSettlement")
        _sub(settlement, "InvoiceCurrencyCode", invoice.currency)
        for tl in invoice.tax_lines:
            _tax(
                settlement,
                "ApplicableTradeTax",
                tl.tax_category,
                tl.tax_rate,
                calculated=tl.tax_amount,
                basis=tl.taxable_amount,
                exemption_reason=tl.exemption_reason,
            )
        for ac in invoice.allowance_charges:
            _allowance_charge(settlement, ac, with_tax=True)
        terms = invoice.payment_terms
        if (terms is not None and terms.description) or invoice.due_date is not None:
            element = _sub(settlement, "SpecifiedTradePaymentTerms")
            _opt(element, "Description", terms.description if terms is not None else None)
            if invoice.due_date is not None:
                _date(element, "DueDateDateTime", invoice.due_date)
        summation = _sub(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
        _sub(summation, "LineTotalAmount", _amount(invoice.line_extension_total))
        _sub(summation, "ChargeTotalAmount", _amount(invoice.charge_total))
        _sub(summation, "AllowanceTotalAmount", _amount(invoice.allowance_total))
        _sub(summation, "TaxBasisTotalAmount", _amount(invoice.tax_exclusive_amount))
        _sub(summation, "TaxTotalAmount", _amount(invoice.tax_total), currencyID=invoice.currency)
        if invoice.rounding_amount:
            _sub(summation, "RoundingAmount", _amount(invoice.rounding_amount))
        _sub(summation, "GrandTotalAmount", _amount(invoice.tax_inclusive_amount))
        if invoice.prepaid_amount:
            _sub(summation, "TotalPrepaidAmount", _amount(invoice.prepaid_amount))
        _sub(summation, "DuePayableAmount", _amount(invoice.payable_amount))
        if invoice.billing_reference is not None:
            _sub(_sub(settlement, "InvoiceReferencedDocument"), "IssuerAssignedID", invoice.billing_reference)
