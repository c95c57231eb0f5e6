"""Fault classes other than SIGKILL, one at a time, then a seeded random schedule; checked at the peers.

Each test injects its fault while ``esb-bridge run --once`` works (or before it), lets a clean run finish what
is left, and asks the checker for every record applied once or dead-lettered with its reason.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bridge.store.engine import make_engine
from samples.cloud_sim import SimServer
from samples.cloud_sim.state import FaultRule
from tests.conftest import PG_BASE_URL
from tests.faults.checker import EventQueue, Report, acknowledged_early, check
from tests.faults.conftest import record
from tests.faults.test_kill_points import KILL_POINTS
from tests.faults.workload import Workload
from tests.integration.cloud.cloud_fakes import TcpProxy
from tests.integration.sftp_drops.conftest import Sshd

CLEAN_OR_DEAD = (0, 16)  # a finished run: nothing left open, at most the poison record's dead letter


@contextmanager
def running(w: Workload, **kw: str) -> Iterator[list[int]]:
    """``w.run(**kw)`` on a thread while the body injects faults; its return code lands in the list on exit."""
    rc: list[int] = []
    thread = threading.Thread(target=lambda: rc.append(w.run(**kw)))
    thread.start()
    try:
        yield rc
    finally:
        thread.join(120)


def _every(period: float, times: int, fault: Callable[[], int], stop: Callable[[], bool]) -> int:
    """Call ``fault`` every ``period`` seconds until it reported ``times`` faults, ``stop()`` or 60 s; how many.

    ``fault`` returns how many faults it injected (0 while there is nothing to hit yet: the bridge starting)."""
    done = 0
    deadline = time.monotonic() + 60
    while done < times and not stop() and time.monotonic() < deadline:
        hit = fault()
        done += hit
        time.sleep(period if hit else 0.1)
    return done


def _finish(w: Workload) -> int:
    rc = w.run()
    assert rc in CLEAN_OR_DEAD, f"the clean run after the fault: rc {rc}\n{w.log_tail()}"
    return rc


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_rest_peer_answers_500_429_and_times_out(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """500s, 429s with Retry-After and answers slower than the client's timeout (applied all the same)."""
    prefix = f"/v1/ingest/{workload.collection}/"
    sim.state.add_fault(FaultRule(path_prefix=prefix, status=500, count=3))
    sim.state.add_fault(FaultRule(path_prefix=prefix, status=429, retry_after="1", count=3))
    for late in ("C-00020", "C-00030"):  # one late answer each, on records past the first failed requests
        sim.state.add_fault(FaultRule(path_prefix=prefix + late, delay_response=2.0, count=1))
    if workload.run() not in CLEAN_OR_DEAD:  # the circuit opened on the failing peer: work left for a rerun
        _finish(workload)
    answered = [r.status for r in sim.state.requests if r.path.startswith(prefix)]
    assert answered.count(500) == 3 and answered.count(429) == 3, answered
    for late in ("C-00020", "C-00030"):  # timed out, applied anyway, retried under the same key: replayed
        keys = [r.idempotency_key for r in sim.state.requests if r.path == prefix + late]
        assert len(keys) >= 2 and len(set(keys)) == 1, keys
    report = record(check(workload, sim, queue, faults=8))
    assert report.ok(), report.explain()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_rabbitmq_connections_cut(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """The AMQP connection cut mid-publish (a TCP fault proxy) three times: republished under the same id."""
    proxy = TcpProxy(5672, window=0.2).start()
    try:
        cfg = workload.config.read_text()
        workload.config.write_text(cfg.replace("127.0.0.1:5672/", f"127.0.0.1:{proxy.port}/"))

        def cut() -> int:
            proxy.cut_next_write()
            return 1

        with running(workload) as rc:
            cuts = _every(0.6, 3, cut, lambda: bool(rc))  # the first cut hits the first connection made
        assert cuts >= 1
        if rc[0] not in CLEAN_OR_DEAD:
            _finish(workload)
    finally:
        proxy.kill()
    report = record(check(workload, sim, queue, faults=cuts))
    assert report.ok(), report.explain()


@pytest.mark.parametrize("store_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_connections_dropped(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """The bridge's PostgreSQL connections terminated (pg_terminate_backend) while it works: nothing lost."""
    app = f"esb-faults-{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE_URL)

    def drop() -> int:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"),
                    {"a": app},
                ).all()
            )

    try:
        with running(workload, env={"PGAPPNAME": app}) as rc:
            dropped = _every(0.7, 4, drop, lambda: bool(rc))
    finally:
        admin.dispose()
    assert dropped >= 1, "no connection of the bridge was seen to terminate"
    assert rc[0] >= 0, f"the bridge crashed on a dropped connection: rc {rc[0]}\n{workload.log_tail()}"
    if rc[0] not in CLEAN_OR_DEAD:
        _finish(workload)
    report = record(check(workload, sim, queue, faults=dropped))
    assert report.ok(), report.explain()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sshd_killed_mid_transfer(workload: Workload, sim: SimServer, queue: EventQueue, sshd: Sshd) -> None:
    """The sshd serving the bridge's SFTP session killed while files are read: re-read on the next poll."""

    def kill_sessions() -> int:
        pids = sshd.session_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return len(pids)

    with running(workload, failpoints="spooled=pause:0.5") as rc:
        killed = _every(0.5, 2, kill_sessions, lambda: bool(rc))
    assert killed >= 1, "no sshd session was up to kill"
    early = acknowledged_early(workload, sim, queue)
    if rc[0] not in CLEAN_OR_DEAD:
        _finish(workload)
    report = record(check(workload, sim, queue, faults=killed, early=early))
    assert report.ok(), report.explain()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_spool_on_a_full_disk(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """The spool on a 4 KiB tmpfs: files that do not fit are not taken; with room again, all arrive once."""
    spool = workload.root / "spool"
    spool.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(spool)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.decode().strip()}")
    try:
        workload.run()
        left = [f for i in workload.interfaces.values() for f in i.drop.glob("*.jsonl")]
        assert left, f"a full spool must leave files untaken\n{workload.log_tail()}"
        early = acknowledged_early(workload, sim, queue)
    finally:
        subprocess.run(["umount", "-l", str(spool)], check=True)
    _finish(workload)
    report = record(check(workload, sim, queue, faults=1, early=early))
    assert report.ok(), report.explain()


SEED = 20261202


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_seeded_random_schedule(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """Kills at random points and hits, with the REST peer failing at random, from one seed: nothing lost."""
    rng = random.Random(SEED)
    prefix = f"/v1/ingest/{workload.collection}/"
    faults, early = 0, []
    for _ in range(4):
        status = rng.choice([429, 500, 503])
        n = rng.randint(1, 3)
        sim.state.add_fault(FaultRule(path_prefix=prefix, status=status, count=n, retry_after="1"))
        faults += n
        point = rng.choice(sorted(KILL_POINTS))
        rc = workload.run(f"{point}={'kill'}:{rng.randint(1, 2)}")
        if rc == -signal.SIGKILL:
            faults += 1
            early += acknowledged_early(workload, sim, queue)
    sim.state.clear_faults()
    _finish(workload)
    report = record(check(workload, sim, queue, faults=faults, early=early))
    assert report.ok(), f"seed {SEED}: " + report.explain()


FEED_MAPPING = Path(__file__).parents[1] / "integration" / "cloud" / "cloud-customers.yaml"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_failed_feed_page_then_kill_before_the_cursor_moves(tmp_path: Path, store_url: str, sim: SimServer) -> None:
    """A REST feed page answered 500, then a SIGKILL between the commit and the cursor move: every change of the
    simulator's feed is applied once in the target folder (the page is re-read, its versions are no-ops)."""
    keys = [f"F-{n:03d}" for n in range(1, 13)]
    for k in keys:
        sim.state.create("customers", {"external_id": k, "name": f"Feed {k}"}, None)
    w = Workload(tmp_path, store_url, sim.url, "", "", {})
    w.target_folder.mkdir()
    w.config.write_text(
        f"""
store: "{store_url}"
spool_dir: spool
interfaces:
  feed:
    canonical: Customer
    source: {{kind: rest_poll, url: "{sim.url}/v1/customers", page_size: 5, overlap: 30, timeout: 3}}
    decoder: {{kind: json, mapping: "{FEED_MAPPING}"}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: file, path: target}}
    cutover: {{mode: legacy_only}}
""",
        encoding="utf-8",
    )
    sim.state.add_fault(FaultRule(path_prefix="/v1/customers", method="GET", status=500, count=1))
    assert w.run() & 4, w.log_tail()  # the poll failed: nothing taken, the cursor where it was
    assert not list(w.target_folder.glob("*.json"))
    assert w.run("before_ack=kill:2") == -signal.SIGKILL and w.hit("before_ack"), w.log_tail()
    assert w.run() == 0, w.log_tail()
    applied: dict[str, int] = {}
    for f in w.target_folder.glob("*.json"):
        number = f.read_text().split('"customer_number":"', 1)[1].split('"', 1)[0]
        applied[number] = applied.get(number, 0) + 1
    lost = [k for k in keys if k not in applied]
    duplicated = [k for k, n in applied.items() if n > 1]
    record(Report(2, len(keys), lost, duplicated, []))
    assert (lost, duplicated) == ([], []), applied
