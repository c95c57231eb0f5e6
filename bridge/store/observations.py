"""The ledger's observations: what the legacy side produced on paths the bridge does not call itself.

An observation waits (``pending``) until it is paired with the bridge's message of the same business key (and
version where both sides carry one; otherwise the key's newest message); past the settle window an unpaired
side becomes an orphan, recorded as a ``pairing`` comparison row; a pair completed after its orphan row is
``late``. One pairing round is one transaction, so a crash never leaves an observation paired without its
pairing row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, select, update

from bridge.ports import MESSAGE_NAMESPACE
from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.records import ComparisonLevel, ComparisonStatus, MessageKind, ObservationState

__all__ = ["NewObservation", "ObservationLedger", "ObservedBody", "PairingStats", "observation_message_id"]


def observation_message_id(interface: str, identity: str) -> str:
    """The comparison row id of an observation that never met a message (a legacy-only orphan)."""
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{interface}\x1fobservation:{identity}"))


@dataclass(frozen=True)
class NewObservation:
    """One thing an observation source saw, with the business key (and version) read from it."""

    interface: str
    side: str
    identity: str
    business_key: str
    version: str | None
    body: bytes
    media_type: str | None
    origin: str


@dataclass(frozen=True)
class ObservedBody:
    """The bytes of the observation paired with a message."""

    body: bytes
    media_type: str | None


@dataclass
class PairingStats:
    paired: int = 0
    late: int = 0
    orphan_messages: int = 0
    orphan_observations: int = 0


class ObservationLedger(LedgerCore):
    def record_observation(self, obs: NewObservation) -> bool:
        """Store one observation (idempotent per interface, side and identity); True when it was new."""
        values = {**obs.__dict__, "body": self.protection.seal(obs.interface, obs.body)}
        ins = self._insert(t.observations).values(**values, state=ObservationState.PENDING, observed_at=self._now())
        with self.engine.begin() as conn:
            res = conn.execute(ins.on_conflict_do_nothing().execution_options(preserve_rowcount=True))
        return bool(res.rowcount)

    def pair_observations(self, interface: str, side: str, *, settle: timedelta, modes: Sequence[str]) -> PairingStats:
        """Pair waiting observations with messages; turn sides unpaired past ``settle`` into orphans.

        Only records routed in one of ``modes`` (those compared) can be orphans for want of an observation.
        """
        now = self._now()
        stats = PairingStats()
        o, m, c = t.observations, t.messages, t.comparisons
        with self.engine.begin() as conn:
            waiting = conn.execute(
                select(o.c.id, o.c.identity, o.c.business_key, o.c.version, o.c.state, o.c.observed_at)
                .where(
                    o.c.interface == interface,
                    o.c.side == side,
                    o.c.state.in_((ObservationState.PENDING, ObservationState.ORPHAN)),
                )
                .order_by(o.c.id)
            ).all()
            for obs_id, identity, key, version, state, observed_at in waiting:
                mid = self._message_for(conn, interface, key, version)
                if mid is not None:
                    late = (
                        state == ObservationState.ORPHAN or self._pairing_status(conn, mid) == ComparisonStatus.ORPHAN
                    )
                    conn.execute(
                        update(o)
                        .where(o.c.id == obs_id)
                        .values(
                            state=ObservationState.LATE if late else ObservationState.PAIRED,
                            message_id=mid,
                            paired_at=now,
                        )
                    )
                    self._pairing_row(
                        conn,
                        interface,
                        mid,
                        key,
                        ComparisonStatus.LATE if late else ComparisonStatus.PAIRED,
                        {"observation": identity},
                        now,
                    )
                    if state == ObservationState.ORPHAN:
                        conn.execute(
                            update(c)
                            .where(c.c.message_id == observation_message_id(interface, identity))
                            .values(
                                status=ComparisonStatus.LATE, diff={"missing": None, "paired_with": mid, "late": True}
                            )
                        )
                    stats.late += late
                    stats.paired += not late
                elif state == ObservationState.PENDING and now - observed_at >= settle:
                    conn.execute(update(o).where(o.c.id == obs_id).values(state=ObservationState.ORPHAN))
                    self._pairing_row(
                        conn,
                        interface,
                        observation_message_id(interface, identity),
                        key,
                        ComparisonStatus.ORPHAN,
                        {"missing": "cloud", "observation": identity},
                        now,
                    )
                    stats.orphan_observations += 1
            # Messages whose observed side never showed up within the window.
            paired = exists().where(o.c.message_id == m.c.id)
            has_row = exists().where(and_(c.c.message_id == m.c.id, c.c.level == ComparisonLevel.PAIRING))
            lonely = conn.execute(
                select(m.c.id, m.c.business_key).where(
                    m.c.interface == interface,
                    m.c.kind == MessageKind.RECORD,
                    m.c.mode.in_(list(modes)),
                    m.c.created_at <= now - settle,
                    ~paired,
                    ~has_row,
                )
            ).all()
            for mid, key in lonely:
                self._pairing_row(conn, interface, mid, key, ComparisonStatus.ORPHAN, {"missing": side}, now)
                stats.orphan_messages += 1
        return stats

    def observed_body(self, interface: str, side: str, message_id: str) -> ObservedBody | None:
        """The newest observation paired with ``message_id`` (None: not paired)."""
        o = t.observations
        with self.engine.connect() as conn:
            row = conn.execute(
                select(o.c.body, o.c.media_type)
                .where(o.c.interface == interface, o.c.side == side, o.c.message_id == message_id)
                .order_by(o.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else ObservedBody(bytes(self.protection.open(bytes(row[0])) or b""), row[1])

    def _message_for(self, conn: Connection, interface: str, key: str, version: str | None) -> str | None:
        """The message an observation of (key, version) pairs with.

        Where both sides carry a version, the message of that version (none yet: the observation waits); an
        observation without a version, or a key whose messages carry none (a feed without versions, or
        messages recorded before versions were read), pairs with the newest message of the key.
        """
        m = t.messages
        q = select(m.c.id).where(m.c.interface == interface, m.c.business_key == key)
        newest = q.order_by(m.c.created_at.desc(), m.c.id.desc()).limit(1)
        if version is not None:
            row = conn.execute(q.where(m.c.version == version).order_by(m.c.created_at.desc()).limit(1)).first()
            if row is not None:
                return str(row[0])
            newest = newest.where(m.c.version.is_(None))
            if conn.execute(q.where(m.c.version.is_not(None)).limit(1)).first() is not None:
                return None  # this key's messages carry versions: wait for the one of this version
        row = conn.execute(newest).first()
        return None if row is None else str(row[0])

    def _pairing_status(self, conn: Connection, mid: str) -> str | None:
        c = t.comparisons
        row = conn.execute(
            select(c.c.status).where(c.c.message_id == mid, c.c.level == ComparisonLevel.PAIRING)
        ).first()
        return None if row is None else str(row[0])

    def _pairing_row(
        self,
        conn: Connection,
        interface: str,
        mid: str,
        key: str,
        status: ComparisonStatus,
        diff: dict[str, Any],
        now: datetime,
    ) -> None:
        ins = self._insert(t.comparisons).values(
            message_id=mid,
            interface=interface,
            level=ComparisonLevel.PAIRING,
            status=status,
            diff=diff,
            business_key=key,
            critical=False,
            created_at=now,
        )
        conn.execute(
            ins.on_conflict_do_update(index_elements=["message_id", "level"], set_={"status": status, "diff": diff})
        )
