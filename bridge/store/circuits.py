"""The circuit breaker state of each delivery target, as the worker that changed it last wrote it.

The breaker itself lives in the runtime (:mod:`bridge.runtime.circuit`), in memory, one per target and
process; it writes here only on a transition (closed -> open -> half_open -> closed), so ``status``, the
admin API and the ``circuit_open`` alert can see it from another process. In a cluster each node has its
own breaker and the row says which node wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bridge.store import schema as t
from bridge.store._core import LedgerCore

__all__ = ["CircuitLedger", "CircuitState"]


@dataclass(frozen=True)
class CircuitState:
    target: str
    interface: str
    state: str  # closed | open | half_open
    failures: int
    #: closed since; or, open or half-open, not closed since (the first opening; failed probes keep it)
    since: datetime
    retry_at: datetime | None = None
    node: str = ""
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["since"] = self.since.isoformat()
        out["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return out


class CircuitLedger(LedgerCore):
    def put_circuit(self, state: CircuitState) -> None:
        """Write (insert or replace) the breaker state of one target."""
        c = t.circuit_states
        values = {
            "interface": state.interface,
            "state": state.state,
            "failures": state.failures,
            "since": state.since,
            "retry_at": state.retry_at,
            "node": state.node or self.node,
            "detail": state.detail,
        }
        ins = self._insert(c).values(target=state.target, **values)
        with self.engine.begin() as conn:
            conn.execute(ins.on_conflict_do_update(index_elements=["target"], set_=values))

    def circuits(self, interface: str | None = None) -> list[CircuitState]:
        """The stored breaker states (of one interface, or all), by target."""
        c = t.circuit_states
        q = select(c).order_by(c.c.target)
        if interface is not None:
            q = q.where(c.c.interface == interface)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            CircuitState(r.target, r.interface, r.state, r.failures, r.since, r.retry_at, r.node, r.detail)
            for r in rows
        ]
