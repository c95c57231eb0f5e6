"""Fixtures of the fault suite: the real peers (cloud simulator, RabbitMQ, sshd, PostgreSQL) and a workload.

Every peer is required: missing locally it skips, under ``CI=true`` it fails (``tests.conftest.require_peer``).
The suite's summary line (faults injected, records, lost, duplicated over every test) is printed at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from samples.cloud_sim import SimServer
from tests.faults.checker import EventQueue, Report
from tests.faults.scenarios import Peers, new_workload
from tests.faults.workload import Workload
from tests.integration.cloud.conftest import rabbitmq, sim, sim_server
from tests.integration.sftp_drops.conftest import Sshd, sshd

__all__ = ["rabbitmq", "sim", "sim_server", "sshd"]

REPORTS: list[Report] = []


@pytest.fixture
def peers(sim: SimServer, rabbitmq: str, sshd: Sshd) -> Peers:
    return Peers(sim, rabbitmq, sshd)


@pytest.fixture(scope="session")
def shared_peers(sim_server: SimServer, rabbitmq: str, sshd: Sshd) -> Peers:
    """The peers for scenarios run side by side (each uses its own collection, exchange, folders): no reset."""
    return Peers(sim_server, rabbitmq, sshd)


@pytest.fixture
def workload(tmp_path: Path, store_url: str, peers: Peers) -> Workload:
    """The inputs written and the config ready; nothing run yet."""
    return new_workload(tmp_path, store_url, peers)


@pytest.fixture
def queue(workload: Workload) -> Iterator[EventQueue]:
    q = EventQueue(workload.amqp_url, workload.exchange)
    yield q
    q.close()


def record(report: Report) -> Report:
    """Count a test's report into the suite's summary line."""
    REPORTS.append(report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS:
        return
    faults = sum(r.faults for r in REPORTS if r.ok())
    records = sum(r.records for r in REPORTS if r.ok())
    lost = sum(len(r.lost) for r in REPORTS if r.ok())
    duplicated = sum(len(r.duplicated) for r in REPORTS if r.ok())
    failed = sum(1 for r in REPORTS if not r.ok())
    line = f"faults injected: {faults}, records: {records}, lost: {lost}, duplicated: {duplicated}"
    terminalreporter.write_sep("-", "fault suite")
    terminalreporter.write_line(line + (f" ({failed} run(s) with problems, see their failures)" if failed else ""))
