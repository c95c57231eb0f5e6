"""The hook of the UN/CEFACT CII mapping: what CII says in a shape a declarative path cannot turn into ours.

Three things, each fed by a ``_`` scratch field of ``samples/mappings/cii-invoice.yaml`` and consumed here:

* CII lines are flat; a line names its parent (``ParentLineID``, Factur-X EXTENDED and XRechnung). Lines with a
  parent become the parent's ``sub_lines``, to any depth, in document order; only top-level lines stay
  ``lines``, which is what the document totals sum (BR-CO-10 counts the top-level lines, a GROUP line
  already carries the sum of its details).
* ``SpecifiedLogisticsServiceCharge`` (ZUGFeRD EXTENDED: freight, packing) is a document charge: it joins
  ``allowance_charges`` as ``is_charge``, after the trade charges, so the charge total checks.
* ``TaxTotalAmount`` appears twice when the tax currency differs (BT-110 in the invoice currency, BT-111 in
  the tax currency): the one in the invoice currency is the tax total; absent (BT-110 is 0..1, an invoice
  outside the scope of VAT), it is 0.

A document without lines (Factur-X MINIMUM, BASIC WL) is refused naming BG-25. Pure: a dict in, a dict out.
A problem raises :class:`FieldProblem` naming the field, which the decoder turns into the record's located
``RecordInvalid``.
"""

from __future__ import annotations

from typing import Any

from translators.mapping.compiled import FieldProblem

__all__ = ["assemble", "nest_lines"]


def assemble(data: dict[str, Any]) -> dict[str, Any]:
    """Hook ``translators.cii:assemble``: nest the lines, merge logistics charges, pick the tax total."""
    if "lines" not in data:
        raise FieldProblem(
            "lines",
            "the document has no invoice line; EN 16931 requires at least one (BG-25): a Factur-X MINIMUM or "
            "BASIC WL document is not an EN 16931 invoice and is not mapped",
        )
    data["lines"] = nest_lines(data["lines"])
    logistics = data.pop("_logistics_charges", None)
    if logistics:
        charges = data.setdefault("allowance_charges", [])
        charges.extend({"is_charge": True, **charge} for charge in logistics)
    totals = data.pop("_tax_totals", None)
    # BT-110 is optional (0..1): absent, no VAT is due, and BR-CO-15 (grand total = tax basis + BT-110) still
    # checks the document's own totals against 0
    data["tax_total"] = _tax_total(totals, data.get("currency")) if totals else "0"
    return data


def _tax_total(totals: list[dict[str, Any]], currency: str | None) -> Any:
    """BT-110: the TaxTotalAmount in the invoice currency (or without a currency when there is one only)."""
    same = [t for t in totals if t.get("currency") == currency]
    if len(same) == 1:
        return same[0].get("amount")
    if len(totals) == 1 and totals[0].get("currency") is None:
        return totals[0].get("amount")
    stated = ", ".join(f"{t.get('amount')} {t.get('currency') or '(no currency)'}" for t in totals)
    raise FieldProblem(
        "tax_total", f"{len(same)} TaxTotalAmount in the invoice currency {currency} (BT-110), found {stated}"
    )


def nest_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat CII lines -> top-level lines carrying their sub-lines (``ParentLineID``), document order kept."""
    by_id: dict[str, dict[str, Any]] = {}
    for line in lines:
        line_id = line.get("line_id")
        if line_id is not None:
            by_id.setdefault(line_id, line)
    top: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        line.pop("_status", None)
        parent_id = line.pop("_parent", None)
        if parent_id is None:
            top.append(line)
            continue
        parent = by_id.get(parent_id)
        if parent is None or parent is line:
            raise FieldProblem(
                f"lines[{index}].parent_line_id", f"ParentLineID {parent_id!r} names no other line of the invoice"
            )
        parent.setdefault("sub_lines", []).append(line)
    _check_acyclic(top, len(lines))
    return top


def _check_acyclic(top: list[dict[str, Any]], count: int) -> None:
    """Every line must hang under a top-level line: a parent cycle would drop lines silently."""
    seen = 0
    stack = list(top)
    while stack:
        line = stack.pop()
        seen += 1
        stack.extend(line.get("sub_lines", ()))
    if seen != count:
        raise FieldProblem("lines", f"{count - seen} line(s) form a ParentLineID cycle and reach no top-level line")
