"""What the dashboard reads beyond the kept counts: recent activity per interface and recent mismatches.

Each read is bounded by an index range, never a scan of the whole ledger, so an overview costs the same over a
thousand or a million messages: the newest message of an interface (``(interface, created_at)``, one probe),
the messages of the hour up to it (the same index, at most ``sample`` entries), the oldest delivery still waiting
(``(interface, path, role, status)``, the waiting statuses only), the newest mismatches (``(interface, status)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from bridge.ports.protocols import PathName, Role
from bridge.store import schema as t
from bridge.store.records import DeliveryStatus

__all__ = ["Activity", "daily_counts", "interface_activity", "recent_mismatches"]

_WAITING = (DeliveryStatus.HELD, DeliveryStatus.PENDING, DeliveryStatus.IN_PROGRESS)


def _utc(value: Any) -> datetime | None:
    """MIN()/MAX() of a UTC column: SQLite hands it back as text."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Activity:
    """One interface's recent activity."""

    newest: datetime | None
    """When its newest message was received."""
    per_hour: float
    """Messages per hour in the hour up to ``newest``: counted, or estimated (``estimated``) from the span of the
    newest ``sample`` messages when that many came within the hour."""
    estimated: bool
    oldest_waiting: datetime | None
    """Creation time of its oldest delivery not finished yet (held, pending or in progress)."""


def _probes(name: str, sample: int) -> Any:
    """One statement of scalar subqueries, each an index probe: newest message, the ``sample``-th newest, and
    the oldest waiting delivery per (path, role) (the index ``(interface, path, role, status)`` needs both)."""
    m, d = t.messages, t.deliveries
    cols = [
        select(func.max(m.c.created_at)).where(m.c.interface == name).scalar_subquery(),
        select(m.c.created_at)
        .where(m.c.interface == name)
        .order_by(m.c.created_at.desc())
        .offset(sample - 1)
        .limit(1)
        .scalar_subquery(),
    ]
    for path in PathName:
        for role in Role:
            cols.append(
                select(func.min(d.c.created_at))
                .where(
                    d.c.interface == name,
                    d.c.path == path.value,
                    d.c.role == role.value,
                    d.c.status.in_(_WAITING),
                )
                .scalar_subquery()
            )
    return select(*cols)


def interface_activity(engine: Engine, interfaces: Sequence[str], sample: int = 1000) -> dict[str, Activity]:
    """Per interface: newest message, messages per hour up to it, oldest waiting delivery.

    At most ``sample`` index entries are read per interface: the ``sample``-th newest message tells whether
    the last hour held more than that (then the rate is ``sample`` over their span) or fewer (then they are
    counted). One statement per interface, a second one only to count a quiet hour."""
    m = t.messages
    out: dict[str, Activity] = {}
    with engine.connect() as conn:
        for name in interfaces:
            row = conn.execute(_probes(name, sample)).one()
            newest, nth = _utc(row[0]), _utc(row[1])
            waiting = [w for w in (_utc(v) for v in row[2:]) if w is not None]
            rate, estimated = 0.0, False
            if newest is not None:
                hour_ago = newest - timedelta(hours=1)
                if nth is not None and nth > hour_ago:
                    span = max((newest - nth).total_seconds(), 1.0)
                    rate, estimated = sample / span * 3600, True
                else:
                    window = select(m.c.id).where(m.c.interface == name, m.c.created_at > hour_ago).subquery()
                    rate = float(conn.scalar(select(func.count()).select_from(window)) or 0)
            out[name] = Activity(newest, rate, estimated, min(waiting) if waiting else None)
    return out


def recent_mismatches(engine: Engine, interface: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest mismatch verdicts of ``interface`` (diffs masked when they were written), newest first."""
    c = t.comparisons
    q = (
        select(c.c.id, c.c.message_id, c.c.business_key, c.c.level, c.c.critical, c.c.diff, c.c.created_at)
        .where(c.c.interface == interface, c.c.status == "mismatch")
        .order_by(c.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def daily_counts(engine: Engine, interface: str, days: int = 14, cap: int = 10_000) -> list[dict[str, Any]]:
    """Per day (UTC), for the ``days`` days up to the interface's newest message: messages received and
    mismatches found, each counted up to ``cap`` along its ``(interface, created_at)`` index (``capped`` says
    so); oldest day first, empty when the interface has no message."""
    m, c = t.messages, t.comparisons
    with engine.connect() as conn:
        newest = _utc(conn.scalar(select(func.max(m.c.created_at)).where(m.c.interface == interface)))
        if newest is None:
            return []
        last = newest.replace(hour=0, minute=0, second=0, microsecond=0)
        out = []
        for i in range(days - 1, -1, -1):
            start = last - timedelta(days=i)
            end = start + timedelta(days=1)
            msgs = select(m.c.id).where(m.c.interface == interface, m.c.created_at >= start, m.c.created_at < end)
            bad = select(c.c.id).where(
                c.c.interface == interface, c.c.created_at >= start, c.c.created_at < end, c.c.status == "mismatch"
            )
            n = int(conn.scalar(select(func.count()).select_from(msgs.limit(cap).subquery())) or 0)
            k = int(conn.scalar(select(func.count()).select_from(bad.limit(cap).subquery())) or 0)
            out.append({"day": start.date().isoformat(), "messages": n, "mismatches": k, "capped": cap in (n, k)})
    return out
