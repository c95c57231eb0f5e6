"""The workload with no fault: everything applied once, the poison record in the DLQ (the checker's baseline)."""

from __future__ import annotations

from samples.cloud_sim import SimServer
from tests.faults.checker import EventQueue, check
from tests.faults.conftest import record
from tests.faults.workload import Workload


def test_clean_run_applies_every_record_once(workload: Workload, sim: SimServer, queue: EventQueue) -> None:
    """No fault: every record lands once at its target, the poison line is a dead letter with its reason."""
    rc = workload.run()
    report = record(check(workload, sim, queue, faults=0))
    assert report.ok(), report.explain() + "\n" + workload.log_tail()
    assert rc == 16, workload.log_tail()  # only the poison record's dead letter (RunProblem.RECORDS_DEAD_LETTERED)
    assert report.records == 77 and len(queue.seen) == 24
