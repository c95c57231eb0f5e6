"""Root fixtures: the ledger on every backend (SQLite and the real PostgreSQL) and a simulated clock.

``store_url`` is parametrized over ``sqlite`` and ``postgresql`` so every store and runtime test runs on
both; the ``postgresql`` half carries the ``postgres`` marker (``-m "not postgres"`` runs without the peer).
Under ``CI=true`` an unreachable PostgreSQL fails the test instead of skipping it. ``tests/unit`` needs no
peer: a unit test that needs PostgreSQL is a collection error.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bridge.ports import SimulatedClock
from bridge.store.engine import make_engine

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
PG_BASE_URL = os.environ.get("ESB_BRIDGE_TEST_PG", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


def require_peer(name: str, reachable: bool) -> None:
    """Skip locally, fail in CI: nothing that matters may be skipped there."""
    if reachable:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{name} is required in CI but is not reachable")
    pytest.skip(f"{name} not reachable")


@pytest.fixture
def clock() -> SimulatedClock:
    """A simulated clock starting on a fixed Monday morning."""
    return SimulatedClock()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unit = Path(__file__).parent / "unit"
    offenders = [i.nodeid for i in items if i.get_closest_marker("postgres") and unit in i.path.parents]
    if offenders:
        raise pytest.UsageError(f"tests/unit must need no peer; these need PostgreSQL: {offenders}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger URL on each backend (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    require_peer("PostgreSQL at 127.0.0.1:5432", _pg_reachable())
    with pg_schema_url() as url:
        yield url


@contextmanager
def pg_schema_url(prefix: str = "t_") -> Iterator[str]:
    """The URL of a new PostgreSQL schema of its own (the search path), dropped on exit."""
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
