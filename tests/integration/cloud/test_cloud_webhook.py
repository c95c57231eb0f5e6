"""WebhookSource: signed webhooks from the simulator and by hand; 2xx only once the runtime acknowledged."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig
from bridge.ports import Envelope, IdentityRule, SourceContext
from bridge.ports.trace import trace_id_of
from bridge.testing import MemorySourceLedger
from samples.cloud_sim import SimServer
from samples.cloud_sim.webhooks import sign

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="


class Runtime:
    """A stand-in for the runtime's poll loop: records each envelope, then acknowledges (or not)."""

    def __init__(self, source: WebhookSource, *, ack_delay: float = 0.0, hold: bool = False) -> None:
        self.source = source
        self.ack_delay = ack_delay
        self.hold = hold
        self.recorded: list[Envelope] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for envelope in self.source.poll():
                self.recorded.append(envelope)
                if not self.hold:
                    time.sleep(self.ack_delay)
                    self.source.acknowledge(envelope)
            time.sleep(0.01)

    def __enter__(self) -> Runtime:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook(source_context: SourceContext) -> Iterator[WebhookSource]:
    source = WebhookSource(WebhookSourceConfig(secret=SECRET, ack_timeout=1.0, max_body=4096))  # type: ignore[arg-type]
    with source:
        source.open(source_context)
        yield source


def post(
    source: WebhookSource,
    event_id: str,
    body: bytes,
    *,
    stamp: int | None = None,
    secret: str = SECRET,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    ts = int(time.time()) if stamp is None else stamp
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, event_id, ts, body),
        "content-type": "application/json",
        **(extra or {}),
    }
    return httpx.post(source.url, content=body, headers=headers, timeout=10)


def wait_for(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_answer_waits_for_acknowledge(webhook: WebhookSource, ledger: MemorySourceLedger) -> None:
    """The sender gets its 200 only after the runtime acknowledged the envelope."""
    body = b'{"id": "evt_1", "type": "invoice.created"}'
    with ThreadPoolExecutor(1) as pool:
        answer: Future[httpx.Response] = pool.submit(post, webhook, "evt_1", body)
        envelopes: list[Envelope] = []
        wait_for(lambda: bool(envelopes.extend(webhook.poll()) or envelopes))
        time.sleep(0.3)
        assert not answer.done()  # still waiting: nothing is durable yet
        (env,) = envelopes
        assert env.identity_rule is IdentityRule.EVENT and env.identity == "evt_1" and env.body == body
        assert env.metadata["event_type"] == "invoice.created"
        webhook.acknowledge(env)
        response = answer.result(timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert ledger.batch_state("cloud-test", "webhook:evt_1") == "acknowledged"


def test_incoming_trace_context_is_continued(webhook: WebhookSource) -> None:
    """A caller's W3C traceparent becomes the records' transaction id (its trace id as a UUID), so outgoing
    requests continue the caller's trace; a correlation header wins; an invalid traceparent is ignored."""
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    cases = {
        "evt_t1": ({"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}, str(uuid.UUID(trace))),
        "evt_t2": ({"traceparent": f"00-{trace}-00f067aa0ba902b7-01", "x-correlation-id": "ORD-7"}, "ORD-7"),
        "evt_t3": ({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, "evt_t3"),
        "evt_t4": ({"traceparent": "not-a-traceparent"}, "evt_t4"),
    }
    with Runtime(webhook) as runtime:
        for event_id, (headers, _) in cases.items():
            assert post(webhook, event_id, b"{}", extra=headers).status_code == 200
    got = {e.identity: e.transaction_id for e in runtime.recorded}
    assert got == {event_id: want for event_id, (_, want) in cases.items()}
    assert trace_id_of(got["evt_t1"]) == trace


def test_no_acknowledge_in_time_is_503(webhook: WebhookSource) -> None:
    """Without an acknowledge within ack_timeout the answer is 503 with Retry-After, so the sender retries."""
    started = time.monotonic()
    response = post(webhook, "evt_2", b"{}")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert time.monotonic() - started >= 1.0


def test_duplicate_after_acknowledge_is_not_emitted_again(webhook: WebhookSource) -> None:
    """A retried event whose batch is acknowledged gets 200 without a second envelope."""
    with Runtime(webhook) as runtime:
        assert post(webhook, "evt_3", b"{}").status_code == 200
        again = post(webhook, "evt_3", b"{}")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [e.identity for e in runtime.recorded] == ["evt_3"]


def test_retry_while_in_flight_waits_on_the_same_hand_off(webhook: WebhookSource) -> None:
    """A retry arriving while the first copy is still unacknowledged is not emitted twice."""
    with Runtime(webhook, ack_delay=1.3) as runtime:
        first = post(webhook, "evt_4", b"{}")
        assert first.status_code == 503  # ack_timeout 1.0 < ack_delay
        second = post(webhook, "evt_4", b"{}")
    assert second.status_code == 200
    assert [e.identity for e in runtime.recorded] == ["evt_4"]


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda: {"secret": "whsec_d3Jvbmcta2V5"}, 401),
        (lambda: {"stamp": int(time.time()) - 3600}, 401),
        (lambda: {"stamp": int(time.time()) + 3600}, 401),
    ],
    ids=["bad-signature", "old-timestamp", "future-timestamp"],
)
def test_refused_requests_emit_nothing(
    webhook: WebhookSource, mutate: Callable[[], dict[str, object]], status: int
) -> None:
    """A wrong signature or a timestamp outside the tolerance is refused and never handed on."""
    response = post(webhook, "evt_5", b"{}", **mutate())  # type: ignore[arg-type]
    assert response.status_code == status
    assert list(webhook.poll()) == []


def test_tampered_body_and_missing_headers_are_refused(webhook: WebhookSource) -> None:
    """The signature covers the body; an unsigned request is refused."""
    ts = int(time.time())
    headers = {
        "webhook-id": "evt_6",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, "evt_6", ts, b"{}"),
    }
    assert httpx.post(webhook.url, content=b'{"x":1}', headers=headers).status_code == 401
    assert httpx.post(webhook.url, content=b"{}").status_code == 401
    assert list(webhook.poll()) == []


def test_body_over_the_limit_is_413(webhook: WebhookSource) -> None:
    """A body above max_body is refused before it is read."""
    response = post(webhook, "evt_7", b"x" * 5000)
    assert response.status_code == 413
    assert list(webhook.poll()) == []


def test_simulator_webhooks_end_to_end(sim: SimServer, webhook: WebhookSource) -> None:
    """Changes in the simulator arrive as signed webhooks; a refused tampered/replayed copy changes nothing."""
    sim.sender.subscribe(webhook.url, SECRET)
    with Runtime(webhook) as runtime:
        sim.state.create("customers", {"external_id": "C9", "name": "Acme"}, None)
        sim.state.touch("customers", "C9", name="Acme GmbH")
        wait_for(lambda: len([a for a in sim.sender.attempts if a.status == 200]) == 2)
        sim.sender.resend("evt_000001")  # provider replays a delivered event
        sim.sender.resend("evt_000001", tamper=True)
        sim.sender.resend("evt_000002", timestamp_offset=-3600)
        wait_for(lambda: len(sim.sender.attempts) == 5)
    statuses = [(a.event_id, a.status) for a in sim.sender.attempts]
    assert statuses[:2] == [("evt_000001", 200), ("evt_000002", 200)]
    assert sorted(statuses[2:]) == [("evt_000001", 200), ("evt_000001", 401), ("evt_000002", 401)]
    assert [e.identity for e in runtime.recorded] == ["evt_000001", "evt_000002"]
    assert json.loads(runtime.recorded[1].body or b"")["data"]["object"]["name"] == "Acme GmbH"


def test_simulator_retries_until_durable(sim: SimServer, webhook: WebhookSource) -> None:
    """When the runtime is slower than ack_timeout, the sender's retry is answered 200 once it is durable."""
    sim.sender.subscribe(webhook.url, SECRET)
    with Runtime(webhook, ack_delay=1.5) as runtime:
        sim.state.create("customers", {"external_id": "C10", "name": "Slow"}, None)
        wait_for(lambda: any(a.status == 200 for a in sim.sender.attempts))
    assert sim.sender.attempts[0].status == 503
    assert [e.identity for e in runtime.recorded] == ["evt_000001"]
