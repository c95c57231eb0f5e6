"""Backoff arithmetic and the static mode router."""

from __future__ import annotations

import random

import pytest

from bridge.config.model import InterfaceConfig, RetryPolicy
from bridge.ports import PathName, Role
from bridge.runtime.retry import backoff_delay
from bridge.runtime.router import routes_for_mode


def test_backoff_grows_and_caps() -> None:
    """Delays double from the initial value and stop at max_delay when jitter is off."""
    p = RetryPolicy(initial=1, multiplier=2, max_delay=10, jitter=0)
    rng = random.Random(0)
    assert [backoff_delay(p, n, None, rng) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_backoff_honours_retry_after_and_jitter_bounds() -> None:
    """Retry-After lengthens a delay; jitter stays within its share."""
    p = RetryPolicy(initial=10, multiplier=1, jitter=0.2)
    rng = random.Random(1)
    delays = [backoff_delay(p, 1, None, rng) for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 12 and len(set(delays)) > 100
    assert backoff_delay(RetryPolicy(initial=1, jitter=0), 1, 30.0, rng) == 30.0


def _iface(mode: str, legacy_kind: str = "run") -> InterfaceConfig:
    legacy = {"kind": legacy_kind, "encoder": {"kind": "json"}, "sink": {"kind": "file", "path": "x"}}
    if legacy_kind == "observe":
        legacy = {"kind": "observe"}
    return InterfaceConfig.model_validate(
        {
            "canonical": "Customer",
            "source": {"kind": "folder"},
            "decoder": {"kind": "jsonl"},
            "legacy": legacy,
            "cloud": {"encoder": {"kind": "json"}, "sink": {"kind": "file", "path": "y"}},
            "cutover": {"mode": mode},
        }
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("legacy_only", [(PathName.LEGACY, Role.AUTHORITATIVE)]),
        ("legacy_primary", [(PathName.LEGACY, Role.AUTHORITATIVE), (PathName.CLOUD, Role.SHADOW)]),
        ("dual_write", [(PathName.LEGACY, Role.AUTHORITATIVE), (PathName.CLOUD, Role.AUTHORITATIVE)]),
        ("cloud_primary", [(PathName.CLOUD, Role.AUTHORITATIVE), (PathName.LEGACY, Role.SHADOW)]),
        ("cloud_only", [(PathName.CLOUD, Role.AUTHORITATIVE)]),
    ],
)
def test_routes_follow_the_design_table(mode: str, expected: list[tuple[PathName, Role]]) -> None:
    """Each cutover mode routes to the paths and roles of DESIGN.md's table."""
    assert [(r.path, r.role) for r in routes_for_mode(mode, _iface(mode))] == expected


def test_observed_legacy_path_is_never_delivered() -> None:
    """A legacy path of kind observe gets no delivery: the old ESB still consumes its own feed."""
    assert [r.path for r in routes_for_mode("legacy_primary", _iface("legacy_primary", "observe"))] == [PathName.CLOUD]
