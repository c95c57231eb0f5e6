"""Flag versions and their events through the ledger API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bridge.ports import SimulatedClock
from bridge.store.flags import FlagVersionConflict
from bridge.store.ledger import Ledger


def test_append_flag_numbers_versions_and_records_the_event(ledger: Ledger) -> None:
    """Each append is version n+1 with an event naming who, from and to."""
    first = ledger.append_flag("a", "legacy_only", {"mode": "legacy_only"}, actor="config", action="seed")
    second = ledger.append_flag(
        "a", "dual_write", {"mode": "dual_write"}, actor="ann", action="change", reason="why", ticket="T-1"
    )
    assert (first.version, second.version) == (1, 2)
    events = ledger.flag_events("a")
    assert [(e.action, e.from_version, e.to_version, e.from_mode, e.to_mode) for e in events] == [
        ("change", 1, 2, "legacy_only", "dual_write"),
        ("seed", None, 1, None, "legacy_only"),
    ]
    assert (events[0].actor, events[0].reason, events[0].ticket) == ("ann", "why", "T-1")


def test_current_flag_is_the_newest_version(ledger: Ledger, clock: SimulatedClock) -> None:
    """current_flag, current_flags and flag_version read what was appended, rules included."""
    assert ledger.current_flag("a") is None
    ledger.append_flag("a", "legacy_only", {"mode": "legacy_only"}, actor="x", action="seed")
    ledger.append_flag("b", "legacy_only", {"mode": "legacy_only"}, actor="x", action="seed")
    ledger.append_flag("a", "dual_write", {"mode": "dual_write", "gate": {"min_compared": 5}}, actor="x", action="c")
    cur = ledger.current_flag("a")
    assert cur is not None
    assert (cur.version, cur.mode, cur.rules) == (2, "dual_write", {"mode": "dual_write", "gate": {"min_compared": 5}})
    assert cur.created_at == clock.now()
    assert {k: (v.version, v.mode) for k, v in ledger.current_flags().items()} == {
        "a": (2, "dual_write"),
        "b": (1, "legacy_only"),
    }
    old = ledger.flag_version("a", 1)
    assert old is not None and old.mode == "legacy_only"
    assert ledger.flag_version("a", 9) is None


def test_append_flag_refuses_a_lost_update(ledger: Ledger) -> None:
    """With expect_version, an append on top of a version someone else added meanwhile fails and writes nothing."""
    ledger.append_flag("a", "legacy_only", {}, actor="x", action="seed")
    ledger.append_flag("a", "dual_write", {}, actor="y", action="change", expect_version=1)
    with pytest.raises(FlagVersionConflict, match="now version 2"):
        ledger.append_flag("a", "cloud_only", {}, actor="z", action="change", expect_version=1)
    assert len(ledger.flag_events("a")) == 2
    cur = ledger.current_flag("a")
    assert cur is not None and cur.mode == "dual_write"


def test_flag_events_filter_and_limit(ledger: Ledger) -> None:
    """Events of one interface only, newest first, at most ``limit``."""
    for i in range(3):
        ledger.append_flag("a", "legacy_only", {"i": i}, actor="x", action="c")
    ledger.append_flag("b", "legacy_only", {}, actor="x", action="c", evidence={"ready": True})
    assert [e.to_version for e in ledger.flag_events("a", limit=2)] == [3, 2]
    assert [(e.interface, e.evidence) for e in ledger.flag_events(limit=1)] == [("b", {"ready": True})]
    assert ledger.flag_events("a")[0].public()["at"] == ledger.clock.now().isoformat()
