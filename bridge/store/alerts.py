"""What alert rules read (lag, dead letters, the newest batch, per interface) and the state of each alert.

An alert is (interface, rule) in state ``ok`` or ``firing`` since a time, with ``notified`` saying whether
that state's notification went out: a firing alert is sent once until it resolves, a failed send is
retried at the next evaluation, and the state survives restarts (table ``alert_states``, migration 0009).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.records import DeadLetterStatus, DeliveryStatus

__all__ = ["AlertLedger", "AlertState", "InterfaceFigures"]


@dataclass(frozen=True)
class AlertState:
    """The stored state of one alert."""

    interface: str
    rule: str
    state: str  # ok | firing
    since: datetime
    notified: bool
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class InterfaceFigures:
    """What the rules of one interface read, in one pass (None: nothing of that kind in the ledger)."""

    oldest_unfinished: datetime | None
    dead_letters_open: int
    oldest_dead_letter: datetime | None
    newest_batch: datetime | None
    #: targets whose circuit breaker is open or half-open, with the time each stopped being closed
    open_circuits: dict[str, datetime] = field(default_factory=dict)


def _utc(value: Any) -> datetime | None:
    """MIN()/MAX() of a UTC column: SQLite hands it back as text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


class AlertLedger(LedgerCore):
    def interface_figures(self, interfaces: Sequence[str]) -> dict[str, InterfaceFigures]:
        """Oldest unfinished delivery, open dead letters (count, oldest) and newest batch of each interface."""
        d, dl, b = t.deliveries, t.dead_letters, t.batches
        names = list(interfaces)
        unfinished = (DeliveryStatus.PENDING, DeliveryStatus.IN_PROGRESS)
        with self.engine.connect() as conn:
            lag = dict(
                conn.execute(
                    select(d.c.interface, func.min(d.c.created_at))
                    .where(d.c.interface.in_(names), d.c.status.in_(unfinished))
                    .group_by(d.c.interface)
                ).all()
            )
            dead = {
                r[0]: (int(r[1]), r[2])
                for r in conn.execute(
                    select(dl.c.interface, func.count(), func.min(dl.c.created_at))
                    .where(dl.c.interface.in_(names), dl.c.status == DeadLetterStatus.OPEN)
                    .group_by(dl.c.interface)
                ).all()
            }
            newest = dict(
                conn.execute(
                    select(b.c.interface, func.max(b.c.created_at))
                    .where(b.c.interface.in_(names))
                    .group_by(b.c.interface)
                ).all()
            )
            c = t.circuit_states
            circuits: dict[str, dict[str, datetime]] = {}
            for r in conn.execute(
                select(c.c.interface, c.c.target, c.c.since).where(c.c.interface.in_(names), c.c.state != "closed")
            ):
                since = _utc(r.since)
                assert since is not None
                circuits.setdefault(r.interface, {})[r.target] = since
        out = {}
        for name in names:
            count, oldest = dead.get(name, (0, None))
            out[name] = InterfaceFigures(
                _utc(lag.get(name)), count, _utc(oldest), _utc(newest.get(name)), circuits.get(name, {})
            )
        return out

    def alert_states(self) -> dict[tuple[str, str], AlertState]:
        """Every stored alert state by (interface, rule)."""
        a = t.alert_states
        with self.engine.connect() as conn:
            rows = conn.execute(select(a)).all()
        return {
            (r.interface, r.rule): AlertState(r.interface, r.rule, r.state, r.since, bool(r.notified), r.detail)
            for r in rows
        }

    def put_alert_state(self, state: AlertState) -> None:
        """Write (insert or replace) the state of one alert."""
        a = t.alert_states
        values = {
            "state": state.state,
            "since": state.since,
            "notified": state.notified,
            "detail": state.detail,
            "updated_at": self._now(),
        }
        ins = self._insert(a).values(interface=state.interface, rule=state.rule, **values)
        with self.engine.begin() as conn:
            conn.execute(ins.on_conflict_do_update(index_elements=["interface", "rule"], set_=values))
