"""Dry runs are kept off the target by the runtime, not by each sink (issue 17).

A sink that forgets to short-circuit ``delivery.dry_run`` must still never be called for a dry-run delivery:
the cloud path of ``legacy_primary`` with ``shadow: dry_run`` is encoded and recorded, and a sink that offers
``check_dry_run`` (``DryRunCheck``) is asked for that check instead of ``deliver``/``deliver_batch``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal, Self

import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import Delivery, DryRunCheck, KindConfig, Outcome, Plugin, PluginContext, PluginRole, SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from tests.integration.runtime.conftest import write_customers


class CarelessConfig(KindConfig):
    kind: Literal["careless-test", "checking-test"]
    max_batch: int = 1


class CarelessSink:
    """Sends whatever it is handed: it never looks at ``dry_run`` (the plugin bug the runtime must contain)."""

    CALLS: ClassVar[list[tuple[str, str, bool]]] = []
    LOCK = threading.Lock()

    def __init__(self, config: CarelessConfig, context: PluginContext) -> None:
        self.target = context.target
        self.max_batch = config.max_batch

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def deliver(self, delivery: Delivery) -> Outcome:
        with self.LOCK:
            self.CALLS.append(("deliver", self.target, delivery.dry_run))
        return Outcome.delivered(detail="sent")

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        with self.LOCK:
            self.CALLS.extend(("batch", self.target, d.dry_run) for d in deliveries)
        return [Outcome.delivered(detail="sent") for _ in deliveries]


class CheckingSink(CarelessSink):
    """Careless too, but offers a dry-run check."""

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        with self.LOCK:
            self.CALLS.append(("check", self.target, delivery.dry_run))
        return Outcome.delivered(detail="dry run: checked by the sink")


registry.register(Plugin(PluginRole.SINK, "careless-test", CarelessConfig, CarelessSink))
registry.register(Plugin(PluginRole.SINK, "checking-test", CarelessConfig, CheckingSink))


@pytest.fixture(autouse=True)
def _calls() -> None:
    CarelessSink.CALLS.clear()


def _cloud_details(cfg: Path, clock: SimulatedClock) -> list[tuple[bool, str, str]]:
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        d, a = t.deliveries, t.attempts
        with runner.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.dry_run, d.c.status, a.c.detail)
                .join(a, a.c.delivery_id == d.c.id)
                .where(d.c.path == "cloud")
                .order_by(d.c.id)
            ).all()
    return [(bool(x), str(s), str(det)) for x, s, det in rows]


@pytest.mark.parametrize("max_batch", [1, 10])
def test_a_sink_that_ignores_dry_run_is_never_called_for_one(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock, max_batch: int
) -> None:
    """Per delivery and in batches: the legacy (live) sink gets its 5 deliveries, the cloud sink nothing."""
    cfg = make_config(
        f"{{kind: careless-test, max_batch: {max_batch}}}",
        f"{{kind: careless-test, max_batch: {max_batch}}}",
        mode="legacy_primary, shadow: dry_run",
    )
    write_customers(tmp_path / "drop" / "c.jsonl", 5)
    cloud = _cloud_details(cfg, clock)
    assert [c for c in CarelessSink.CALLS if c[2]] == [], "a dry-run delivery reached the sink"
    assert len([c for c in CarelessSink.CALLS if "legacy" in c[1]]) == 5
    assert [c for c in CarelessSink.CALLS if "cloud" in c[1]] == []
    assert cloud == [(True, "delivered", "dry run: not sent (the sink offers no dry-run check)")] * 5


def test_a_sink_with_a_dry_run_check_is_asked_for_it_instead(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    assert isinstance(
        CheckingSink(CarelessConfig(kind="checking-test"), PluginContext(tmp_path, "i", "Customer")), DryRunCheck
    )
    cfg = make_config(
        "{kind: careless-test}", "{kind: checking-test, max_batch: 10}", mode="legacy_primary, shadow: dry_run"
    )
    write_customers(tmp_path / "drop" / "c.jsonl", 3)
    cloud = _cloud_details(cfg, clock)
    assert sorted(kind for kind, target, _ in CarelessSink.CALLS if "cloud" in target) == ["check"] * 3
    assert cloud == [(True, "delivered", "dry run: checked by the sink")] * 3
