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

from sqlalchemy import Connection, and_, bindparam, exists, select, update

from bridge.ports import MESSAGE_NAMESPACE
from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.records import ComparisonLevel, ComparisonStatus, MessageKind, ObservationState

__all__ = ["NewObservation", "ObservationLedger", "ObservedBody", "PairingStats", "observation_message_id"]

_CHUNK = 500


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
        return self.record_observations([obs]) == 1

    def record_observations(self, batch: Sequence[NewObservation]) -> int:
        """Store observations in one transaction (idempotent per interface, side and identity); how many were new."""
        if not batch:
            return 0
        now = self._now()
        rows = [
            {
                **obs.__dict__,
                "body": self.protection.seal(obs.interface, obs.body),
                "state": ObservationState.PENDING,
                "observed_at": now,
            }
            for obs in batch
        ]
        new = 0
        with self.engine.begin() as conn:
            for i in range(0, len(rows), _CHUNK):
                ins = self._insert(t.observations).values(rows[i : i + _CHUNK]).on_conflict_do_nothing()
                new += int(conn.execute(ins.execution_options(preserve_rowcount=True)).rowcount or 0)
        return new

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
            # The round in a few statements, not a few per observation: one read of the candidate messages and
            # of their pairing rows, then batched updates and one upsert of the pairing rows.
            mids = self._messages_for(conn, interface, [(r[2], r[3]) for r in waiting])
            statuses = self._pairing_statuses(conn, [x for x in mids.values() if x is not None])
            paired_obs: list[dict[str, Any]] = []
            orphaned: list[int] = []
            late_rows: list[dict[str, Any]] = []
            rows: dict[str, dict[str, Any]] = {}
            for obs_id, identity, key, version, state, observed_at in waiting:
                mid = mids.get((key, version))
                if mid is not None:
                    late = state == ObservationState.ORPHAN or statuses.get(mid) == ComparisonStatus.ORPHAN
                    paired_obs.append(
                        {
                            "_id": obs_id,
                            "_state": ObservationState.LATE if late else ObservationState.PAIRED,
                            "_mid": mid,
                        }
                    )
                    status = ComparisonStatus.LATE if late else ComparisonStatus.PAIRED
                    rows[mid] = self._pairing_values(interface, mid, key, status, {"observation": identity}, now)
                    if state == ObservationState.ORPHAN:
                        late_rows.append(
                            {
                                "_omid": observation_message_id(interface, identity),
                                "_diff": {"missing": None, "paired_with": mid, "late": True},
                            }
                        )
                    stats.late += late
                    stats.paired += not late
                elif state == ObservationState.PENDING and now - observed_at >= settle:
                    orphaned.append(obs_id)
                    omid = observation_message_id(interface, identity)
                    diff = {"missing": "cloud", "observation": identity}
                    rows[omid] = self._pairing_values(interface, omid, key, ComparisonStatus.ORPHAN, diff, now)
                    stats.orphan_observations += 1
            if paired_obs:
                conn.execute(
                    update(o)
                    .where(o.c.id == bindparam("_id"))
                    .values(state=bindparam("_state"), message_id=bindparam("_mid"), paired_at=now),
                    paired_obs,
                )
            for i in range(0, len(orphaned), _CHUNK):
                conn.execute(
                    update(o).where(o.c.id.in_(orphaned[i : i + _CHUNK])).values(state=ObservationState.ORPHAN)
                )
            if late_rows:
                conn.execute(
                    update(c)
                    .where(c.c.message_id == bindparam("_omid"))
                    .values(status=ComparisonStatus.LATE, diff=bindparam("_diff", type_=c.c.diff.type)),
                    late_rows,
                )
            self._pairing_rows(conn, list(rows.values()))
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
            orphan = ComparisonStatus.ORPHAN
            self._pairing_rows(
                conn, [self._pairing_values(interface, mid, key, orphan, {"missing": side}, now) for mid, key in lonely]
            )
            stats.orphan_messages += len(lonely)
        return stats

    def observed_body(self, interface: str, side: str, message_id: str) -> ObservedBody | None:
        """The newest observation paired with ``message_id`` (None: not paired)."""
        return self.observed_bodies(interface, side, [message_id]).get(message_id)

    def observed_bodies(self, interface: str, side: str, message_ids: Sequence[str]) -> dict[str, ObservedBody]:
        """The newest observation paired with each of ``message_ids`` (absent: not paired), read along the
        message_id index a few hundred at a time: the comparator asks for a whole round's messages at once."""
        o = t.observations
        out: dict[str, ObservedBody] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(message_ids), _CHUNK):
                rows = conn.execute(
                    select(o.c.message_id, o.c.body, o.c.media_type)
                    .where(
                        o.c.message_id.in_(list(message_ids[i : i + _CHUNK])),
                        o.c.interface == interface,
                        o.c.side == side,
                    )
                    .order_by(o.c.id)
                ).all()
                for mid, body, media in rows:  # oldest first: the newest of a message is kept
                    out[str(mid)] = ObservedBody(bytes(self.protection.open(bytes(body)) or b""), media)
        return out

    def _messages_for(
        self, conn: Connection, interface: str, wanted: Sequence[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], str | None]:
        """The message each observation of (key, version) pairs with, read a few hundred keys at a time.

        Where both sides carry a version, the message of that version (none yet: the observation waits); an
        observation without a version, or a key whose messages carry none (a feed without versions, or
        messages recorded before versions were read), pairs with the newest message of the key.
        """
        m = t.messages
        keys = sorted({k for k, _ in wanted})
        by_key: dict[str, list[tuple[Any, str, str | None]]] = {}
        for i in range(0, len(keys), _CHUNK):
            found = conn.execute(
                select(m.c.created_at, m.c.id, m.c.version, m.c.business_key).where(
                    m.c.interface == interface, m.c.business_key.in_(keys[i : i + _CHUNK])
                )
            ).all()
            for created, mid, version, key in found:
                by_key.setdefault(str(key), []).append((created, str(mid), version))
        return {(k, v): _pick(by_key.get(k, []), v) for k, v in set(wanted)}

    def _pairing_statuses(self, conn: Connection, mids: Sequence[str]) -> dict[str, str]:
        c = t.comparisons
        out: dict[str, str] = {}
        unique = sorted(set(mids))
        for i in range(0, len(unique), _CHUNK):
            rows = conn.execute(
                select(c.c.message_id, c.c.status).where(
                    c.c.message_id.in_(unique[i : i + _CHUNK]), c.c.level == ComparisonLevel.PAIRING
                )
            ).all()
            out.update({str(r[0]): str(r[1]) for r in rows})
        return out

    @staticmethod
    def _pairing_values(
        interface: str, mid: str, key: str, status: ComparisonStatus, diff: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        return {
            "message_id": mid,
            "interface": interface,
            "level": ComparisonLevel.PAIRING,
            "status": status,
            "diff": diff,
            "business_key": key,
            "critical": False,
            "created_at": now,
        }

    def _pairing_rows(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert pairing rows (one per message id: a message's pairing row says its latest state)."""
        for i in range(0, len(rows), _CHUNK):
            ins = self._insert(t.comparisons).values(list(rows[i : i + _CHUNK]))
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["message_id", "level"],
                    set_={"status": ins.excluded.status, "diff": ins.excluded.diff},
                )
            )


def _pick(messages: list[tuple[Any, str, str | None]], version: str | None) -> str | None:
    """The message of (created_at, id, version) rows an observation of ``version`` pairs with (see above)."""
    if version is not None:
        same = [r for r in messages if r[2] == version]
        if same:
            return max(same)[1]
        if any(r[2] is not None for r in messages):
            return None  # this key's messages carry versions: wait for the one of this version
        messages = [r for r in messages if r[2] is None]
    return max(messages)[1] if messages else None
