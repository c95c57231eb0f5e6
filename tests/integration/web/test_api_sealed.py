"""The admin API over a sealed ledger: it opens what it summarises, masks what it shows, hashes only keyed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.ports import SimulatedClock
from bridge.store.sealing import new_key
from tests.integration.web.conftest import served_world


def test_trace_and_dead_letters_of_a_sealed_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: SimulatedClock
) -> None:
    """With both keys set the rows are sealed; a trace and a dead letter still answer, masked, with HMACs."""
    monkeypatch.setenv("ESB_BRIDGE_DATA_KEY", new_key("k1"))
    monkeypatch.setenv("ESB_BRIDGE_HASH_KEY", new_key("h")[2:])
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", clock) as world:
        assert world.ctx.ledger.protection.seals("customers")
        with world.client("viewer") as c:
            mid = c.get("/api/v1/messages", params={"state": "delivered", "limit": 1}).json()[0]["id"]
            trace = c.get(f"/api/v1/messages/{mid}/trace").json()
            dead = c.get("/api/v1/dead-letters", params={"status": "all"}).json()
            details = [c.get(f"/api/v1/dead-letters/{d['id']}").json() for d in dead]
    assert trace["record"]["contacts"][0]["email"] == "***masked***"
    assert set(trace["deliveries"][0]["response"]) == {"bytes", "media_type", "hmac_sha256"}
    record_dl = next(d for d in details if d["kind"] == "record")
    assert record_dl["fragment"]["bytes"] == len("{not json") and "hmac_sha256" in record_dl["fragment"]
    assert "@example.com" not in json.dumps([trace, dead, details])
