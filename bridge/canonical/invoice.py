"""Invoices and credit notes (UBL / EN 16931 shaped), with their totals arithmetic.

Totals are checked exactly, to the currency's minor unit. Tax may legitimately be rounded per line or per
document (per tax category and rate); both are accepted and the rule found is recorded in ``tax_rounding``, so
a comparison can tell a rounding policy change from a wrong amount. A credit note usually carries positive
amounts, as in UBL; its ``kind`` says it reduces what the customer owes (``credit_note_positive`` insists).

Every violation starts with the id of the rule it breaks: EN 16931's (``BR-CO-16``, ``BR-S-08``...), a CIUS's
(``PEPPOL-EN16931-R120``), or the bridge's own (``ESB-...``) for the few checks the standard does not have.

The rules follow EN 16931: a document the standard accepts is not refused here. Checks that are stricter than
the standard (a CIUS rule such as Peppol's line net = quantity x price) are opt-in: the validation context's
``checks`` names them (see :data:`OPT_IN_CHECKS`), and a mapping or interface turns them on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import Field

from ._base import CanonicalModel, RuledModel, register
from ._money import (
    Amount,
    AwareDateTime,
    CurrencyCode,
    NonNegativeAmount,
    PositiveQuantity,
    Quantity,
    TaxCategoryCode,
    TaxRate,
    decimal_str,
    money_quantum,
    round_money,
    sum_decimals,
)
from ._vat import REASON_FORBIDDEN, REASON_REQUIRED, ZERO_RATED, family, rate_violation, tax_amount_ok
from .party import Address, PaymentTerms

__all__ = ["OPT_IN_CHECKS", "AllowanceCharge", "Invoice", "InvoiceLine", "InvoiceSubLine", "TaxLine", "TaxRounding"]

#: Checks stricter than EN 16931, run only when the validation context's ``checks`` names them.
#: ``line_net``: each line's net is quantity x price / base quantity - allowances + charges
#: (PEPPOL-EN16931-R120; EN 16931 itself does not require it, and its own examples break it).
#: ``credit_note_positive``: a credit note's tax-inclusive amount is not negative (a UBL habit, not an
#: EN 16931 rule: a corrective credit note may be negative).
OPT_IN_CHECKS: frozenset[str] = frozenset({"line_net", "credit_note_positive"})

TaxRounding = Literal["per_line", "per_document", "both"]
_TaxKey = tuple[str, Decimal]
#: The totals and EN 16931's rule on their decimals (BR-DEC-*; checked here to the currency's minor unit).
_TOTALS = (
    ("line_extension_total", "BR-DEC-09"),
    ("allowance_total", "BR-DEC-10"),
    ("charge_total", "BR-DEC-11"),
    ("tax_exclusive_amount", "BR-DEC-12"),
    ("tax_total", "BR-DEC-13"),
    ("tax_inclusive_amount", "BR-DEC-14"),
    ("prepaid_amount", "BR-DEC-16"),
    ("rounding_amount", "BR-DEC-17"),
    ("payable_amount", "BR-DEC-18"),
)


def _absent(value: object) -> bool:
    """Fields added after schema 1.0 was first stored are left out of a dump while unset: the canonical JSON,
    and so the content hash and the message id of a change-feed record, stay what they were."""
    return value is None


def _none_given(value: tuple[object, ...]) -> bool:
    """A list added after schema 1.0 is left out of a dump while empty (see :func:`_absent`)."""
    return not value


def _s(value: Decimal) -> str:
    return decimal_str(value)


class AllowanceCharge(CanonicalModel):
    """A discount (``is_charge=False``) or surcharge on a line or on the whole document.

    At document level it must carry ``tax_category`` and ``tax_rate``: it changes that group's taxable amount.
    """

    is_charge: bool
    amount: Amount
    """Usually positive; negative in a negative (corrective) invoice, which EN 16931 allows."""
    base_amount: Amount | None = None
    percent: TaxRate | None = None
    reason: str | None = None
    reason_code: str | None = None
    """UNCL5189 (allowance) or UNCL7161 (charge) code."""
    tax_category: TaxCategoryCode | None = None
    tax_rate: TaxRate | None = None

    @property
    def business_key(self) -> str:
        """Kind plus reason code or reason: how two systems' allowance lists are paired."""
        return f"{'charge' if self.is_charge else 'allowance'}:{self.reason_code or self.reason or ''}"

    @property
    def signed_amount(self) -> Decimal:
        """The effect on the net amount: negative for an allowance, positive for a charge."""
        return self.amount if self.is_charge else -self.amount


class InvoiceSubLine(CanonicalModel):
    """A detail of an invoice line (XRechnung ``cac:SubInvoiceLine``), itself with sub-lines to any depth.

    Informative: the line's own amounts already include its sub-lines, so no total or tax rule counts them
    again. A group sub-line may state no quantity or price (only its net amount).
    """

    line_id: Annotated[str, Field(min_length=1)]
    product_id: str | None = None
    """SKU of the invoiced product."""
    name: Annotated[str | None, Field(exclude_if=_absent)] = None
    """Item name (EN 16931 BT-153)."""
    description: str | None = None
    quantity: Quantity | None = None
    unit_code: Annotated[str, Field(min_length=1, max_length=3)] = "EA"
    unit_price: NonNegativeAmount | None = None
    price_base_quantity: PositiveQuantity = Decimal(1)
    allowance_charges: tuple[AllowanceCharge, ...] = ()
    line_extension_amount: Amount
    tax_category: TaxCategoryCode = "S"
    tax_rate: TaxRate | None = None
    order_line_reference: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    sub_lines: Annotated[tuple[InvoiceSubLine, ...], Field(exclude_if=_none_given)] = ()
    """Details of this line, nested to any depth."""

    @property
    def business_key(self) -> str:
        """The line id, unique within its invoice."""
        return self.line_id


class InvoiceLine(InvoiceSubLine):
    """One invoiced item (UBL InvoiceLine / CreditNoteLine), with its sub-lines.

    ``line_extension_amount = quantity * unit_price / price_base_quantity - allowances + charges`` (rounded).
    """

    quantity: Quantity
    unit_price: NonNegativeAmount
    tax_rate: TaxRate

    def expected_net(self, currency: str) -> Decimal:
        """The net amount the quantity, price and line allowances/charges imply, rounded to minor units."""
        gross = self.quantity * self.unit_price
        if self.price_base_quantity != 1:
            gross /= self.price_base_quantity
        for ac in self.allowance_charges:
            gross += ac.signed_amount
        return gross.quantize(money_quantum(currency), rounding=ROUND_HALF_UP)


class TaxLine(CanonicalModel):
    """Tax subtotal for one tax category and rate (UBL TaxSubtotal)."""

    tax_category: TaxCategoryCode
    tax_rate: TaxRate
    taxable_amount: Amount
    tax_amount: Amount
    exemption_reason: str | None = None
    """EN 16931 BT-120, the exemption reason as text."""
    exemption_reason_code: Annotated[str | None, Field(exclude_if=_absent)] = None
    """EN 16931 BT-121 (VATEX code list); BR-E-10 and its kin accept the text or the code."""

    @property
    def business_key(self) -> str:
        """Category and normalised rate, e.g. "S:19"."""
        return f"{self.tax_category}:{_s(self.tax_rate.normalize())}"


@register
class Invoice(RuledModel):
    """An invoice or credit note with lines, document allowances/charges, tax subtotals and totals."""

    invoice_number: Annotated[str, Field(min_length=1)]
    kind: Literal["invoice", "credit_note"] = "invoice"
    document_type: Annotated[str | None, Field(min_length=1, max_length=35, exclude_if=_absent)] = None
    """The document type code as sent: UNCL1001 in EN 16931 (380 invoice, 381 credit note, 384 corrected,
    389 self-billed...), free text in UBL 2.0 (``SalesInvoice``)."""
    status: Literal["draft", "issued", "partially_paid", "paid", "overdue", "cancelled"] = "issued"
    issue_date: date
    due_date: date | None = None
    issued_at: AwareDateTime | None = None
    customer_id: Annotated[str, Field(min_length=1)]
    """Customer number of the buyer."""
    supplier_id: str | None = None
    buyer_reference: str | None = None
    order_reference: str | None = None
    """Sales order number this invoice bills."""
    billing_reference: str | None = None
    """For a credit note: the number of the invoice it credits."""
    currency: CurrencyCode
    payment_terms: PaymentTerms | None = None
    bill_to: Address | None = None
    note: str | None = None
    lines: Annotated[tuple[InvoiceLine, ...], Field(min_length=1)]
    allowance_charges: tuple[AllowanceCharge, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    line_extension_total: Amount
    allowance_total: Amount = Decimal(0)
    charge_total: Amount = Decimal(0)
    tax_exclusive_amount: Amount
    tax_total: Amount
    tax_inclusive_amount: Amount
    prepaid_amount: Amount = Decimal(0)
    rounding_amount: Amount = Decimal(0)
    payable_amount: Amount
    tax_rounding: TaxRounding | None = None
    """Which tax rounding rule the amounts follow; set by validation, checked if given."""

    @property
    def business_key(self) -> str:
        """The invoice (or credit note) number."""
        return self.invoice_number

    def _business_rules(self) -> list[str]:
        # One pass over the lines gathers what every rule needs: this runs for every record of every file,
        # so it avoids per-rule generator passes and keeps Python calls per line to a minimum.
        cur = self.currency
        quantum = money_quantum(cur)
        out: list[str] = []
        lines = self.lines
        if len({line.line_id for line in lines}) != len(lines):
            for line_id, count in Counter(line.line_id for line in lines).items():
                if count > 1:
                    out.append(f"ESB-LINE-ID: lines: line_id {line_id!r} used {count} times")
        if self.due_date is not None and self.due_date < self.issue_date:
            out.append(f"ESB-DUE-DATE: due_date: {self.due_date} is before issue_date {self.issue_date}")
        groups = _TaxGroups(quantum)
        line_sum = Decimal(0)
        for i, line in enumerate(lines):
            net = line.line_extension_amount
            line_sum += net
            groups.add(line.tax_category, line.tax_rate, net)
            if line.tax_category != "S" or line.tax_rate <= 0:
                bad = rate_violation(line.tax_category, line.tax_rate, "line")
                if bad is not None:
                    out.append(_at(bad, f"lines[{i}].tax_rate"))
            if line.allowance_charges:
                out += _check_percentages(f"lines[{i}].allowance_charges", line.allowance_charges, cur)
        allowances = charges = Decimal(0)
        if self.allowance_charges:
            out += _check_percentages("allowance_charges", self.allowance_charges, cur)
            for j, ac in enumerate(self.allowance_charges):
                if ac.is_charge:
                    charges += ac.amount
                else:
                    allowances += ac.amount
                rate = ac.tax_rate
                if rate is None and ac.tax_category == "O":
                    rate = Decimal(0)  # BR-O-06/07: outside the scope of VAT, no rate
                if ac.tax_category is None:
                    rule = "BR-37" if ac.is_charge else "BR-32"
                    out.append(f"{rule}: allowance_charges[{j}]: tax_category is required at document level")
                elif rate is None:
                    rule = f"{family(ac.tax_category) or 'ESB-TAX'}-{'07' if ac.is_charge else '06'}"
                    out.append(f"{rule}: allowance_charges[{j}]: tax_rate is required at document level")
                else:
                    bad = rate_violation(ac.tax_category, rate, "charge" if ac.is_charge else "allowance")
                    if bad is not None:
                        out.append(_at(bad, f"allowance_charges[{j}].tax_rate"))
                    groups.add(ac.tax_category, rate, ac.signed_amount)
        out += self._check_sums(line_sum, allowances, charges)
        out += self._check_tax(groups)
        fields = self.__dict__
        for name, rule in _TOTALS:
            value: Decimal = fields[name]
            if value != value.quantize(quantum, rounding=ROUND_HALF_UP):
                out.append(f"{rule}: {name}: {_s(value)} has more decimals than {cur} allows")
        return out

    def _opt_in_rules(self, checks: frozenset[str]) -> list[str]:
        out: list[str] = []
        if "line_net" in checks:
            cur = self.currency
            for i, line in enumerate(self.lines):
                expected = line.expected_net(cur)
                if line.line_extension_amount != expected:
                    out.append(
                        f"PEPPOL-EN16931-R120: lines[{i}].line_extension_amount: "
                        f"{_s(line.line_extension_amount)} != {_s(expected)}"
                    )
        if "credit_note_positive" in checks and self.kind == "credit_note" and self.tax_inclusive_amount < 0:
            out.append(
                f"ESB-CREDIT-NOTE-POSITIVE: tax_inclusive_amount: {_s(self.tax_inclusive_amount)} is negative; "
                "a credit note carries positive amounts"
            )
        return out

    def _check_sums(self, line_sum: Decimal, allowances: Decimal, charges: Decimal) -> list[str]:
        out: list[str] = []
        totals = (
            ("BR-CO-10", "line_extension_total", self.line_extension_total, line_sum, "sum of lines"),
            ("BR-CO-11", "allowance_total", self.allowance_total, allowances, "sum of allowances"),
            ("BR-CO-12", "charge_total", self.charge_total, charges, "sum of charges"),
            (
                "BR-CO-13",
                "tax_exclusive_amount",
                self.tax_exclusive_amount,
                self.line_extension_total - self.allowance_total + self.charge_total,
                "line_extension_total - allowance_total + charge_total",
            ),
            (
                "BR-CO-15",
                "tax_inclusive_amount",
                self.tax_inclusive_amount,
                self.tax_exclusive_amount + self.tax_total,
                "tax_exclusive_amount + tax_total",
            ),
            (
                "BR-CO-16",
                "payable_amount",
                self.payable_amount,
                self.tax_inclusive_amount - self.prepaid_amount + self.rounding_amount,
                "tax_inclusive_amount - prepaid_amount + rounding_amount",
            ),
        )
        for rule, path, actual, expected, how in totals:
            if actual != expected:
                out.append(f"{rule}: {path}: {_s(actual)} != {how} {_s(expected)}")
        return out

    def _check_tax(self, groups: _TaxGroups) -> list[str]:
        """BR-CO-14 and BR-CO-17 with the category rules (-01, -08, -09, -10), and the rounding rule found.

        With a tax breakdown, each category's tax follows BR-CO-17 (within its tolerance) and the tax total is
        their sum (BR-CO-14). Without one (a source that states only the total), the total must be the tax
        rounded per line or per document exactly: there is no category amount to tolerate a difference in.
        """
        taxable, per_line = groups.taxable, groups.per_line
        per_doc = groups.per_document()
        out: list[str] = []
        line_sum, doc_sum = sum_decimals(per_line.values()), sum_decimals(per_doc.values())
        line_ok, doc_ok = self.tax_total == line_sum, self.tax_total == doc_sum
        if not self.tax_lines:
            if not (line_ok or doc_ok):
                out.append(
                    f"BR-CO-14: tax_total: {_s(self.tax_total)} != per-line {_s(line_sum)} / per-document {_s(doc_sum)}"
                )
        else:
            seen: set[_TaxKey] = set()
            stated = {tl.tax_category for tl in self.tax_lines}
            zero = Decimal(0)
            for i, tl in enumerate(self.tax_lines):
                # the rule family is looked up only for a message: a valid breakdown costs no call per line
                cat, key, tax = tl.tax_category, (tl.tax_category, tl.tax_rate), tl.tax_amount
                if key in seen:
                    rules = family(cat) or "ESB-TAX"
                    out.append(f"{rules}-08: tax_lines[{i}]: duplicate tax category {cat} at {_s(tl.tax_rate)} %")
                    continue
                seen.add(key)
                expected_taxable = taxable.get(key, zero)
                if tl.taxable_amount != expected_taxable:
                    rules = family(cat) or "ESB-TAX"
                    out.append(
                        f"{rules}-08: tax_lines[{i}].taxable_amount: {_s(tl.taxable_amount)} != {_s(expected_taxable)}"
                    )
                group_line, group_doc = per_line.get(key, zero), per_doc.get(key, zero)
                # the usual breakdown (tax = the lines' tax, a rated category) passes without the full check
                if not (tax == group_line and cat not in ZERO_RATED) and not tax_amount_ok(
                    cat, tl.tax_rate, tl.taxable_amount, tax, group_line
                ):
                    rules = family(cat) or "ESB-TAX"
                    rule = f"{rules}-09" if rules != "ESB-TAX" else "BR-CO-17"
                    out.append(
                        f"{rule}: tax_lines[{i}].tax_amount: {_s(tl.tax_amount)} != per-line {_s(group_line)}"
                        f" / per-document {_s(group_doc)}"
                    )
                has_reason = tl.exemption_reason is not None or tl.exemption_reason_code is not None
                if cat in REASON_REQUIRED and not has_reason:
                    out.append(f"{family(cat)}-10: tax_lines[{i}]: category {cat} needs an exemption reason or code")
                elif cat in REASON_FORBIDDEN and has_reason:
                    out.append(f"{family(cat)}-10: tax_lines[{i}]: category {cat} takes no exemption reason")
                line_ok, doc_ok = line_ok and tax == group_line, doc_ok and tax == group_doc
            for missing, rate in taxable.keys() - seen:
                rules = family(missing) or "ESB-TAX"
                rule = f"{rules}-08" if missing in stated else f"{rules}-01"
                out.append(f"{rule}: tax_lines: missing tax category {missing} at {_s(rate.normalize())} %")
            total = sum_decimals(tl.tax_amount for tl in self.tax_lines)
            if total != self.tax_total:
                out.append(f"BR-CO-14: tax_total: {_s(self.tax_total)} != sum of tax_lines {_s(total)}")
            if "O" in stated and len(stated) > 1:
                out.append(f"BR-O-11: tax_lines: category O with other categories {', '.join(sorted(stated - {'O'}))}")
        found: TaxRounding | None = (
            "both" if line_ok and doc_ok else "per_line" if line_ok else "per_document" if doc_ok else None
        )
        given = self.tax_rounding
        if given is not None and found is not None and given != found and found != "both":
            out.append(f"ESB-TAX-ROUNDING: tax_rounding: {given} != found {found}")
            object.__setattr__(self, "tax_rounding", found)
        elif given is None or found is None:
            object.__setattr__(self, "tax_rounding", found)
        return out


def _at(violation: str, path: str) -> str:
    """``"BR-S-05: text"`` with the field path after the rule id: ``"BR-S-05: lines[0].tax_rate: text"``."""
    rule, _, text = violation.partition(": ")
    return f"{rule}: {path}: {text}"


class _TaxGroups:
    """Per (category, rate): the taxable amount and the tax rounded per line, gathered in the lines' pass.

    Rates key by value, not by spelling: ``Decimal`` equality and hashing make 19 and 19.00 the same key.
    """

    __slots__ = ("per_line", "quantum", "taxable")

    def __init__(self, quantum: Decimal) -> None:
        self.quantum = quantum
        self.taxable: dict[_TaxKey, Decimal] = {}
        self.per_line: dict[_TaxKey, Decimal] = {}

    def add(self, category: str, rate: Decimal, net: Decimal) -> None:
        key = (category, rate)
        tax = (net * rate / 100).quantize(self.quantum, rounding=ROUND_HALF_UP)
        previous = self.taxable.get(key)
        if previous is None:
            self.taxable[key], self.per_line[key] = net, tax
        else:
            self.taxable[key], self.per_line[key] = previous + net, self.per_line[key] + tax

    def per_document(self) -> dict[_TaxKey, Decimal]:
        """Tax per group rounded once on the group's taxable amount."""
        quantum = self.quantum
        return {
            key: (amount * key[1] / 100).quantize(quantum, rounding=ROUND_HALF_UP)
            for key, amount in self.taxable.items()
        }


def _check_percentages(path: str, acs: tuple[AllowanceCharge, ...], currency: str) -> list[str]:
    out: list[str] = []
    for i, ac in enumerate(acs):
        if ac.percent is not None and ac.base_amount is not None:
            expected = round_money(ac.base_amount * ac.percent / 100, currency)
            if ac.amount != expected:
                out.append(
                    f"PEPPOL-EN16931-R040: {path}[{i}].amount: {_s(ac.amount)}"
                    f" != base_amount * percent / 100 {_s(expected)}"
                )
    return out
