"""What the real-document measures share: the figures a decoded invoice must carry, checked against the
figures the document itself states (read independently of the mapping)."""

from __future__ import annotations

from typing import Any

__all__ = ["assert_stated_figures"]


def assert_stated_figures(record: Any, stated: dict[str, object], name: object) -> None:
    """The decoded number, currency, totals and line count equal those the document states (where it does)."""
    got = {
        "invoice_number": record.invoice_number,
        "currency": record.currency,
        "payable_amount": record.payable_amount,
        "tax_exclusive_amount": record.tax_exclusive_amount,
        "tax_inclusive_amount": record.tax_inclusive_amount,
        "lines": len(record.lines),
    }
    assert {k: v for k, v in got.items() if stated[k] is not None} == {
        k: v for k, v in stated.items() if v is not None
    }, name
