"""The legacy ERP simulator's in-memory store: customers, invoices and orders with change versions.

Change feeds list records by (modifiedAt, key) with ``modifiedAt >= since`` and continue with a keyset page
token, the way many ERPs page their change tables. ``add_late`` writes a record whose timestamp lies in the
past, as ERPs with non-monotonic commit timestamps do, which is what the poll's overlap window is for.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from bridge.ports import Clock, SystemClock

__all__ = ["Customer", "ErpStore", "Invoice", "InvoiceLine", "Order", "StoreError"]

T = TypeVar("T")


class StoreError(Exception):
    """A business error the ERP answers with a SOAP fault: ``code`` is the fault sub-code."""

    def __init__(self, code: str, message: str, *, client: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client = client


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    country: str
    email: str | None = None
    tax_id: str | None = None
    change_version: int = 1
    modified_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    external_ref: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    line_no: int
    sku: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    description: str | None = None
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class Invoice:
    invoice_number: str
    customer_id: str
    issue_date: date
    currency: str
    total: Decimal
    status: str = "OPEN"
    lines: tuple[InvoiceLine, ...] = ()
    tax_total: Decimal | None = None
    """As the sender computed it: the store keeps it and checks nothing about it (a billing system's habit)."""
    gross_total: Decimal | None = None
    change_version: int = 1
    modified_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    invoice_id: str = ""

    def content(self) -> tuple[object, ...]:
        """What makes two postings of the same invoice number the same invoice."""
        return (self.customer_id, self.issue_date, self.currency, self.total, self.lines, self.tax_total)


@dataclass(frozen=True)
class Order:
    order_number: str
    customer_id: str
    order_date: date
    currency: str
    total: Decimal
    status: str
    change_version: int
    modified_at: datetime
    lines: tuple[InvoiceLine, ...] = ()


def encode_token(modified_at: datetime, key: str) -> str:
    raw = f"{modified_at.isoformat()}|{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str) -> tuple[datetime, str]:
    try:
        when, key = base64.urlsafe_b64decode(token.encode("ascii")).decode().split("|", 1)
        return datetime.fromisoformat(when), key
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError("InvalidPageToken", f"page token {token!r} is not valid") from exc


@dataclass
class ErpStore:
    """Thread-safe store behind the simulator's operations."""

    clock: Clock = field(default_factory=SystemClock)
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_customer: int = 1
    _next_invoice_id: int = 1

    # ------------------------------------------------------------------ seeding

    def seed(self, *, customers: int = 20, invoices: int = 0, orders: int = 0, start: datetime | None = None) -> None:
        """Deterministic data: invoice i changed at ``start + i seconds``; every 7th invoice has a version 2."""
        start = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        with self._lock:
            for i in range(customers):
                cid = f"CUST-{self._next_customer:05d}"
                self._next_customer += 1
                self.customers[cid] = Customer(
                    cid, f"Customer {i + 1}", "DE", email=f"c{i + 1}@example.com", modified_at=start
                )
            ids = sorted(self.customers) or ["CUST-00000"]
            for i in range(invoices):
                number = f"INV-{i + 1:07d}"
                qty = Decimal(1 + i % 5)
                price = Decimal("19.90")
                line = InvoiceLine(1, f"SKU-{i % 13:03d}", qty, price, qty * price, "Widget")
                self.invoices[number] = Invoice(
                    number,
                    ids[i % len(ids)],
                    date(2026, 1, 5),
                    "EUR",
                    qty * price,
                    "OPEN",
                    (line,),
                    change_version=2 if i % 7 == 0 else 1,
                    modified_at=start + timedelta(seconds=i),
                    invoice_id=self._new_invoice_id(),
                )
            for i in range(orders):
                number = f"ORD-{i + 1:07d}"
                self.orders[number] = Order(
                    number,
                    ids[i % len(ids)],
                    date(2026, 1, 4),
                    "EUR",
                    Decimal("100.00") + i,
                    "CONFIRMED",
                    1,
                    start + timedelta(seconds=i),
                )

    def _new_invoice_id(self) -> str:
        value = f"E{self._next_invoice_id:09d}"
        self._next_invoice_id += 1
        return value

    def add_late(self, number: str, modified_at: datetime) -> Invoice:
        """An invoice committed now with a timestamp in the past (non-monotonic change timestamps)."""
        with self._lock:
            ids = sorted(self.customers) or ["CUST-00000"]
            inv = Invoice(
                number,
                ids[0],
                date(2026, 1, 5),
                "EUR",
                Decimal("42.00"),
                modified_at=modified_at,
                invoice_id=self._new_invoice_id(),
            )
            self.invoices[number] = inv
            return inv

    # ------------------------------------------------------------------ change feeds

    def changed_invoices(self, since: datetime, token: str | None, size: int) -> tuple[list[Invoice], str | None]:
        with self._lock:
            rows = sorted(
                (i for i in self.invoices.values() if i.modified_at >= since),
                key=lambda i: (i.modified_at, i.invoice_number),
            )
        return _page(rows, token, size, lambda i: (i.modified_at, i.invoice_number))

    def changed_orders(self, since: datetime, token: str | None, size: int) -> tuple[list[Order], str | None]:
        with self._lock:
            rows = sorted(
                (o for o in self.orders.values() if o.modified_at >= since),
                key=lambda o: (o.modified_at, o.order_number),
            )
        return _page(rows, token, size, lambda o: (o.modified_at, o.order_number))

    # ------------------------------------------------------------------ customers and invoices

    def get_customer(self, customer_id: str) -> Customer:
        with self._lock:
            found = self.customers.get(customer_id)
        if found is None:
            raise StoreError("NotFound", f"customer {customer_id} does not exist")
        return found

    def upsert_customer(self, customer: Customer) -> tuple[Customer, bool]:
        now = self.clock.now()
        with self._lock:
            existing = self.customers.get(customer.customer_id) if customer.customer_id else None
            if customer.customer_id and existing is None:
                raise StoreError("NotFound", f"customer {customer.customer_id} does not exist")
            if existing is None:
                cid = f"CUST-{self._next_customer:05d}"
                self._next_customer += 1
                stored = replace(customer, customer_id=cid, change_version=1, modified_at=now)
                created = True
            else:
                stored = replace(customer, change_version=existing.change_version + 1, modified_at=now)
                created = False
            self.customers[stored.customer_id] = stored
            return stored, created

    def post_invoice(self, invoice: Invoice) -> tuple[Invoice, bool]:
        """Store an invoice; re-posting the same content is idempotent, different content a client fault."""
        if invoice.total != sum((line.amount for line in invoice.lines), Decimal(0)) and invoice.lines:
            raise StoreError("ValidationFailed", f"total {invoice.total} does not equal the sum of the lines")
        with self._lock:
            if invoice.customer_id not in self.customers:
                raise StoreError("UnknownCustomer", f"customer {invoice.customer_id} does not exist")
            existing = self.invoices.get(invoice.invoice_number)
            if existing is not None:
                if existing.content() == invoice.content():
                    return existing, False
                raise StoreError("DuplicateInvoice", f"invoice {invoice.invoice_number} exists with different content")
            stored = replace(
                invoice,
                status="POSTED",
                change_version=1,
                modified_at=self.clock.now(),
                invoice_id=self._new_invoice_id(),
            )
            self.invoices[stored.invoice_number] = stored
            return stored, True

    def get_invoice(self, number: str) -> Invoice:
        with self._lock:
            found = self.invoices.get(number)
        if found is None:
            raise StoreError("NotFound", f"invoice {number} does not exist")
        return found


def _page(
    rows: list[T], token: str | None, size: int, sort_key: Callable[[T], tuple[datetime, str]]
) -> tuple[list[T], str | None]:
    """One page of ``rows`` after the token's (modifiedAt, key) position, and the next token if more remain."""
    if token:
        after = decode_token(token)
        rows = [r for r in rows if sort_key(r) > after]
    page = rows[:size]
    if len(rows) <= size or not page:
        return page, None
    last = sort_key(page[-1])
    return page, encode_token(last[0], last[1])
