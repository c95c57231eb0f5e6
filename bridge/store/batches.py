"""The ledger's poll side: batch states, cursors, chunked recording of messages, release and cancel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from bridge.ports import Role
from bridge.ports.failpoints import failpoint
from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.engine import durable_begin
from bridge.store.packing import pack_payload
from bridge.store.records import (
    OPEN_DELIVERY,
    BatchState,
    DeadLetterStatus,
    DeliveryStatus,
    LatestMessage,
    MessageState,
    NewDeadLetter,
    NewMessage,
)

__all__ = ["MOVED_PREFIX", "BatchLedger"]

MOVED_PREFIX = "moved:"
"""Cursor key prefix (per batch id) of where a batch's input file was moved after processing."""


#: The hot inserts of :meth:`BatchLedger.record_chunk` as plain SQL (:mod:`bridge.store.rawsql`: why, and the
#: value forms). A message already recorded is left alone, except that a held one moves to the new batch row.
_INSERT_MESSAGE = f"""INSERT INTO messages (id, interface, batch, ordinal, identity, canonical, kind, business_key,
 version, content_hash, payload, payload_z, packing, location, state, mode, flag_version, rollout, transaction_id,
 created_at) VALUES ({", ".join("?" * 20)})
 ON CONFLICT (id) DO UPDATE SET batch = excluded.batch WHERE messages.state = '{MessageState.HELD.value}'"""
_INSERT_DELIVERY = """INSERT INTO deliveries (message_id, interface, path, role, dry_run, target, business_key, status,
 attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
 ON CONFLICT DO NOTHING"""


class BatchLedger(LedgerCore):
    # ------------------------------------------------------------------ SourceLedger

    def batch_state(self, interface: str, batch_id: str) -> BatchState | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.batches.c.state).where(t.batches.c.interface == interface, t.batches.c.batch_id == batch_id)
            ).first()
        return None if row is None else BatchState(row[0])

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        with self.engine.begin() as conn:
            self._upsert_batch(conn, interface, batch_id, state, origin, detail)

    def relocate_batch(self, interface: str, batch_id: str, origin: str, moved_to: str) -> None:
        """Remember where the batch's input was moved (a ``moved:`` cursor): dead letters of the batch, also those
        of deliveries that die later, are read with the archived path (:func:`bridge.store.queries.dead_letters`)."""
        self.set_cursor(interface, f"{MOVED_PREFIX}{batch_id}", json.dumps({"from": origin, "to": moved_to}))

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
        seal = self.protection.sealer(interface)
        with self.engine.begin() as conn:
            failpoint("record_chunk_txn")  # a chunk's transaction open, nothing written yet
            if messages:
                ids = [m.id for m in messages]
                existing = set(conn.scalars(select(t.messages.c.id).where(t.messages.c.id.in_(ids))))
                new = len(ids) - len(existing)
                raw, at = self._raw, self._raw.time(now)
                # A held message re-read under a new batch row moves to it, so that batch's release frees it.
                raw.executemany(
                    conn,
                    _INSERT_MESSAGE,
                    [
                        (
                            m.id,
                            interface,
                            batch,
                            m.ordinal,
                            m.identity,
                            m.canonical,
                            m.kind.value,
                            m.business_key,
                            m.version,
                            m.content_hash,
                            *pack_payload(m.payload, seal),  # sealed for a sensitive interface
                            raw.json(m.location),
                            MessageState.SUPPRESSED.value if m.suppressed else MessageState.HELD.value,
                            str(m.mode),
                            m.flag_version,
                            m.rollout,
                            m.transaction_id,
                            at,
                        )
                        for m in messages
                    ],
                )
                raw.executemany(
                    conn,
                    _INSERT_DELIVERY,
                    [
                        (
                            m.id,
                            interface,
                            r.path.value,
                            r.role.value,
                            r.dry_run,
                            r.target,
                            m.business_key,
                            DeliveryStatus.HELD.value,
                            at,
                            at,
                            at,
                        )
                        for m in messages
                        if m.id not in existing and not m.suppressed
                        for r in m.routes
                    ],
                )
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

    def latest_messages(self, interface: str, keys: Sequence[str]) -> dict[str, LatestMessage]:
        """The newest message of each business key in ``keys`` (keys without one are absent).

        Newest by creation time, then batch and ordinal: the order in which the poll side recorded them.
        """
        m = t.messages
        out: dict[str, LatestMessage] = {}
        unique = sorted(set(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                newest = (
                    select(m.c.business_key.label("key"), func.max(m.c.created_at).label("at"))
                    .where(m.c.interface == interface, m.c.business_key.in_(part))
                    .group_by(m.c.business_key)
                    .subquery()
                )
                rows = conn.execute(
                    select(m.c.business_key, m.c.id, m.c.identity, m.c.content_hash, m.c.version)
                    .join(newest, and_(m.c.business_key == newest.c.key, m.c.created_at == newest.c.at))
                    .where(m.c.interface == interface)
                    .order_by(m.c.business_key, m.c.batch, m.c.ordinal)
                ).all()
                for key, mid, identity, digest, version in rows:
                    out[key] = LatestMessage(str(mid), identity, digest, version)
        return out

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
                    "fragment": self.protection.seal_text(interface, d.fragment),
                    "status": DeadLetterStatus.OPEN,
                    "created_at": now,
                }
                for d in dead
            ],
        )

    def release_batch(self, interface: str, batch: int) -> int:
        """The batch is fully decoded: its held deliveries become pending; returns how many.

        The commit the source's acknowledge follows: durable (fsync'd) when this returns, with every earlier
        chunk of the batch (:func:`bridge.store.engine.durable_begin`).
        """
        now = self._now()
        with durable_begin(self.engine) as conn:
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
            failpoint("release_txn")  # the release written, not committed
            return int(res.rowcount or 0)

    def cancel_batch(self, batch: int, detail: str, *, interface: str = "", dead: NewDeadLetter | None = None) -> None:
        """A batch-level error: nothing of it is delivered; its held messages are cancelled.

        ``dead`` (the batch dead letter, keeping the input's bytes: :mod:`bridge.store.kept`) is written in
        the same transaction that marks the batch ``failed``: a source that sees ``failed`` knows its input
        is kept, so it may move its cursor past it or answer 200 (see ``Source.fail``).
        """
        now = self._now()
        with durable_begin(self.engine) as conn:  # ``fail`` follows: a cursor may move past the kept input
            if dead is not None:
                self._insert_dead(conn, interface, batch, [dead], now)
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
                .values(
                    state=BatchState.FAILED.value,
                    detail=detail,
                    failures=t.batches.c.failures + int(dead is not None),
                    updated_at=now,
                )
            )

    def batch_settled(self, batch: int) -> bool:
        """True when no authoritative delivery of the batch is still open (used by ``acknowledge: on_delivery``)."""
        d, m = t.deliveries, t.messages
        with self.engine.connect() as conn:
            open_row = conn.execute(
                select(d.c.id)
                .join(m, m.c.id == d.c.message_id)
                .where(m.c.batch == batch, d.c.role == Role.AUTHORITATIVE, d.c.status.in_(OPEN_DELIVERY))
                .limit(1)
            ).first()
        return open_row is None

    def batches_in_state(self, interface: str, state: BatchState) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.batches.c.id, t.batches.c.batch_id).where(
                    t.batches.c.interface == interface, t.batches.c.state == state
                )
            ).all()
        return [(int(r[0]), str(r[1])) for r in rows]

    def dead_letters_since(self, since: datetime, interfaces: Sequence[str], kind: str) -> dict[str, int]:
        """Open dead letters of ``kind`` created (or reopened) at or after ``since``, per interface.

        ``run --once`` counts the delivery dead letters of its run with this (its summary and exit code).
        """
        dl = t.dead_letters
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(dl.c.interface, func.count())
                .where(
                    dl.c.kind == kind,
                    dl.c.status == DeadLetterStatus.OPEN,
                    dl.c.created_at >= since,
                    dl.c.interface.in_(list(interfaces)),
                )
                .group_by(dl.c.interface)
            ).all()
        return {str(r[0]): int(r[1]) for r in rows}

    def ledger_time(self) -> datetime:
        """The time the ledger stamps rows with now (its Clock)."""
        return self._now()
