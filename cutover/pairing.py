"""Pairing for legacy paths the bridge does not call itself (``forward``, ``observe``).

An observation source (the old ESB's output folder, the target's change feed) supplies what the legacy side
produced; each observation is paired with the bridge's message by (interface, business key, version) — the
newest message of that key when the feed carries no version. Inside the settle window an unpaired side just
waits; once the window has passed it becomes an **orphan** (a ``pairing`` comparison row saying which side
is missing). A pair completed after its orphan row was written is recorded as **late**, never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, select, update

from bridge.ports import MESSAGE_NAMESPACE
from bridge.store import schema as t
from bridge.store.ledger import Ledger
from bridge.store.records import FORWARD

__all__ = ["Pairer", "PairingStats", "observation_message_id"]

COMPARED_MODES = ("legacy_primary", "dual_write", "cloud_primary")


def observation_message_id(interface: str, identity: str) -> str:
    """The comparison row id of an observation that never met a message (a legacy-only orphan)."""
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{interface}\x1fobservation:{identity}"))


@dataclass
class PairingStats:
    paired: int = 0
    late: int = 0
    orphan_messages: int = 0
    orphan_observations: int = 0


class Pairer:
    """Pairs one interface's observations with its messages; writes pairing rows into ``comparisons``."""

    def __init__(self, ledger: Ledger, interface: str, side: str = "legacy") -> None:
        self.ledger = ledger
        self.interface = interface
        self.side = side

    def record(
        self, identity: str, business_key: str, version: str | None, body: bytes, media_type: str | None, origin: str
    ) -> bool:
        """Store one observation (idempotent per identity); returns True when it was new."""
        ins = self.ledger._insert(t.observations).values(
            interface=self.interface,
            side=self.side,
            identity=identity,
            business_key=business_key,
            version=version,
            body=body,
            media_type=media_type,
            origin=origin,
            state="pending",
            observed_at=self.ledger.clock.now(),
        )
        with self.ledger.engine.begin() as conn:
            res = conn.execute(ins.on_conflict_do_nothing())
        return bool(res.rowcount)

    def run(self, settle: timedelta) -> PairingStats:
        now = self.ledger.clock.now()
        stats = PairingStats()
        o, m, c = t.observations, t.messages, t.comparisons
        with self.ledger.engine.begin() as conn:
            waiting = conn.execute(
                select(o.c.id, o.c.identity, o.c.business_key, o.c.version, o.c.state, o.c.observed_at)
                .where(o.c.interface == self.interface, o.c.side == self.side, o.c.state.in_(("pending", "orphan")))
                .order_by(o.c.id)
            ).all()
            for obs_id, identity, key, version, state, observed_at in waiting:
                mid = self._message_for(conn, key, version)
                if mid is not None:
                    was_orphan_msg = self._pairing_status(conn, mid) == "orphan"
                    late = state == "orphan" or was_orphan_msg
                    conn.execute(
                        update(o)
                        .where(o.c.id == obs_id)
                        .values(state="late" if late else "paired", message_id=mid, paired_at=now)
                    )
                    self._pairing_row(conn, mid, key, "late" if late else "paired", {"observation": identity}, now)
                    if state == "orphan":
                        conn.execute(
                            update(c)
                            .where(c.c.message_id == observation_message_id(self.interface, identity))
                            .values(status="late", diff={"missing": None, "paired_with": mid, "late": True})
                        )
                    stats.late += late
                    stats.paired += not late
                elif state == "pending" and now - observed_at >= settle:
                    conn.execute(update(o).where(o.c.id == obs_id).values(state="orphan"))
                    self._pairing_row(
                        conn,
                        observation_message_id(self.interface, identity),
                        key,
                        "orphan",
                        {"missing": "cloud", "observation": identity},
                        now,
                    )
                    stats.orphan_observations += 1
            # Messages whose legacy side never showed up within the window.
            paired = exists().where(o.c.message_id == m.c.id)
            has_row = exists().where(and_(c.c.message_id == m.c.id, c.c.level == "pairing"))
            lonely = conn.execute(
                select(m.c.id, m.c.business_key).where(
                    m.c.interface == self.interface,
                    m.c.canonical != FORWARD,
                    m.c.mode.in_(COMPARED_MODES),
                    m.c.created_at <= now - settle,
                    ~paired,
                    ~has_row,
                )
            ).all()
            for mid, key in lonely:
                self._pairing_row(conn, mid, key, "orphan", {"missing": self.side}, now)
                stats.orphan_messages += 1
        return stats

    def _message_for(self, conn: Connection, key: str, version: str | None) -> str | None:
        m = t.messages
        q = select(m.c.id).where(m.c.interface == self.interface, m.c.business_key == key)
        if version is not None:
            q = q.where(m.c.version == version)
        row = conn.execute(q.order_by(m.c.created_at.desc(), m.c.id).limit(1)).first()
        return None if row is None else str(row[0])

    def _pairing_status(self, conn: Connection, mid: str) -> str | None:
        c = t.comparisons
        row = conn.execute(select(c.c.status).where(c.c.message_id == mid, c.c.level == "pairing")).first()
        return None if row is None else str(row[0])

    def _pairing_row(
        self, conn: Connection, mid: str, key: str, status: str, diff: dict[str, Any], now: datetime
    ) -> None:
        c = t.comparisons
        ins = self.ledger._insert(c).values(
            message_id=mid,
            interface=self.interface,
            level="pairing",
            status=status,
            diff=diff,
            business_key=key,
            critical=False,
            created_at=now,
        )
        conn.execute(
            ins.on_conflict_do_update(index_elements=["message_id", "level"], set_={"status": status, "diff": diff})
        )

    def observation_body(self, message_id: str) -> tuple[bytes, str | None] | None:
        o = t.observations
        with self.ledger.engine.connect() as conn:
            row = conn.execute(
                select(o.c.body, o.c.media_type)
                .where(o.c.interface == self.interface, o.c.side == self.side, o.c.message_id == message_id)
                .order_by(o.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else (bytes(row[0]), row[1])
