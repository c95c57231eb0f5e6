"""Pure pieces of the cloud adapters: Retry-After, classification, URL templates, Link headers, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.cloud._http import ReplayRule, classify, parse_retry_after
from adapters.cloud.auth import AuthConfig
from adapters.cloud.events import CloudEventsSinkConfig, cloud_event, structured_body
from adapters.cloud.rest import render_url
from adapters.cloud.rest_poll import next_link
from adapters.cloud.webhook import verify_signature
from bridge.ports import (
    AmbiguousOutcome,
    Delivery,
    DependencyPending,
    Encoded,
    EncodeError,
    OutcomeStatus,
    PathName,
    Rejected,
    Role,
    SecurityError,
    SimulatedClock,
    TargetUnavailable,
    error_from_dict,
)
from bridge.ports.trace import trace_id_of, traceparent


def test_retry_after_seconds_and_http_date() -> None:
    """Retry-After as seconds or an HTTP date (against the Clock); garbage and past dates are handled."""
    clock = SimulatedClock()
    assert parse_retry_after("30", clock) == 30.0
    assert parse_retry_after(format_datetime(clock.now() + timedelta(seconds=90), usegmt=True), clock) == 90.0
    assert parse_retry_after(format_datetime(clock.now() - timedelta(seconds=90), usegmt=True), clock) == 0.0
    assert parse_retry_after("soon", clock) is None
    assert parse_retry_after(None, clock) is None


@pytest.mark.parametrize(
    ("status", "expected", "error"),
    [
        (201, OutcomeStatus.DELIVERED, None),
        (408, OutcomeStatus.FAILED, TargetUnavailable),
        (429, OutcomeStatus.FAILED, TargetUnavailable),
        (503, OutcomeStatus.FAILED, TargetUnavailable),
        (400, OutcomeStatus.REJECTED, Rejected),
        (404, OutcomeStatus.REJECTED, Rejected),
        (401, OutcomeStatus.REJECTED, SecurityError),
        (403, OutcomeStatus.REJECTED, SecurityError),
    ],
)
def test_classification_by_status(status: int, expected: OutcomeStatus, error: type | None) -> None:
    """Status codes map to delivered / failed (retryable) / rejected (permanent) by type."""
    outcome = classify(status, b'{"id": "x_1"}', {"retry-after": "5"}, SimulatedClock(), where="t")
    assert outcome.status is expected
    assert (outcome.error is None) if error is None else isinstance(outcome.error, error)
    if expected is OutcomeStatus.FAILED:
        assert outcome.retry_after == 5.0
    if expected is OutcomeStatus.REJECTED:
        assert outcome.response == b'{"id": "x_1"}'  # kept for the dead letter


def test_409_duplicate_rules() -> None:
    """409 is delivered only with evidence (a reused-key code); without it a first attempt is a business rejection."""
    clock = SimulatedClock()
    reused = json.dumps({"error": {"code": "idempotency_key_reused"}, "id": "inv_1"}).encode()
    conflict = json.dumps({"error": {"code": "already_exists"}}).encode()
    dup = classify(409, reused, {}, clock, where="t", duplicate_codes=["idempotency_key_reused"])
    assert dup.status is OutcomeStatus.DELIVERED and dup.target_id == "inv_1"
    first = classify(409, conflict, {}, clock, where="t")
    assert first.status is OutcomeStatus.REJECTED and not isinstance(first.error, AmbiguousOutcome)


def test_409_on_a_retry_without_evidence_is_ambiguous_and_names_the_rule() -> None:
    """A retried 409 with no replay rule is an ambiguous dead letter, never delivered with the other entity's id."""
    body = json.dumps({"error": {"code": "invoice_number_taken"}, "id": "inv_OTHER"}).encode()
    out = classify(409, body, {}, SimulatedClock(), where="POST /v1/invoices", attempt=2, idempotency_key="m-1")
    assert out.status is OutcomeStatus.REJECTED
    assert isinstance(out.error, AmbiguousOutcome) and out.target_id is None
    text = str(out.error)
    assert "duplicate_codes: [invoice_number_taken]" in text and "replay.header" in text and "attempt 2" in text
    assert out.error.to_dict()["type"] == "AmbiguousOutcome"
    assert isinstance(error_from_dict(out.error.to_dict()), AmbiguousOutcome)


@pytest.mark.parametrize(
    ("rule", "headers", "body", "delivered"),
    [
        (ReplayRule(header="Idempotent-Replayed"), {"idempotent-replayed": "true"}, {"id": "inv_1"}, True),
        (ReplayRule(header="Idempotent-Replayed"), {"idempotent-replayed": "false"}, {"id": "inv_1"}, False),
        (ReplayRule(header="Idempotent-Replayed"), {}, {"id": "inv_1"}, False),
        (ReplayRule(body_field="request.key"), {}, {"id": "inv_1", "request": {"key": "m-1"}}, True),
        (ReplayRule(body_field="request.key"), {}, {"id": "inv_1", "request": {"key": "m-2"}}, False),
        (ReplayRule(), {"idempotent-replayed": "true"}, {"id": "inv_1"}, False),
    ],
)
def test_409_replay_rules(rule: ReplayRule, headers: dict[str, str], body: dict[str, Any], delivered: bool) -> None:
    """A retried 409 is delivered (with its id) exactly when the configured header or body field proves it is ours."""
    raw = json.dumps(body).encode()
    out = classify(409, raw, headers, SimulatedClock(), where="t", attempt=3, replay=rule, idempotency_key="m-1")
    assert (out.status is OutcomeStatus.DELIVERED) is delivered
    assert out.target_id == ("inv_1" if delivered else None)
    assert delivered or isinstance(out.error, AmbiguousOutcome)


def test_target_id_from_a_nested_field() -> None:
    """target_id comes from the configured dotted field of the JSON response."""
    body = b'{"data": {"invoice": {"number": 77}}}'
    assert classify(200, body, {}, SimulatedClock(), where="t", target_id_field="data.invoice.number").target_id == "77"


def test_render_url() -> None:
    """Placeholders are filled and escaped; a missing xref parks the delivery, a missing value is an encode error."""
    values = {"business_key": "A/B 1", "xref.customer": "cus_9"}
    body = b'{"order": {"no": "O-1"}}'
    url = "https://x/{xref.customer}/inv/{business_key}/{body.order.no}"
    assert render_url(url, values, body) == "https://x/cus_9/inv/A%2FB%201/O-1"
    with pytest.raises(DependencyPending):
        render_url("https://x/{xref.order}", values)
    with pytest.raises(EncodeError):
        render_url("https://x/{nope}", values)


def test_next_link() -> None:
    """The rel=next target is found among several Link values."""
    header = '<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next", <https://a/x?page=9>; rel="last"'
    assert next_link(header) == "https://a/x?page=3"
    assert next_link('<https://a/x?page=1>; rel="prev"') is None
    assert next_link(None) is None


def test_signature_verification() -> None:
    """Standard Webhooks v1 signatures verify; any change of id, timestamp, body or secret fails."""
    secret = "whsec_" + base64.b64encode(b"k3y").decode()
    mac = hmac.new(b"k3y", b"evt_1.1700000000.{}", hashlib.sha256).digest()
    header = "v0,abc v1," + base64.b64encode(mac).decode()
    assert verify_signature(secret, "evt_1", "1700000000", b"{}", header)
    assert not verify_signature(secret, "evt_2", "1700000000", b"{}", header)
    assert not verify_signature(secret, "evt_1", "1700000001", b"{}", header)
    assert not verify_signature(secret, "evt_1", "1700000000", b"{ }", header)
    assert not verify_signature("other", "evt_1", "1700000000", b"{}", header)
    assert not verify_signature(secret, "evt_1", "1700000000", b"{}", "v1,!!notbase64")


def test_cloud_event_attributes_and_structured_body() -> None:
    """Attributes come from the delivery, config and Clock; structured mode embeds JSON data or base64."""
    mid = uuid.uuid4()
    d = Delivery(mid, "i", PathName.CLOUD, Role.SHADOW, "K-1", 1, Encoded(b'{"a": 1}', "application/json"), "t-1")
    cfg = CloudEventsSinkConfig(type="com.x.created", source="/x", dataschema="urn:s", http={"url": "http://x"})  # type: ignore[arg-type]
    attrs = cloud_event(d, cfg, SimulatedClock())
    assert attrs == {
        "specversion": "1.0",
        "id": str(mid),
        "source": "/x",
        "type": "com.x.created",
        "subject": "K-1",
        "time": "2026-01-05T08:00:00Z",
        "datacontenttype": "application/json",
        "correlationid": "t-1",
        "traceparent": traceparent(d),
        "dataschema": "urn:s",
    }
    assert traceparent(d).startswith(f"00-{trace_id_of('t-1')}-")
    assert json.loads(structured_body(attrs, b'{"a": 1}'))["data"] == {"a": 1}
    binary = json.loads(structured_body({**attrs, "datacontenttype": "application/xml"}, b"<a/>"))
    assert base64.b64decode(binary["data_base64"]) == b"<a/>"


def test_auth_config_takes_exactly_one() -> None:
    """An auth block with none or two mechanisms is a config error."""
    with pytest.raises(ValidationError):
        AuthConfig()
    with pytest.raises(ValidationError):
        AuthConfig(bearer="a", api_key={"value": "b"})  # type: ignore[arg-type]
    assert AuthConfig(bearer="a").bearer is not None  # type: ignore[arg-type]
