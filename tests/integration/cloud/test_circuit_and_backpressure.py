"""Delivery resilience through the runtime and real HTTP (issue 17 item 3), counted at the simulator's own
request log: a circuit breaker stops calling a target that is down, probes it, resumes; one poison key never
opens it nor holds up the other keys; a source pauses while its interface's backlog is above the bound."""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.queries import metric_counts
from samples.cloud_sim import FaultRule, SimServer
from samples.demo_app.generate import customer

KEYS = 20


def write(tmp_path: Path, sim: SimServer, *, extra: str = "", n: int = KEYS, name: str = "c.jsonl") -> Path:
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    rng = random.Random(3)
    start = len(list(drop.glob("*.jsonl"))) * n + len(list((drop / "archive").glob("*"))) * n
    rows = [json.dumps(customer(rng, start + i + 1)) for i in range(n)]
    tmp = drop / (name + ".tmp")
    tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tmp.rename(drop / name)  # the folder source's readiness rule: a file is complete once renamed
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
retry: {{initial: 1s, multiplier: 2, jitter: 0, max_attempts: 4, max_delay: 60s}}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: rest, url: "{sim.url}/v1/ingest/customers/{{business_key}}", timeout: 5}}
      limits: {{concurrency: 1, circuit: {{failures: 3, open_for: 60s, max_open_for: 600s}}}}
    cutover: {{mode: cloud_only}}{extra}
""",
        encoding="utf-8",
    )
    return cfg


def ingest_requests(sim: SimServer) -> list[tuple[str, int]]:
    return [(r.path.rsplit("/", 1)[-1], r.status) for r in sim.state.requests if r.path.startswith("/v1/ingest")]


def test_circuit_opens_sends_nothing_while_open_probes_and_resumes(sim: SimServer, tmp_path: Path) -> None:
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest", status=503))
    clock = SimulatedClock()
    cfg = write(tmp_path, sim)
    with Runner(load_config(cfg), clock) as runner:
        runner.poll_all()
        runner.deliver_round()
        # 3 failures of 3 keys: open; the other 17 claimed deliveries were given back unattempted
        assert [s for _k, s in ingest_requests(sim)] == [503, 503, 503]
        with runner.ledger.engine.connect() as conn:
            rows = conn.execute(select(t.deliveries.c.status, t.deliveries.c.attempts)).all()
        assert sorted(a for _s, a in rows) == [0] * 17 + [1] * 3
        assert {s for s, _a in rows} == {"pending"}
        status = CliRunner().invoke(cli, ["--config", str(cfg), "status"])
        assert "circuit customers:cloud" in status.output and "open until" in status.output, status.output
        as_json = json.loads(CliRunner().invoke(cli, ["--config", str(cfg), "status", "--json"]).output)
        assert as_json["customers"]["circuits"]["customers:cloud"]["state"] == "open"
        (row,) = [r for r in metric_counts(runner.ledger.engine) if r["metric"] == "circuit"]  # /metrics, API
        assert (row["a"], row["b"], row["n"]) == ("customers:cloud", "open", 3)
        (worker,) = runner.workers.values()
        assert worker.circuit.retry_at == clock.now() + timedelta(seconds=60)
        assert runner._next_due(list(runner.workers)) == worker.circuit.retry_at  # drain sleeps until the probe

        clock.advance(59)  # every backoff is long over, but the circuit is open: still nothing is sent
        runner.deliver_round()
        assert len(ingest_requests(sim)) == 3
        clock.advance(1)  # half-open: ONE probe, which fails -> open again for 120 s
        runner.deliver_round()
        assert len(ingest_requests(sim)) == 4
        clock.advance(60)
        runner.deliver_round()
        assert len(ingest_requests(sim)) == 4

        sim.state.clear_faults()
        clock.advance(60)  # the probe succeeds, the circuit closes and the rest goes out in the same round
        runner.deliver_round()
        with runner.ledger.engine.connect() as conn:
            statuses = conn.scalars(select(t.deliveries.c.status)).all()
            attempts = conn.scalars(select(t.deliveries.c.attempts)).all()
        assert statuses == ["delivered"] * KEYS
        assert max(attempts) <= 3  # no attempt was spent while the circuit was open
        (circ,) = runner.ledger.circuits()
        assert circ.state == "closed"
    delivered = [k for k, s in ingest_requests(sim) if s in (200, 201)]
    assert len(delivered) == KEYS and len(set(delivered)) == KEYS  # each key arrived exactly once
    assert all(len(v) == 1 for v in sim.state.ingested.values()) and len(sim.state.ingested) == KEYS


def test_a_poison_key_neither_opens_the_circuit_nor_holds_up_other_keys(sim: SimServer, tmp_path: Path) -> None:
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest/customers/C-00003", status=500))
    clock = SimulatedClock()
    with Runner(load_config(write(tmp_path, sim)), clock) as runner:
        summary = runner.run_once()
        with runner.ledger.engine.connect() as conn:
            by_key = dict(conn.execute(select(t.deliveries.c.business_key, t.deliveries.c.status)).all())
        assert runner.ledger.circuits() == []  # never opened
        assert summary.drain.open_left == 0
    assert by_key.pop("C-00003") == "dead"  # its own retries ran out: a dead letter, the others went on
    assert set(by_key.values()) == {"delivered"} and len(by_key) == KEYS - 1
    poison = [s for k, s in ingest_requests(sim) if k == "C-00003"]
    assert poison == [500] * 4  # max_attempts, nothing more


def test_source_pauses_while_the_backlog_is_above_the_bound(
    sim: SimServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim.state.add_fault(FaultRule(path_prefix="/v1/ingest", status=503))
    clock = SimulatedClock()
    extra = "\n    backpressure: {max_backlog: 15}"
    cfg = write(tmp_path, sim, extra=extra, name="a.jsonl")
    with Runner(load_config(cfg), clock) as runner:
        assert runner.poll("customers").records == KEYS
        write(tmp_path, sim, extra=extra, name="b.jsonl")
        with caplog.at_level(logging.INFO, logger="esb_bridge.runtime"):
            stats = runner.poll("customers")
        assert stats.paused and stats.records == 0
        assert (tmp_path / "drop" / "b.jsonl").exists()  # not read, not acknowledged: nothing lost
        assert "source_paused" in caplog.text
        sim.state.clear_faults()
        clock.advance(61)
        runner.deliver_round()  # the probe closes the circuit, the backlog drains
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="esb_bridge.runtime"):
            stats = runner.poll("customers")
        assert not stats.paused and stats.records == KEYS
        assert "source_resumed" in caplog.text
