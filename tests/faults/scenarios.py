"""Running fault scenarios side by side: each on its own ledger (SQLite file or PostgreSQL schema), drop
folders, RabbitMQ exchange and simulator collection, sharing the peers' processes.

A scenario is mostly waiting (process start-up, the peers, retries), so the kill points run a few at a time
on worker threads: the suite stays within its time budget on a 2-core machine. Each scenario's outcome (its
report, or the failure it raised) is then asserted by its own test.
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from samples.cloud_sim import SimServer
from tests.conftest import pg_schema_url
from tests.faults.checker import EventQueue, Report
from tests.faults.workload import Workload
from tests.integration.sftp_drops.conftest import Sshd

__all__ = ["Peers", "Result", "ledger_url", "new_workload", "run_all"]

K = TypeVar("K")


@dataclass(frozen=True)
class Peers:
    sim: SimServer
    amqp_url: str
    sshd: Sshd


@contextmanager
def ledger_url(backend: str, root: Path) -> Iterator[str]:
    """A fresh ledger: a SQLite file under ``root``, or a PostgreSQL schema of its own (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{root / 'ledger.db'}"
        return
    with pg_schema_url("f_") as url:
        yield url


def new_workload(root: Path, store_url: str, peers: Peers, collection: str = "customers") -> Workload:
    """The inputs written and the config ready under ``root``; nothing run yet."""
    s = peers.sshd
    w = Workload(
        root,
        store_url,
        peers.sim.url,
        peers.amqp_url,
        f"esb-faults-{uuid.uuid4().hex[:8]}",
        {"port": s.port, "user": s.user, "key_file": s.key_file, "known_hosts": s.known_hosts},
        collection=collection,
    )
    w.prepare()
    return w


@dataclass
class Result:
    report: Report | None = None
    error: str = ""


def run_all(
    cases: list[K], scenario: Callable[[K, Workload, EventQueue], Report], root: Path, peers: Peers, workers: int = 3
) -> dict[K, Result]:
    """Every case on its own workload (``root/<n>``, backend from ``case[0]``), ``workers`` at a time."""

    def one(n: int, case: K) -> Result:
        folder = root / str(n)
        folder.mkdir(parents=True)
        backend = str(case[0]) if isinstance(case, tuple) else "sqlite"
        try:
            with ledger_url(backend, folder) as url:
                w = new_workload(folder, url, peers, collection=f"c{n}")
                q = EventQueue(w.amqp_url, w.exchange)
                try:
                    return Result(scenario(case, w, q))
                finally:
                    q.close()
        except Exception:  # reported by the case's own test
            return Result(error=traceback.format_exc())

    with ThreadPoolExecutor(workers) as pool:
        futures = {case: pool.submit(one, n, case) for n, case in enumerate(cases)}
        return {case: f.result() for case, f in futures.items()}
