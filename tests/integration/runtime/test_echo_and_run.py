"""Echo suppression, rate limits and the continuous `esb-bridge run` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.limits import RateLimiter
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from tests.integration.runtime.conftest import ScriptedSink, write_customers


def test_echo_of_our_own_write_is_recorded_and_dropped(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A record read back from a system equal to the bridge's last write there is suppressed; a change is not."""
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}\n      system: erp", extra="")
    cfg.write_text(
        cfg.read_text().replace("    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    echo: {system: erp}")
    )
    write_customers(tmp_path / "drop" / "a.jsonl", 3)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        assert len(ScriptedSink.CALLS["legacy"]) == 3
        # The same three customers come back (the ERP's change feed echoing our writes), one of them changed.
        rows = [json.loads(x) for x in (tmp_path / "drop" / "archive" / "a.jsonl").read_text().splitlines()]
        rows[1]["name"] = "Changed by a user"
        (tmp_path / "drop" / "b.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        summary = runner.run_once()
        with runner.ledger.engine.connect() as conn:
            states = conn.execute(select(t.messages.c.state, t.messages.c.business_key)).all()
    assert summary.ingest["customers"]["suppressed"] == 2
    assert len(ScriptedSink.CALLS["legacy"]) == 4
    assert ScriptedSink.CALLS["legacy"][-1].business_key == rows[1]["customer_number"]
    assert sorted(s for s, _ in states).count("suppressed") == 2


def test_rate_limiter_spaces_acquisitions_on_the_clock() -> None:
    """At 5/s with a burst of 1, ten acquisitions take 1.8 simulated seconds."""
    clock = SimulatedClock()
    limiter = RateLimiter(5.0, clock, burst=1)
    start = clock.now()
    for _ in range(10):
        limiter.acquire()
    assert abs((clock.now() - start).total_seconds() - 1.8) < 1e-6


def test_continuous_run_delivers_new_drops_and_stops_on_sigterm(
    tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    """`esb-bridge run` picks up a file dropped while it runs, delivers it, and exits 0 on SIGTERM."""
    cfg = make_config("{kind: file, path: out}")
    cfg.write_text(
        cfg.read_text().replace("    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    schedule: {every: 1s}")
    )
    (tmp_path / "drop").mkdir()
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "run"], stdout=log, stderr=log, env=os.environ.copy()
    )
    try:
        time.sleep(2)
        write_customers(tmp_path / "drop" / "late.jsonl", 4)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list((tmp_path / "out").glob("*.json"))) < 4:
            time.sleep(0.2)
        assert len(list((tmp_path / "out").glob("*.json"))) == 4, (tmp_path / "run.log").read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        log.close()


def test_watchdog_wakes_the_poller_long_before_the_schedule(tmp_path: Path, make_config: Callable[..., Path]) -> None:
    """With polls scheduled hourly, a file dropped into a watched folder is still delivered within seconds."""
    cfg = make_config("{kind: file, path: out}")
    cfg.write_text(
        cfg.read_text().replace("    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    schedule: {every: 1h}")
    )
    (tmp_path / "drop").mkdir()
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "run"], stdout=log, stderr=log, env=os.environ.copy()
    )
    try:
        time.sleep(3)  # the start-up poll has run and found nothing
        write_customers(tmp_path / "drop" / "woken.jsonl", 2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list((tmp_path / "out").glob("*.json"))) < 2:
            time.sleep(0.2)
        assert len(list((tmp_path / "out").glob("*.json"))) == 2, (tmp_path / "run.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        log.close()
