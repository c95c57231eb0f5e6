"""End to end through the runtime (bridge/runtime) and real HTTP: folder -> jsonl -> json -> RestSink -> simulator.

Retries, backoff and per-business-key order belong to the runtime's delivery workers; these tests check that
they hold through the real RestSink against the simulator under uvicorn, with the Clock simulated (so the
measured delays are the runtime's schedule, not wall time).
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from samples.cloud_sim import FaultRule, SimServer
from samples.demo_app.generate import customer

KEYS = 10
VERSIONS = 3


def run(runner: Runner, clock: SimulatedClock, *, step: float = 0.25, limit: float = 600.0) -> None:
    """Poll, then let the runtime's delivery workers run rounds while simulated time moves in small steps.

    ``Runner.drain`` is not used: when a key's next version is due but blocked behind an earlier version
    waiting for its Retry-After, ``next_due`` is already past and drain spins without advancing the Clock
    (reported to the runtime's owner). Stepping the Clock here keeps the runtime's own claim order, backoff
    and Retry-After handling under test.
    """
    runner.poll_all()
    targets = list(runner.workers)
    waited = 0.0
    while runner.ledger.open_work(targets, include_held=False):
        runner.deliver_round()
        runner.acknowledge_settled()
        assert waited < limit, "deliveries still open after the time limit"
        clock.advance(step)
        waited += step


def write_config(tmp_path: Path, sim: SimServer, concurrency: int = 8) -> Path:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
retry: {{initial: 1s, multiplier: 2, jitter: 0, max_attempts: 8, max_delay: 60s}}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: rest, url: "{sim.url}/v1/ingest/customers/{{business_key}}", timeout: 5}}
      limits: {{concurrency: {concurrency}}}
      xref: {{entity: customer, system: cloud-crm}}
    cutover: {{mode: cloud_only}}
""",
        encoding="utf-8",
    )
    return cfg


def write_versions(drop: Path) -> list[list[str]]:
    """KEYS customers, each changed VERSIONS times, interleaved (all v1, then all v2, ...)."""
    rng = random.Random(11)
    drop.mkdir(parents=True)
    rows, order = [], [[] for _ in range(KEYS)]
    for v in range(1, VERSIONS + 1):
        for k in range(KEYS):
            row = customer(rng, k + 1)
            row["name"] = f"Customer {k + 1} v{v}"
            rows.append(json.dumps(row))
            order[k].append(row["name"])
    (drop / "customers.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return order


def test_retry_after_backoff_and_per_key_order_through_http(sim: SimServer, tmp_path: Path) -> None:
    """429 (Retry-After 2) and 500 answers are retried on the runtime's schedule, every version arrives once,
    and each business key's versions arrive in file order although 8 workers deliver concurrently."""
    expected = write_versions(tmp_path / "drop")
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest", status=429, retry_after="2", count=4))
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest", status=500, count=3))
    clock = SimulatedClock()
    with Runner(load_config(write_config(tmp_path, sim)), clock) as runner:
        run(runner, clock)
        with runner.ledger.engine.connect() as conn:
            attempts = conn.execute(
                select(
                    t.attempts.c.delivery_id, t.attempts.c.started_at, t.attempts.c.status, t.attempts.c.retry_after
                ).order_by(t.attempts.c.id)
            ).all()
            statuses = conn.scalars(select(t.deliveries.c.status)).all()
    assert statuses == ["delivered"] * (KEYS * VERSIONS)
    answered = [r.status for r in sim.state.requests if r.path.startswith("/v1/ingest")]
    assert answered.count(429) == 4 and answered.count(500) == 3 and answered.count(201) == KEYS * VERSIONS

    # Measured delays: the attempt after a failure starts no earlier than the backoff / Retry-After allowed.
    by_delivery: dict[object, list[tuple[object, str, float | None]]] = {}
    for a in attempts:
        by_delivery.setdefault(a.delivery_id, []).append((a.started_at, a.status, a.retry_after))
    waits = []
    for rows in by_delivery.values():
        for (start, status, retry_after), (next_start, _, _) in itertools.pairwise(rows):
            assert status == "failed"
            gap = (next_start - start).total_seconds()
            waits.append((retry_after, gap))
            assert gap >= (retry_after if retry_after is not None else 1.0)
    assert sorted(w for w, _ in waits if w is not None) == [2.0] * 4
    assert len(waits) == 7

    # Nothing twice, and per business key the versions arrived in order.
    for k in range(KEYS):
        arrived = [e["body"]["name"] for e in sim.state.ingested[f"customers/C-{k + 1:05d}"]]
        assert arrived == expected[k]


def test_timeout_retry_is_idempotent_through_the_runtime(sim: SimServer, tmp_path: Path) -> None:
    """A response slower than the sink's timeout is retried by the runtime and replayed, not stored twice."""
    write_versions(tmp_path / "drop")
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest", delay_response=1.5, count=2))
    cfg = write_config(tmp_path, sim, concurrency=4)
    cfg.write_text(cfg.read_text().replace("timeout: 5", "timeout: 0.5"), encoding="utf-8")
    clock = SimulatedClock()
    with Runner(load_config(cfg), clock) as runner:
        run(runner, clock)
        with runner.ledger.engine.connect() as conn:
            failed = conn.execute(
                select(t.deliveries.c.message_id, t.attempts.c.error)
                .join(t.attempts, t.attempts.c.delivery_id == t.deliveries.c.id)
                .where(t.attempts.c.status == "failed")
            ).all()
    assert [e["type"] for _, e in failed] == ["TimeoutExpired", "TimeoutExpired"]
    stored = sum(len(v) for v in sim.state.ingested.values())
    assert stored == KEYS * VERSIONS  # the timed-out requests were stored once; their retries replayed them
    keys = [r.idempotency_key for r in sim.state.requests if r.path.startswith("/v1/ingest")]
    assert len(keys) == KEYS * VERSIONS + 2
    assert all(keys.count(str(mid)) >= 2 for mid, _ in failed)
