"""`esb-bridge demo --amqp URL`: the payment CloudEvents go to the real RabbitMQ at 127.0.0.1:5672."""

from __future__ import annotations

import socket
from pathlib import Path

from samples.demo_app import run_demo
from tests.conftest import require_peer

AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _rabbit_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def test_payment_events_reach_the_demo_queue_on_rabbitmq(tmp_path: Path) -> None:
    """Every payment the bridge delivered on the cloud path is one message in the demo's bound queue."""
    require_peer("RabbitMQ", _rabbit_up())
    summary = run_demo(tmp_path / "demo", days=1, progress=False, amqp=AMQP)
    payments = summary["status"]["payments"]
    delivered = sum(v.get("delivered", 0) for v in payments["deliveries"].values())
    assert payments["dead_letters_open"] == 0 and delivered > 0
    assert summary["systems"]["cloud.events"] == delivered
