"""The ledger's cross-references, echo hashes and leases (audit events: :mod:`bridge.store.audit`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, select, update

from bridge.store import schema as t
from bridge.store._core import LedgerCore, alive
from bridge.store.records import XrefWrite

__all__ = ["ReferenceLedger"]


class ReferenceLedger(LedgerCore):
    # ------------------------------------------------------------------ xrefs and echoes

    def put_xref(self, entity: str, system: str, key: str, target_id: str, message_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            self._upsert_xref(
                conn, XrefWrite(entity, system, key, target_id), message_id=message_id or "", now=self._now()
            )

    def lookup_xref(self, entity: str, system: str, key: str) -> str | None:
        x = t.xrefs
        with self.engine.connect() as conn:
            row = conn.execute(
                select(x.c.target_id).where(and_(x.c.entity == entity, x.c.system == system, x.c.key == key))
            ).first()
        return None if row is None else str(row[0])

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
            if holder and holder.rsplit(":", 1)[0] == self.node.rsplit(":", 1)[0] and not alive(holder):
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

    def release_own_leases(self) -> int:
        """At shutdown: every lease this node holds (poll leases) is free at once, not at its expiry."""
        with self.engine.begin() as conn:
            res = conn.execute(t.leases.delete().where(t.leases.c.holder == self.node))
        return int(res.rowcount or 0)
