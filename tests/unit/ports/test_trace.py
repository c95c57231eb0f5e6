"""The W3C trace context of a delivery: stable per transaction, distinct per attempt, the runtime's span first."""

from __future__ import annotations

import uuid

from bridge.ports import Delivery, Encoded, PathName, Role
from bridge.ports.trace import span_id_of, trace_headers, trace_id_of, traceparent


def _d(txn: str, attempt: int = 1, parent: str | None = None) -> Delivery:
    mid = uuid.UUID(int=7)
    return Delivery(
        mid, "i", PathName.CLOUD, Role.AUTHORITATIVE, "K", attempt, Encoded(b"", "x/y"), txn, traceparent=parent
    )


def test_trace_id_is_the_uuid_or_a_stable_hash() -> None:
    """A UUID transaction id is its own trace id; any other text hashes to the same 32 hex digits every time."""
    txn = uuid.uuid4()
    assert trace_id_of(str(txn)) == txn.hex
    assert trace_id_of("file-17") == trace_id_of("file-17") != trace_id_of("file-18")
    assert len(trace_id_of("file-17")) == 32 and trace_id_of(str(uuid.UUID(int=0))) != "0" * 32


def test_parent_id_per_attempt_and_runtime_span_wins() -> None:
    """Each attempt gets its own parent id; a traceparent set by the runtime (a live span) is sent as it is."""
    first, second = traceparent(_d("t", 1)), traceparent(_d("t", 2))
    assert first.split("-")[1] == second.split("-")[1] and first != second
    assert first.split("-")[2] == span_id_of(uuid.UUID(int=7), 1)
    live = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    assert trace_headers(_d("t", parent=live)) == {"traceparent": live, "X-Correlation-Id": "t"}
    assert trace_headers(_d("t"), correlation_header=None).keys() == {"traceparent"}
