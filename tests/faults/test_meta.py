"""The checker catches what it is there to catch: with the test-only switch that acknowledges before commit and
drops idempotency keys (``bridge.runtime.sabotage``), the same kills must show as lost and duplicated records."""

from __future__ import annotations

import signal

import pytest

from samples.cloud_sim import SimServer
from tests.faults.checker import EventQueue, acknowledged_early, check
from tests.faults.workload import Workload

BROKEN = "ack-before-commit,no-idempotency-keys"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_broken_bridge_is_caught(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """Acknowledged before commit, then killed; killed after a send, then redelivered: lost > 0, duplicated > 0."""
    assert workload.run("before_last_chunk=kill:2", sabotage=BROKEN) == -signal.SIGKILL
    early = acknowledged_early(workload, sim, queue)
    assert workload.run("after_send=kill:3", sabotage=BROKEN) == -signal.SIGKILL
    workload.run(sabotage=BROKEN)
    report = check(workload, sim, queue, faults=2, early=early)
    assert report.lost and report.duplicated, report.explain()
    assert any("acknowledged before its record" in p for p in report.problems), report.explain()
    assert any("idempotency keys" in p for p in report.problems), report.explain()
    print(report.line())  # the broken bridge's line, e.g. "faults injected: 2, records: 77, lost: 4, duplicated: 3"
