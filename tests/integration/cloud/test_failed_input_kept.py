"""Issue 17, hole 1: a failed REST page or webhook body is moved past / answered 200 only once it is kept.

The runtime keeps the input's bytes with the batch dead letter in the transaction that marks the batch
``failed`` (bridge.store.kept); a source that is told ``fail`` for input whose batch is not ``failed`` must
hold its cursor (REST) or answer 503 so the sender retries (webhook). Each test fails on the code before
issue 17: ``fail`` moved the cursor and answered 200 whatever had been kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from adapters.cloud.rest_poll import CURSOR_KEY, RestPollSource, RestPollSourceConfig
from adapters.cloud.webhook import WebhookSource, WebhookSourceConfig
from bridge.ports import DecodeError, Envelope, SourceContext
from bridge.testing import MemorySourceLedger
from samples.cloud_sim import SimServer
from samples.cloud_sim.webhooks import sign

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="
BROKEN = DecodeError("the page cannot be read")


@pytest.fixture
def rest(sim: SimServer, source_context: SourceContext) -> Iterator[RestPollSource]:
    with RestPollSource(RestPollSourceConfig(url=sim.url + "/v1/customers", page_size=5, overlap=30)) as source:
        source.open(source_context)
        yield source


def test_rest_fail_of_a_page_not_kept_holds_the_cursor(
    sim: SimServer, rest: RestPollSource, ledger: MemorySourceLedger
) -> None:
    """``fail`` of a page whose batch is not ``failed`` (nothing kept) leaves the cursor, and the page comes
    again on the next poll; once kept, ``fail`` moves the cursor past it and it is not read again."""
    for n in range(3):
        sim.state.create("customers", {"external_id": f"K-{n}", "name": f"K-{n}"}, None)
    (page,) = list(rest.poll())
    rest.fail(page, BROKEN)
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) is None, "the cursor moved past a page nobody kept"
    (again,) = list(rest.poll())
    assert again.batch_id == page.batch_id, "the page not kept is read again"
    ledger.mark_batch("cloud-test", again.batch_id, "failed")  # as the runtime does with the kept dead letter
    rest.fail(again, BROKEN)
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) == json.loads(again.body or b"[]")[-1]["updated_at"]
    assert list(rest.poll()) == [], "a kept page is read again"


def test_rest_naive_timestamp_is_a_located_decode_error(sim: SimServer, rest: RestPollSource) -> None:
    """A change time without an offset is a classified DecodeError naming the field and the record (was a bare
    ValueError, which escaped ``poll_all`` and stopped every interface)."""
    sim.state.create("customers", {"external_id": "N-1", "name": "N"}, None)
    with sim.state.lock:
        row = sim.state.find("customers", "N-1")
        assert row is not None
        row["updated_at"] = "2026-01-05T08:00:00"
    with pytest.raises(DecodeError) as err:
        list(rest.poll())
    assert err.value.location is not None and err.value.location.field == "updated_at"
    assert err.value.location.record == 0 and "no time zone" in err.value.message


class FailingRuntime:
    """The runtime's part for a webhook body that fails as a whole: optionally keep it, then ``fail``."""

    def __init__(self, source: WebhookSource, ledger: MemorySourceLedger, *, keep: bool) -> None:
        self.source, self.ledger, self.keep = source, ledger, keep
        self.seen: list[Envelope] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for envelope in self.source.poll():
                self.seen.append(envelope)
                if self.keep:
                    self.ledger.mark_batch(envelope.interface, envelope.batch_id, "failed")
                self.source.fail(envelope, BROKEN)
            time.sleep(0.01)

    def __enter__(self) -> FailingRuntime:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook(source_context: SourceContext) -> Iterator[WebhookSource]:
    source = WebhookSource(WebhookSourceConfig(secret=SECRET, ack_timeout=2.0))  # type: ignore[arg-type]
    with source:
        source.open(source_context)
        yield source


def _post(source: WebhookSource, event_id: str, body: bytes) -> httpx.Response:
    ts = int(time.time())
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, event_id, ts, body),
    }
    return httpx.post(source.url, content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("keep", [False, True])
def test_webhook_failed_body_is_answered_200_only_when_kept(
    webhook: WebhookSource, ledger: MemorySourceLedger, keep: bool
) -> None:
    """A body the runtime failed is answered 200 (the sender stops) only when it was kept; else 503, so the
    sender's retry brings it again. A kept event's retry is answered 200 without being handed on again."""
    with FailingRuntime(webhook, ledger, keep=keep) as runtime:
        first = _post(webhook, "evt-fail-1", b"not json at all")
        assert first.status_code == (200 if keep else 503), first.text
        retry = _post(webhook, "evt-fail-1", b"not json at all")
    assert retry.status_code == (200 if keep else 503)
    assert len(runtime.seen) == (1 if keep else 2), "a kept body was handed on again, or a lost one was not"
