"""Hypothesis strategies for valid canonical documents, totals computed independently of the models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from bridge.canonical import Customer, Invoice, Payment, Product, SalesOrder, Subscription

_ALPHABET = "ABCXYZabcxyz0129 ,;\"'&<>/-äéß€"
_EDGE = "ABCXYZabcxyz0129äéß€"

texts = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(_EDGE),
    st.text(alphabet=_ALPHABET, max_size=8),
    st.sampled_from(_EDGE),
) | st.sampled_from(_EDGE)
codes = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=10).filter(lambda s: s.strip("-") == s)
currencies = st.sampled_from(["EUR", "USD", "CHF", "GBP"])
money = st.decimals(min_value=0, max_value=100_000, places=2)
small_money = st.decimals(min_value=0, max_value=50, places=2)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=1000, places=3)
rates = st.sampled_from([Decimal(0), Decimal(7), Decimal(19), Decimal("5.5"), Decimal(20)])
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31))
zones = st.sampled_from(
    [UTC, ZoneInfo("Europe/Berlin"), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
datetimes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1), timezones=zones)
units = st.sampled_from(["EA", "HUR", "KGM"])


def _r(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


terms = st.builds(
    lambda code, days, disc, desc: {
        "code": code,
        "net_days": days,
        "discount_percent": disc[0] if disc else None,
        "discount_days": disc[1] if disc else None,
        "description": desc,
    },
    st.sampled_from(["NET14", "NET30", "NET60"]),  # an all-empty terms object is "no terms" in flat formats
    maybe(st.integers(0, 120)),
    maybe(st.tuples(st.sampled_from([Decimal(2), Decimal("2.5")]), st.integers(1, 20))),
    maybe(texts),
)


def addresses(kind: str | None = None, max_lines: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda k, lines, city, pc, region, country: {
            "kind": k,
            "lines": lines,
            "city": city,
            "postal_code": pc,
            "region": region,
            "country": country,
        },
        st.just(kind) if kind else st.sampled_from(["billing", "shipping", "registered", "other"]),
        st.lists(texts, min_size=1, max_size=max_lines),
        texts,
        maybe(codes),
        maybe(texts),
        st.sampled_from(["DE", "FR", "CH", "US"]),
    )


@st.composite
def invoices(draw: st.DrawFn, *, flat: bool = False, ubl: bool = False) -> Invoice:
    """A valid invoice; ``flat`` leaves out nested lists CSV cannot carry, ``ubl`` keeps to what UBL maps."""
    cur = draw(currencies)
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    lines = []
    for i in range(draw(st.integers(1, 4))):
        qty, price, rate = draw(quantities), draw(money), draw(rates)
        base = draw(st.sampled_from([Decimal(1), Decimal(10)]))
        acs = (
            []
            if flat
            else draw(
                st.lists(
                    st.builds(
                        lambda c, a, r: {"is_charge": c, "amount": a, "reason": r},
                        st.booleans(),
                        small_money,
                        maybe(texts),
                    ),
                    max_size=2,
                )
            )
        )
        net = _r(qty * price / base + sum((a["amount"] if a["is_charge"] else -a["amount"] for a in acs), Decimal(0)))
        cat = "S" if rate else "Z"
        taxable[(cat, rate)] = taxable.get((cat, rate), Decimal(0)) + net
        lines.append(
            {
                "line_id": str(i + 1),
                "product_id": draw(maybe(codes)),
                "description": draw(maybe(texts)),
                "quantity": qty,
                "unit_code": draw(units),
                "unit_price": price,
                "price_base_quantity": base,
                "allowance_charges": acs,
                "line_extension_amount": net,
                "tax_category": cat,
                "tax_rate": rate,
                "order_line_reference": draw(maybe(codes)),
                "period_start": draw(maybe(dates)),
                "period_end": draw(maybe(dates)),
            }
        )
    doc_acs = []
    if not flat:
        keys = sorted(taxable)
        for _ in range(draw(st.integers(0, 2))):
            cat, rate = draw(st.sampled_from(keys))
            ac = {
                "is_charge": draw(st.booleans()),
                "amount": draw(small_money),
                "reason": draw(maybe(texts)),
                "reason_code": draw(maybe(codes)),
                "tax_category": cat,
                "tax_rate": rate,
            }
            taxable[(cat, rate)] += ac["amount"] if ac["is_charge"] else -ac["amount"]
            doc_acs.append(ac)
    tax = {k: _r(v * k[1] / 100) for k, v in taxable.items()}
    let = sum((line["line_extension_amount"] for line in lines), Decimal(0))
    allowances = sum((a["amount"] for a in doc_acs if not a["is_charge"]), Decimal(0))
    charges = sum((a["amount"] for a in doc_acs if a["is_charge"]), Decimal(0))
    excl = let - allowances + charges
    tax_total = sum(tax.values(), Decimal(0))
    incl = excl + tax_total
    prepaid = draw(st.sampled_from([Decimal("0.00"), Decimal("10.00")]))
    issue = draw(dates)
    data: dict[str, Any] = {
        "invoice_number": draw(codes),
        "issue_date": issue,
        "due_date": draw(maybe(st.integers(0, 90).map(lambda d: issue + timedelta(days=d)))),
        "customer_id": draw(codes),
        "supplier_id": draw(maybe(codes)),
        "buyer_reference": draw(maybe(texts)),
        "order_reference": draw(maybe(codes)),
        "currency": cur,
        "note": draw(maybe(texts)),
        "lines": lines,
        "allowance_charges": doc_acs,
        "tax_lines": []
        if flat
        else [
            {"tax_category": k[0], "tax_rate": k[1], "taxable_amount": taxable[k], "tax_amount": tax[k]}
            for k in taxable
        ],
        "line_extension_total": let,
        "allowance_total": allowances,
        "charge_total": charges,
        "tax_exclusive_amount": excl,
        "tax_total": tax_total,
        "tax_inclusive_amount": incl,
        "prepaid_amount": prepaid,
        "payable_amount": incl - prepaid,
        "bill_to": draw(maybe(addresses("billing", 2 if ubl else 4))),
    }
    if ubl:
        data["payment_terms"] = draw(
            maybe(
                st.builds(
                    lambda c, d: {"code": c, "description": d},
                    st.sampled_from(["NET14", "NET30", "NET60"]),
                    maybe(texts),
                )
            )
        )
        if data["bill_to"]:
            data["bill_to"]["region"] = None
    else:
        data |= {
            "kind": "credit_note" if incl >= 0 and draw(st.booleans()) else "invoice",
            "status": draw(st.sampled_from(["draft", "issued", "paid"])),
            "issued_at": draw(maybe(datetimes)),
            "billing_reference": draw(maybe(codes)),
            "payment_terms": draw(maybe(terms)),
        }
    return Invoice.model_validate(data)


@st.composite
def sales_orders(draw: st.DrawFn) -> SalesOrder:
    cur = draw(currencies)
    lines = []
    for i in range(draw(st.integers(1, 4))):
        qty, price = draw(quantities), draw(money)
        discount = draw(st.sampled_from([Decimal(0), Decimal("1.00")]))
        lines.append(
            {
                "line_id": f"{(i + 1) * 10}",
                "product_id": draw(maybe(codes)),
                "description": draw(maybe(texts)),
                "quantity": qty,
                "unit_code": draw(units),
                "unit_price": price,
                "discount_amount": discount,
                "line_amount": _r(qty * price - discount),
                "tax_category": "S",
                "tax_rate": draw(maybe(rates)),
                "requested_delivery_date": draw(maybe(dates)),
            }
        )
    total = sum((line["line_amount"] for line in lines), Decimal(0))
    tax = draw(small_money)
    return SalesOrder.model_validate(
        {
            "order_number": draw(codes),
            "customer_id": draw(codes),
            "order_date": draw(dates),
            "created_at": draw(maybe(datetimes)),
            "status": draw(st.sampled_from(["open", "confirmed", "shipped"])),
            "currency": cur,
            "customer_reference": draw(maybe(texts)),
            "payment_terms": draw(maybe(terms)),
            "requested_delivery_date": draw(maybe(dates)),
            "bill_to": draw(maybe(addresses("billing"))),
            "ship_to": draw(maybe(addresses("shipping"))),
            "lines": lines,
            "line_total": total,
            "tax_total": tax,
            "total_amount": total + tax,
        }
    )


@st.composite
def customers(draw: st.DrawFn, *, flat: bool = False) -> Customer:
    cur = draw(maybe(currencies))
    kinds = draw(st.lists(st.sampled_from(["billing", "shipping", "registered", "other"]), unique=True, max_size=3))
    contacts = (
        []
        if flat
        else draw(
            st.lists(
                st.builds(
                    lambda n, r, e, p: {"name": n, "role": r, "email": e, "phone": p},
                    texts,
                    maybe(texts),
                    maybe(st.sampled_from(["a@b.example", "x.y@z.example"])),
                    maybe(codes),
                ),
                max_size=2,
            )
        )
    )
    return Customer.model_validate(
        {
            "customer_number": draw(codes),
            "name": draw(texts),
            "legal_name": draw(maybe(texts)),
            "status": draw(st.sampled_from(["active", "inactive", "blocked"])),
            "tax_id": draw(maybe(codes)),
            "company_id": draw(maybe(codes)),
            "currency": cur,
            "language": draw(maybe(st.sampled_from(["de", "fr-CH"]))),
            "payment_terms": draw(maybe(terms)),
            "credit_limit": draw(maybe(money)) if cur else None,
            "addresses": [draw(addresses(k)) for k in kinds],
            "contacts": contacts,
            "customer_since": draw(maybe(dates)),
            "updated_at": draw(maybe(datetimes)),
        }
    )


@st.composite
def products(draw: st.DrawFn) -> Product:
    cur = draw(maybe(currencies))
    return Product.model_validate(
        {
            "sku": draw(codes),
            "name": draw(texts),
            "description": draw(maybe(texts)),
            "status": draw(st.sampled_from(["active", "discontinued"])),
            "unit_code": draw(units),
            "gtin": draw(maybe(st.sampled_from(["12345678", "4006381333931"]))),
            "list_price": draw(maybe(money)) if cur else None,
            "currency": cur,
            "tax_category": "S",
            "tax_rate": draw(maybe(rates)),
            "product_group": draw(maybe(texts)),
            "updated_at": draw(maybe(datetimes)),
        }
    )


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    amount = draw(st.decimals(min_value=Decimal("0.01"), max_value=100_000, places=2))
    allocations, left = [], amount
    for i in range(draw(st.integers(0, 3))):
        part = _r(left / 2)
        if part <= 0:
            break
        allocations.append({"invoice_number": f"INV-{i}", "amount": part})
        left -= part
    return Payment.model_validate(
        {
            "payment_id": draw(codes),
            "direction": draw(st.sampled_from(["incoming", "outgoing"])),
            "status": "completed",
            "customer_id": draw(maybe(codes)),
            "amount": amount,
            "currency": draw(currencies),
            "value_date": draw(dates),
            "received_at": draw(maybe(datetimes)),
            "method": draw(st.sampled_from(["bank_transfer", "card", "direct_debit"])),
            "reference": draw(maybe(texts)),
            "bank_reference": draw(maybe(codes)),
            "allocations": allocations,
        }
    )


@st.composite
def subscriptions(draw: st.DrawFn) -> Subscription:
    start = draw(dates)
    items = [
        {
            "item_id": f"I{i}",
            "product_id": draw(codes),
            "description": draw(maybe(texts)),
            "quantity": draw(quantities),
            "unit_price": draw(money),
            "tax_category": draw(maybe(st.just("S"))),
            "tax_rate": draw(maybe(rates)),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    return Subscription.model_validate(
        {
            "subscription_id": draw(codes),
            "customer_id": draw(codes),
            "plan_code": draw(codes),
            "status": draw(st.sampled_from(["active", "paused"])),
            "currency": draw(currencies),
            "billing_period": draw(st.sampled_from(["month", "year"])),
            "billing_interval": draw(st.integers(1, 3)),
            "start_date": start,
            "end_date": draw(maybe(st.just(start + timedelta(days=365)))),
            "next_billing_date": draw(maybe(dates)),
            "cancelled_at": draw(maybe(datetimes)),
            "payment_terms": draw(maybe(terms)),
            "items": items,
        }
    )


def documents(flat: bool = False) -> dict[str, st.SearchStrategy[Any]]:
    """One strategy per canonical document type."""
    return {
        "Invoice": invoices(flat=flat),
        "SalesOrder": sales_orders(),
        "Customer": customers(flat=flat),
        "Product": products(),
        "Payment": payments(),
        "Subscription": subscriptions(),
    }
