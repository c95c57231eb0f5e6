"""The ledger's size: what each table and interface holds, and pruning the payload bytes of settled messages.

Why: the ledger keeps every record's payload so that a failed delivery can be sent again and the shadow
comparison can read what each path sent. Once a message is *settled* that reason is gone, but its trace is
not: ``prune`` drops only the payload bytes (``messages.payload``/``payload_z``, ``deliveries.sent`` and
``response``) and keeps ids, states, content hashes, business keys, locations, every attempt, dead letter,
comparison and audit event. A message is settled when

* its state is ``delivered``;
* none of its deliveries is unfinished (held, pending, in progress) or dead, and no open dead letter names it;
* it was compared, if it has deliveries on two paths (a single-path message has nothing to compare).

A pruned message cannot be delivered or replayed again (:class:`~bridge.store.packing.PayloadPruned`).

Blobs (the bytes of forwarded batches, :mod:`bridge.store.blobs`) go with their message: a prune drops the
blobs, created before ``before``, whose forward message is pruned now or was before, and orphans whose
message was never recorded (a batch a crash left half-stored and that never came back). A delivered
forward's blob is gone already (dropped when it was recorded delivered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, exists, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bridge.store import schema as t
from bridge.store.blobs import BlobLedger, discard_blob_rows
from bridge.store.packing import PayloadPacking, SentPacking
from bridge.store.records import OPEN_DELIVERY, DeadLetterStatus, DeliveryStatus, MessageState

__all__ = ["PruneResult", "RetentionLedger", "TableStats"]

_CHUNK = 500


@dataclass(frozen=True)
class PruneResult:
    """What a prune dropped (or, dry run, would drop)."""

    messages: int
    payload_bytes: int
    dry_run: bool
    before: datetime
    #: forward blobs dropped (or, dry run, that would be) and the bytes their chunks held as stored
    blobs: int = 0
    blob_bytes: int = 0


@dataclass
class TableStats:
    """Rows and bytes of one table; ``interfaces`` holds rows and payload bytes per interface where it has one."""

    table: str
    rows: int
    bytes: int | None
    interfaces: dict[str, dict[str, int]] = field(default_factory=dict)


def _settled(before: datetime) -> Any:
    m, d, dl, c = t.messages, t.deliveries, t.dead_letters, t.comparisons
    unfinished = exists().where(d.c.message_id == m.c.id, d.c.status.in_([*OPEN_DELIVERY, DeliveryStatus.DEAD.value]))
    open_dead = exists().where(dl.c.message_id == m.c.id, dl.c.status == DeadLetterStatus.OPEN)
    paths = select(func.count(func.distinct(d.c.path))).where(d.c.message_id == m.c.id).scalar_subquery()
    compared = exists().where(c.c.message_id == m.c.id)
    return and_(
        m.c.state == MessageState.DELIVERED.value,
        m.c.created_at < before,
        m.c.packing != PayloadPacking.PRUNED,
        ~unfinished,
        ~open_dead,
        (paths < 2) | compared,
    )


def _len(col: Any) -> Any:
    return func.coalesce(func.length(col), 0)


# Payload-carrying columns per table, for the per-interface byte figures of ``stats``.
_PAYLOAD_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": ("payload", "payload_z"),
    "deliveries": ("sent", "response"),
    "dead_letters": ("fragment", "response"),
    "observations": ("body",),
}


class RetentionLedger(BlobLedger):
    # ------------------------------------------------------------------ prune

    def prune_payloads(self, before: datetime, *, dry_run: bool = False, actor: str = "cli") -> PruneResult:
        """Drop the payload bytes of messages settled and created before ``before`` (see the module docstring)."""
        m, d = t.messages, t.deliveries
        with self.engine.connect() as conn:
            ids = list(conn.scalars(select(m.c.id).where(_settled(before)).order_by(m.c.id)))
            size = 0
            for i in range(0, len(ids), _CHUNK):
                part = ids[i : i + _CHUNK]
                size += int(
                    conn.scalar(select(func.sum(_len(m.c.payload) + _len(m.c.payload_z))).where(m.c.id.in_(part))) or 0
                )
                size += int(
                    conn.scalar(select(func.sum(_len(d.c.sent) + _len(d.c.response))).where(d.c.message_id.in_(part)))
                    or 0
                )
        if dry_run:
            would, blob_bytes = self._prunable_blobs(before, with_settled=True)
            return PruneResult(len(ids), size, dry_run, before, len(would), blob_bytes)
        if not ids:
            blobs, blob_bytes = self._prune_blobs(before)
            return PruneResult(0, size, dry_run, before, blobs, blob_bytes)
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
            with self.engine.begin() as conn:
                # Checked again inside the transaction: a message that got new work since the listing is kept.
                conn.execute(
                    update(m)
                    .where(m.c.id.in_(part), _settled(before))
                    .values(payload="", payload_z=None, packing=PayloadPacking.PRUNED)
                )
                pruned = select(m.c.id).where(m.c.id.in_(part), m.c.packing == PayloadPacking.PRUNED)
                conn.execute(
                    update(d)
                    .where(d.c.message_id.in_(pruned))
                    .values(sent=None, response=None, sent_packing=SentPacking.PRUNED)
                )
        blobs, blob_bytes = self._prune_blobs(before)
        with self.engine.begin() as conn:
            conn.execute(
                t.audit_events.insert().values(
                    at=self._now(),
                    actor=actor,
                    action="ledger.prune",
                    subject="ledger",
                    reason=f"payloads of settled messages created before {before.isoformat()}",
                    detail={"messages": len(ids), "payload_bytes": size, "blobs": blobs, "blob_bytes": blob_bytes},
                )
            )
        return PruneResult(len(ids), size, False, before, blobs, blob_bytes)

    def _prunable_blobs(self, before: datetime, *, with_settled: bool = False) -> tuple[list[str], int]:
        """Blobs created before ``before`` whose message is pruned or absent (``with_settled``: or would be
        pruned now, for a dry run), and the bytes their chunks hold."""
        b, m, c = t.blobs, t.messages, t.blob_chunks
        kept = select(m.c.id).where(m.c.id == b.c.id, m.c.packing != PayloadPacking.PRUNED)
        if with_settled:
            kept = kept.where(~_settled(before))
        with self.engine.connect() as conn:
            ids = list(conn.scalars(select(b.c.id).where(b.c.created_at < before, ~exists(kept))))
            size = 0
            for i in range(0, len(ids), _CHUNK):
                part = ids[i : i + _CHUNK]
                size += int(conn.scalar(select(func.sum(_len(c.c.data))).where(c.c.blob_id.in_(part))) or 0)
        return ids, size

    def _prune_blobs(self, before: datetime) -> tuple[int, int]:
        ids, size = self._prunable_blobs(before)
        for i in range(0, len(ids), _CHUNK):
            with self.engine.begin() as conn:
                discard_blob_rows(conn, ids[i : i + _CHUNK])
        return len(ids), size

    def is_pruned(self, message_id: str) -> bool:
        with self.engine.connect() as conn:
            packing = conn.scalar(select(t.messages.c.packing).where(t.messages.c.id == message_id))
        return packing == PayloadPacking.PRUNED

    # ------------------------------------------------------------------ stats

    def ledger_stats(self) -> list[TableStats]:
        """Rows and bytes per table (bytes on disk where the backend tells), rows and payload bytes per interface."""
        out: list[TableStats] = []
        with self.engine.connect() as conn:
            disk = self._table_bytes(conn)
            for table in t.metadata.sorted_tables:
                rows = int(conn.scalar(select(func.count()).select_from(table)) or 0)
                stats = TableStats(table.name, rows, disk.get(table.name))
                if "interface" in table.c:
                    stats.interfaces = self._per_interface(conn, table)
                out.append(stats)
        return out

    @staticmethod
    def _per_interface(conn: Connection, table: Table) -> dict[str, dict[str, int]]:
        size: Any = None
        for c in _PAYLOAD_COLUMNS.get(table.name, ()):
            size = _len(table.c[c]) if size is None else size + _len(table.c[c])
        picks = [table.c.interface, func.count()]
        if size is not None:
            picks.append(func.sum(size))
        result: dict[str, dict[str, int]] = {}
        for row in conn.execute(select(*picks).group_by(table.c.interface)):
            entry = {"rows": int(row[1])}
            if size is not None:
                entry["payload_bytes"] = int(row[2] or 0)
            result[str(row[0])] = entry
        return result

    def _table_bytes(self, conn: Connection) -> dict[str, int]:
        """Bytes per table with its indexes: ``dbstat`` on SQLite (when compiled in), ``pg_total_relation_size``."""
        names = [tb.name for tb in t.metadata.sorted_tables]
        if not self._sqlite:
            return {
                n: int(conn.exec_driver_sql("SELECT pg_total_relation_size(%(n)s)", {"n": n}).scalar() or 0)
                for n in names
            }
        try:
            rows = conn.exec_driver_sql(
                "SELECT coalesce(i.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                "LEFT JOIN sqlite_master i ON i.name = s.name GROUP BY 1"
            ).all()
        except OperationalError:  # a SQLite built without dbstat: rows only, shown as "bytes unknown"
            return {}
        return {str(r[0]): int(r[1]) for r in rows if r[0] in names}
