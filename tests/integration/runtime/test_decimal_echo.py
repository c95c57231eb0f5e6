"""Issue 17: echo suppression does not miss when the system echoes our write with another decimal scale."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from tests.integration.runtime.conftest import ScriptedSink, write_customers


def test_an_echo_spelled_with_another_scale_is_suppressed(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """We write credit limits ``5000.00``; the ERP's change feed echoes them as ``5000``: still our own write,
    suppressed (the scale-sensitive hash let it through, so it was delivered back: an echo loop)."""
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}\n      system: erp", extra="")
    cfg.write_text(
        cfg.read_text().replace("    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    echo: {system: erp}")
    )
    drop = tmp_path / "drop"
    write_customers(drop / "a.jsonl", 3)
    rows = [json.loads(x) for x in (drop / "a.jsonl").read_text().splitlines()]
    (drop / "a.jsonl").write_text("".join(json.dumps({**r, "credit_limit": "5000.00"}) + "\n" for r in rows))
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        assert len(ScriptedSink.CALLS["legacy"]) == 3
        (drop / "b.jsonl").write_text("".join(json.dumps({**r, "credit_limit": "5000"}) + "\n" for r in rows))
        summary = runner.run_once()
    assert summary.ingest["customers"]["suppressed"] == 3
    assert len(ScriptedSink.CALLS["legacy"]) == 3, "an echo of our own write was delivered again"
