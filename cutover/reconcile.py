"""Reconciliation: per business date, what the ledger says each path delivered against what its target holds.

The comparator checks one message's two outcomes; reconciliation checks the totals a finance team checks:
how many invoices of 5 January each system holds and what they add up to. The ledger side is the newest
delivered record per business key of a path's target (dry runs never count); the target side is the path's
:class:`~bridge.ports.TargetListing`, the target's own query, so a record deleted or changed at the target
after delivery shows. Per key: ``missing_at_target``, ``extra_at_target``, ``amount_differs``,
``date_differs``, ``duplicate_at_target``. Amounts compare as values (``100.00`` equals ``100``).

A listing that fails makes its path ``incomplete`` (the error is kept), never "every record missing". A path
without a listing is reported from the ledger alone (``ledger_only``). Results are written to the ledger
(``reconciliations``) and read by ``status`` and the shadow report. The runtime builds the listings and hands
them over (this module never imports an adapter or the registry).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.config.reconcile import ReconcileConfig
from bridge.ports import BridgeError, TargetListing, dotted
from bridge.store.ledger import Ledger
from bridge.store.reconciliations import ReconciliationRow

__all__ = ["KeyDifference", "PathToReconcile", "ReconcileReport", "Reconciler", "Status"]


class Status:
    """The status of one (path, business date) row."""

    MATCHED = "matched"
    DIFFERS = "differs"
    LEDGER_ONLY = "ledger_only"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class PathToReconcile:
    """One path of an interface: its ledger target name and the target's listing (None: it offers none)."""

    path: str
    target: str
    listing: TargetListing | None


@dataclass(frozen=True)
class KeyDifference:
    """One business key that differs between the ledger and the target."""

    key: str
    issue: str
    ledger_date: date | None = None
    target_date: date | None = None
    ledger_amount: Decimal | None = None
    target_amount: Decimal | None = None
    message_id: str | None = None

    @property
    def day(self) -> date | None:
        return self.ledger_date if self.ledger_date is not None else self.target_date

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "issue": self.issue}
        for name in ("ledger_date", "target_date", "ledger_amount", "target_amount", "message_id"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out


@dataclass
class ReconcileReport:
    """One run over one interface: its rows (one per path and business date)."""

    run_id: str
    interface: str
    rows: list[ReconciliationRow] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(r.differences for r in self.rows)

    @property
    def incomplete(self) -> bool:
        return any(r.status == Status.INCOMPLETE for r in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "interface": self.interface,
            "differences": self.differences,
            "incomplete": self.incomplete,
            "rows": [r.as_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class _Side:
    day: date | None
    amount: Decimal | None
    message_id: str | None = None
    pruned: bool = False


class Reconciler:
    """Reconciles interfaces against the ledger and writes the results there."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def reconcile(
        self,
        interface: str,
        rules: ReconcileConfig | None,
        paths: Sequence[PathToReconcile],
        *,
        day: date | None = None,
    ) -> ReconcileReport:
        """Reconcile every path of ``interface`` (only the business date ``day`` when given); rows are stored."""
        rules = rules or ReconcileConfig()
        report = ReconcileReport(str(uuid.uuid4()), interface)
        for p in paths:
            report.rows += self._path(report.run_id, interface, rules, p, day)
        self.ledger.record_reconciliation(report.rows)
        return report

    # ------------------------------------------------------------------ one path

    def _path(
        self, run_id: str, interface: str, rules: ReconcileConfig, p: PathToReconcile, day: date | None
    ) -> list[ReconciliationRow]:
        ledger: dict[str, _Side] = {}
        for rec in self.ledger.delivered_records(interface, p.target):
            ledger[rec.business_key] = _from_payload(rec.payload, rules, rec.message_id)
        target: dict[str, _Side] | None = None
        duplicates: list[KeyDifference] = []
        error: str | None = None
        if p.listing is not None:
            try:
                target, duplicates = _listed(p.listing, rules)
            except BridgeError as exc:
                error = f"{type(exc).__name__}: {exc.message}"
        if target is not None:  # a pruned payload says nothing of date or amount: the target's are taken
            for key, side in ledger.items():
                if side.pruned and key in target:
                    ledger[key] = _Side(target[key].day, target[key].amount, side.message_id, pruned=True)
        if day is not None:
            ledger = {k: v for k, v in ledger.items() if v.day == day or _day(target, k) == day}
            if target is not None:
                target = {k: v for k, v in target.items() if v.day == day or _day(ledger, k) == day}
            duplicates = [d for d in duplicates if d.day == day]
        diffs = duplicates + (_differences(ledger, target, rules) if target is not None else [])
        days = {v.day for v in ledger.values()} | {v.day for v in (target or {}).values()}
        if day is not None:
            days = {day}
        rows = []
        for d in sorted(days, key=lambda x: x or date.min):
            here = [x for x in diffs if x.day == d]
            mine = [v for v in ledger.values() if v.day == d]
            theirs = [v for v in (target or {}).values() if v.day == d]
            if error is not None:
                status = Status.INCOMPLETE
            elif p.listing is None:
                status = Status.LEDGER_ONLY
            else:
                status = Status.DIFFERS if here else Status.MATCHED
            detail: dict[str, Any] = {"keys": [x.as_dict() for x in here[: rules.max_detail]]}
            if len(here) > rules.max_detail:
                detail["truncated"] = len(here) - rules.max_detail
            if error is not None:
                detail["error"] = error
            if any(v.pruned for v in mine):
                detail["pruned"] = sum(1 for v in mine if v.pruned)
            rows.append(
                ReconciliationRow(
                    run_id=run_id,
                    interface=interface,
                    path=p.path,
                    business_date=d.isoformat() if d else "",
                    ledger_count=len(mine),
                    ledger_amount=_sum(mine) if rules.amount else None,
                    target_count=len(theirs) if target is not None else None,
                    target_amount=_sum(theirs) if target is not None and rules.amount else None,
                    differences=len(here),
                    status=status,
                    detail=detail,
                )
            )
        return rows


def _day(side: Mapping[str, _Side] | None, key: str) -> date | None:
    found = side.get(key) if side is not None else None
    return found.day if found is not None else None


def _sum(sides: Iterable[_Side]) -> Decimal:
    return sum((s.amount for s in sides if s.amount is not None), Decimal(0))


def _listed(listing: TargetListing, rules: ReconcileConfig) -> tuple[dict[str, _Side], list[KeyDifference]]:
    out: dict[str, _Side] = {}
    duplicates: list[KeyDifference] = []
    with listing:
        for rec in listing.list_records():
            side = _Side(rec.day if rules.date else None, rec.amount if rules.amount else None)
            if rec.key in out:
                duplicates.append(KeyDifference(rec.key, "duplicate_at_target", target_date=rec.day))
                continue
            out[rec.key] = side
    return out, duplicates


def _differences(
    ledger: Mapping[str, _Side], target: Mapping[str, _Side], rules: ReconcileConfig
) -> list[KeyDifference]:
    diffs: list[KeyDifference] = []
    for key in sorted(ledger.keys() | target.keys()):
        mine, theirs = ledger.get(key), target.get(key)
        if theirs is None:
            assert mine is not None
            diffs.append(KeyDifference(key, "missing_at_target", mine.day, None, mine.amount, None, mine.message_id))
        elif mine is None:
            diffs.append(KeyDifference(key, "extra_at_target", None, theirs.day, None, theirs.amount))
        elif rules.date and mine.day != theirs.day:
            diffs.append(
                KeyDifference(key, "date_differs", mine.day, theirs.day, mine.amount, theirs.amount, mine.message_id)
            )
        elif rules.amount and mine.amount != theirs.amount:
            diffs.append(
                KeyDifference(key, "amount_differs", mine.day, theirs.day, mine.amount, theirs.amount, mine.message_id)
            )
    return diffs


def _from_payload(payload: str | None, rules: ReconcileConfig, message_id: str) -> _Side:
    """The business date and amount of a delivered record (a pruned payload counts, without either)."""
    if payload is None:
        return _Side(None, None, message_id, pruned=True)
    try:
        record: Any = json.loads(payload)
    except ValueError:
        return _Side(None, None, message_id)
    day = amount = None
    if rules.date and (raw := dotted(record, rules.date)):
        try:
            day = date.fromisoformat(str(raw)[:10])
        except ValueError:
            day = None
    if rules.amount and (raw := dotted(record, rules.amount)) is not None:
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            amount = None
    return _Side(day, amount, message_id)
