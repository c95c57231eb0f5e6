"""Fixtures of the cloud integration tests: the simulator under real uvicorn, RabbitMQ, a source context."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # samples/ is not an installed package

from cloud_fakes import MemoryLedger  # noqa: E402

from bridge.ports import SourceContext, SystemClock  # noqa: E402
from samples.cloud_sim import SimServer  # noqa: E402

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
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def source_context(ledger: MemoryLedger, tmp_path: Path) -> SourceContext:
    return SourceContext(interface="cloud-test", clock=SystemClock(), spool_dir=tmp_path, ledger=ledger)


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """The real broker's URL; absent broker: skip locally, fail under CI=true."""
    try:
        socket.create_connection(RABBIT, timeout=2).close()
    except OSError:
        message = f"RabbitMQ is not reachable at {RABBIT[0]}:{RABBIT[1]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return "amqp://guest:guest@127.0.0.1:5672/%2F"
