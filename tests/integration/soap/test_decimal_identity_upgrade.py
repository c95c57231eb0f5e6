"""Issue 17, the upgrade of content hashes from spellings to values: an existing ledger's ids stay stable.

Before issue 17 a change-feed record without a version was identified by business key + SHA-256 of its
canonical JSON, whose decimals keep their scale (``20.00``). Now the hash is taken over values (``20``), so
the same record hashes differently. A ledger written by the old code (reproduced here by running the runtime
with the old hash function) is re-read by the new code over the same SOAP feed: no record gets a second
message, and the ids already recorded (the idempotency keys the targets saw) stay those of the old rows.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from bridge.canonical import canonical_json
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime import pipeline
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from samples.legacy_erp.simulator import ErpSimulator
from tests.integration.recorder import Recorders, drain_poll
from tests.integration.soap.test_soap_change_versions import START, order, put, unversioned_mapping, write_config


def _old_payload_and_hash(record: BaseModel) -> tuple[bytes, str]:
    """What the poll side computed before issue 17: the payload and the SHA-256 of exactly those bytes."""
    payload = canonical_json(record)
    return payload, hashlib.sha256(payload).hexdigest()


def test_message_ids_recorded_under_scale_sensitive_hashes_stay_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 orders (amounts 20.00) recorded by the old hash, re-read by the new code with a wide overlap: 0 new
    messages, the same 3 ids, each order delivered once; a real change afterwards is still a new message."""
    Recorders.clear()
    unversioned = unversioned_mapping(tmp_path)
    sim = ErpSimulator()
    clock = SimulatedClock(START + timedelta(hours=1))
    numbers = ["ORD-1", "ORD-2", "ORD-3"]
    with sim:
        put(sim, *(order("CUST-A", 1, START + timedelta(seconds=n), o) for n, o in enumerate(numbers)))
        with monkeypatch.context() as old_code:
            old_code.setattr(pipeline, "payload_and_hash", _old_payload_and_hash)
            with Runner(load_config(write_config(tmp_path, sim, unversioned)), clock) as runner:
                drain_poll(runner)
        with runner.ledger.engine.connect() as conn:
            before = dict(conn.execute(select(t.messages.c.business_key, t.messages.c.id)).all())
        assert len(before) == 3
        with Runner(load_config(write_config(tmp_path, sim, unversioned, overlap=3600)), clock) as runner:
            stats = runner.poll_all()["orders"]
            runner.drain(max_wait=60)
            put(sim, order("CUST-B", 1, START + timedelta(minutes=5), "ORD-2"))
            drain_poll(runner)
            with runner.ledger.engine.connect() as conn:
                after = conn.execute(select(t.messages.c.business_key, t.messages.c.id)).all()
    assert stats.records == 3 and stats.new_messages == 0, "the re-read recorded known orders again"
    assert {k: i for k, i in after if i in before.values()} == before, "recorded ids changed"
    assert len(after) == 4, "the real change of ORD-2 after the upgrade is a new message"
    calls = Recorders.SINKS["soap-orders"].calls
    assert sorted(c.business_key for c in calls) == ["ORD-1", "ORD-2", "ORD-2", "ORD-3"]
