"""Renew a poll lease while the poll runs, so a long poll (a big file, a slow feed) keeps its lease.

Without renewal a poll longer than its lease would lose it half-way and another node would start the same
input; with the fence (bridge.store.leases) the first node's later commits would then fail. The keeper renews
every third of the lease's time on its own thread; a renewal that finds the lease taken over logs
``lease_lost`` and stops (the fence refuses this node's next commit, and the poll ends with LeaseLost).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from logging import WARNING
from types import TracebackType
from typing import Self

from bridge.observability.logs import event
from bridge.store.leases import Lease
from bridge.store.ledger import Ledger

__all__ = ["LeaseKeeper"]

log = logging.getLogger("esb_bridge.runtime.leases")


class LeaseKeeper:
    """``with LeaseKeeper(ledger, lease, ttl):`` renews ``lease`` every ``ttl / 3`` until the block ends."""

    def __init__(self, ledger: Ledger, lease: Lease, ttl: timedelta) -> None:
        self.ledger = ledger
        self.lease = lease
        self.ttl = ttl
        self.lost = False
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{lease.name}", daemon=True)

    def _loop(self) -> None:
        every = max(0.05, self.ttl.total_seconds() / 3)
        while not self._stop.wait(every):
            try:
                renewed = self.ledger.acquire_lease(self.lease.name, self.ttl)
            except Exception:  # the ledger unreachable: try again next time; the fence decides at commit
                log.warning("renewing lease %s failed; retrying", self.lease.name, exc_info=True)
                continue
            if renewed is None or renewed.token != self.lease.token:
                self.lost = True
                event(log, WARNING, "lease_lost", lease=self.lease.name, token=self.lease.token,
                      node=self.ledger.node)  # fmt: skip
                return
            self.renewals += 1

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
