"""No silent empty file: a drop whose root the mapping does not expect is a failed batch in ``run --once``.

It goes to the error folder with a sidecar, the dead-letter queue holds one batch entry naming the root element
and the expected one, and the failure is logged; a good drop next to it is delivered as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from tests.integration.runtime.conftest import ScriptedSink
from tests.unit.translators.support import MAPPINGS, SAMPLES

ORDER = b'<?xml version="1.0"?>\n<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>7</ID></Order>'


def _config(make_config: Callable[..., Path]) -> Path:
    """The runtime tests' config with its interface turned into a UBL invoice feed over XML drops."""
    cfg = make_config("{kind: scripted, name: legacy}")
    text = cfg.read_text(encoding="utf-8")
    text = text.replace("canonical: Customer", "canonical: Invoice").replace('["*.jsonl"]', '["*.xml"]')
    text = text.replace("decoder: {kind: jsonl}", f"decoder: {{kind: xml, mapping: '{MAPPINGS / 'ubl-invoice.yaml'}'}}")
    assert "kind: xml" in text and "*.xml" in text
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_file_with_unexpected_root_is_dead_lettered_and_moved_to_errors(
    tmp_path: Path,
    make_config: Callable[..., Path],
    scripted: dict[str, Any],
    clock: SimulatedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An UBL Order dropped where invoices are expected fails as a batch; the invoice beside it is delivered."""
    scripted["legacy"] = {"then": "ok"}
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "order.xml").write_bytes(ORDER)
    (drop / "invoice.xml").write_bytes((SAMPLES / "ubl" / "invoice-default-ns.xml").read_bytes())
    with caplog.at_level(logging.ERROR), Runner(load_config(_config(make_config)), clock) as runner:
        runner.run_once()
        with runner.ledger.engine.connect() as conn:
            dead = conn.execute(select(t.dead_letters.c.kind, t.dead_letters.c.error, t.dead_letters.c.location)).all()
    [(kind, error, where)] = dead
    assert kind == "batch"
    assert error["type"] == "DecodeError"
    message = error["message"]
    assert "root element {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order" in message
    assert "expected {urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice" in message
    assert where is not None and str(where.get("file", "")).endswith("order.xml")
    assert any(
        r.getMessage() == "batch_failed" and r.origin.endswith("order.xml")  # type: ignore[attr-defined]
        for r in caplog.records
    )
    leftovers = {p.name for p in tmp_path.rglob("order.xml*") if p.is_file()}
    assert "order.xml.error.json" in leftovers
    assert not (drop / "order.xml").exists()
    assert len(ScriptedSink.CALLS["legacy"]) == 1
