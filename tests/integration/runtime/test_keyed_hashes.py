"""Keyed content hashes (issue 17) keep echo suppression and change identities working, also across the upgrade
from unkeyed hashes already in a ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.canonical import Customer, content_hash
from bridge.config import load_config
from bridge.ports import SimulatedClock, hash_identity
from bridge.runtime.runner import Runner
from bridge.runtime.upgrade_identity import adopt_hash_identities
from bridge.store import schema as t
from bridge.store.ledger import open_ledger
from bridge.store.records import NewMessage
from bridge.store.sealing import new_key
from tests.integration.runtime.conftest import ScriptedSink, write_customers

SENSITIVE = "    compare: {sensitive: ['contacts.*.email']}\n"


def _drop(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_echoes_are_suppressed_by_keyed_hashes_and_by_hashes_stored_before_the_key(
    tmp_path: Path,
    make_config: Callable[..., Path],
    scripted: dict[str, Any],
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Written before the hash key was set (plain hashes stored), echoed after: suppressed. Written and echoed
    under the key: suppressed; the stored hash is then the keyed one, not the plain SHA-256."""
    monkeypatch.delenv("ESB_BRIDGE_HASH_KEY", raising=False)
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}\n      system: erp", extra=SENSITIVE)
    cfg.write_text(
        cfg.read_text().replace("    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    echo: {system: erp}")
    )
    drop = tmp_path / "drop"
    write_customers(drop / "a.jsonl", 2)
    rows = [json.loads(x) for x in (drop / "a.jsonl").read_text().splitlines()]
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
    monkeypatch.setenv("ESB_BRIDGE_HASH_KEY", new_key("h")[2:])
    with Runner(load_config(cfg), clock) as runner:
        _drop(drop / "b.jsonl", rows)
        assert runner.run_once().ingest["customers"]["suppressed"] == 2
        changed = [{**r, "name": r["name"] + " v2"} for r in rows]
        _drop(drop / "c.jsonl", changed)
        assert runner.run_once().ingest["customers"]["suppressed"] == 0
        _drop(drop / "d.jsonl", changed)
        assert runner.run_once().ingest["customers"]["suppressed"] == 2
        with runner.ledger.engine.connect() as conn:
            stored = set(conn.scalars(select(t.last_writes.c.content_hash)))
    assert len(ScriptedSink.CALLS["legacy"]) == 4
    plain = {content_hash(Customer.model_validate(r)) for r in changed}
    assert len(stored) == 2 and not stored & plain


def test_a_change_recorded_under_its_unkeyed_hash_identity_keeps_its_id(store_url: str, clock: SimulatedClock) -> None:
    """A change-feed record without a version, re-read once the hash key is set, is the message recorded under
    its plain hash identity: same id, nothing recorded twice."""
    plain, keyed = "a" * 64, "b" * 64

    def msg(mid: str, digest: str, unkeyed: str | None = None) -> NewMessage:
        return NewMessage(
            id=mid,
            ordinal=0,
            identity=hash_identity("C-1", digest),
            canonical="Customer",
            business_key="C-1",
            content_hash=digest,
            payload="{}",
            transaction_id="t",
            mode="legacy_only",
            routes=(),
            unkeyed_hash=unkeyed,
        )

    with open_ledger(store_url, clock) as ledger:
        ledger.record_chunk("i", None, [msg("old", plain)], [])
        [adopted] = adopt_hash_identities(ledger, "i", [msg("new", keyed, unkeyed=plain)])
        assert (adopted.id, adopted.identity) == ("old", hash_identity("C-1", plain))
        [other] = adopt_hash_identities(ledger, "i", [msg("new", keyed, unkeyed="c" * 64)])
        assert other.id == "new"
