"""Fixtures of the cloud integration tests: the simulator under real uvicorn, RabbitMQ, a source context."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger
from samples.cloud_sim import SimServer  # samples/ is importable: pytest's pythonpath is the repo root
from tests.conftest import require_peer

RABBIT = ("127.0.0.1", 5672)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    with SimServer(webhook_backoff=(0.3, 0.6, 1.0, 2.0)) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> Iterator[SimServer]:
    """The running simulator, reset before and after each test."""
    sim_server.reset()
    yield sim_server
    sim_server.reset()


@pytest.fixture
def ledger() -> MemorySourceLedger:
    return MemorySourceLedger()


@pytest.fixture
def source_context(ledger: MemorySourceLedger, tmp_path: Path) -> SourceContext:
    return SourceContext(interface="cloud-test", clock=SystemClock(), spool_dir=tmp_path, ledger=ledger)


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """The real broker's URL; absent broker: skip locally, fail under CI=true."""
    try:
        socket.create_connection(RABBIT, timeout=2).close()
        reachable = True
    except OSError:
        reachable = False
    require_peer(f"RabbitMQ at {RABBIT[0]}:{RABBIT[1]}", reachable)
    return "amqp://guest:guest@127.0.0.1:5672/%2F"
