"""EN 16931's VAT category rules (BR-S/Z/E/AE/K/G/O/AF/AG-*) and BR-CO-17, by category code.

Each UNCL5305 category the standard names has a family of rules with the same numbering: ``-05`` the rate of a
line, ``-06``/``-07`` the rate of a document allowance/charge, ``-08`` a breakdown's taxable amount, ``-09`` its
tax amount, ``-10`` its exemption reason. This module knows the families; the invoice model applies them. It
must not import the models.

BR-CO-17 (category tax = taxable amount x rate / 100, rounded to two decimals) is checked as the CEN validation
artefacts for EN 16931 check it: a difference of less than one currency unit passes, because a tax rounded per
line may differ from the tax of the rounded sum. Categories with a rate of zero (Z, E, AE, K, G, O) have no such
tolerance: their tax amount is zero (BR-x-09).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

__all__ = [
    "REASON_FORBIDDEN",
    "REASON_REQUIRED",
    "ZERO_RATED",
    "family",
    "rate_violation",
    "tax_amount_ok",
]

#: The rule family of each category EN 16931 names (L: IGIC, M: IPSI, the Canary Islands and Ceuta/Melilla).
_FAMILIES: dict[str, str] = {
    "S": "BR-S",
    "Z": "BR-Z",
    "E": "BR-E",
    "AE": "BR-AE",
    "K": "BR-K",
    "G": "BR-G",
    "O": "BR-O",
    "L": "BR-AF",
    "M": "BR-AG",
}
#: Categories whose rate is zero (BR-x-05/06/07) and whose tax amount is zero (BR-x-09).
ZERO_RATED: frozenset[str] = frozenset({"Z", "E", "AE", "K", "G", "O"})
#: Categories whose breakdown must give an exemption reason, as text or code (BR-x-10).
REASON_REQUIRED: frozenset[str] = frozenset({"E", "AE", "K", "G", "O"})
#: Categories whose breakdown must not give one (BR-S-10, BR-Z-10, BR-AF-10, BR-AG-10).
REASON_FORBIDDEN: frozenset[str] = frozenset({"S", "Z", "L", "M"})

Where = Literal["line", "allowance", "charge"]
_RATE_RULE: dict[Where, str] = {"line": "05", "allowance": "06", "charge": "07"}
_ONE = Decimal(1)


def family(category: str) -> str | None:
    """``BR-S`` for ``S``...; None for a UNCL5305 code EN 16931 has no rules for (its checks use BR-CO-17)."""
    return _FAMILIES.get(category)


def rate_violation(category: str, rate: Decimal, where: Where) -> str | None:
    """The rule a rate breaks for its category, as ``"BR-S-05: ... "`` text without the field path, or None."""
    rules = _FAMILIES.get(category)
    if rules is None:
        return None
    rule = f"{rules}-{_RATE_RULE[where]}"
    if category == "S":
        return None if rate > 0 else f"{rule}: category S needs a rate above 0, got {rate}"
    if category in ZERO_RATED:
        return None if rate == 0 else f"{rule}: category {category} needs a rate of 0, got {rate}"
    return None if rate >= 0 else f"{rule}: category {category} needs a rate of 0 or more, got {rate}"


def tax_amount_ok(category: str, rate: Decimal, taxable: Decimal, tax: Decimal, per_line: Decimal) -> bool:
    """Whether a breakdown's tax amount satisfies BR-CO-17 and its category's ``-09`` rule.

    ``per_line`` is the sum of the tax rounded per line of that group: it is accepted as such even where many
    lines' roundings add up to more than the tolerance.
    """
    if category in ZERO_RATED:
        return tax == 0
    if tax == per_line:
        return True
    expected = (abs(taxable) * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return abs(abs(tax) - expected) < _ONE
