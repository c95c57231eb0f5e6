"""The ledger's comparison side: what the comparator reads to compare, and the comparison rows it writes.

A comparison row is one (message, level) verdict: ``outcome``, ``payload``, ``readback`` or ``pairing``.
Rows of a message are written once (re-recording is a no-op); the figures gates, guards and reports need are
read here as typed values, never as SQL in the cutover layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.packing import NEEDS_PAYLOAD, PayloadPacking, unpack_payload, unpack_sent
from bridge.store.records import ComparisonLevel, ComparisonStatus, DeliveryStatus, MessageKind, MessageState

__all__ = ["CompareCandidate", "Comparison", "ComparisonLedger", "DeliverySide", "NewComparison", "StaleVerdict"]

#: Messages never compared: not released yet, or never meant to be delivered.
_NOT_COMPARED = (MessageState.HELD, MessageState.CANCELLED, MessageState.SUPPRESSED)
_FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD)


@dataclass(frozen=True)
class NewComparison:
    """One verdict to record for a message at one level."""

    message_id: str
    interface: str
    level: ComparisonLevel
    status: ComparisonStatus
    diff: dict[str, Any]
    business_key: str
    critical: bool = False


@dataclass(frozen=True)
class Comparison:
    """A recorded verdict."""

    message_id: str
    interface: str
    level: ComparisonLevel
    status: ComparisonStatus
    diff: dict[str, Any] | None
    business_key: str | None
    critical: bool
    created_at: datetime


@dataclass(frozen=True)
class CompareCandidate:
    """A message waiting for its comparison."""

    id: str
    business_key: str
    created_at: datetime


@dataclass(frozen=True)
class StaleVerdict:
    """A message whose outcome verdict was a mismatch and one of whose deliveries finished since it was recorded
    (a replayed dead letter delivered, a side that was still pending when the settle window closed)."""

    id: str
    business_key: str
    created_at: datetime
    outcome: dict[str, Any]


@dataclass(frozen=True)
class DeliverySide:
    """What one path of a message did: its delivery state and the bytes it sent and got back."""

    status: DeliveryStatus
    sent: bytes | None = None
    response: bytes | None = None
    media_type: str | None = None
    dry_run: bool = False
    target_id: str | None = None


class ComparisonLedger(LedgerCore):
    def record_comparisons(self, rows: Sequence[NewComparison]) -> int:
        """Write verdicts in one statement, stamped now; a (message, level) already recorded is kept.

        Returns how many were new.
        """
        if not rows:
            return 0
        now = self._now()
        with self.engine.begin() as conn:
            # One multi-row statement (not executemany): its row count is what was new, on every backend.
            res = conn.execute(
                self._insert(t.comparisons)
                .values([{**r.__dict__, "created_at": now} for r in rows])
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)
            )
        return int(res.rowcount or 0)

    def messages_to_compare(self, interface: str, modes: Sequence[str], limit: int) -> list[CompareCandidate]:
        """Records of ``interface`` routed in one of ``modes`` with no outcome verdict and no orphan, oldest first."""
        m, c = t.messages, t.comparisons
        done = exists().where(and_(c.c.message_id == m.c.id, c.c.level == ComparisonLevel.OUTCOME))
        orphan = exists().where(
            and_(
                c.c.message_id == m.c.id,
                c.c.level == ComparisonLevel.PAIRING,
                c.c.status == ComparisonStatus.ORPHAN,
            )
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(m.c.id, m.c.business_key, m.c.created_at)
                .where(
                    m.c.interface == interface,
                    m.c.kind == MessageKind.RECORD,
                    m.c.mode.in_(list(modes)),
                    ~done,
                    ~orphan,
                    m.c.state.notin_(_NOT_COMPARED),
                )
                .order_by(m.c.created_at, m.c.id)
                .limit(limit)
            ).all()
        return [CompareCandidate(str(r[0]), str(r[1]), r[2]) for r in rows]

    def stale_verdicts(self, interface: str, limit: int) -> list[StaleVerdict]:
        """Messages of ``interface`` whose outcome mismatch may be out of date: a delivery of theirs finished at or
        after the verdict was written. The comparator re-evaluates them when the sides now say something else."""
        m, c, d = t.messages, t.comparisons, t.deliveries
        newer = exists().where(
            and_(d.c.message_id == c.c.message_id, d.c.status.in_(_FINISHED), d.c.finished_at >= c.c.created_at)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(m.c.id, m.c.business_key, m.c.created_at, c.c.diff)
                .select_from(c.join(m, m.c.id == c.c.message_id))
                .where(
                    c.c.interface == interface,
                    c.c.level == ComparisonLevel.OUTCOME,
                    c.c.status == ComparisonStatus.MISMATCH,
                    newer,
                )
                .order_by(c.c.created_at, c.c.id)
                .limit(limit)
            ).all()
        return [StaleVerdict(str(r[0]), str(r[1]), r[2], dict(r[3] or {})) for r in rows]

    def replace_comparisons(self, rows: Sequence[NewComparison]) -> int:
        """Overwrite recorded verdicts (same message and level) with re-evaluated ones, stamped now.

        Used only when the evidence changed (a replayed side was delivered): the old verdict is superseded, and
        its status is kept in the new row's ``diff["reevaluated_from"]`` so the report can say what changed.
        """
        if not rows:
            return 0
        c = t.comparisons
        now = self._now()
        n = 0
        with self.engine.begin() as conn:
            for r in rows:
                old = conn.execute(
                    select(c.c.status).where(c.c.message_id == r.message_id, c.c.level == r.level)
                ).scalar_one_or_none()
                diff = {**r.diff, "reevaluated_from": old} if old is not None else r.diff
                if old is None:
                    conn.execute(c.insert().values({**r.__dict__, "diff": diff, "created_at": now}))
                else:
                    conn.execute(
                        c.update()
                        .where(c.c.message_id == r.message_id, c.c.level == r.level)
                        .values(status=r.status, diff=diff, critical=r.critical, created_at=now)
                    )
                n += 1
        return n

    def delivery_sides(self, message_ids: Sequence[str]) -> dict[str, dict[str, DeliverySide]]:
        """Per message, per path: what its delivery did."""
        d = t.deliveries
        out: dict[str, dict[str, DeliverySide]] = {}
        ids = list(message_ids)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                payloads: dict[str, str | None] = {}
                for row in conn.execute(
                    select(
                        d.c.message_id,
                        d.c.path,
                        d.c.status,
                        d.c.sent,
                        d.c.response,
                        d.c.media_type,
                        d.c.dry_run,
                        d.c.target_id,
                        d.c.sent_packing,
                    ).where(d.c.message_id.in_(ids[i : i + 500]))
                ):
                    mid = str(row[0])
                    if row[8] in NEEDS_PAYLOAD and mid not in payloads:
                        payloads[mid] = self._payload_or_none(conn, mid, self.protection.open_blob)
                    opened = self.protection.open_blob
                    sent = unpack_sent(row[3], row[8], payloads.get(mid), opened)
                    response = self.protection.open(row[4])
                    out.setdefault(mid, {})[str(row[1])] = DeliverySide(
                        DeliveryStatus(row[2]), sent, response, row[5], bool(row[6]), row[7]
                    )
        return out

    @staticmethod
    def _payload_or_none(conn: Connection, message_id: str, open_: Callable[[bytes], bytes]) -> str | None:
        """A message's payload text, None once pruned (its sent bytes are then gone too)."""
        m = t.messages
        row = conn.execute(select(m.c.payload, m.c.payload_z, m.c.packing).where(m.c.id == message_id)).first()
        if row is None or row.packing == PayloadPacking.PRUNED:
            return None
        return unpack_payload(message_id, row.payload, row.payload_z, row.packing, open_)

    @staticmethod
    def _where(
        interface: str,
        since: datetime | None,
        levels: Sequence[str] | None,
        statuses: Sequence[str] | None,
        critical: bool | None,
    ) -> list[ColumnElement[bool]]:
        c = t.comparisons
        where: list[ColumnElement[bool]] = [c.c.interface == interface]
        if since is not None:
            where.append(c.c.created_at >= since)
        if levels is not None:
            where.append(c.c.level.in_(list(levels)))
        if statuses is not None:
            where.append(c.c.status.in_(list(statuses)))
        if critical is not None:
            where.append(c.c.critical.is_(critical))
        return where

    def comparisons(
        self,
        interface: str,
        *,
        since: datetime | None = None,
        levels: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        critical: bool | None = None,
    ) -> list[Comparison]:
        """Recorded verdicts of ``interface`` (optionally only these levels/statuses, since a time), oldest first."""
        c = t.comparisons
        q = (
            select(
                c.c.message_id,
                c.c.interface,
                c.c.level,
                c.c.status,
                c.c.diff,
                c.c.business_key,
                c.c.critical,
                c.c.created_at,
            )
            .where(*self._where(interface, since, levels, statuses, critical))
            .order_by(c.c.created_at, c.c.id)
        )
        with self.engine.connect() as conn:
            return [
                Comparison(
                    str(r[0]), str(r[1]), ComparisonLevel(r[2]), ComparisonStatus(r[3]), r[4], r[5], bool(r[6]), r[7]
                )
                for r in conn.execute(q)
            ]

    def comparison_counts(
        self,
        interface: str,
        *,
        since: datetime | None = None,
        levels: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        critical: bool | None = None,
    ) -> dict[ComparisonStatus, int]:
        """How many verdicts of ``interface`` there are per status (same filters as :meth:`comparisons`)."""
        c = t.comparisons
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.c.status, func.count())
                .where(*self._where(interface, since, levels, statuses, critical))
                .group_by(c.c.status)
            ).all()
        return {ComparisonStatus(s): int(n) for s, n in rows}

    def finished_deliveries(
        self, interface: str, *, since: datetime | None = None, path: str | None = None, live_only: bool = False
    ) -> dict[tuple[str, DeliveryStatus], int]:
        """Deliveries of ``interface`` created since ``since`` that ended delivered or dead, per (path, status).

        ``live_only`` leaves dry-run shadows out (they prove nothing about the target's errors).
        """
        d = t.deliveries
        where: list[ColumnElement[bool]] = [d.c.interface == interface, d.c.status.in_(_FINISHED)]
        if since is not None:
            where.append(d.c.created_at >= since)
        if path is not None:
            where.append(d.c.path == path)
        if live_only:
            where.append(d.c.dry_run.is_(False))
        with self.engine.connect() as conn:
            rows = conn.execute(select(d.c.path, d.c.status, func.count()).where(*where).group_by(d.c.path, d.c.status))
            return {(str(p), DeliveryStatus(s)): int(n) for p, s, n in rows}

    def routed_modes(self, interface: str, *, since: datetime | None = None) -> dict[str, int]:
        """How many records of ``interface`` (forwarded batches left out) were routed in each mode."""
        m = t.messages
        where: list[ColumnElement[bool]] = [m.c.interface == interface, m.c.kind == MessageKind.RECORD]
        if since is not None:
            where.append(m.c.created_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(select(m.c.mode, func.count()).where(*where).group_by(m.c.mode)).all()
        return {str(k): int(v) for k, v in rows}
