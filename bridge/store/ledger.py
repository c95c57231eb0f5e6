"""The ledger: the durable record of batches, messages, deliveries, attempts and dead letters.

Its rules are what make "nothing lost, nothing twice" hold:

* messages and their delivery rows are written per chunk, one transaction per chunk, with
  ``ON CONFLICT DO NOTHING`` on the message id, so re-reading input after a crash is a no-op;
* deliveries are created ``held`` and released (``pending``) in one statement when their whole batch is
  decoded, so a batch that fails half-way never delivers half a file;
* a delivery is claimed only when no earlier delivery for the same (interface, path, role, business key) is
  still open: per-key order with parallelism across keys; PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``;
* outcomes of many attempts are written in one transaction (attempt rows, delivery states, dead letters,
  xrefs, echo hashes, message states).

The ledger reads time only from its :class:`~bridge.ports.Clock`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bridge.ports import Clock
from bridge.store import schema as t
from bridge.store.engine import is_sqlite
from bridge.store.records import (
    OPEN_DELIVERY,
    AttemptResult,
    BatchState,
    ClaimedDelivery,
    DeliveryStatus,
    MessageState,
    NewDeadLetter,
    NewMessage,
)

__all__ = ["Ledger"]


def _blocked_by_earlier(d: Any) -> Any:
    """An earlier delivery of the same (interface, path, role, business key) is still open: per-key order."""
    e = t.deliveries.alias("e")
    return exists().where(
        e.c.interface == d.c.interface,
        e.c.path == d.c.path,
        e.c.role == d.c.role,
        e.c.business_key == d.c.business_key,
        e.c.id < d.c.id,
        e.c.status.in_(OPEN_DELIVERY),
    )


def _alive(holder: str) -> bool:
    """Whether the process named by ``host:pid`` still runs on this host."""
    try:
        pid = int(holder.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """All reads and writes of the ledger go through here (and ``bridge.store.queries`` for reports)."""

    def __init__(self, engine: Engine, clock: Clock, *, node: str | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.node = node or f"{socket.gethostname()}:{os.getpid()}"
        self._sqlite = is_sqlite(engine)

    # ------------------------------------------------------------------ helpers

    def _insert(self, table: Table) -> Any:
        return (sqlite.insert if self._sqlite else postgresql.insert)(table)

    def _now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------------ SourceLedger

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.batches.c.state).where(t.batches.c.interface == interface, t.batches.c.batch_id == batch_id)
            ).first()
        return None if row is None else str(row[0])

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        with self.engine.begin() as conn:
            self._upsert_batch(conn, interface, batch_id, state, origin, detail)

    def open_batch(self, interface: str, batch_id: str, origin: str) -> int:
        """The batch row id for ``batch_id`` (created if new), set to ``claimed`` unless already finished."""
        with self.engine.begin() as conn:
            return self._upsert_batch(conn, interface, batch_id, BatchState.CLAIMED.value, origin, "", keep_final=True)

    def _upsert_batch(
        self,
        conn: Connection,
        interface: str,
        batch_id: str,
        state: str,
        origin: str,
        detail: str,
        keep_final: bool = False,
    ) -> int:
        now = self._now()
        b = t.batches
        row = conn.execute(
            select(b.c.id, b.c.state).where(b.c.interface == interface, b.c.batch_id == batch_id)
        ).first()
        if row is None:
            ins = (
                self._insert(b)
                .values(
                    interface=interface,
                    batch_id=batch_id,
                    origin=origin,
                    state=state,
                    detail=detail,
                    records=0,
                    failures=0,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            )
            conn.execute(ins)
            row = conn.execute(
                select(b.c.id, b.c.state).where(b.c.interface == interface, b.c.batch_id == batch_id)
            ).one()
            return int(row[0])
        if keep_final and row[1] in (BatchState.ACKNOWLEDGED.value, BatchState.FAILED.value):
            return int(row[0])
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if detail:
            values["detail"] = detail
        if origin:
            values["origin"] = origin
        conn.execute(update(b).where(b.c.id == row[0]).values(**values))
        return int(row[0])

    def get_cursor(self, interface: str, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.poll_state.c.value).where(t.poll_state.c.interface == interface, t.poll_state.c.key == key)
            ).first()
        return None if row is None else str(row[0])

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        ins = self._insert(t.poll_state).values(interface=interface, key=key, value=value, updated_at=self._now())
        ins = ins.on_conflict_do_update(
            index_elements=["interface", "key"],
            set_={"value": ins.excluded.value, "updated_at": ins.excluded.updated_at},
        )
        with self.engine.begin() as conn:
            conn.execute(ins)

    # ------------------------------------------------------------------ poll side

    def record_chunk(
        self, interface: str, batch: int | None, messages: Sequence[NewMessage], dead: Sequence[NewDeadLetter]
    ) -> int:
        """Write one chunk in ONE transaction; returns how many messages were new. Re-recording is a no-op."""
        now = self._now()
        new = 0
        with self.engine.begin() as conn:
            if messages:
                ids = [m.id for m in messages]
                existing = set(conn.scalars(select(t.messages.c.id).where(t.messages.c.id.in_(ids))))
                new = len(ids) - len(existing)
                ins = self._insert(t.messages)
                # A held message re-read under a new batch row moves to it, so that batch's release frees it.
                ins = ins.on_conflict_do_update(
                    index_elements=["id"],
                    set_={"batch": ins.excluded.batch},
                    where=t.messages.c.state == MessageState.HELD.value,
                )
                conn.execute(
                    ins,
                    [
                        {
                            "id": m.id,
                            "interface": interface,
                            "batch": batch,
                            "ordinal": m.ordinal,
                            "identity": m.identity,
                            "canonical": m.canonical,
                            "business_key": m.business_key,
                            "version": m.version,
                            "content_hash": m.content_hash,
                            "payload": m.payload,
                            "location": m.location,
                            "state": MessageState.SUPPRESSED.value if m.suppressed else MessageState.HELD.value,
                            "mode": m.mode,
                            "flag_version": m.flag_version,
                            "rollout": m.rollout,
                            "transaction_id": m.transaction_id,
                            "created_at": now,
                        }
                        for m in messages
                    ],
                )
                rows = [
                    {
                        "message_id": m.id,
                        "interface": interface,
                        "path": r.path,
                        "role": r.role,
                        "dry_run": r.dry_run,
                        "target": r.target,
                        "business_key": m.business_key,
                        "status": DeliveryStatus.HELD.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for m in messages
                    if m.id not in existing and not m.suppressed
                    for r in m.routes
                ]
                if rows:
                    conn.execute(self._insert(t.deliveries).on_conflict_do_nothing(), rows)
            if dead:
                self._insert_dead(conn, interface, batch, dead, now)
            if batch is not None:
                conn.execute(
                    update(t.batches)
                    .where(t.batches.c.id == batch)
                    .values(
                        records=t.batches.c.records + len(messages),
                        failures=t.batches.c.failures + len(dead),
                        updated_at=now,
                    )
                )
        return new

    def _insert_dead(
        self, conn: Connection, interface: str, batch: int | None, dead: Sequence[NewDeadLetter], now: datetime
    ) -> None:
        conn.execute(
            self._insert(t.dead_letters).on_conflict_do_nothing(),
            [
                {
                    "interface": interface,
                    "kind": d.kind,
                    "message_id": d.message_id,
                    "delivery_id": 0,
                    "batch": batch,
                    "error": d.error,
                    "location": d.location,
                    "fragment": d.fragment,
                    "status": "open",
                    "created_at": now,
                }
                for d in dead
            ],
        )

    def release_batch(self, interface: str, batch: int) -> int:
        """The batch is fully decoded: its held deliveries become pending; returns how many."""
        now = self._now()
        with self.engine.begin() as conn:
            ids = select(t.messages.c.id).where(t.messages.c.batch == batch).scalar_subquery()
            res = conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.status == DeliveryStatus.HELD.value, t.deliveries.c.message_id.in_(ids))
                .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now, updated_at=now)
            )
            conn.execute(
                update(t.messages)
                .where(t.messages.c.batch == batch, t.messages.c.state == MessageState.HELD.value)
                .values(state=MessageState.ACCEPTED.value)
            )
            conn.execute(
                update(t.batches).where(t.batches.c.id == batch).values(state=BatchState.DECODED.value, updated_at=now)
            )
            return int(res.rowcount or 0)

    def cancel_batch(self, batch: int, detail: str) -> None:
        """A batch-level error: nothing of it is delivered; its held messages are cancelled."""
        now = self._now()
        with self.engine.begin() as conn:
            ids = select(t.messages.c.id).where(t.messages.c.batch == batch).scalar_subquery()
            conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.status == DeliveryStatus.HELD.value, t.deliveries.c.message_id.in_(ids))
                .values(status=DeliveryStatus.CANCELLED.value, updated_at=now)
            )
            conn.execute(
                update(t.messages)
                .where(t.messages.c.batch == batch, t.messages.c.state == MessageState.HELD.value)
                .values(state=MessageState.CANCELLED.value)
            )
            conn.execute(
                update(t.batches)
                .where(t.batches.c.id == batch)
                .values(state=BatchState.FAILED.value, detail=detail, updated_at=now)
            )

    def batch_settled(self, batch: int) -> bool:
        """True when no authoritative delivery of the batch is still open (used by ``acknowledge: on_delivery``)."""
        d, m = t.deliveries, t.messages
        with self.engine.connect() as conn:
            open_row = conn.execute(
                select(d.c.id)
                .join(m, m.c.id == d.c.message_id)
                .where(m.c.batch == batch, d.c.role == "authoritative", d.c.status.in_(OPEN_DELIVERY))
                .limit(1)
            ).first()
        return open_row is None

    def batches_in_state(self, interface: str, state: str) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.batches.c.id, t.batches.c.batch_id).where(
                    t.batches.c.interface == interface, t.batches.c.state == state
                )
            ).all()
        return [(int(r[0]), str(r[1])) for r in rows]

    # ------------------------------------------------------------------ delivery side

    def claim(self, target: str, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` due deliveries of ``target``, at most one per business key (per-key order)."""
        now = self._now()
        d, m = t.deliveries, t.messages
        blocking = _blocked_by_earlier(d)
        pick = (
            select(d.c.id)
            .where(
                d.c.status == DeliveryStatus.PENDING.value, d.c.target == target, d.c.next_attempt_at <= now, ~blocking
            )
            .order_by(d.c.id)
            .limit(limit)
        )
        if not self._sqlite:
            pick = pick.with_for_update(skip_locked=True, of=d)
        with self.engine.begin() as conn:
            ids = list(conn.scalars(pick))
            if not ids:
                return []
            conn.execute(
                update(d)
                .where(d.c.id.in_(ids))
                .values(
                    status=DeliveryStatus.IN_PROGRESS.value,
                    claimed_by=self.node,
                    claimed_until=now + lease,
                    updated_at=now,
                )
            )
            rows = conn.execute(
                select(
                    d.c.id,
                    d.c.message_id,
                    d.c.interface,
                    d.c.path,
                    d.c.role,
                    d.c.dry_run,
                    d.c.target,
                    d.c.business_key,
                    d.c.attempts,
                    d.c.first_attempt_at,
                    m.c.canonical,
                    m.c.payload,
                    m.c.content_hash,
                    m.c.transaction_id,
                )
                .join(m, m.c.id == d.c.message_id)
                .where(d.c.id.in_(ids))
                .order_by(d.c.id)
            ).all()
        return [ClaimedDelivery(*row) for row in rows]  # type: ignore[call-arg]

    def finish(self, results: Sequence[AttemptResult]) -> None:
        """Record many attempts in ONE transaction: attempts, delivery states, dead letters, xrefs, echoes."""
        if not results:
            return
        now = self._now()
        d = t.deliveries
        with self.engine.begin() as conn:
            conn.execute(
                t.attempts.insert(),
                [
                    {
                        "delivery_id": r.delivery.id,
                        "number": r.number,
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                        "status": r.outcome,
                        "detail": r.detail[:2000],
                        "error": r.error,
                        "retry_after": r.retry_after,
                        "next_attempt_at": r.next_attempt_at,
                    }
                    for r in results
                ],
            )
            conn.execute(
                update(d)
                .where(d.c.id == bindparam("b_id"))
                .values(
                    status=bindparam("b_status"),
                    attempts=bindparam("b_attempts"),
                    next_attempt_at=bindparam("b_next"),
                    first_attempt_at=bindparam("b_first"),
                    claimed_by=None,
                    claimed_until=None,
                    last_error=bindparam("b_error"),
                    response=bindparam("b_response"),
                    media_type=bindparam("b_media"),
                    sent=bindparam("b_sent"),
                    target_id=bindparam("b_target_id"),
                    updated_at=now,
                    finished_at=bindparam("b_finished"),
                ),
                [
                    {
                        "b_id": r.delivery.id,
                        "b_status": r.next_status,
                        "b_attempts": r.number,
                        "b_next": r.next_attempt_at or now,
                        "b_first": r.delivery.first_attempt_at or r.started_at,
                        "b_error": r.error,
                        "b_response": r.response,
                        "b_media": r.media_type,
                        "b_sent": r.sent,
                        "b_target_id": r.target_id,
                        "b_finished": r.finished_at if r.next_status != DeliveryStatus.PENDING.value else None,
                    }
                    for r in results
                ],
            )
            dead = [r for r in results if r.next_status == DeliveryStatus.DEAD.value]
            if dead:
                m = t.messages
                where: dict[str, Any] = dict(
                    conn.execute(
                        select(m.c.id, m.c.location).where(m.c.id.in_([r.delivery.message_id for r in dead]))
                    ).all()
                )
                ins = self._insert(t.dead_letters)
                # A replayed delivery that dies again reopens its dead letter with the new error.
                ins = ins.on_conflict_do_update(
                    index_elements=["interface", "kind", "message_id", "delivery_id"],
                    set_={
                        "status": "open",
                        "error": ins.excluded.error,
                        "response": ins.excluded.response,
                        "created_at": ins.excluded.created_at,
                        "resolved_at": None,
                        "resolved_by": None,
                        "resolution": None,
                    },
                )
                conn.execute(
                    ins,
                    [
                        {
                            "interface": r.delivery.interface,
                            "kind": "delivery",
                            "message_id": r.delivery.message_id,
                            "delivery_id": r.delivery.id,
                            "batch": None,
                            "error": r.error or {},
                            "location": where.get(r.delivery.message_id),
                            "fragment": "",
                            "response": r.response,
                            "status": "open",
                            "created_at": now,
                        }
                        for r in dead
                    ],
                )
            for r in results:
                if r.xref is not None:
                    self._upsert_xref(conn, *r.xref, message_id=r.delivery.message_id, now=now)
                if r.last_write is not None:
                    self._upsert_last_write(conn, *r.last_write, message_id=r.delivery.message_id, now=now)
            auth = [r for r in results if r.delivery.role == "authoritative" and r.next_status != "pending"]
            if auth:
                conn.execute(
                    update(t.messages).where(t.messages.c.id == bindparam("b_mid")).values(state=bindparam("b_state")),
                    [
                        {
                            "b_mid": r.delivery.message_id,
                            "b_state": MessageState.DELIVERED.value if r.next_status == "delivered" else "dead",
                        }
                        for r in auth
                    ],
                )

    def reap_expired_claims(self) -> int:
        """Claims whose lease ran out (their worker died) go back to pending; returns how many."""
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.deliveries)
                .where(t.deliveries.c.status == DeliveryStatus.IN_PROGRESS.value, t.deliveries.c.claimed_until < now)
                .values(status=DeliveryStatus.PENDING.value, claimed_by=None, claimed_until=None, updated_at=now)
            )
        return int(res.rowcount or 0)

    def release_own_claims(self) -> int:
        """At start-up: this node's earlier claims (from before a crash) are pending again."""
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.deliveries)
                .where(
                    t.deliveries.c.status == DeliveryStatus.IN_PROGRESS.value, t.deliveries.c.claimed_by == self.node
                )
                .values(status=DeliveryStatus.PENDING.value, claimed_by=None, claimed_until=None, updated_at=now)
            )
        return int(res.rowcount or 0)

    def release_orphaned_claims(self) -> int:
        """Claims held by processes of this host that no longer exist (killed) are pending again at once.

        Other hosts' claims are left to the lease (``reap_expired_claims``): we cannot see their processes.
        """
        host = self.node.rsplit(":", 1)[0]
        d = t.deliveries
        with self.engine.connect() as conn:
            holders = conn.scalars(
                select(d.c.claimed_by).where(d.c.status == DeliveryStatus.IN_PROGRESS.value).distinct()
            ).all()
        dead = [h for h in holders if h and h.rsplit(":", 1)[0] == host and h != self.node and not _alive(h)]
        if not dead:
            return 0
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(d)
                .where(d.c.status == DeliveryStatus.IN_PROGRESS.value, d.c.claimed_by.in_(dead))
                .values(status=DeliveryStatus.PENDING.value, claimed_by=None, claimed_until=None, updated_at=now)
            )
        return int(res.rowcount or 0)

    def next_due(self, targets: Iterable[str]) -> datetime | None:
        """When the earliest claimable pending delivery of these targets becomes due (None: nothing claimable).

        Deliveries waiting behind an earlier one of the same business key are not claimable, whatever their
        own time says: counting them would make a waiting loop spin instead of sleeping until the head is due.
        """
        d = t.deliveries
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(func.min(d.c.next_attempt_at)).where(
                    d.c.status == DeliveryStatus.PENDING.value, d.c.target.in_(list(targets)), ~_blocked_by_earlier(d)
                )
            )
        return value if isinstance(value, datetime) else None

    def open_work(self, targets: Iterable[str], *, include_held: bool = True) -> int:
        """Deliveries of these targets not finished yet (held, pending or in progress)."""
        states = OPEN_DELIVERY if include_held else OPEN_DELIVERY[1:]
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(t.deliveries)
                    .where(t.deliveries.c.status.in_(states), t.deliveries.c.target.in_(list(targets)))
                )
                or 0
            )

    # ------------------------------------------------------------------ xrefs and echoes

    def _upsert_xref(
        self, conn: Connection, entity: str, system: str, key: str, target_id: str, *, message_id: str, now: datetime
    ) -> None:
        ins = self._insert(t.xrefs).values(
            entity=entity, system=system, key=key, target_id=target_id, message_id=message_id, updated_at=now
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["entity", "system", "key"],
                set_={"target_id": ins.excluded.target_id, "message_id": ins.excluded.message_id, "updated_at": now},
            )
        )

    def put_xref(self, entity: str, system: str, key: str, target_id: str, message_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            self._upsert_xref(conn, entity, system, key, target_id, message_id=message_id or "", now=self._now())

    def lookup_xref(self, entity: str, system: str, key: str) -> str | None:
        x = t.xrefs
        with self.engine.connect() as conn:
            row = conn.execute(
                select(x.c.target_id).where(and_(x.c.entity == entity, x.c.system == system, x.c.key == key))
            ).first()
        return None if row is None else str(row[0])

    def _upsert_last_write(
        self,
        conn: Connection,
        system: str,
        canonical: str,
        key: str,
        content_hash: str,
        *,
        message_id: str,
        now: datetime,
    ) -> None:
        ins = self._insert(t.last_writes).values(
            system=system,
            canonical=canonical,
            business_key=key,
            content_hash=content_hash,
            message_id=message_id,
            written_at=now,
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["system", "canonical", "business_key"],
                set_={"content_hash": ins.excluded.content_hash, "message_id": message_id, "written_at": now},
            )
        )

    def last_write_hashes(self, system: str, canonical: str, keys: Sequence[str]) -> dict[str, str]:
        """The content hash of the bridge's own last write per business key (for echo suppression)."""
        lw = t.last_writes
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                part = list(keys[i : i + 500])
                for key, h in conn.execute(
                    select(lw.c.business_key, lw.c.content_hash).where(
                        lw.c.system == system, lw.c.canonical == canonical, lw.c.business_key.in_(part)
                    )
                ):
                    out[str(key)] = str(h)
        return out

    # ------------------------------------------------------------------ leases

    def acquire_lease(self, name: str, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for this node; False while another node holds it unexpired.

        One statement each way (insert-if-absent, then conditional update), so two nodes racing for the same
        lease cannot both win: the database decides.
        """
        now = self._now()
        lease = t.leases
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(lease).values(name=name, holder=self.node, expires_at=now + ttl).on_conflict_do_nothing()
            )
            res = conn.execute(
                update(lease)
                .where(lease.c.name == name, (lease.c.holder == self.node) | (lease.c.expires_at < now))
                .values(holder=self.node, expires_at=now + ttl)
            )
            if res.rowcount:
                return True
            holder = conn.scalar(select(lease.c.holder).where(lease.c.name == name))
            if holder and holder.rsplit(":", 1)[0] == self.node.rsplit(":", 1)[0] and not _alive(holder):
                # The holder was a process of this host that died (killed): no need to wait for expiry.
                res = conn.execute(
                    update(lease)
                    .where(lease.c.name == name, lease.c.holder == holder)
                    .values(holder=self.node, expires_at=now + ttl)
                )
                return bool(res.rowcount)
        return False

    def release_lease(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.leases.delete().where(t.leases.c.name == name, t.leases.c.holder == self.node))

    # ------------------------------------------------------------------ audit

    def audit(
        self, actor: str, action: str, subject: str, reason: str = "", detail: dict[str, Any] | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.audit_events.insert().values(
                    at=self._now(), actor=actor, action=action, subject=subject, reason=reason, detail=detail
                )
            )
