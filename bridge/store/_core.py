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


def node_id() -> str:
    """``host:pid:nonce`` of this process: the nonce keeps apart two containers sharing a hostname (both pid 1)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _host_pid(node: str) -> tuple[str, int | None]:
    """(host, pid) of a node id, ``host:pid:nonce`` or the older ``host:pid``."""
    parts = node.split(":")
    for i in (len(parts) - 2, len(parts) - 1):  # new form first: the pid is the second last part
        if i >= 1 and parts[i].isdigit():
            return ":".join(parts[:i]), int(parts[i])
    return node, None


def same_host(a: str, b: str) -> bool:
    """Whether two node ids name processes of the same host."""
    return _host_pid(a)[0] == _host_pid(b)[0]


def alive(holder: str) -> bool:
    """Whether the process named by a node id still runs on this host (unknown: assumed alive)."""
    pid = _host_pid(holder)[1]
    if pid is None:
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
        self.node = node or node_id()
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
