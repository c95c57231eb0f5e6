"""SIGKILL of ``esb-bridge run`` at every kill point (a ledger state), then a restart to completion: nothing lost
or applied twice, no file acknowledged before its records, counted at the peers (``tests.faults.checker``).

Each point is a failpoint (``bridge.ports.failpoints``) armed with ``kill:N``: the process SIGKILLs itself the
N-th time it gets there, after writing a hit marker; a point never hit fails its test. Every point runs on
SQLite, a seeded third of them on PostgreSQL (a schema of its own per run).
"""

from __future__ import annotations

import math
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from samples.cloud_sim import SimServer
from tests.conftest import _pg_reachable, require_peer
from tests.faults.checker import EventQueue, Report, acknowledged_early, check
from tests.faults.conftest import record
from tests.faults.scenarios import Peers, Result, run_all
from tests.faults.workload import Workload

#: kill point -> the hit that kills (chosen so that the kill falls in the middle of the workload)
KILL_POINTS = {
    "batch_opened": 2,  # a batch row opened, nothing decoded (the second file)
    "spooled": 2,  # a file copied to the spool (over sshd or from the folder), no envelope yet
    "mid_decode": 17,  # inside the second customers file
    "record_chunk_txn": 4,  # a chunk's transaction open
    "after_chunk": 3,  # a chunk committed, the batch not fully decoded
    "before_last_chunk": 2,  # decoded, the last chunk not committed
    "before_release": 2,  # every chunk committed, the deliveries still held
    "release_txn": 2,  # the release written, not committed
    "before_ack": 2,  # committed and released, the source not acknowledged
    "after_ack": 1,  # the file moved to archive/, the batch not marked acknowledged
    "settled_before_ack": 1,  # on_delivery: every delivery done, the sftp file not acknowledged
    "settled_after_ack": 1,  # on_delivery: acknowledged over sshd, not marked
    "claim_txn": 3,  # mid-claim: the claim written, not committed
    "claimed": 3,  # claims held by the process, nothing sent
    "before_send": 3,  # encoded, not sent
    "rest_answered": 4,  # the cloud simulator applied and answered, the answer not read
    "amqp_published": 2,  # published to RabbitMQ, confirms not read
    "after_send": 4,  # after the sink call, before its outcome is recorded
    "finish_txn": 4,  # outcomes written, not committed
    "after_finish": 3,  # outcomes committed, between two claims
}
SECOND_KILL = "recovered"  # the restart killed again right after its crash recovery
ALL_POINTS = [*KILL_POINTS, SECOND_KILL]
PG_POINTS = sorted(random.Random(17).sample(ALL_POINTS, math.ceil(len(ALL_POINTS) / 3)))
CASES = [("sqlite", p) for p in ALL_POINTS] + [("postgresql", p) for p in PG_POINTS]
KILLED = -signal.SIGKILL


def _kill(workload: Workload, spec: str, point: str, queue: EventQueue, sim: SimServer) -> list[str]:
    """One run killed at ``spec``; the marker must be there; what the peers show right after the kill."""
    rc = workload.run(spec)
    assert workload.hit(point), f"kill point {point} not hit (rc {rc})\n{workload.log_tail()}"
    assert rc == KILLED, f"{point}: rc {rc}, expected SIGKILL\n{workload.log_tail()}"
    return acknowledged_early(workload, sim, queue)


def kill_then_restart(sim: SimServer) -> Callable[[tuple[str, str], Workload, EventQueue], Report]:
    def scenario(case: tuple[str, str], workload: Workload, queue: EventQueue) -> Report:
        point = case[1]
        if point == SECOND_KILL:
            early = _kill(workload, "after_send=kill:2", "after_send", queue, sim)
            early += _kill(workload, "recovered=kill:1", point, queue, sim)
            faults = 2
        else:
            early = _kill(workload, f"{point}=kill:{KILL_POINTS[point]}", point, queue, sim)
            faults = 1
        rc = workload.run()
        assert rc >= 0 and not rc & (1 | 2 | 64), f"restart rc {rc}\n{workload.log_tail()}"
        return check(workload, sim, queue, faults, early)

    return scenario


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, shared_peers: Peers, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Result]:
    """Every selected kill case, run three at a time (see tests.faults.scenarios)."""
    selected = [
        (i.callspec.params["backend"], i.callspec.params["point"])
        for i in request.session.items
        if getattr(i, "originalname", "") == "test_sigkill_at_point_then_restart"
    ]
    if any(b == "postgresql" for b, _ in selected) and not _pg_reachable():
        selected = [c for c in selected if c[0] != "postgresql"]  # each such test then requires the peer
    return run_all(selected, kill_then_restart(shared_peers.sim), tmp_path_factory.mktemp("kills"), shared_peers)


@pytest.mark.parametrize(
    ("backend", "point"),
    [pytest.param(b, p, id=f"{b}-{p}", marks=[pytest.mark.postgres] if b == "postgresql" else []) for b, p in CASES],
)
def test_sigkill_at_point_then_restart(backend: str, point: str, outcomes: dict[tuple[str, str], Result]) -> None:
    """Killed at the point, restarted, run to the end: each record applied once or in the DLQ with its reason."""
    if backend == "postgresql":
        require_peer("PostgreSQL at 127.0.0.1:5432", _pg_reachable())
    result = outcomes[(backend, point)]
    assert result.report is not None, result.error
    report = record(result.report)
    assert report.ok(), report.explain()


def test_every_kill_point_is_a_failpoint_in_the_code() -> None:
    """Each named kill point exists in the code (a renamed failpoint would otherwise never be hit)."""
    root = Path(__file__).parents[2]
    code = "".join(p.read_text() for d in ("bridge", "adapters", "cutover") for p in (root / d).rglob("*.py"))
    assert [p for p in ALL_POINTS if f'failpoint("{p}")' not in code] == []
