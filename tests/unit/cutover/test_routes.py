"""Routing table of every mode, shadow handling and legacy feed."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config.model import InterfaceConfig
from bridge.ports import PathName, Role
from cutover.audit import is_promotion
from cutover.model import FlagRules
from cutover.router import routes_for

L, C, A, S = PathName.LEGACY, PathName.CLOUD, Role.AUTHORITATIVE, Role.SHADOW


def _iface(legacy: dict[str, Any] | None = None, cloud: dict[str, Any] | None = None) -> InterfaceConfig:
    return InterfaceConfig.model_validate(
        {
            "canonical": "Customer",
            "source": {"kind": "folder"},
            "decoder": {"kind": "jsonl"},
            "legacy": legacy or {"encoder": {"kind": "json"}, "sink": {"kind": "file"}},
            "cloud": cloud or {"encoder": {"kind": "json"}, "sink": {"kind": "file"}},
            "cutover": {"mode": "legacy_primary"},
        }
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("legacy_only", [(L, A, False)]),
        ("legacy_primary", [(L, A, False), (C, S, True)]),
        ("dual_write", [(L, A, False), (C, A, False)]),
        ("cloud_primary", [(C, A, False), (L, S, False)]),  # legacy_feed by default: a rollback loses nothing
        ("cloud_only", [(C, A, False)]),
    ],
)
def test_every_mode_routes_per_the_design_table(mode: str, expected: list[tuple[Any, ...]]) -> None:
    """Each mode takes the designed paths and roles; a cloud shadow without sandbox runs dry by default, the
    legacy shadow of cloud_primary is fed for real (``legacy_feed`` defaults to true)."""
    routes = routes_for(mode, FlagRules(mode=mode), _iface())
    assert [(r.path, r.role, r.dry_run) for r in routes] == expected


def test_shadow_goes_to_sandbox_or_live() -> None:
    """With a shadow_sink the shadow is not dry (the runtime sends it to the sandbox); `live` sends for real."""
    sandbox = _iface(cloud={"encoder": {"kind": "json"}, "sink": {"kind": "file"}, "shadow_sink": {"kind": "file"}})
    assert routes_for("legacy_primary", FlagRules(mode="legacy_primary"), sandbox)[1].dry_run is False
    live = FlagRules(mode="legacy_primary", shadow="live")
    assert routes_for("legacy_primary", live, _iface())[1].dry_run is False


def test_legacy_feed_keeps_delivering_legacy_in_cloud_primary() -> None:
    """cloud_primary with legacy_feed delivers the legacy shadow for real (rollback loses nothing)."""
    fed = routes_for("cloud_primary", FlagRules(mode="cloud_primary", legacy_feed=True), _iface())
    assert [(r.path, r.role, r.dry_run) for r in fed] == [(C, A, False), (L, S, False)]


def test_observe_legacy_is_never_delivered() -> None:
    """An `observe` legacy path is not a route: the old ESB runs by itself."""
    iface = _iface(legacy={"kind": "observe", "observe": {"kind": "folder"}})
    assert [r.path for r in routes_for("legacy_primary", FlagRules(mode="legacy_primary"), iface)] == [C]


def test_promotion_is_a_move_past_legacy_primary_or_a_larger_rollout() -> None:
    """Gated moves: to dual_write/cloud_*; a higher cloud_primary percentage; never a demotion."""
    lp, dw = FlagRules(mode="legacy_primary"), FlagRules(mode="dual_write")
    assert is_promotion(lp, dw) and not is_promotion(dw, lp)
    assert not is_promotion(FlagRules(mode="legacy_only"), lp)
    c25 = FlagRules.model_validate({"mode": "cloud_primary", "rollout": {"percent": 25}})
    c50 = FlagRules.model_validate({"mode": "cloud_primary", "rollout": {"percent": 50}})
    assert is_promotion(c25, c50) and not is_promotion(c50, c25)


def test_legacy_feed_goes_to_the_real_target_even_with_a_sandbox() -> None:
    """With legacy_feed the legacy shadow skips its sandbox sink (real feed); without it the sandbox is used."""
    legacy = {"encoder": {"kind": "json"}, "sink": {"kind": "file"}, "shadow_sink": {"kind": "file"}}
    fed = routes_for("cloud_primary", FlagRules(mode="cloud_primary", legacy_feed=True), _iface(legacy=legacy))
    plain = routes_for("cloud_primary", FlagRules(mode="cloud_primary", legacy_feed=False), _iface(legacy=legacy))
    assert [(r.path, r.sandbox, r.dry_run) for r in fed] == [(C, True, False), (L, False, False)]
    assert [(r.path, r.sandbox, r.dry_run) for r in plain] == [(C, True, False), (L, True, False)]


def test_cloud_primary_feeds_the_legacy_system_by_default() -> None:
    """Issue 17: the default cloud_primary delivers its legacy shadow to the real legacy target, not dry, so
    a rollback finds every record there (it ran dry unless ``legacy_feed: true`` was set)."""
    (_, legacy) = routes_for("cloud_primary", FlagRules(mode="cloud_primary"), _iface())
    assert (legacy.path, legacy.role, legacy.dry_run, legacy.sandbox) == (L, S, False, False)
    explicit = routes_for("cloud_primary", FlagRules(mode="cloud_primary", legacy_feed=False), _iface())
    assert explicit[1].dry_run is True, "legacy_feed: false keeps the old, documented lossy shadow"
