"""Reverse direction end to end: a signed webhook -> WebhookSource -> runtime (ledger) -> legacy file drop.

The sender's 200 must mean the record is durably in the ledger: the runtime acknowledges the envelope only
after its chunk transaction committed, and only then does the webhook answer.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bridge.config import load_config
from bridge.ports import SystemClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from samples.cloud_sim.webhooks import sign
from samples.demo_app.generate import customer

SECRET = "whsec_cmV2ZXJzZS1kaXJlY3Rpb24="


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
interfaces:
  crm-customers:
    canonical: Customer
    source: {{kind: webhook, secret: "{SECRET}", ack_timeout: 10}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: file, path: out}}
    cutover: {{mode: legacy_only}}
""",
        encoding="utf-8",
    )
    stop = threading.Event()
    with Runner(load_config(cfg), SystemClock()) as r:

        def loop() -> None:
            while not stop.is_set():
                r.poll("crm-customers")
                r.deliver_round()
                time.sleep(0.02)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield r
        finally:
            stop.set()
            thread.join(timeout=10)


def post(url: str, event_id: str, body: bytes, secret: str = SECRET) -> httpx.Response:
    ts = int(time.time())
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, event_id, ts, body),
        "content-type": "application/x-ndjson",
    }
    return httpx.post(url, content=body, headers=headers, timeout=15)


def messages(runner: Runner) -> int:
    with runner.ledger.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(t.messages)) or 0)


def test_webhook_answer_means_durable_and_duplicates_are_not_recorded_twice(runner: Runner, tmp_path: Path) -> None:
    """200 arrives with the message already committed; a re-sent event id and a bad signature add nothing."""
    url = runner.interfaces["crm-customers"].source.url  # type: ignore[attr-defined]
    body = json.dumps(customer(random.Random(5), 42)).encode() + b"\n"
    first = post(url, "evt_a1", body)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    assert messages(runner) == 1  # durable before the answer
    again = post(url, "evt_a1", body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert post(url, "evt_a2", body, secret="whsec_b3RoZXI=").status_code == 401
    deadline = time.monotonic() + 10
    while not list((tmp_path / "out").glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (written,) = list((tmp_path / "out").glob("*"))
    assert json.loads(written.read_text())["customer_number"] == "C-00042"
    assert messages(runner) == 1
