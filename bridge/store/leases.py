"""Leases with fencing tokens, and the node registry: what lets several processes share one ledger safely.

A lease (``poll:<interface>``, ``alerts``) is held by one node until it expires; its **token** grows by one
each time another node takes it over, never on renewal. Work done under a lease is **fenced**: inside
:meth:`LeaseLedger.fenced`, every transaction committed by this thread, or by a thread started from it with
its context (the poll's chunk writer), first checks in the same transaction that the lease still has this
node as holder, the same token and an expiry in the future (PostgreSQL: the row read ``FOR SHARE``, so a
takeover waits for the commit or the commit sees the takeover). A node that paused longer than its lease
(GC, a frozen VM, a lost network) and wakes up to find the lease taken over cannot commit with its stale token:
:class:`LeaseLost`. The token decides, not the expiry: an expired lease nobody took over is still this node's
work.

Time: on PostgreSQL with a real clock, lease expiry and node heartbeats use the database's own clock
(``now()``), one clock for every node; SQLite (one host) and simulated clocks (tests) use the ledger's Clock.

Nodes: every process registers a row (``nodes``: id, host, pid, started, heartbeat) and heartbeats from its
housekeeping; ``esb-bridge cluster status`` reads them. A node id is ``host:pid:nonce``: the nonce keeps two
containers that share a hostname (both pid 1) apart.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, event, func, select, update

from bridge.ports import LeaseLost, SystemClock
from bridge.store import schema as t
from bridge.store._core import LedgerCore, alive, node_id, same_host

__all__ = ["Lease", "LeaseLedger", "NodeInfo", "node_id"]

#: the lease the current thread's (and its copied contexts') commits are fenced by, per ledger
_FENCE: contextvars.ContextVar[tuple[int, Lease] | None] = contextvars.ContextVar("esb_bridge_fence", default=None)


@dataclass(frozen=True)
class Lease:
    """A lease as this node holds it: the token fences the work done under it."""

    name: str
    holder: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class NodeInfo:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    #: seconds since the last heartbeat, on the same clock as the heartbeats
    age: float


class LeaseLedger(LedgerCore):
    """Leases (take, renew, fence, release) and the node registry."""

    def _db_time(self) -> bool:
        """Whether leases and heartbeats run on the database's clock (PostgreSQL under a real clock)."""
        return not self._sqlite and isinstance(self.clock, SystemClock)

    def _lease_time(self, conn: Connection) -> datetime:
        if self._db_time():
            now = conn.scalar(select(func.now()))
            assert isinstance(now, datetime)
            return now
        return self._now()

    # ------------------------------------------------------------------ leases

    def acquire_lease(self, name: str, ttl: timedelta) -> Lease | None:
        """Take or renew the lease ``name`` for this node; None while another node holds it unexpired.

        One statement each way (insert-if-absent, then a conditional update), so two nodes racing for the
        same lease cannot both win: the database decides. A takeover (expired, or its holder a dead process
        of this host) increments the token; a renewal keeps it."""
        lease = t.leases
        with self.engine.begin() as conn:
            now = self._lease_time(conn)
            conn.execute(
                self._insert(lease)
                .values(name=name, holder=self.node, expires_at=now + ttl, token=1, acquired_at=now)
                .on_conflict_do_nothing()
            )
            row = conn.execute(
                select(lease.c.holder, lease.c.token, lease.c.expires_at).where(lease.c.name == name)
            ).first()
            if row is None:
                return None
            holder, token = str(row.holder), int(row.token)
            values: dict[str, object]
            if holder == self.node:
                values = {"expires_at": now + ttl}
            elif row.expires_at < now or (same_host(holder, self.node) and not alive(holder)):
                # expired, or held by a process of this host that died (killed): taken over, a new token
                values = {"holder": self.node, "token": token + 1, "acquired_at": now, "expires_at": now + ttl}
                token += 1
            else:
                return None
            res = conn.execute(
                update(lease).where(lease.c.name == name, lease.c.holder == holder).values(**values)
            )
            if not res.rowcount:  # another node got there between the read and the update
                return None
            return Lease(name, self.node, token, now + ttl)

    def release_lease(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.leases.delete().where(t.leases.c.name == name, t.leases.c.holder == self.node))

    def release_own_leases(self) -> int:
        """At shutdown: every lease this node holds (poll leases) is free at once, not at its expiry."""
        with self.engine.begin() as conn:
            res = conn.execute(t.leases.delete().where(t.leases.c.holder == self.node))
        return int(res.rowcount or 0)

    def leases(self) -> list[Lease]:
        """Every lease in the ledger, by name (``cluster status``)."""
        lease = t.leases
        with self.engine.connect() as conn:
            rows = conn.execute(select(lease).order_by(lease.c.name)).all()
        return [Lease(r.name, r.holder, int(r.token), r.expires_at) for r in rows]

    @contextmanager
    def fenced(self, lease: Lease) -> Iterator[None]:
        """Every transaction this thread (and threads started from its context) commits inside the block is
        checked against ``lease``: committed only while this node still holds it with the same token."""
        self._listen_for_fences()
        reset = _FENCE.set((id(self), lease))
        try:
            yield
        finally:
            _FENCE.reset(reset)

    def _listen_for_fences(self) -> None:
        if not getattr(self, "_fence_listening", False):
            event.listen(self.engine, "commit", self._check_fence)
            self._fence_listening = True

    def _check_fence(self, conn: Connection) -> None:
        """Before COMMIT (SQLAlchemy's commit event, on the committing connection): the fence holds or the
        transaction is rolled back with :class:`LeaseLost`."""
        fence = _FENCE.get()
        if fence is None or fence[0] != id(self):
            return
        lease = fence[1]
        q = select(t.leases.c.holder, t.leases.c.token, t.leases.c.expires_at).where(t.leases.c.name == lease.name)
        if not self._sqlite:
            q = q.with_for_update(read=True)
        row = conn.execute(q).first()
        # The token decides, not the expiry: every takeover bumps it, so an expired lease nobody took over
        # still fences correctly (and a poll on a simulated clock that jumps past the expiry is not refused).
        if row is None or row.holder != self.node or int(row.token) != lease.token:
            held = "nobody" if row is None else f"{row.holder} (token {row.token}, expires {row.expires_at})"
            raise LeaseLost(
                f"lease {lease.name} lost: this node {self.node} held token {lease.token}; now held by {held}; "
                "nothing of this transaction is committed"
            )

    # ------------------------------------------------------------------ nodes

    def register_node(self) -> None:
        """This process joins: its row in ``nodes`` (heartbeat now)."""
        with self.engine.begin() as conn:
            now = self._lease_time(conn)
            host, _, rest = self.node.partition(":")
            pid = rest.split(":", 1)[0]
            conn.execute(
                self._insert(t.nodes)
                .values(id=self.node, host=host, pid=int(pid) if pid.isdigit() else 0, started_at=now, heartbeat_at=now)
                .on_conflict_do_nothing()
            )

    def heartbeat(self) -> None:
        with self.engine.begin() as conn:
            now = self._lease_time(conn)
            conn.execute(update(t.nodes).where(t.nodes.c.id == self.node).values(heartbeat_at=now))

    def stop_node(self) -> None:
        """This process leaves cleanly (``stopped_at``); its row stays for ``cluster status``."""
        with self.engine.begin() as conn:
            now = self._lease_time(conn)
            conn.execute(update(t.nodes).where(t.nodes.c.id == self.node).values(stopped_at=now, heartbeat_at=now))

    def nodes(self, *, since: timedelta = timedelta(days=1)) -> list[NodeInfo]:
        """Nodes seen within ``since`` (newest heartbeat first), with their heartbeat age."""
        n = t.nodes
        with self.engine.connect() as conn:
            now = self._lease_time(conn)
            rows = conn.execute(
                select(n).where(n.c.heartbeat_at >= now - since).order_by(n.c.heartbeat_at.desc())
            ).all()
        age = [max(0.0, (now - r.heartbeat_at).total_seconds()) for r in rows]
        return [
            NodeInfo(r.id, r.host, int(r.pid), r.started_at, r.heartbeat_at, r.stopped_at, a)
            for r, a in zip(rows, age, strict=True)
        ]

    def claims_by_node(self) -> dict[str, int]:
        """In-progress deliveries per claiming node."""
        d = t.deliveries
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.claimed_by, func.count())
                .where(d.c.status == "in_progress", d.c.claimed_by.is_not(None))
                .group_by(d.c.claimed_by)
            ).all()
        return {str(r[0]): int(r[1]) for r in rows}
