"""SIGKILL in the middle of ``esb-bridge dlq replay``: the dead letter and its delivery agree after the restart.

A delivery the REST peer rejected once (422) is a dead letter; the operator replays it and the process is
killed inside the replay's transaction, or after its commit. After the restart the record must be applied
exactly once, or still be in the DLQ, never both: an open dead letter for an applied record invites a second
replay of something already delivered. (Before the fix the delivery was queued in one transaction and the dead
letter closed in another; a kill between them left exactly that.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from bridge.store import schema as t
from bridge.store.engine import make_engine
from samples.cloud_sim import SimServer
from samples.cloud_sim.state import FaultRule
from tests.faults.checker import EventQueue, check
from tests.faults.conftest import record
from tests.faults.workload import Workload


def _replay(w: Workload, dl_id: int, failpoints: str = "") -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESB_BRIDGE_")}
    env["ESB_BRIDGE_FAILPOINT_MARKERS"] = str(w.markers)
    if failpoints:
        env["ESB_BRIDGE_FAILPOINTS"] = failpoints
    cmd = [sys.executable, "-m", "bridge", "--config", str(w.config), "dlq", "replay", str(dl_id), "--no-deliver"]
    with (w.root / "bridge.log").open("ab") as log:
        return subprocess.run(cmd, env=env, cwd=w.root, stdout=log, stderr=log, timeout=60).returncode


@pytest.mark.parametrize("point", ["mid_replay_delivery", "mid_replay_delivery_audit"])
@pytest.mark.parametrize("store_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_sigkill_mid_replay(workload: Workload, sim: SimServer, queue: EventQueue, store_url: str, point: str) -> None:
    """Killed mid-replay, restarted: the record applied once, its dead letter closed, nothing in the DLQ twice."""
    sim.state.add_fault(FaultRule(path_prefix=f"/v1/ingest/{workload.collection}/C-00007", status=422, count=1))
    assert workload.run() & 32, workload.log_tail()  # the rejected delivery is a dead letter
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            dl = t.dead_letters.c
            (dl_id,) = conn.scalars(select(dl.id).where(dl.kind == "delivery", dl.status == "open")).all()
    finally:
        engine.dispose()
    assert _replay(workload, dl_id, f"{point}=kill") == -signal.SIGKILL
    assert workload.hit(point)
    assert workload.run() == 0, workload.log_tail()
    report = record(check(workload, sim, queue, faults=2))
    assert report.ok(), report.explain()
