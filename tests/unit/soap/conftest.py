"""Fixtures of the SOAP adapter's unit tests: local WSDL shapes and an in-memory SourceLedger."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


class MemoryLedger:
    """An in-memory :class:`bridge.ports.SourceLedger`: batch states and cursors in dicts."""

    def __init__(self) -> None:
        self.batches: dict[tuple[str, str], str] = {}
        self.cursors: dict[tuple[str, str], str] = {}
        self.writes = 0

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        return self.batches.get((interface, batch_id))

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        self.batches[(interface, batch_id)] = state

    def get_cursor(self, interface: str, key: str) -> str | None:
        return self.cursors.get((interface, key))

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        self.writes += 1
        self.cursors[(interface, key)] = value


@pytest.fixture
def wsdl_dir() -> Path:
    return HERE / "wsdl"


@pytest.fixture
def erp_wsdl() -> Path:
    return ROOT / "samples" / "legacy_erp" / "wsdl" / "erp.wsdl"


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()
