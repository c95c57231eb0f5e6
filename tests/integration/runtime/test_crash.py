"""Crash safety: SIGKILL `run --once` at three points chosen by watching the ledger; nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bridge.store import schema as t
from bridge.store.engine import make_engine
from tests.integration.runtime.conftest import write_customers

RECORDS = 50_000


def _counts(engine: Engine) -> tuple[str | None, int, int]:
    with engine.connect() as conn:
        state = conn.scalar(select(t.batches.c.state).where(t.batches.c.interface == "customers"))
        msgs = conn.scalar(select(func.count()).select_from(t.messages)) or 0
        done = (
            conn.scalar(select(func.count()).select_from(t.deliveries).where(t.deliveries.c.status == "delivered")) or 0
        )
    return state, int(msgs), int(done)


def _run(cfg: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    log = (cfg.parent / "bridge.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "bridge", "--config", str(cfg), "run", "--once", "--max-wait", "30"],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    finally:
        log.close()


def _log(cfg: Path) -> str:
    return (cfg.parent / "bridge.log").read_text(errors="replace")[-3000:]


def _kill_when(
    proc: subprocess.Popen[bytes],
    engine: Engine,
    cond: Callable[[str | None, int, int], bool],
    what: str,
    timeout: float = 240,
) -> tuple[str | None, int, int]:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"bridge exited ({proc.returncode}) before the kill point '{what}'")
            try:
                seen = _counts(engine)
            except Exception:  # the schema may not exist yet in the first instants
                seen = (None, 0, 0)
            if cond(*seen):
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                return seen
            time.sleep(0.01)
        pytest.fail(f"kill point '{what}' not reached in {timeout}s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


@pytest.mark.slow
def test_sigkill_at_three_points_loses_and_doubles_nothing(
    tmp_path: Path, make_config: Callable[..., Path], store_url: str
) -> None:
    """50,000 records survive SIGKILL mid-decode, mid-delivery and before acknowledge: each arrives exactly once."""
    cfg = make_config(
        "{kind: file, path: out, mode: append, fsync: false}\n      limits: {concurrency: 2, batch: 500}",
    )
    text = cfg.read_text().replace(
        "    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    acknowledge: on_delivery\n    chunk_size: 1000"
    )
    cfg.write_text(text)
    drop = write_customers(tmp_path / "drop" / "customers.jsonl", RECORDS)
    engine = make_engine(store_url)
    try:
        mid_decode = _kill_when(_run(cfg), engine, lambda s, m, d: s == "claimed" and 0 < m < RECORDS, "mid-decode")
        mid_delivery = _kill_when(_run(cfg), engine, lambda s, m, d: 1000 <= d <= RECORDS - 5000, "mid-delivery")
        before_ack = _kill_when(
            _run(cfg, {"ESB_BRIDGE_FAILPOINTS": "before_ack=pause:120"}),
            engine,
            lambda s, m, d: d == RECORDS and s == "decoded",
            "after delivery, before acknowledge",
        )
        assert drop.exists(), "the file must not be acknowledged before the kill"
        final = _run(cfg)
        final.wait(timeout=600)
        assert final.returncode == 0, _log(cfg)
        assert _counts(engine) == ("acknowledged", RECORDS, RECORDS)
    finally:
        engine.dispose()
    lines = (tmp_path / "out" / "deliveries.jsonl").read_text(encoding="utf-8").splitlines()
    per_id = Counter(json.loads(line)["message_id"] for line in lines)
    assert len(lines) == RECORDS, f"{len(lines)} writes for {RECORDS} records"
    assert len(per_id) == RECORDS and set(per_id.values()) == {1}
    keys = {json.loads(json.loads(line)["body"])["customer_number"] for line in lines}
    assert len(keys) == RECORDS
    assert not drop.exists() and (tmp_path / "drop" / "archive" / "customers.jsonl").exists()
    assert mid_decode[1] < RECORDS and mid_delivery[2] < RECORDS and before_ack[2] == RECORDS
