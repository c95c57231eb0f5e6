"""The ``forward`` legacy path kind: the original batch bytes reach the old ESB's inbox unchanged, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from tests.integration.runtime.conftest import ScriptedSink, write_customers


def _forward_config(make_config: Callable[..., Path], tmp_path: Path, mode: str) -> Path:
    cfg = make_config("{kind: scripted, name: unused}", cloud_sink="{kind: scripted, name: cloud}", mode=mode)
    inbox = tmp_path / "esb-inbox"
    text = cfg.read_text().replace(
        "    legacy:\n      encoder: {kind: json}\n      sink: {kind: scripted, name: unused}",
        f"    legacy:\n      kind: forward\n      sink: {{kind: folder, path: '{inbox}', name_template: '{{name}}'}}",
    )
    cfg.write_text(text)
    return cfg


def test_forward_hands_the_original_file_to_the_inbox_once(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """legacy_primary + forward: the inbox gets the dropped file byte for byte; the cloud shadow runs dry, so
    each record is encoded and recorded as delivered but its sink is never called (the runtime keeps dry runs
    off the target)."""
    scripted["cloud"] = {"then": "ok"}
    cfg = _forward_config(make_config, tmp_path, "legacy_primary")
    drop = write_customers(tmp_path / "drop" / "customers.jsonl", 3)
    original = drop.read_bytes()
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        runner.run_once()  # nothing new: no second forward
        with runner.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(t.deliveries.c.path, t.deliveries.c.role, t.deliveries.c.status, t.messages.c.canonical)
                .join(t.messages, t.messages.c.id == t.deliveries.c.message_id)
                .order_by(t.deliveries.c.id)
            ).all()
    inbox = tmp_path / "esb-inbox"
    assert sorted(p.name for p in inbox.iterdir()) == ["customers.jsonl"]
    assert (inbox / "customers.jsonl").read_bytes() == original
    forwards = [r for r in rows if r.canonical == "forward"]
    assert [(r.path, r.role, r.status) for r in forwards] == [("legacy", "authoritative", "delivered")]
    assert [(r.path, r.role, r.status) for r in rows if r.canonical != "forward"] == [
        ("cloud", "shadow", "delivered")
    ] * 3
    assert "cloud" not in ScriptedSink.CALLS, "a dry-run delivery reached its sink"
    assert not list((tmp_path / "spool" / "customers" / "forward").glob("*")), "spooled copy removed once delivered"


def test_nothing_is_forwarded_in_cloud_only(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """cloud_only routes no record to legacy, so the file is not forwarded."""
    scripted["cloud"] = {"then": "ok"}
    cfg = _forward_config(make_config, tmp_path, "cloud_only")
    write_customers(tmp_path / "drop" / "customers.jsonl", 2)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
    assert not (tmp_path / "esb-inbox").exists() or not list((tmp_path / "esb-inbox").iterdir())
    assert len(ScriptedSink.CALLS["cloud"]) == 2
