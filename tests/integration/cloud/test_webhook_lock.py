"""Issue 17, hole "webhook handlers read the ledger while holding their lock": one slow ledger read (SQLite
waiting for a writer) held every other request and the runtime's acknowledge behind it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger
from samples.cloud_sim.webhooks import sign

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="


class SlowReadLedger(MemorySourceLedger):
    """The port's ledger whose read of batch ``webhook:slow`` blocks until released (a reader behind a writer)."""

    def __init__(self) -> None:
        super().__init__()
        self.reading, self.release = threading.Event(), threading.Event()

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        if batch_id == "webhook:slow":
            self.reading.set()
            self.release.wait(10)
        return super().batch_state(interface, batch_id)


def _post(url: str, event_id: str) -> httpx.Response:
    body, ts = b'{"type": "x"}', int(time.time())
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, event_id, ts, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_a_slow_ledger_read_does_not_hold_other_requests(tmp_path: Path) -> None:
    """While one request's ledger read blocks, another event is handed on, acknowledged and answered 200."""
    ledger = SlowReadLedger()
    source = WebhookSource(WebhookSourceConfig(secret=SECRET, ack_timeout=3.0))  # type: ignore[arg-type]
    with source, ThreadPoolExecutor(2) as pool:
        source.open(SourceContext("hooks", SystemClock(), tmp_path, ledger))
        slow = pool.submit(_post, source.url, "slow")
        assert ledger.reading.wait(5)
        fast = pool.submit(_post, source.url, "fast")
        deadline = time.monotonic() + 3
        acknowledged = []
        while time.monotonic() < deadline and not acknowledged:
            for envelope in source.poll():
                source.acknowledge(envelope)
                acknowledged.append(envelope.identity)
            time.sleep(0.02)
        answered = fast.result(timeout=5).status_code if acknowledged else None
        ledger.release.set()
        slow.result(timeout=10)
    assert acknowledged == ["fast"], "the other event was not handed on while a read was blocked"
    assert answered == 200
