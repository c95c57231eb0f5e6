"""Fixtures of the SOAP adapter's unit tests: local WSDL shapes and the test kit's in-memory SourceLedger."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.testing import MemorySourceLedger

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


@pytest.fixture
def wsdl_dir() -> Path:
    return HERE / "wsdl"


@pytest.fixture
def erp_wsdl() -> Path:
    return ROOT / "samples" / "legacy_erp" / "wsdl" / "erp.wsdl"


@pytest.fixture
def ledger() -> MemorySourceLedger:
    return MemorySourceLedger()
