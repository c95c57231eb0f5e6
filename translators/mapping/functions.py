"""Ready-made ``function:`` hooks for values a declarative converter cannot express.

Each takes the trimmed source text and returns the canonical value; raising ``ValueError`` marks the record
as failed with the field's location.
"""

from __future__ import annotations

__all__ = ["alpha_in", "integer_text", "upper"]


def alpha_in(text: str) -> str:
    """SAP ALPHA input conversion: a purely numeric id loses its leading zeros ("0000004711" -> "4711")."""
    return text.lstrip("0") or "0" if text.isdigit() else text


def upper(text: str) -> str:
    """Upper-case a code (legacy systems that mix "eur" and "EUR")."""
    return text.upper()


def integer_text(text: str) -> str:
    """An integer kept as canonical text: with ``convert: int`` a JSON target gets a number (``"line_no": 1``)
    while the canonical field (``line_id: str``) reads back ``"1"``, not ``1``."""
    try:
        return str(int(text))
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None
