"""A running `esb-bridge run` (a real subprocess) picks up a `cutover set` within one poll cycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect, select

from bridge.store import schema as t
from bridge.store.engine import make_engine
from tests.integration.cutover.conftest import write_customers


def _cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ESB_BRIDGE_ACTOR": "tester"},
    )


def _routed(url: str) -> dict[str, tuple[str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("messages"):
                return {}
            rows = conn.execute(select(t.messages.c.business_key, t.messages.c.mode, t.messages.c.flag_version))
            return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        engine.dispose()


def _wait(pred: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_live_flag_change_reaches_a_running_bridge_within_one_poll_cycle(
    tmp_path: Path, two_path_config: Callable[..., Path], store_url: str
) -> None:
    """Poll every 1s; after `cutover set` the next file is routed by the new flag version, no restart."""
    cfg = two_path_config(mode="legacy_only", every="1s")
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(lambda: "C-00001" in _routed(store_url))
        assert _routed(store_url)["C-00001"] == ("legacy_only", 1)
        res = _cli(cfg, "cutover", "set", "customers", "--mode", "legacy_primary", "--reason", "shadow on")
        assert res.returncode == 0, res.stderr
        time.sleep(1.0)  # one poll cycle
        write_customers(tmp_path / "drop" / "b.jsonl", [2])
        started = time.monotonic()
        _wait(lambda: "C-00002" in _routed(store_url))
        assert time.monotonic() - started < 5.0  # picked up by the next polls, no restart
        assert _routed(store_url)["C-00002"] == ("legacy_primary", 2)
        _wait(lambda: any((tmp_path / "out" / "cloud").glob("*.json")))
        hist = _cli(cfg, "cutover", "history", "customers", "--json")
        assert '"actor": "tester"' in hist.stdout and '"action": "change"' in hist.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == 0
