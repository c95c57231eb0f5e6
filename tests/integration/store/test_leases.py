"""Leases with fencing tokens and the node registry (bridge/store/leases.py), on SQLite and PostgreSQL.

A node that lost its lease (it paused past the expiry and another node took over) cannot commit with its
stale token, in the poll thread or in a thread started from it; renewal keeps the token, takeover bumps it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from bridge.cli.main import cli
from bridge.ports import LeaseLost, SimulatedClock, SystemClock
from bridge.runtime.chunk_writer import ChunkWriter
from bridge.runtime.lease_keeper import LeaseKeeper
from bridge.store import schema as t
from bridge.store.engine import make_engine, upgrade
from bridge.store.ledger import Ledger

TTL = timedelta(seconds=30)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _batches(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(t.batches)) or 0)


def test_a_node_that_lost_its_lease_cannot_commit_with_the_stale_token(
    engine: Engine, clock: SimulatedClock
) -> None:
    a, b = Ledger(engine, clock, node="host-a:10:aa"), Ledger(engine, clock, node="host-b:20:bb")
    first = a.acquire_lease("poll:i", TTL)
    assert first is not None and first.token == 1
    renewed = a.acquire_lease("poll:i", TTL)
    assert renewed is not None and renewed.token == 1  # renewal keeps the token
    assert b.acquire_lease("poll:i", TTL) is None  # held, unexpired
    with a.fenced(first):
        a.open_batch("i", "before", "o")  # still the holder: committed
    clock.advance(31)  # a pauses past its lease; b takes over
    taken = b.acquire_lease("poll:i", TTL)
    assert taken is not None and taken.token == 2 and taken.holder == "host-b:20:bb"
    with a.fenced(first), pytest.raises(LeaseLost, match="token 1"):
        a.open_batch("i", "stale", "o")
    with b.fenced(taken):
        b.open_batch("i", "fresh", "o")
    assert a.batch_state("i", "stale") is None and b.batch_state("i", "fresh") is not None
    assert a.acquire_lease("poll:i", TTL) is None  # and a cannot simply renew it back
    a.open_batch("i", "unfenced", "o")  # outside the block nothing is fenced
    assert _batches(engine) == 3


def test_the_fence_holds_in_a_thread_started_from_the_fenced_context(engine: Engine, clock: SimulatedClock) -> None:
    """The poll's chunk writer commits on its own thread: a copy of the poll's context, so the same fence."""
    a, b = Ledger(engine, clock, node="host-a:10:aa"), Ledger(engine, clock, node="host-b:20:bb")
    lease = a.acquire_lease("poll:i", TTL)
    assert lease is not None
    clock.advance(31)
    assert b.acquire_lease("poll:i", TTL) is not None
    with a.fenced(lease):
        writer: ChunkWriter[str] = ChunkWriter(lambda batch: a.open_batch("i", batch, "o") and None, name="w")
        writer.submit("from-the-writer")
        with pytest.raises(LeaseLost):
            writer.close()
    assert a.batch_state("i", "from-the-writer") is None


def test_a_dead_local_holder_is_taken_over_at_once_with_a_new_token(engine: Engine, clock: SimulatedClock) -> None:
    import socket
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    dead = Ledger(engine, clock, node=f"{socket.gethostname()}:{proc.pid}:dead01")
    assert dead.acquire_lease("poll:x", TTL) is not None
    restarted = Ledger(engine, clock).acquire_lease("poll:x", TTL)  # this process, same host
    assert restarted is not None and restarted.token == 2


def test_the_keeper_renews_a_lease_while_a_long_poll_runs(tmp_path: Path) -> None:
    """Real time, a 0.3 s lease: with the keeper the lease outlives 1 s of work and nobody can take it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    upgrade(engine)
    try:
        a, b = Ledger(engine, SystemClock(), node="h:1:a"), Ledger(engine, SystemClock(), node="h:2:b")
        ttl = timedelta(seconds=0.3)
        lease = a.acquire_lease("poll:i", ttl)
        assert lease is not None
        with LeaseKeeper(a, lease, ttl) as keeper, a.fenced(lease):
            time.sleep(1.0)
            assert b.acquire_lease("poll:i", ttl) is None
            a.open_batch("i", "late", "o")  # still fenced in: committed
        assert keeper.renewals >= 2 and not keeper.lost
        time.sleep(0.4)  # no keeper any more: the lease runs out and another node takes it
        assert b.acquire_lease("poll:i", ttl) is not None
    finally:
        engine.dispose()


def test_nodes_register_heartbeat_and_show_in_cluster_status(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    a, b = Ledger(engine, SystemClock(), node="host-a:10:aa"), Ledger(engine, SystemClock(), node="host-b:20:bb")
    for node in (a, b):
        node.register_node()
    lease = a.acquire_lease("poll:invoices", TTL)
    assert lease is not None
    b.heartbeat()
    b.stop_node()
    seen = {n.id: n for n in a.nodes()}
    assert set(seen) >= {"host-a:10:aa", "host-b:20:bb"}
    assert seen["host-a:10:aa"].host == "host-a" and seen["host-a:10:aa"].pid == 10
    assert seen["host-b:20:bb"].stopped_at is not None and seen["host-a:10:aa"].age < 30
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(f'store: "{store_url}"\ninterfaces: {{}}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "cluster", "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    states = {n["node"]: n["state"] for n in data["nodes"]}
    assert states["host-a:10:aa"] == "alive" and states["host-b:20:bb"] == "stopped"
    (row,) = [x for x in data["leases"] if x["lease"] == "poll:invoices"]
    assert row["holder"] == "host-a:10:aa" and row["token"] == 1 and row["expires_in_s"] > 20
    human = CliRunner().invoke(cli, ["--config", str(cfg), "cluster", "status"])
    assert "node(s) alive" in human.output and "poll:invoices" in human.output
