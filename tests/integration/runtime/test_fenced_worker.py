"""The delivery worker keeps its claims while a batch runs: the lease is renewed between attempts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from sqlalchemy import func, select

from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import Delivery, Outcome, Plugin, PluginRole, SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.ledger import Ledger
from tests.integration.runtime.conftest import ScriptedConfig, ScriptedSink, write_customers


class ReapingConfig(ScriptedConfig):
    kind: Literal["reaping"]  # type: ignore[assignment]


class ReapingSink(ScriptedSink):
    """The scripted sink, but before each call another node's housekeeping reaps expired claims (a rival)."""

    RIVAL: ClassVar[list[Ledger]] = []
    REAPED: ClassVar[list[int]] = []

    def deliver(self, delivery: Delivery) -> Outcome:
        self.REAPED.append(self.RIVAL[0].reap_expired_claims())
        return super().deliver(delivery)


registry.register(Plugin(PluginRole.SINK, "reaping", ReapingConfig, ReapingSink))


def test_a_batch_longer_than_its_lease_keeps_its_claims(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any]
) -> None:
    """A rate-limited batch outlasting the lease (1 s) renews it: a rival's reaper takes nothing, all is delivered."""
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: reaping, name: legacy}\n      limits: {rate: 2, batch: 5}", extra="lease: 1s")
    write_customers(tmp_path / "drop" / "c.jsonl", 5)
    clock = SimulatedClock(real_sleep_cap=0.5)  # the limiter's waits pass on the Clock and in real time alike
    with Runner(load_config(cfg), clock) as runner:
        runner.poll_all()
        ReapingSink.RIVAL[:] = [Ledger(runner.ledger.engine, clock, node="rival:1")]
        ReapingSink.REAPED.clear()
        assert runner.workers["customers:legacy"].run_batch() == 5
        with runner.ledger.engine.connect() as conn:
            delivered = conn.scalar(
                select(func.count()).select_from(t.deliveries).where(t.deliveries.c.status == "delivered")
            )
            attempts = conn.scalar(select(func.count()).select_from(t.attempts))
    assert sum(clock.sleeps) >= 1.5  # the batch ran longer than its lease
    assert ReapingSink.REAPED == [0] * 5
    assert (delivered, attempts, len(ScriptedSink.CALLS["legacy"])) == (5, 5, 5)
