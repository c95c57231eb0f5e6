"""Ledger flags: seeding, drift, every mode transition with audit, gates, force, rollback, guard (SQLite + PG)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.engine import make_engine, upgrade
from bridge.store.ledger import Ledger
from cutover.audit import Cutover, CutoverError, GateClosed
from cutover.flags import FlagStore, flag_drift
from cutover.model import MODES, FlagRules, rank
from cutover.router import FlagRouter


@pytest.fixture
def ledger(store_url: str, clock: SimulatedClock) -> Iterator[Ledger]:
    engine = make_engine(store_url)
    upgrade(engine)
    yield Ledger(engine, clock)
    engine.dispose()


def test_yaml_seeds_only_when_the_ledger_has_no_flag(ledger: Ledger, two_path_config: Callable[..., Path]) -> None:
    """First seed writes v1 from YAML; a later YAML change does not overwrite the ledger but is reported."""
    store = FlagStore.of(ledger)
    loaded = load_config(two_path_config(mode="legacy_primary"))
    assert store.seed(loaded) == ["customers"]
    assert store.seed(loaded) == []
    assert flag_drift(loaded, ledger) == []
    changed = load_config(two_path_config(mode="legacy_only"))
    assert store.seed(changed) == []
    assert store.current("customers").mode == "legacy_primary"  # type: ignore[union-attr]
    drift = flag_drift(changed, ledger)
    assert len(drift) == 1 and "yaml='legacy_only' ledger='legacy_primary'" in drift[0]


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(MODES, 2)))
def test_every_mode_transition_is_versioned_and_audited(
    ledger: Ledger, two_path_config: Callable[..., Path], src: str, dst: str
) -> None:
    """Any mode can move to any other; promotions past legacy_primary are gated (forced here with a reason)."""
    FlagStore.of(ledger).seed(load_config(two_path_config(mode=src)))
    cut = Cutover(ledger)
    gated = rank(dst) > max(rank(src), rank("legacy_primary"))
    if gated:
        with pytest.raises(GateClosed):
            cut.set("customers", {"mode": dst}, actor="ana")
        flag = cut.set("customers", {"mode": dst}, actor="ana", reason="pilot", ticket="CHG-1", force=True)
    else:
        flag = cut.set("customers", {"mode": dst}, actor="ana", reason="move", ticket="CHG-1")
    assert flag.mode == dst and flag.version == 2
    event = cut.history("customers")[0]
    assert (event.from_mode, event.to_mode, event.from_version, event.to_version) == (src, dst, 1, 2)
    assert (event.actor, event.ticket) == ("ana", "CHG-1")
    if gated:
        assert event.action == "force-promote" and event.evidence and event.evidence["forced"] is True
        assert event.evidence["ready"] is False and event.evidence["reasons"]
    else:
        assert event.action in ("change", "demote")


def test_force_needs_a_reason_and_rollback_restores_pre_promotion_version(
    ledger: Ledger, two_path_config: Callable[..., Path]
) -> None:
    """--force without reason is refused; rollback returns to the version before the last promotion."""
    FlagStore.of(ledger).seed(load_config(two_path_config(mode="legacy_only")))
    cut = Cutover(ledger)
    cut.set("customers", {"mode": "legacy_primary"}, actor="a")  # v2 (not gated)
    with pytest.raises(CutoverError, match="reason"):
        cut.set("customers", {"mode": "cloud_primary"}, actor="a", force=True)
    cut.set(
        "customers", {"mode": "cloud_primary", "rollout": {"percent": 10}}, actor="a", reason="go", force=True
    )  # v3
    cut.set("customers", {"legacy_feed": False}, actor="a")  # v4, not a promotion
    back = cut.rollback("customers", actor="b", reason="mismatch spike")
    assert back.version == 5 and back.mode == "legacy_primary"
    assert cut.history("customers")[0].action == "rollback"
    assert cut.history("customers")[0].evidence == {"restored_version": 2, "undone_version": 3}
    with pytest.raises(CutoverError, match="already at"):
        cut.rollback("customers", actor="b")
    FlagStore.of(ledger).change("other", FlagRules(mode="legacy_primary"), actor="x", action="seed")
    with pytest.raises(CutoverError, match="no promotion"):
        cut.rollback("other", actor="b")


def test_flag_router_picks_up_a_live_change_after_its_ttl(
    ledger: Ledger, clock: SimulatedClock, two_path_config: Callable[..., Path]
) -> None:
    """The router caches the flag for ttl seconds on the Clock, then routes by the new version."""
    loaded = load_config(two_path_config(mode="legacy_primary"))
    store = FlagStore.of(ledger)
    store.seed(loaded)
    router = FlagRouter(store, dict(loaded.config.interfaces), clock, ttl=1.0)
    assert router.route("customers", None, "C-1").mode == "legacy_primary"  # type: ignore[arg-type]
    Cutover(ledger).set("customers", {"mode": "legacy_only"}, actor="a")
    assert router.route("customers", None, "C-1").flag_version == 1  # type: ignore[arg-type]
    clock.advance(timedelta(seconds=1))
    d = router.route("customers", None, "C-1")  # type: ignore[arg-type]
    assert (d.mode, d.flag_version) == ("legacy_only", 2)


def test_rollout_inside_cloud_primary_is_recorded_per_message(
    ledger: Ledger, clock: SimulatedClock, two_path_config: Callable[..., Path]
) -> None:
    """Keys outside the percentage route legacy_primary, inside cloud_primary; the decision is recorded."""
    loaded = load_config(two_path_config(mode="cloud_primary", cutover_extra=", rollout: {percent: 30}"))
    store = FlagStore.of(ledger)
    store.seed(loaded)
    router = FlagRouter(store, dict(loaded.config.interfaces), clock)
    decisions = [router.route("customers", None, f"C-{i}") for i in range(500)]  # type: ignore[arg-type]
    inside = [d for d in decisions if d.mode == "cloud_primary"]
    assert 110 < len(inside) < 190
    assert all(d.rollout and d.rollout.startswith("in:") for d in inside)
    assert all(d.rollout and d.rollout.startswith("out:") for d in decisions if d.mode == "legacy_primary")


def test_guard_demotes_on_mismatch_spike_and_records_why(
    ledger: Ledger, clock: SimulatedClock, two_path_config: Callable[..., Path]
) -> None:
    """With a guard, a mismatch rate above its bound after promotion demotes and records the figures."""
    loaded = load_config(
        two_path_config(mode="cloud_primary", cutover_extra=", guard: {min_samples: 5, max_mismatch_rate: 0.2}")
    )
    FlagStore.of(ledger).seed(loaded)
    clock.advance(60)
    now = clock.now()
    with ledger.engine.begin() as conn:
        conn.execute(
            t.comparisons.insert(),
            [
                {
                    "message_id": f"m{i}",
                    "interface": "customers",
                    "level": "payload",
                    "status": "mismatch" if i < 3 else "match",
                    "diff": {},
                    "created_at": now,
                    "critical": False,
                }
                for i in range(10)
            ],
        )
    assert Cutover(ledger).guard("customers") is not None
    flag = FlagStore.of(ledger).current("customers")
    assert flag is not None and flag.mode == "legacy_primary"
    ev = Cutover(ledger).history("customers")[0]
    assert ev.action == "guard-demote" and ev.actor == "guard" and "mismatch rate 3/10" in ev.reason
    assert Cutover(ledger).guard("customers") is None  # already demoted
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(t.flags.c.mode).where(t.flags.c.version == 1)) == "cloud_primary"
