"""``run --once`` delivers released batches while later files are still being decoded, and never a file that
is not fully decoded."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from tests.integration.runtime.conftest import ScriptedSink, write_customers


def test_the_first_files_deliveries_go_out_while_the_second_file_decodes(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """While the second file's first chunk is being recorded, the first file's records reach the sink, and
    none of the second file's do before that file is fully decoded."""
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}")
    cfg.write_text(cfg.read_text().replace("    cutover:", "    chunk_size: 2\n    cutover:"), encoding="utf-8")
    write_customers(tmp_path / "drop" / "a.jsonl", 3, start=1)
    write_customers(tmp_path / "drop" / "b.jsonl", 6, start=101)
    chunks: list[int] = []
    seen_during_b: list[str] = []

    def progress(_name: str, n: int) -> None:
        chunks.append(n)
        if len(chunks) == 3:  # a.jsonl was 2 chunks (2 + 1 records): this is b.jsonl's first
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(ScriptedSink.CALLS.get("legacy", [])) < 3:
                time.sleep(0.02)
            seen_during_b.extend(d.business_key for d in ScriptedSink.CALLS.get("legacy", []))

    with Runner(load_config(cfg), clock, progress=progress) as runner:
        summary = runner.run_once()
    assert sorted(seen_during_b) == ["C-00001", "C-00002", "C-00003"]
    assert len(ScriptedSink.CALLS["legacy"]) == 9 and summary.drain.open_left == 0 and summary.drain.attempts == 9
