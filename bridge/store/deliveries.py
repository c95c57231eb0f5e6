"""The ledger's delivery side: per-lane ordered claims, fenced outcomes in one transaction, claim recovery.

A claim carries a token (and the claiming node). Outcomes are written only where the token still holds, in
the same UPDATE that writes them: a worker whose claim was reaped and taken over records nothing. On
PostgreSQL the lease is timed by the database clock (``now()``), so the nodes' clocks never decide who holds a
claim; on SQLite the ledger's Clock times it (simulated time in tests and the demo).

A lane is (interface, target, business key), whatever the role or path: never two deliveries of one lane in
flight, and a newer one waits for the older one's outcome. A dead delivery leaves the lane (see
docs/architecture.md, "Delivery lanes"); replaying it is checked by ``bridge.store.dlq``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from bridge.ports import PathName, Role
from bridge.ports.failpoints import failpoint
from bridge.store import schema as t
from bridge.store._core import LedgerCore, alive, same_host
from bridge.store.blobs import discard_blob_rows
from bridge.store.counts import count_rows
from bridge.store.packing import pack_sent, unpack_payload
from bridge.store.records import (
    OPEN_DELIVERY,
    AttemptResult,
    ClaimedDelivery,
    DeadLetterKind,
    DeadLetterStatus,
    DeliveryStatus,
    MessageKind,
    MessageState,
)

__all__ = ["DeliveryLedger"]

#: What a claim gives up when it is released or reaped: no holder, no lease, no token.
_UNCLAIMED: dict[str, Any] = {
    "status": DeliveryStatus.PENDING.value,
    "claimed_by": None,
    "claimed_until": None,
    "claim_token": None,
}


def _blocked_in_lane(d: Any) -> Any:
    """Another delivery of the lane (interface, target, business key) goes first: an earlier one still open,
    or any one in flight (a replayed older delivery must not overtake a newer one being sent)."""
    e = t.deliveries.alias("e")
    return exists().where(
        e.c.interface == d.c.interface,
        e.c.target == d.c.target,
        e.c.business_key == d.c.business_key,
        e.c.id != d.c.id,
        or_(
            and_(e.c.id < d.c.id, e.c.status.in_(OPEN_DELIVERY)),
            e.c.status == DeliveryStatus.IN_PROGRESS.value,
        ),
    )


#: What a worker needs of a claimed delivery and its message.
#: What a claim hands the worker, read by plain SQL (:mod:`bridge.store.rawsql`); the column order is the
#: order :meth:`DeliveryLedger.claim` unpacks.
_CLAIMED_SQL = """SELECT d.id, d.message_id, d.interface, d.path, d.role, d.dry_run, d.target, d.business_key,
 d.attempts, d.first_attempt_at, m.canonical, m.payload, m.payload_z, m.packing, m.content_hash, m.transaction_id,
 m.kind, d.claim_token, d.claimed_by FROM deliveries d JOIN messages m ON m.id = d.message_id"""

#: The outcome of an attempt and its delivery's new state, fenced by the claim token (plain SQL, as above).
_INSERT_ATTEMPT = """INSERT INTO attempts (delivery_id, number, started_at, finished_at, status, detail, error,
 retry_after, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_WRITE_OUTCOME = f"""UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, first_attempt_at = ?,
 claimed_by = NULL, claimed_until = NULL, claim_token = NULL, last_error = ?, response = ?, media_type = ?, sent = ?,
 sent_packing = ?, target_id = ?, updated_at = ?, finished_at = ?
 WHERE id = ? AND claim_token = ? AND status = '{DeliveryStatus.IN_PROGRESS.value}'"""

#: Ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 1000


def _message_state(r: AttemptResult) -> MessageState:
    """The state a finished authoritative delivery gives its message."""
    return MessageState.DELIVERED if r.next_status == DeliveryStatus.DELIVERED else MessageState.DEAD


class DeliveryLedger(LedgerCore):
    # ------------------------------------------------------------------ delivery side

    def _lease_now(self) -> Any:
        """The time leases are measured by: the database's clock on PostgreSQL, the Clock on SQLite."""
        return self._now() if self._sqlite else func.now()

    def claim(self, target: str, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` due deliveries of ``target``, at most one per lane (per-key order).

        The claimed rows carry a fresh token; only ``finish`` and ``renew_claims`` calls with that token act
        on them.
        """
        now = self._now()
        token = str(uuid.uuid4())
        d = t.deliveries
        pick = self.claim_query(target, limit, now)
        with self.engine.begin() as conn:
            ids = list(conn.scalars(pick))
            if not ids:
                return []
            rows: list[Any] = []
            for start in range(0, len(ids), _IN_CHUNK):
                part = ids[start : start + _IN_CHUNK]
                conn.execute(
                    update(d)
                    .where(d.c.id.in_(part))
                    .values(
                        status=DeliveryStatus.IN_PROGRESS.value,
                        claimed_by=self.node,
                        claimed_until=self._lease_now() + lease,
                        claim_token=token,
                        updated_at=now,
                    )
                )
                marks = ", ".join("?" * len(part))
                rows += self._raw.fetch(conn, f"{_CLAIMED_SQL} WHERE d.id IN ({marks})", tuple(part))
            failpoint("claim_txn")  # the claim written, not committed
        rows.sort(key=lambda row: int(row[0]))
        read_time = self._raw.read_time
        return [
            ClaimedDelivery(
                id=int(i),
                message_id=mid,
                interface=interface,
                path=PathName(path),
                role=Role(role),
                dry_run=bool(dry),
                target=tgt,
                business_key=key,
                attempts=int(attempts),
                first_attempt_at=read_time(first),
                canonical=canonical,
                payload=unpack_payload(mid, payload, payload_z, packing, self.protection.open_blob),
                content_hash=digest,
                transaction_id=txn,
                kind=MessageKind(kind),
                claim_token=tok or "",
                claimed_by=by or "",
            )
            for (
                i,
                mid,
                interface,
                path,
                role,
                dry,
                tgt,
                key,
                attempts,
                first,
                canonical,
                payload,
                payload_z,
                packing,
                digest,
                txn,
                kind,
                tok,
                by,
            ) in rows
        ]

    def claim_query(self, target: str, limit: int, now: datetime) -> Select[tuple[int]]:
        """The ids a claim of ``target`` takes: due, pending, not blocked in their lane, at most ``limit``.

        Oldest due first, along the index (status, target, next_attempt_at, id): the scan starts at the
        target's first pending row and stops after ``limit`` claimable ones, so a claim reads what it claims
        (plus the rows blocked in their lane or not yet due on the way), never the whole backlog, and sorts
        nothing. Per-key order does not need ``ORDER BY id``: ``_blocked_in_lane`` lets only the oldest open
        delivery of a lane through, whatever order the scan meets them in.
        """
        d = t.deliveries
        pick = (
            select(d.c.id)
            .where(
                d.c.status == DeliveryStatus.PENDING.value,
                d.c.target == target,
                d.c.next_attempt_at <= now,
                ~_blocked_in_lane(d),
            )
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        if not self._sqlite:
            pick = pick.with_for_update(skip_locked=True, of=d)
        return pick

    def renew_claims(self, claims: Sequence[ClaimedDelivery], lease: timedelta) -> set[int]:
        """Extend the lease of these claims where their token still holds; returns the ids still held."""
        d = t.deliveries
        by_token: dict[str, list[int]] = {}
        for c in claims:
            by_token.setdefault(c.claim_token, []).append(c.id)
        held: set[int] = set()
        with self.engine.begin() as conn:
            for token, ids in by_token.items():
                held.update(
                    conn.scalars(
                        update(d)
                        .where(
                            d.c.id.in_(ids),
                            d.c.claim_token == token,
                            d.c.status == DeliveryStatus.IN_PROGRESS.value,
                        )
                        .values(claimed_until=self._lease_now() + lease)
                        .returning(d.c.id)
                    )
                )
        return held

    def finish(self, results: Sequence[AttemptResult]) -> list[AttemptResult]:
        """Record many attempts in ONE transaction: attempts, delivery states, dead letters, xrefs, echoes.

        Fenced: a result is recorded only where its claim's token still holds (the same UPDATE checks it); a
        result whose claim was lost (reaped, released, taken over) leaves no trace at all: no attempt row,
        no dead letter, no xref, no message state. Returns the results recorded; the caller reports the rest.
        """
        if not results:
            return []
        now = self._now()
        with self.engine.begin() as conn:
            results = self._write_outcomes(conn, results, now)
            if not results:
                return []
            failpoint("finish_txn")  # the states written, not committed
            raw = self._raw
            raw.executemany(
                conn,
                _INSERT_ATTEMPT,
                [
                    (
                        r.delivery.id,
                        r.number,
                        raw.time(r.started_at),
                        raw.time(r.finished_at),
                        r.outcome.value,
                        r.detail[:2000],
                        raw.json(r.error),
                        raw.json(r.retry_after),
                        raw.time(r.next_attempt_at),
                    )
                    for r in results
                ],
            )
            dead = [r for r in results if r.next_status == DeliveryStatus.DEAD]
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
                        "status": DeadLetterStatus.OPEN,
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
                            "kind": DeadLetterKind.DELIVERY,
                            "message_id": r.delivery.message_id,
                            "delivery_id": r.delivery.id,
                            "batch": None,
                            "error": r.error or {},
                            "location": where.get(r.delivery.message_id),
                            "fragment": "",
                            "response": self.protection.seal(r.delivery.interface, r.response),
                            "status": DeadLetterStatus.OPEN,
                            "created_at": now,
                        }
                        for r in dead
                    ],
                )
            for r in results:
                if r.xref is not None:
                    self._upsert_xref(conn, r.xref, message_id=r.delivery.message_id, now=now)
                if r.last_write is not None:
                    self._upsert_last_write(conn, r.last_write, message_id=r.delivery.message_id, now=now)
            auth = [
                r for r in results if r.delivery.role == Role.AUTHORITATIVE and r.next_status != DeliveryStatus.PENDING
            ]
            if auth:
                self._raw.executemany(
                    conn,
                    "UPDATE messages SET state = ? WHERE id = ?",
                    [(_message_state(r).value, r.delivery.message_id) for r in auth],
                )
                # A forwarded batch is the legacy delivery of every record in it (their only legacy route).
                m, fwd = t.messages, t.messages.alias("fwd")
                for r in auth:
                    if r.delivery.kind == MessageKind.FORWARD:
                        of_batch = select(fwd.c.batch).where(fwd.c.id == r.delivery.message_id).scalar_subquery()
                        conn.execute(
                            update(m)
                            .where(m.c.batch == of_batch, m.c.state == MessageState.ACCEPTED.value)
                            .values(state=_message_state(r))
                        )
            # A forward's bytes go with the transaction that records it delivered (a dead one keeps them). A
            # dry run's too: nothing will ever send them (kept, they would grow the ledger by every file).
            sent_on = [
                r.delivery.message_id
                for r in results
                if r.delivery.kind == MessageKind.FORWARD and r.next_status == DeliveryStatus.DELIVERED
            ]
            if sent_on:
                discard_blob_rows(conn, sent_on)
        return results

    def _write_outcomes(self, conn: Connection, results: Sequence[AttemptResult], now: datetime) -> list[AttemptResult]:
        """The deliveries' new states, written only where each result's claim token still holds; those results.

        Batched: one read of the tokens the rows hold now (locked on PostgreSQL, so no reaper or other node can
        change them before our UPDATE; SQLite's writer lock is taken by ``BEGIN IMMEDIATE``), then ONE
        ``executemany`` UPDATE for the results that still hold their claim. The UPDATE keeps the token and
        state in its WHERE as well, so the fence holds even without the read.
        """
        d = t.deliveries
        held: dict[int, str] = {}
        ids = [r.delivery.id for r in results]
        for start in range(0, len(ids), _IN_CHUNK):
            q = select(d.c.id, d.c.claim_token).where(
                d.c.id.in_(ids[start : start + _IN_CHUNK]), d.c.status == DeliveryStatus.IN_PROGRESS.value
            )
            if not self._sqlite:
                q = q.order_by(d.c.id).with_for_update()  # locked in id order, as every finisher locks
            held.update((int(i), str(tok)) for i, tok in conn.execute(q).all())
        kept = [r for r in results if r.delivery.claim_token and held.get(r.delivery.id) == r.delivery.claim_token]
        if not kept:
            return []
        raw = self._raw
        at = raw.time(now)
        rows = []
        protect = self.protection
        for r in kept:
            seal = protect.sealer(r.delivery.interface) if protect.sealed else None
            sent, packing = pack_sent(r.sent, r.delivery.payload, seal)
            rows.append(
                (
                    r.next_status.value,
                    r.number,
                    raw.time(r.next_attempt_at or now),
                    raw.time(r.delivery.first_attempt_at or r.started_at),
                    raw.json(r.error),
                    r.response if seal is None or r.response is None else seal(r.response),
                    r.media_type,
                    sent,
                    packing,
                    r.target_id,
                    at,
                    raw.time(r.finished_at) if r.next_status != DeliveryStatus.PENDING else None,
                    r.delivery.id,
                    r.delivery.claim_token,
                )
            )
        raw.executemany(conn, _WRITE_OUTCOME, rows)
        return kept

    def reap_expired_claims(self) -> int:
        """Claims whose lease ran out (their worker died or stalled) go back to pending, token void; how many."""
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.deliveries)
                .where(
                    t.deliveries.c.status == DeliveryStatus.IN_PROGRESS.value,
                    t.deliveries.c.claimed_until < self._lease_now(),
                )
                .values(**_UNCLAIMED, updated_at=now)
            )
        return int(res.rowcount or 0)

    def release_claims(self, claimed: Sequence[ClaimedDelivery]) -> int:
        """Claims given back unattempted (a circuit opened mid-batch): pending again at once, attempts and
        due time unchanged. Fenced: a claim already taken over by another worker is left alone."""
        if not claimed:
            return 0
        d = t.deliveries
        stmt = (
            update(d)
            .where(
                d.c.id == bindparam("b_id"),
                d.c.claim_token == bindparam("b_token"),
                d.c.status == DeliveryStatus.IN_PROGRESS.value,
            )
            .values(**_UNCLAIMED, updated_at=bindparam("b_now"))
        )
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(stmt, [{"b_id": c.id, "b_token": c.claim_token, "b_now": now} for c in claimed])
        return int(res.rowcount or 0)

    def backlog(self, interface: str) -> int:
        """Open deliveries (held, pending, in progress) of one interface, from the database-kept counts
        (:mod:`bridge.store.counts`): a few rows read, however large the backlog (the back-pressure check)."""
        open_states = {DeliveryStatus.HELD.value, DeliveryStatus.PENDING.value, DeliveryStatus.IN_PROGRESS.value}
        with self.engine.connect() as conn:
            rows = count_rows(conn, interface)
        return sum(n for _i, metric, _a, b, n in rows if metric == "deliveries" and b in open_states)

    def release_own_claims(self) -> int:
        """At start-up: this node's earlier claims (from before a crash) are pending again."""
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t.deliveries)
                .where(
                    t.deliveries.c.status == DeliveryStatus.IN_PROGRESS.value, t.deliveries.c.claimed_by == self.node
                )
                .values(**_UNCLAIMED, updated_at=now)
            )
        return int(res.rowcount or 0)

    def release_orphaned_claims(self) -> int:
        """Claims held by processes of this host that no longer exist (killed) are pending again at once.

        Other hosts' claims are left to the lease (``reap_expired_claims``): we cannot see their processes.
        """
        d = t.deliveries
        with self.engine.connect() as conn:
            holders = conn.scalars(
                select(d.c.claimed_by).where(d.c.status == DeliveryStatus.IN_PROGRESS.value).distinct()
            ).all()
        dead = [h for h in holders if h and same_host(h, self.node) and h != self.node and not alive(h)]
        if not dead:
            return 0
        now = self._now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(d)
                .where(d.c.status == DeliveryStatus.IN_PROGRESS.value, d.c.claimed_by.in_(dead))
                .values(**_UNCLAIMED, updated_at=now)
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
                    d.c.status == DeliveryStatus.PENDING.value, d.c.target.in_(list(targets)), ~_blocked_in_lane(d)
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
