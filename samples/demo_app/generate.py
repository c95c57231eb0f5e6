"""Seeded sample data for the demo, tests and benchmarks: valid canonical customers and invoices.

Totals are computed here independently of the models' own checks (per-line tax rounding), so a generated
invoice that fails validation points at a real disagreement.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["customer", "invoice"]

_NAMES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Hooli"]
_CITIES = [("Berlin", "DE"), ("Paris", "FR"), ("Madrid", "ES"), ("Vienna", "AT"), ("Milan", "IT")]


def _money(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def customer(rng: random.Random, n: int, when: datetime | None = None) -> dict[str, Any]:
    city, country = rng.choice(_CITIES)
    name = f"{rng.choice(_NAMES)} {rng.choice(['GmbH', 'SA', 'SL', 'Srl', 'AG'])} {n}"
    return {
        "customer_number": f"C-{n:05d}",
        "name": name,
        "currency": "EUR",
        "addresses": [
            {"kind": "billing", "lines": [f"Street {rng.randint(1, 200)}"], "city": city, "country": country}
        ],
        "contacts": [{"name": f"Contact {n}", "email": f"ap{n}@example.com"}],
        "updated_at": (when or datetime(2026, 1, 5, 8, tzinfo=UTC)).isoformat(),
    }


def invoice(rng: random.Random, n: int, issue: date, customer_no: int, lines: int = 3) -> dict[str, Any]:
    """A consistent invoice with ``lines`` lines at 19 % or 7 % VAT, tax rounded per line."""
    out_lines = []
    groups: dict[Decimal, list[Decimal]] = {}
    for i in range(1, lines + 1):
        qty = Decimal(rng.randint(1, 20))
        price = Decimal(rng.randint(100, 99999)) / 100
        rate = Decimal(rng.choice(["19", "7"]))
        net = _money(qty * price)
        sku = f"SKU-{rng.randint(1, 500):04d}"
        out_lines.append(
            {
                "line_id": str(i),
                "product_id": sku,
                "description": f"Article {sku}",
                "quantity": str(qty),
                "unit_price": str(price),
                "line_extension_amount": str(net),
                "tax_category": "S",
                "tax_rate": str(rate),
            }
        )
        g = groups.setdefault(rate, [Decimal(0), Decimal(0)])
        g[0] += net
        g[1] += _money(net * rate / 100)
    tax_lines = [
        {"tax_category": "S", "tax_rate": str(r), "taxable_amount": str(g[0]), "tax_amount": str(g[1])}
        for r, g in sorted(groups.items())
    ]
    net_total = sum((Decimal(x["line_extension_amount"]) for x in out_lines), Decimal(0))
    tax_total = sum((g[1] for g in groups.values()), Decimal(0))
    return {
        "invoice_number": f"INV-{issue.year}-{n:06d}",
        "issue_date": issue.isoformat(),
        "due_date": (issue + timedelta(days=30)).isoformat(),
        "customer_id": f"C-{customer_no:05d}",
        "currency": "EUR",
        "lines": out_lines,
        "tax_lines": tax_lines,
        "line_extension_total": str(net_total),
        "tax_exclusive_amount": str(net_total),
        "tax_total": str(tax_total),
        "tax_inclusive_amount": str(net_total + tax_total),
        "payable_amount": str(net_total + tax_total),
    }
