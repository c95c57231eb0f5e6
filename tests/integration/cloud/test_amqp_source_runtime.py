"""The ``amqp`` source through the runtime, real RabbitMQ in, the cloud simulator out, counted where effects
land: every request the simulator's own log received, and what is left in the broker's queue.

- duplicate publishes of one event id (an at-least-once producer), binary and structured CloudEvents and a
  plain message: each event reaches the target once; the queue is empty afterwards (acked after commit);
- SIGKILL after the ledger commit and before the ack: the broker redelivers, the next pass sends nothing twice;
- an unreadable record is a dead letter and the rest goes on; a batch the runtime failed and kept is
  rejected to the queue's dead-letter exchange, one not kept is requeued.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from adapters.cloud.amqp_source import AmqpSource, AmqpSourceConfig
from adapters.cloud.events import AMQP_PREFIX
from bridge.cli.main import cli
from bridge.ports import ConnectionFailed, DecodeError, Envelope, Location, SimulatedClock, SourceContext, SystemClock
from bridge.testing import MemorySourceLedger
from samples.cloud_sim import SimServer
from samples.demo_app.generate import customer
from tests.integration.cloud.cloud_fakes import TcpProxy
from tests.integration.sftp_drops.conftest import free_port

N = 24


@pytest.fixture
def queue(rabbitmq: str) -> Iterator[str]:
    name = f"bridge-test-{uuid.uuid4().hex[:10]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    try:
        ch = conn.channel()
        for q in (name, f"{name}.dead"):
            ch.queue_delete(q)
        ch.exchange_delete(f"{name}.dlx")
    finally:
        conn.close()


def publish(url: str, queue: str, rows: list[tuple[str, str, bytes]]) -> None:
    """(mode, event id, body) per message: ``binary`` CloudEvent, ``structured`` CloudEvent or ``plain``."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        ch.exchange_declare(f"{queue}.dlx", exchange_type="fanout", durable=True)
        ch.queue_declare(f"{queue}.dead", durable=True)
        ch.queue_bind(f"{queue}.dead", f"{queue}.dlx")
        ch.queue_declare(queue, durable=True, arguments={"x-dead-letter-exchange": f"{queue}.dlx"})
        for mode, event_id, body in rows:
            if mode == "binary":
                headers = {f"{AMQP_PREFIX}id": event_id, f"{AMQP_PREFIX}type": "customer.changed"}
                props = pika.BasicProperties(content_type="application/json", delivery_mode=2, headers=headers)
            elif mode == "structured":
                event = {"specversion": "1.0", "id": event_id, "type": "customer.changed", "source": "/crm",
                         "datacontenttype": "application/json", "data": json.loads(body)}  # fmt: skip
                body = json.dumps(event).encode()
                props = pika.BasicProperties(content_type="application/cloudevents+json", delivery_mode=2)
            else:
                props = pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=event_id)
            ch.basic_publish("", queue, body, props)
    finally:
        conn.close()


def depth(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def events(n: int) -> list[tuple[str, str, bytes]]:
    rng = random.Random(5)
    modes = ["binary", "structured", "plain"]
    return [(modes[i % 3], f"evt-{i}", json.dumps(customer(rng, i + 1)).encode()) for i in range(n)]


def config(tmp_path: Path, url: str, queue: str, sim: SimServer) -> Path:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
interfaces:
  customers:
    canonical: Customer
    schedule: {{every: 1s}}
    source: {{kind: amqp, url: "{url}", queue: {queue}, dead_letter_exchange: {queue}.dlx, prefetch: 10,
              max_batch: 10, poll_wait: 0.5}}
    decoder: {{kind: jsonl}}
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: rest, url: "{sim.url}/v1/ingest/customers/{{business_key}}", timeout: 5}}
    cutover: {{mode: cloud_only}}
""",
        encoding="utf-8",
    )
    return cfg


def posts(sim: SimServer) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in sim.state.requests if r.path.startswith("/v1/ingest"))


def run_once(cfg: Path) -> int:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "30"])
    return result.exit_code


def test_each_event_reaches_the_target_once_and_the_queue_is_emptied(
    rabbitmq: str, queue: str, sim: SimServer, tmp_path: Path
) -> None:
    rows = events(N)
    publish(rabbitmq, queue, rows + rows[:6])  # six events published twice, as an at-least-once producer does
    cfg = config(tmp_path, rabbitmq, queue, sim)
    for _ in range(4):  # prefetch 10 per poll: a few passes drain the queue
        assert run_once(cfg) == 0
    got = posts(sim)
    assert len(got) == N and set(got.values()) == {1}, got  # the simulator's own log: each key once
    assert depth(rabbitmq, queue) == 0 and depth(rabbitmq, f"{queue}.dead") == 0


def test_an_unreadable_record_is_a_dead_letter_and_the_queue_goes_on(
    rabbitmq: str, queue: str, sim: SimServer, tmp_path: Path
) -> None:
    rows = events(4)
    rows.insert(2, ("plain", "evt-bad", b"{not json"))
    publish(rabbitmq, queue, rows)
    cfg = config(tmp_path, rabbitmq, queue, sim)
    assert run_once(cfg) == 16  # records dead-lettered, nothing else wrong
    assert len(posts(sim)) == 4
    assert depth(rabbitmq, queue) == 0  # kept in the ledger with its bytes: acked
    (dead,) = json.loads(CliRunner().invoke(cli, ["--config", str(cfg), "dlq", "list", "--json"]).output)
    assert dead["kind"] == "record" and f"amqp:{queue}" in json.dumps(dead)


def test_a_failed_batch_is_kept_then_rejected_to_the_dead_letter_exchange(rabbitmq: str, queue: str) -> None:
    """fail() after the runtime kept the batch (state failed): rejected, so the queue's DLX routes it; not
    kept: requeued, never dropped."""
    publish(rabbitmq, queue, events(2))
    ledger = MemorySourceLedger()
    config = AmqpSourceConfig(url=rabbitmq, queue=queue, dead_letter_exchange=f"{queue}.dlx")  # type: ignore[arg-type]
    with AmqpSource(config) as source:
        source.open(SourceContext("customers", SystemClock(), Path("."), ledger))
        first, second = list(source.poll())
        error = DecodeError("unreadable", location=Location(file="amqp"))
        source.fail(second, error)  # not kept by the runtime: back in the queue
        ledger.mark_batch("customers", first.batch_id, "failed")
        source.fail(first, error)
        deadline = time.monotonic() + 10
        while depth(rabbitmq, f"{queue}.dead") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert depth(rabbitmq, f"{queue}.dead") == 1
        (again,) = list(source.poll())
        assert again.identity == second.identity and again.metadata["amqp_redelivered"] == "true"


def test_sigkill_after_commit_before_ack_sends_nothing_twice(
    rabbitmq: str, queue: str, sim: SimServer, tmp_path: Path
) -> None:
    publish(rabbitmq, queue, events(N))
    cfg = config(tmp_path, rabbitmq, queue, sim)
    env = {**os.environ, "ESB_BRIDGE_FAILPOINTS": "before_ack=pause:60", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "run", "--once"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        deadline = time.monotonic() + 60
        while True:  # the first message's records are committed and the process waits before its ack
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "nothing committed"
            try:
                with engine.connect() as conn:
                    if conn.execute(text("select count(*) from messages")).scalar_one():
                        break
            except Exception:  # the ledger is not created yet
                pass
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        engine.dispose()
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 10
    while depth(rabbitmq, queue) < N and time.monotonic() < deadline:
        time.sleep(0.1)  # the broker requeues a dead consumer's unacked messages when it sees the socket close
    assert depth(rabbitmq, queue) == N  # nothing was acked: the broker has every message again
    for _ in range(4):
        assert run_once(cfg) == 0
    got = posts(sim)
    assert len(got) == N and set(got.values()) == {1}, got
    assert depth(rabbitmq, queue) == 0


def test_a_cut_connection_is_retryable_and_reconnects_after_the_backoff(rabbitmq: str, queue: str) -> None:
    """The broker reached through a TCP proxy that is killed mid-session: the poll fails as retryable, polls
    inside the backoff fail at once without dialling, and once the proxy is back and the backoff over the
    unacked message comes back (redelivered) with the same identity."""
    publish(rabbitmq, queue, events(1))
    proxy = TcpProxy(5672, port=free_port()).start()
    clock = SimulatedClock()
    url = rabbitmq.replace(":5672", f":{proxy.port}")
    config = AmqpSourceConfig(url=url, queue=queue, dead_letter_exchange=f"{queue}.dlx")  # type: ignore[arg-type]
    with AmqpSource(config) as source:
        source.open(SourceContext("customers", clock, Path("."), MemorySourceLedger()))
        (first,) = list(source.poll())
        proxy.kill()
        with pytest.raises(ConnectionFailed):
            list(source.poll())  # the lost connection
        with pytest.raises(ConnectionFailed):
            list(source.poll())  # the first reconnect fails: the proxy is down
        proxy.start()
        with pytest.raises(ConnectionFailed, match=r"reconnecting .* in"):
            list(source.poll())  # inside the backoff: no dial
        clock.advance(2)
        deadline = time.monotonic() + 10
        again: list[Envelope] = []
        while not again and time.monotonic() < deadline:
            again = list(source.poll())
        assert [e.identity for e in again] == [first.identity]
        assert again[0].metadata["amqp_redelivered"] == "true"
        source.acknowledge(again[0])
    proxy.kill()
    assert depth(rabbitmq, queue) == 0
