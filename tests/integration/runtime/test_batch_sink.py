"""The bulk-sink seam: a sink that is a ``BatchSink`` gets its claims in chunks of ``max_batch`` through
``deliver_batch``, with one outcome per delivery mapped back; any other sink gets ``deliver`` per delivery."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal, Self

import pytest
from sqlalchemy import func, select

from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import (
    BatchSink,
    Delivery,
    KindConfig,
    Outcome,
    Plugin,
    PluginContext,
    PluginRole,
    Rejected,
    SimulatedClock,
    TargetUnavailable,
)
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.queries import dead_letters
from tests.integration.runtime.conftest import write_customers


class BulkConfig(KindConfig):
    kind: Literal["bulk-test"]
    max_batch: int = 10
    reject: tuple[str, ...] = ()
    #: how many deliver_batch calls raise TargetUnavailable before the sink works
    raise_first: int = 0


class BulkSink:
    """A batch-capable test sink: records each call's keys; rejects the configured business keys."""

    CALLS: ClassVar[list[tuple[str, list[str]]]] = []
    LOCK = threading.Lock()

    def __init__(self, config: BulkConfig, context: PluginContext) -> None:
        self.config = config
        self.target = context.target
        self.max_batch = config.max_batch
        self._raises = config.raise_first

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def deliver(self, delivery: Delivery) -> Outcome:
        with self.LOCK:
            self.CALLS.append(("deliver", [delivery.business_key]))
        return self._one(delivery)

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        with self.LOCK:
            self.CALLS.append(("batch", [d.business_key for d in deliveries]))
            if self._raises:
                self._raises -= 1
                raise TargetUnavailable("bulk endpoint down")
        return [self._one(d) for d in deliveries]

    def _one(self, d: Delivery) -> Outcome:
        if d.business_key in self.config.reject:
            return Outcome.rejected(Rejected(f"{d.business_key} refused"))
        return Outcome.delivered(target_id=f"id-{d.business_key}")


registry.register(Plugin(PluginRole.SINK, "bulk-test", BulkConfig, BulkSink))


@pytest.fixture(autouse=True)
def _calls() -> None:
    BulkSink.CALLS.clear()


def _run(cfg: Path, clock: SimulatedClock) -> tuple[dict[str, int], list[str]]:
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        with runner.ledger.engine.connect() as conn:
            states = dict(
                conn.execute(select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)).all()
            )
        dead = [str(d["message_id"]) for d in dead_letters(runner.ledger.engine)]
    return {str(k): int(v) for k, v in states.items()}, dead


def test_a_batch_sink_gets_chunks_and_its_outcomes_map_back(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """25 deliveries, max_batch 10: only deliver_batch calls of at most 10; the one rejected key is the one
    dead letter, every other delivery is delivered."""
    assert isinstance(
        BulkSink(BulkConfig(kind="bulk-test"), PluginContext(base_dir=tmp_path, interface="i", canonical="Customer")),
        BatchSink,
    )
    cfg = make_config('{kind: bulk-test, max_batch: 10, reject: ["C-00007"]}')
    write_customers(tmp_path / "drop" / "c.jsonl", 25)
    states, dead = _run(cfg, clock)
    assert {kind for kind, _ in BulkSink.CALLS} == {"batch"}
    sizes = [len(keys) for _, keys in BulkSink.CALLS]
    assert max(sizes) <= 10 and sum(sizes) == 25
    assert sorted(k for _, keys in BulkSink.CALLS for k in keys) == [f"C-{n:05d}" for n in range(1, 26)]
    assert states == {"delivered": 24, "dead": 1} and len(dead) == 1


def test_an_error_raised_by_deliver_batch_is_every_deliverys_outcome(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """The first bulk call raises a retryable error: each of its deliveries gets a failed attempt, is retried
    and delivered; every attempt is in the ledger."""
    cfg = make_config("{kind: bulk-test, max_batch: 50, raise_first: 1}")
    write_customers(tmp_path / "drop" / "c.jsonl", 5)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        with runner.ledger.engine.connect() as conn:
            attempts = conn.execute(
                select(t.attempts.c.delivery_id, t.attempts.c.number, t.attempts.c.status).order_by(
                    t.attempts.c.delivery_id, t.attempts.c.number
                )
            ).all()
    assert [(n, s) for _, n, s in attempts] == [(1, "failed"), (2, "delivered")] * 5
    assert [len(keys) for _, keys in BulkSink.CALLS] == [5, 5]


def test_a_sink_with_max_batch_1_is_called_per_delivery(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    cfg = make_config("{kind: bulk-test, max_batch: 1}")
    write_customers(tmp_path / "drop" / "c.jsonl", 3)
    states, _ = _run(cfg, clock)
    assert [kind for kind, _ in BulkSink.CALLS] == ["deliver"] * 3 and states == {"delivered": 3}
