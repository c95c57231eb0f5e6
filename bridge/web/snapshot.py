"""The ledger's whole-ledger figures, read in one statement and shared for a few seconds.

Counting every message and delivery of a ledger of millions takes longer than a status page may; the counts
change by the second anyway. So ``/metrics`` and the all-interfaces listing (``GET /api/v1/interfaces``) share
one read (:func:`bridge.store.queries.metric_counts`) reused for ``ttl`` seconds (``api.metrics_cache``), and
say how old it is (``as_of``). One interface's status (``GET /api/v1/interfaces/{name}``) is read live: its
counts are bounded by the interface's own index ranges.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bridge.ports import Clock
from bridge.store.queries import add_circuit, metric_counts

__all__ = ["LedgerSnapshot"]


class LedgerSnapshot:
    """``metric_counts`` of ``engine``, re-read at most every ``ttl`` seconds (thread-safe)."""

    def __init__(self, engine: Engine, clock: Clock, ttl: float = 5.0) -> None:
        self.engine = engine
        self.clock = clock
        self.ttl = ttl
        self.reads = 0  # ledger reads so far (the cache is tested by it)
        self._lock = threading.Lock()
        self._at = -1e18
        self._rows: list[dict[str, Any]] = []
        self._as_of: datetime | None = None

    def rows(self) -> tuple[list[dict[str, Any]], datetime]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl or self._as_of is None:
                self._as_of = self.clock.now()
                self._rows = metric_counts(self.engine)
                self._at = time.monotonic()
                self.reads += 1
            return list(self._rows), self._as_of

    def status(self) -> tuple[dict[str, dict[str, Any]], datetime]:
        """Per interface: messages by state, deliveries by path/role and status, open dead letters, batches
        (the shape of :func:`bridge.store.queries.status_counts`)."""
        rows, as_of = self.rows()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            slot = out.setdefault(
                r["interface"], {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}}
            )
            if r["metric"] == "messages":
                slot["messages"][r["a"]] = r["n"]
            elif r["metric"] == "deliveries":
                slot["deliveries"].setdefault(r["a"], {})[r["b"]] = r["n"]
            elif r["metric"] == "dlq":
                slot["dead_letters_open"] = r["n"]
            elif r["metric"] == "batches":
                slot["batches"][r["a"]] = r["n"]
            elif r["metric"] == "circuit":
                add_circuit(slot, r["a"], r["b"], r["n"], r["oldest"], r["retry_at"])
        return out, as_of
