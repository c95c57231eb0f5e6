"""The ledger's reconciliation side: what a path delivered, read for counting, and the results written back.

:meth:`ReconciliationLedger.delivered_records` streams every delivered (not dry-run) delivery of one target in
delivery order, with its message's payload, so the caller keeps the newest per business key without the whole
set in memory twice. Results are rows of ``reconciliations``: one per (run, interface, path, business date).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.packing import PayloadPacking, unpack_payload
from bridge.store.records import DeliveryStatus

__all__ = ["DeliveredRecord", "ReconciliationLedger", "ReconciliationRow"]


@dataclass(frozen=True)
class DeliveredRecord:
    """One delivered delivery of a target: its key, message and canonical payload (None once pruned)."""

    business_key: str
    message_id: str
    payload: str | None


@dataclass(frozen=True)
class ReconciliationRow:
    """One business date of one path in one reconciliation run (``target_count`` None: no listing read)."""

    run_id: str
    interface: str
    path: str
    business_date: str
    ledger_count: int
    ledger_amount: Decimal | None
    target_count: int | None
    target_amount: Decimal | None
    differences: int
    status: str
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able (amounts as exact decimal text)."""
        return {
            "run_id": self.run_id,
            "interface": self.interface,
            "path": self.path,
            "business_date": self.business_date or None,
            "ledger_count": self.ledger_count,
            "ledger_amount": _text(self.ledger_amount),
            "target_count": self.target_count,
            "target_amount": _text(self.target_amount),
            "differences": self.differences,
            "status": self.status,
            "detail": self.detail,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class ReconciliationLedger(LedgerCore):
    """Reads for reconciliation and the reconciliation results."""

    def delivered_records(self, interface: str, target: str) -> Iterator[DeliveredRecord]:
        """Every delivered, real (not dry-run) delivery to ``target``, oldest first, with its payload."""
        d, m = t.deliveries, t.messages
        q = (
            select(d.c.business_key, m.c.id, m.c.payload, m.c.payload_z, m.c.packing)
            .join(m, m.c.id == d.c.message_id)
            .where(
                d.c.interface == interface,
                d.c.target == target,
                d.c.status == DeliveryStatus.DELIVERED,
                d.c.dry_run.is_(False),
            )
            .order_by(d.c.id)
        )
        with self.engine.connect() as conn:
            for key, mid, payload, payload_z, packing in conn.execution_options(yield_per=1000).execute(q):
                text = None if packing == PayloadPacking.PRUNED else unpack_payload(mid, payload, payload_z, packing)
                yield DeliveredRecord(key, mid, text)

    def record_reconciliation(self, rows: Sequence[ReconciliationRow]) -> None:
        """Write one run's rows in one transaction."""
        if not rows:
            return
        now = self._now()
        values = [
            {
                "run_id": r.run_id,
                "interface": r.interface,
                "path": r.path,
                "business_date": r.business_date,
                "ledger_count": r.ledger_count,
                "ledger_amount": _text(r.ledger_amount),
                "target_count": r.target_count,
                "target_amount": _text(r.target_amount),
                "differences": r.differences,
                "status": r.status,
                "detail": r.detail or None,
                "created_at": now,
            }
            for r in rows
        ]
        with self.engine.begin() as conn:
            conn.execute(t.reconciliations.insert(), values)

    def latest_reconciliations(self, interface: str | None = None) -> list[ReconciliationRow]:
        """The rows of each interface's newest run (or only ``interface``'s), by interface, path and date."""
        r = t.reconciliations
        newest = select(r.c.interface, func.max(r.c.id).label("last")).group_by(r.c.interface)
        if interface is not None:
            newest = newest.where(r.c.interface == interface)
        sub = newest.subquery()
        runs = select(r.c.run_id).join(sub, r.c.id == sub.c.last)
        q = select(r).where(r.c.run_id.in_(runs)).order_by(r.c.interface, r.c.path, r.c.business_date)
        with self.engine.connect() as conn:
            return [
                ReconciliationRow(
                    run_id=row.run_id,
                    interface=row.interface,
                    path=row.path,
                    business_date=row.business_date,
                    ledger_count=row.ledger_count,
                    ledger_amount=_decimal(row.ledger_amount),
                    target_count=row.target_count,
                    target_amount=_decimal(row.target_amount),
                    differences=row.differences,
                    status=row.status,
                    detail=row.detail or {},
                    created_at=row.created_at,
                )
                for row in conn.execute(q)
            ]
