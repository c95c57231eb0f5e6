"""The ledger's cross-references, echo hashes and leases (audit events: :mod:`bridge.store.audit`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, select

from bridge.store import schema as t
from bridge.store._core import LedgerCore
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

