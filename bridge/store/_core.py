"""The ledger's shared base: engine, clock, node identity and the upserts several parts use.

Split from :mod:`bridge.store.ledger` by concern; nothing outside ``bridge.store`` imports this module.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bridge.ports import Clock
from bridge.store import schema as t
from bridge.store.engine import is_sqlite
from bridge.store.rawsql import RawSql
from bridge.store.records import LastWrite, XrefWrite
from bridge.store.sealing import OFF, Protection

__all__ = ["LedgerCore", "alive"]


def alive(holder: str) -> bool:
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


class LedgerCore:
    """Engine, clock and node identity; dialect-aware inserts and the xref/echo upserts."""

    def __init__(self, engine: Engine, clock: Clock, *, node: str | None = None, protection: Protection = OFF) -> None:
        self.engine = engine
        self.clock = clock
        #: which interfaces' stored bytes are sealed, and the keys (:mod:`bridge.store.sealing`)
        self.protection = protection
        self.node = node or f"{socket.gethostname()}:{os.getpid()}"
        self._sqlite = is_sqlite(engine)
        self._raw = RawSql(self._sqlite)

    # ------------------------------------------------------------------ helpers

    def _insert(self, table: Table) -> Any:
        return (sqlite.insert if self._sqlite else postgresql.insert)(table)

    def _now(self) -> datetime:
        return self.clock.now()

    def _upsert_xref(self, conn: Connection, x: XrefWrite, *, message_id: str, now: datetime) -> None:
        ins = self._insert(t.xrefs).values(
            entity=x.entity, system=x.system, key=x.key, target_id=x.target_id, message_id=message_id, updated_at=now
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["entity", "system", "key"],
                set_={"target_id": ins.excluded.target_id, "message_id": ins.excluded.message_id, "updated_at": now},
            )
        )

    def _upsert_last_write(self, conn: Connection, w: LastWrite, *, message_id: str, now: datetime) -> None:
        ins = self._insert(t.last_writes).values(
            system=w.system,
            canonical=w.canonical,
            business_key=w.business_key,
            content_hash=w.content_hash,
            message_id=message_id,
            written_at=now,
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["system", "canonical", "business_key"],
                set_={"content_hash": ins.excluded.content_hash, "message_id": message_id, "written_at": now},
            )
        )
