"""XML of the legacy ERP simulator: request elements -> store calls -> response elements, and SOAP envelopes.

Requests are parsed by the adapter's hardened parser (``adapters.legacy.soap_xml``); responses are built with
lxml element makers in the namespaces of ``wsdl/schemas``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree
from lxml.builder import ElementMaker

from adapters.legacy.soap_xml import SOAP11_NS, SOAP12_NS
from samples.legacy_erp.store import Customer, ErpStore, Invoice, InvoiceLine, Order, StoreError

__all__ = ["COMMON_NS", "MESSAGES_NS", "dispatch", "envelope", "fault_envelope"]

MESSAGES_NS = "http://erp.example.com/ws/2009/messages"
COMMON_NS = "http://erp.example.com/ws/2009/common"
M = ElementMaker(namespace=MESSAGES_NS, nsmap={"m": MESSAGES_NS, "c": COMMON_NS})
C = ElementMaker(namespace=COMMON_NS, nsmap={"c": COMMON_NS})
MAX_PAGE = 5000


def _text(el: etree._Element, path: str, *, required: bool = True) -> str | None:
    found = el.find(path, {"m": MESSAGES_NS, "c": COMMON_NS})
    value = found.text.strip() if found is not None and found.text else None
    if required and value is None:
        raise StoreError("ValidationFailed", f"{path} is required")
    return value


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "")
    except InvalidOperation as exc:
        raise StoreError("ValidationFailed", f"{value!r} is not a decimal") from exc


def _optional_decimal(value: str | None) -> Decimal | None:
    return None if value is None else _decimal(value)


def _when(value: str | None) -> datetime:
    try:
        parsed = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError as exc:
        raise StoreError("ValidationFailed", f"{value!r} is not a dateTime") from exc
    if parsed.tzinfo is None:
        raise StoreError("ValidationFailed", f"{value!r} has no time zone")
    return parsed


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _opt(maker: ElementMaker, name: str, value: object | None) -> list[etree._Element]:
    return [] if value is None else [getattr(maker, name)(str(value))]


def customer_xml(c: Customer, tag: str = "customer") -> etree._Element:
    return getattr(M, tag)(
        C.customerId(c.customer_id),
        C.name(c.name),
        *_opt(C, "email", c.email),
        C.country(c.country),
        *_opt(C, "taxId", c.tax_id),
        *_opt(C, "externalRef", c.external_ref),
        C.changeVersion(str(c.change_version)),
        C.modifiedAt(_iso(c.modified_at)),
    )


def _line_xml(ln: InvoiceLine) -> etree._Element:
    return C.line(
        C.lineNo(str(ln.line_no)),
        C.sku(ln.sku),
        *_opt(C, "description", ln.description),
        C.quantity(str(ln.quantity)),
        C.unitPrice(str(ln.unit_price)),
        C.amount(str(ln.amount)),
        *_opt(C, "taxRate", ln.tax_rate),
    )


def invoice_xml(i: Invoice, tag: str = "invoice") -> etree._Element:
    lines = [_line_xml(ln) for ln in i.lines]
    return getattr(M, tag)(
        C.invoiceNumber(i.invoice_number),
        C.customerId(i.customer_id),
        C.issueDate(i.issue_date.isoformat()),
        C.currency(i.currency),
        C.total(str(i.total)),
        *_opt(C, "taxTotal", i.tax_total),
        *_opt(C, "grossTotal", i.gross_total),
        C.status(i.status),
        *lines,
        C.changeVersion(str(i.change_version)),
        C.modifiedAt(_iso(i.modified_at)),
    )


def order_xml(o: Order) -> etree._Element:
    return M.order(
        C.orderNumber(o.order_number),
        C.customerId(o.customer_id),
        C.orderDate(o.order_date.isoformat()),
        C.currency(o.currency),
        C.total(str(o.total)),
        C.status(o.status),
        *[_line_xml(ln) for ln in o.lines],
        C.changeVersion(str(o.change_version)),
        C.modifiedAt(_iso(o.modified_at)),
    )


def _read_customer(el: etree._Element) -> Customer:
    return Customer(
        customer_id=_text(el, "c:customerId", required=False) or "",
        name=_text(el, "c:name") or "",
        country=_text(el, "c:country") or "",
        email=_text(el, "c:email", required=False),
        tax_id=_text(el, "c:taxId", required=False),
        external_ref=_text(el, "c:externalRef", required=False),
    )


def _read_invoice(el: etree._Element) -> Invoice:
    lines = tuple(
        InvoiceLine(
            int(_text(ln, "c:lineNo") or 0),
            _text(ln, "c:sku") or "",
            _decimal(_text(ln, "c:quantity")),
            _decimal(_text(ln, "c:unitPrice")),
            _decimal(_text(ln, "c:amount")),
            _text(ln, "c:description", required=False),
            _optional_decimal(_text(ln, "c:taxRate", required=False)),
        )
        for ln in el.findall("c:line", {"c": COMMON_NS})
    )
    try:
        issued = date.fromisoformat(_text(el, "c:issueDate") or "")
    except ValueError as exc:
        raise StoreError("ValidationFailed", "issueDate is not a date") from exc
    return Invoice(
        invoice_number=_text(el, "c:invoiceNumber") or "",
        customer_id=_text(el, "c:customerId") or "",
        issue_date=issued,
        currency=_text(el, "c:currency") or "",
        total=_decimal(_text(el, "c:total")),
        lines=lines,
        tax_total=_optional_decimal(_text(el, "c:taxTotal", required=False)),
        gross_total=_optional_decimal(_text(el, "c:grossTotal", required=False)),
    )


def _page_args(body: etree._Element) -> tuple[datetime, str | None, int]:
    size = int(_text(body, "m:pageSize", required=False) or 100)
    if not 0 < size <= MAX_PAGE:
        raise StoreError("ValidationFailed", f"pageSize must be 1..{MAX_PAGE}")
    return _when(_text(body, "m:since")), _text(body, "m:pageToken", required=False), size


def dispatch(store: ErpStore, body: etree._Element, now: datetime) -> etree._Element:
    """Run the operation named by the body element; business errors raise :class:`StoreError`."""
    op = etree.QName(body)
    if op.namespace != MESSAGES_NS:
        raise StoreError("UnknownOperation", f"no operation {body.tag}")
    name = op.localname
    if name == "GetChangedInvoices":
        since, token, size = _page_args(body)
        invoices, next_token = store.changed_invoices(since, token, size)
        return M.GetChangedInvoicesResponse(
            M.invoices(*(invoice_xml(i) for i in invoices)), *_opt(M, "nextPageToken", next_token), M.asOf(_iso(now))
        )
    if name == "GetChangedOrders":
        since, token, size = _page_args(body)
        orders, next_token = store.changed_orders(since, token, size)
        return M.GetChangedOrdersResponse(
            M.orders(*(order_xml(o) for o in orders)), *_opt(M, "nextPageToken", next_token), M.asOf(_iso(now))
        )
    if name == "GetCustomer":
        return M.GetCustomerResponse(customer_xml(store.get_customer(_text(body, "m:customerId") or "")))
    if name == "UpsertCustomer":
        el = body.find("m:customer", {"m": MESSAGES_NS})
        if el is None:
            raise StoreError("ValidationFailed", "customer is required")
        stored, created = store.upsert_customer(_read_customer(el))
        return M.UpsertCustomerResponse(
            M.customerId(stored.customer_id),
            M.created(str(created).lower()),
            M.changeVersion(str(stored.change_version)),
        )
    if name == "PostInvoice":
        el = body.find("m:invoice", {"m": MESSAGES_NS})
        if el is None:
            raise StoreError("ValidationFailed", "invoice is required")
        stored_inv, _ = store.post_invoice(_read_invoice(el))
        return M.PostInvoiceResponse(M.invoiceId(stored_inv.invoice_id), M.status(stored_inv.status))
    if name == "GetInvoice":
        return M.GetInvoiceResponse(invoice_xml(store.get_invoice(_text(body, "m:invoiceNumber") or "")))
    raise StoreError("UnknownOperation", f"no operation {name}")


def envelope(soap_ns: str, body: etree._Element | None) -> etree._Element:
    env = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soap": soap_ns})
    b = etree.SubElement(env, f"{{{soap_ns}}}Body")
    if body is not None:
        b.append(body)
    return env


def fault_envelope(
    soap_ns: str, code: str, message: str, *, client: bool, subcode_ns: str = MESSAGES_NS, subcode_prefix: str = "erp"
) -> etree._Element:
    """A SOAP fault in the envelope's version: 1.1 ``soap:Client.<code>``, 1.2 Sender/Receiver + Subcode."""
    detail = M.ErpFault(M.code(code), M.message(message))
    if soap_ns == SOAP11_NS:
        fault = etree.Element(f"{{{soap_ns}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap:{'Client' if client else 'Server'}.{code}"
        etree.SubElement(fault, "faultstring").text = f"{code}: {message}"
        etree.SubElement(fault, "detail").append(detail)
        return envelope(soap_ns, fault)
    assert soap_ns == SOAP12_NS
    fault = etree.Element(f"{{{soap_ns}}}Fault", nsmap={subcode_prefix: subcode_ns})
    code_el = etree.SubElement(fault, f"{{{soap_ns}}}Code")
    etree.SubElement(code_el, f"{{{soap_ns}}}Value").text = f"soap:{'Sender' if client else 'Receiver'}"
    sub = etree.SubElement(code_el, f"{{{soap_ns}}}Subcode")
    etree.SubElement(sub, f"{{{soap_ns}}}Value").text = f"{subcode_prefix}:{code}"
    reason = etree.SubElement(fault, f"{{{soap_ns}}}Reason")
    text = etree.SubElement(reason, f"{{{soap_ns}}}Text")
    text.text = f"{code}: {message}"
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    etree.SubElement(fault, f"{{{soap_ns}}}Detail").append(detail)
    return envelope(soap_ns, fault)
