"""RestSink against the simulator under real uvicorn: classification, idempotency, auth, contract, bulk."""

from __future__ import annotations

import dataclasses
import json
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from adapters.cloud.auth import ApiKeyConfig, AuthConfig, OAuth2Config
from adapters.cloud.rest import BulkConfig, RestReadBackConfig, RestSink, RestSinkConfig
from bridge.ports import (
    AmbiguousOutcome,
    BatchSink,
    ConnectionFailed,
    ContractViolation,
    Delivery,
    Encoded,
    OutcomeStatus,
    PathName,
    Rejected,
    Role,
    SecurityError,
    SimulatedClock,
    TargetUnavailable,
    TimeoutExpired,
)
from samples.cloud_sim import FaultRule, SimServer


def invoice(key: str, customer: str = "C1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": key,
        "customer": customer,
        "currency": "EUR",
        "issue_date": "2026-01-05",
        "lines": [
            {"line_no": 1, "description": "widget", "quantity": "3", "unit_price": "0.335", "tax_rate": "19"},
            {"line_no": 2, "description": "gadget", "quantity": "1", "unit_price": "9.99", "tax_rate": "19"},
        ],
    }
    body.update(extra)
    return body


def delivery(
    body: dict[str, Any],
    *,
    key: str | None = None,
    attempt: int = 1,
    mid: uuid.UUID | None = None,
    xrefs: dict[str, str] | None = None,
) -> Delivery:
    return Delivery(
        message_id=mid or uuid.uuid4(),
        interface="invoices-to-billing",
        path=PathName.CLOUD,
        role=Role.AUTHORITATIVE,
        business_key=key or str(body.get("external_id")),
        attempt=attempt,
        payload=Encoded(json.dumps(body).encode(), "application/json"),
        transaction_id="txn-42",
        xrefs=xrefs or {},
    )


def make_sink(sim: SimServer, path: str = "/v1/invoices", **kw: Any) -> RestSink:
    clock = kw.pop("clock", None)
    return RestSink(RestSinkConfig(url=sim.url + path, **kw), clock=clock)


@pytest.fixture
def customer(sim: SimServer) -> str:
    status, record, _ = sim.state.create("customers", {"external_id": "C1", "name": "Acme"}, None)
    assert status == 201
    return str(record["id"])


def test_delivered_keeps_response_and_target_id(sim: SimServer, customer: str) -> None:
    """A 201 is delivered with the target's id, its response body, and our idempotency/correlation headers."""
    d = delivery(invoice("INV-1"))
    with make_sink(sim) as sink:
        outcome = sink.deliver(d)
    assert outcome.status is OutcomeStatus.DELIVERED
    assert outcome.target_id and outcome.target_id.startswith("inv_")
    assert json.loads(outcome.response or b"{}")["total"] == "13.09"  # per-invoice rounding: 11.995 + 2.27905
    last = [r for r in sim.state.requests if r.method == "POST"][-1]
    assert last.idempotency_key == str(d.message_id)
    assert last.correlation_id == "txn-42"


def test_repeated_idempotency_key_creates_nothing_twice(sim: SimServer, customer: str) -> None:
    """Delivering the same message twice (replay mode) returns the first result and creates one invoice."""
    d = delivery(invoice("INV-2"))
    with make_sink(sim) as sink:
        first, second = sink.deliver(d), sink.deliver(d)
    assert first.status is second.status is OutcomeStatus.DELIVERED
    assert first.target_id == second.target_id
    assert second.metadata.get("replayed") == "true"
    assert len(sim.state.records["invoices"]) == 1


def test_409_on_repeated_key_counts_as_delivered(sim: SimServer, customer: str) -> None:
    """A target that answers 409 to a reused idempotency key: the retry is delivered, nothing created twice."""
    sim.state.config.idempotency_mode = "conflict"
    d = delivery(invoice("INV-3"))
    with make_sink(sim) as sink:
        first = sink.deliver(d)
        again = sink.deliver(delivery(invoice("INV-3"), mid=d.message_id, attempt=2))
    assert first.status is OutcomeStatus.DELIVERED
    assert again.status is OutcomeStatus.DELIVERED and again.metadata["duplicate"] == "true"
    assert again.target_id == first.target_id
    assert len(sim.state.records["invoices"]) == 1


def test_business_409_is_rejected(sim: SimServer, customer: str) -> None:
    """A 409 that is not about our idempotency key (another message made that invoice) is a rejection."""
    with make_sink(sim) as sink:
        assert sink.deliver(delivery(invoice("INV-4"))).status is OutcomeStatus.DELIVERED
        other = sink.deliver(delivery(invoice("INV-4")))
    assert other.status is OutcomeStatus.REJECTED
    assert isinstance(other.error, Rejected)


def test_business_409_on_a_retry_is_ambiguous_not_delivered(sim: SimServer, customer: str) -> None:
    """A retried attempt answered by a business 409 (another message made INV-9) is an ambiguous dead letter,
    and the other entity's id is not returned (so it never becomes an xref)."""
    with make_sink(sim) as sink:
        owner = sink.deliver(delivery(invoice("INV-9")))
        other = sink.deliver(delivery(invoice("INV-9", currency="USD"), attempt=2))
    assert owner.status is OutcomeStatus.DELIVERED
    assert other.status is OutcomeStatus.REJECTED and isinstance(other.error, AmbiguousOutcome)
    assert other.target_id is None
    assert "already_exists" in str(other.error)
    assert len(sim.state.records["invoices"]) == 1


def test_409_on_a_retry_settled_by_readback(sim: SimServer, customer: str) -> None:
    """With replay.readback, a retried 409 is delivered when the target holds what was sent, ambiguous otherwise."""
    readback = RestReadBackConfig(url=sim.url + "/v1/invoices/{business_key}")
    rule = {"readback": ["external_id", "currency", "issue_date"]}
    sim.state.config.idempotency_mode = "conflict"  # a repeated key answers 409, which no code rule accepts here
    d = delivery(invoice("INV-10"))
    with make_sink(sim, duplicate_codes=[], replay=rule, readback=readback) as sink:
        first = sink.deliver(d)
        ours = sink.deliver(delivery(invoice("INV-10"), mid=d.message_id, attempt=2))
        theirs = sink.deliver(delivery(invoice("INV-10", issue_date="2026-02-01"), attempt=2))
    assert first.status is OutcomeStatus.DELIVERED
    assert ours.status is OutcomeStatus.DELIVERED and ours.target_id == first.target_id
    assert ours.metadata["replay"] == "readback"
    assert theirs.status is OutcomeStatus.REJECTED and isinstance(theirs.error, AmbiguousOutcome)
    assert theirs.error.detail["readback_differs"] == ["issue_date"]
    assert len(sim.state.records["invoices"]) == 1


def test_timeout_then_retry_creates_once(sim: SimServer, customer: str) -> None:
    """A read timeout is a retryable failure; the target created it anyway, and the retry replays it."""
    sim.state.add_fault(FaultRule(path_prefix="/v1/invoices", delay_response=1.0, count=1))
    d = delivery(invoice("INV-5"))
    with make_sink(sim, timeout=0.3) as sink:
        first = sink.deliver(d)
        assert first.status is OutcomeStatus.FAILED and isinstance(first.error, TimeoutExpired)
        retry = sink.deliver(delivery(invoice("INV-5"), mid=d.message_id, attempt=2))
    assert retry.status is OutcomeStatus.DELIVERED
    assert len(sim.state.records["invoices"]) == 1


def test_429_retry_after_seconds(sim: SimServer, customer: str) -> None:
    """429 with ``Retry-After: 7`` is a retryable failure asking for 7 seconds."""
    sim.state.add_fault(FaultRule(status=429, retry_after="7", count=1))
    with make_sink(sim) as sink:
        outcome = sink.deliver(delivery(invoice("INV-6")))
    assert outcome.status is OutcomeStatus.FAILED
    assert isinstance(outcome.error, TargetUnavailable)
    assert outcome.retry_after == 7.0
    assert not sim.state.records["invoices"]


def test_503_retry_after_http_date_uses_the_clock(sim: SimServer, customer: str) -> None:
    """An HTTP-date Retry-After is measured against the sink's Clock, not the wall clock."""
    clock = SimulatedClock()
    when = clock.now() + timedelta(seconds=120)
    sim.state.add_fault(FaultRule(status=503, retry_after=format_datetime(when, usegmt=True), count=1))
    with make_sink(sim, clock=clock) as sink:
        outcome = sink.deliver(delivery(invoice("INV-7")))
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.retry_after == 120.0


@pytest.mark.parametrize("status", [500, 502, 408])
def test_server_errors_are_retryable(sim: SimServer, customer: str, status: int) -> None:
    """5xx and 408 are retryable failures without a Retry-After."""
    sim.state.add_fault(FaultRule(status=status, count=1))
    with make_sink(sim) as sink:
        outcome = sink.deliver(delivery(invoice("INV-8")))
    assert outcome.status is OutcomeStatus.FAILED and outcome.retry_after is None


def test_connection_refused_is_retryable(customer: str) -> None:
    """Nothing listening: a ConnectionFailed outcome, not an exception."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with RestSink(RestSinkConfig(url=f"http://127.0.0.1:{port}/v1/invoices", connect_timeout=1)) as sink:
        outcome = sink.deliver(delivery(invoice("INV-9")))
    assert outcome.status is OutcomeStatus.FAILED and isinstance(outcome.error, ConnectionFailed)


def test_target_422_is_rejected_with_body(sim: SimServer, customer: str) -> None:
    """The target's 422 is permanent; the response body is kept and the field is located."""
    with make_sink(sim) as sink:
        outcome = sink.deliver(delivery(invoice("INV-10", currency="eur")))
    assert outcome.status is OutcomeStatus.REJECTED
    assert isinstance(outcome.error, Rejected)
    assert json.loads(outcome.response or b"{}")["error"]["field"] == "currency"
    assert outcome.error.location is not None and outcome.error.location.field == "currency"


def test_contract_violation_is_rejected_before_sending(sim: SimServer, customer: str) -> None:
    """With the OpenAPI spec configured, a bad body is rejected naming the field, and never sent."""
    spec = str(sim_spec())
    bad = invoice("INV-11")
    bad["lines"][1]["unit_price"] = "9,99"
    good_delivery = delivery(invoice("INV-12"))
    with make_sink(sim, openapi=spec) as sink:
        outcome = sink.deliver(delivery(bad))
        good = sink.deliver(good_delivery)
    assert outcome.status is OutcomeStatus.REJECTED
    assert isinstance(outcome.error, ContractViolation)
    assert outcome.error.location is not None and outcome.error.location.field == "lines[1].unit_price"
    assert good.status is OutcomeStatus.DELIVERED
    posts = [r for r in sim.state.requests if r.method == "POST"]
    assert [r.idempotency_key for r in posts] == [str(good_delivery.message_id)]


def sim_spec() -> Any:
    from samples.cloud_sim.app import SPEC_PATH

    return SPEC_PATH


def test_oauth2_token_cached_and_refreshed_once_on_401(sim: SimServer, customer: str) -> None:
    """The token is fetched once, reused, refreshed once after a 401, and again when the Clock passes expiry."""
    sim.state.config.auth_required = True
    clock = SimulatedClock()
    auth = AuthConfig(
        oauth2=OAuth2Config(token_url=sim.url + "/oauth/token", client_id="bridge", client_secret="s3cret")
    )  # type: ignore[arg-type]
    with make_sink(sim, auth=auth, clock=clock) as sink:
        for n in range(3):
            assert sink.deliver(delivery(invoice(f"INV-A{n}"))).status is OutcomeStatus.DELIVERED
        assert sim.state.tokens_issued == 1
        sim.state.revoke_tokens()
        assert sink.deliver(delivery(invoice("INV-B"))).status is OutcomeStatus.DELIVERED
        assert sim.state.tokens_issued == 2
        clock.advance(3600)
        assert sink.deliver(delivery(invoice("INV-C"))).status is OutcomeStatus.DELIVERED
        assert sim.state.tokens_issued == 3
    unauthorized = [r for r in sim.state.requests if r.status == 401]
    assert len(unauthorized) == 1


def test_oauth2_wrong_secret_is_a_security_rejection(sim: SimServer, customer: str) -> None:
    """Refused client credentials are permanent (SecurityError), and no API call is made."""
    sim.state.config.auth_required = True
    auth = AuthConfig(
        oauth2=OAuth2Config(
            token_url=sim.url + "/oauth/token", client_id="bridge", client_secret="wrong", client_auth="basic"
        )
    )  # type: ignore[arg-type]
    with make_sink(sim, auth=auth) as sink:
        outcome = sink.deliver(delivery(invoice("INV-D")))
    assert outcome.status is OutcomeStatus.REJECTED and isinstance(outcome.error, SecurityError)
    assert not [r for r in sim.state.requests if r.path == "/v1/invoices"]


def test_api_key_auth(sim: SimServer, customer: str) -> None:
    """An API key header authenticates; a wrong key is a SecurityError rejection (401, not retried)."""
    sim.state.config.auth_required = True
    good = AuthConfig(api_key=ApiKeyConfig(value="key-123"))  # type: ignore[arg-type]
    bad = AuthConfig(api_key=ApiKeyConfig(value="nope"))  # type: ignore[arg-type]
    with make_sink(sim, auth=good) as sink:
        assert sink.deliver(delivery(invoice("INV-E"))).status is OutcomeStatus.DELIVERED
    with make_sink(sim, auth=bad) as sink:
        outcome = sink.deliver(delivery(invoice("INV-F")))
    assert outcome.status is OutcomeStatus.REJECTED and isinstance(outcome.error, SecurityError)


def test_bulk_maps_partial_failures_back(sim: SimServer, customer: str) -> None:
    """Bulk: each message gets its own outcome; a re-sent batch replays and creates nothing twice."""
    bodies = [invoice(f"INV-K{n}") for n in range(5)]
    bodies[2]["currency"] = "euro"
    batch = [delivery(b) for b in bodies]
    bulk = BulkConfig(url=sim.url + "/v1/invoices/bulk", batch_size=2)
    with make_sink(sim, bulk=bulk) as sink:
        outcomes = sink.deliver_batch(batch)
        again = sink.deliver_batch(batch)
    assert [o.status for o in outcomes] == ["delivered", "delivered", "rejected", "delivered", "delivered"]
    assert outcomes[2].error is not None and outcomes[2].error.location is not None
    assert outcomes[2].error.location.field == "currency"
    assert [o.target_id for o in again] == [o.target_id for o in outcomes]
    assert len(sim.state.records["invoices"]) == 4
    assert len([r for r in sim.state.requests if r.path.endswith("/bulk")]) == 6


def test_bulk_whole_request_failure_applies_to_each(sim: SimServer, customer: str) -> None:
    """A 429 on the bulk call fails every message of that chunk, with its Retry-After."""
    sim.state.add_fault(FaultRule(path_prefix="/v1/invoices/bulk", status=429, retry_after="3", count=1))
    bulk = BulkConfig(url=sim.url + "/v1/invoices/bulk", batch_size=10)
    with make_sink(sim, bulk=bulk) as sink:
        outcomes = sink.deliver_batch([delivery(invoice(f"INV-L{n}")) for n in range(3)])
    assert [(o.status, o.retry_after) for o in outcomes] == [("failed", 3.0)] * 3


def test_bulk_block_makes_a_batch_sink_and_dry_runs_stay_local(sim: SimServer, customer: str) -> None:
    """With ``bulk:`` the sink is a BatchSink of ``batch_size``; dry runs in a chunk are validated, not sent,
    and the real items of the chunk still go in one request. Without ``bulk:`` max_batch is 1."""
    assert make_sink(sim).max_batch == 1
    bulk = BulkConfig(url=sim.url + "/v1/invoices/bulk", batch_size=7)
    batch = [delivery(invoice(f"INV-D{n}")) for n in range(4)]
    batch[1] = dataclasses.replace(batch[1], dry_run=True)
    with make_sink(sim, bulk=bulk) as sink:
        assert isinstance(sink, BatchSink) and sink.max_batch == 7
        outcomes = sink.deliver_batch(batch)
    assert [o.status for o in outcomes] == ["delivered"] * 4
    assert outcomes[1].metadata == {"dry_run": "true"}
    assert sorted(r["external_id"] for r in sim.state.records["invoices"].values()) == ["INV-D0", "INV-D2", "INV-D3"]
    assert len([r for r in sim.state.requests if r.path.endswith("/bulk")]) == 1


def test_read_back_by_business_key(sim: SimServer, customer: str) -> None:
    """Read-back GETs what the target now holds (its own totals); an unknown key reads back as None."""
    readback = RestReadBackConfig(url=sim.url + "/v1/invoices/{business_key}")
    with make_sink(sim, readback=readback) as sink:
        outcome = sink.deliver(delivery(invoice("INV/M 1")))
        body = sink.read_back("INV/M 1", outcome)
        missing = sink.read_back("INV-nope", outcome)
    assert body is not None and json.loads(body)["id"] == outcome.target_id
    assert missing is None


def test_url_template_with_xref_and_missing_xref(sim: SimServer, customer: str) -> None:
    """``{xref.*}`` fills the URL; a missing cross-reference is a retryable DependencyPending, not sent."""
    with make_sink(sim, path="/v1/{xref.collection}") as sink:
        ok = sink.deliver(delivery(invoice("INV-N"), xrefs={"collection": "invoices"}))
        parked = sink.deliver(delivery(invoice("INV-O")))
    assert ok.status is OutcomeStatus.DELIVERED
    assert parked.status is OutcomeStatus.FAILED and parked.error is not None
    assert parked.error.code == "dependency_pending"


def test_concurrent_deliveries_share_one_client(sim: SimServer, customer: str) -> None:
    """32 threads delivering distinct messages: every one delivered exactly once."""
    batch = [delivery(invoice(f"INV-P{n}")) for n in range(64)]
    with make_sink(sim) as sink, ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(sink.deliver, batch))
    assert all(o.status is OutcomeStatus.DELIVERED for o in outcomes)
    assert len({o.target_id for o in outcomes}) == 64 == len(sim.state.records["invoices"])


def test_dry_run_validates_without_sending(sim: SimServer, customer: str) -> None:
    """A dry-run delivery is validated against the contract and not sent."""
    d = delivery(invoice("INV-Q"))
    d = Delivery(**{**d.__dict__, "dry_run": True})
    with make_sink(sim, openapi=str(sim_spec())) as sink:
        outcome = sink.deliver(d)
    assert outcome.status is OutcomeStatus.DELIVERED and outcome.metadata["dry_run"] == "true"
    assert not sim.state.requests
