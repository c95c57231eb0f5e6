"""Crash safety: SIGKILL `run --once` at three points chosen by watching the ledger; nothing lost or doubled.

What arrives is counted where it lands: the ``calllog`` sink (``tests/integration/runtime/calllog.py``) logs
every raw call, repeats included, so a redelivery by the runtime shows. A target applies a record once per
idempotency key (the message id), so "each record applied once" means one message id per record; a repeated
call must carry the same id and may only follow a process that was killed with that delivery in flight.
The same scenario run with the test-only switch that breaks idempotency (``bridge.runtime.sabotage``) must be
caught by those counts.
"""

from __future__ import annotations

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

from bridge.runtime.sabotage import BREAK_IDEMPOTENCY
from bridge.store import schema as t
from bridge.store.engine import make_engine
from tests.integration.runtime.calllog import read_calls
from tests.integration.runtime.conftest import write_customers

RECORDS = 50_000
CLI = "tests.integration.runtime.calllog"  # the bridge CLI with the calllog sink registered
IN_FLIGHT = 2 * 500  # concurrency x claim batch (max_batch: no growth): deliveries a kill may leave unrecorded


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
            [sys.executable, "-m", CLI, "--config", str(cfg), "run", "--once", "--max-wait", "30"],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    finally:
        log.close()


def _log(cfg: Path) -> str:
    return (cfg.parent / "bridge.log").read_text(errors="replace")[-3000:]


KILLED: dict[int, str] = {}  # pid -> kill point, of the processes this test killed


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
                KILLED[proc.pid] = what
                return seen
            time.sleep(0.01)
        pytest.fail(f"kill point '{what}' not reached in {timeout}s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def _crash_config(tmp_path: Path, make_config: Callable[..., Path]) -> Path:
    cfg = make_config(
        "{kind: calllog, path: out/calls.jsonl}\n      limits: {concurrency: 2, batch: 500, max_batch: 500}"
    )
    text = cfg.read_text().replace(
        "    decoder: {kind: jsonl}", "    decoder: {kind: jsonl}\n    acknowledge: on_delivery\n    chunk_size: 1000"
    )
    cfg.write_text(text)
    return cfg


def sink_problems(calls: list[dict[str, object]], records: int) -> list[str]:
    """What the raw calls at the sink show beyond "each record applied once, repeats only after a kill"."""
    problems = []
    ids_per_record: dict[object, set[object]] = {}
    for c in calls:
        ids_per_record.setdefault(c["customer_number"], set()).add(c["message_id"])
    twice = sorted(str(k) for k, ids in ids_per_record.items() if len(ids) > 1)
    if twice:
        problems.append(f"{len(twice)} record(s) applied under more than one idempotency key, e.g. {twice[:3]}")
    if len(ids_per_record) != records:
        problems.append(f"{len(ids_per_record)} distinct records reached the sink, {records} were dropped")
    per_process = Counter((c["pid"], c["message_id"]) for c in calls)
    resent = [k for k, n in per_process.items() if n > 1]
    if resent:
        problems.append(f"{len(resent)} message id(s) sent twice by one process, e.g. {resent[:3]}")
    last_call: dict[object, dict[str, object]] = {}
    early = []
    for c in calls:
        earlier = last_call.get(c["message_id"])
        if earlier is not None and KILLED.get(int(str(earlier["pid"]))) != "mid-delivery":
            early.append(c["message_id"])
        last_call[c["message_id"]] = c
    if early:
        problems.append(f"{len(early)} repeat(s) not after the mid-delivery kill, e.g. {early[:3]}")
    repeats = len(calls) - len(last_call)
    if repeats > IN_FLIGHT:
        problems.append(f"{repeats} repeated calls, more than the {IN_FLIGHT} deliveries a kill can leave in flight")
    return problems


@pytest.mark.slow
def test_sigkill_at_three_points_loses_and_doubles_nothing(
    tmp_path: Path, make_config: Callable[..., Path], store_url: str
) -> None:
    """50,000 records survive SIGKILL mid-decode, mid-delivery and before acknowledge: each is applied once."""
    KILLED.clear()
    cfg = _crash_config(tmp_path, make_config)
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
    calls = read_calls(tmp_path / "out" / "calls.jsonl")
    assert sink_problems(calls, RECORDS) == []
    assert len({c["message_id"] for c in calls}) == RECORDS
    assert not drop.exists() and (tmp_path / "drop" / "archive" / "customers.jsonl").exists()
    assert mid_decode[1] < RECORDS and mid_delivery[2] < RECORDS and before_ack[2] == RECORDS


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_broken_idempotency_is_caught_by_the_sink_count(
    tmp_path: Path, make_config: Callable[..., Path], store_url: str
) -> None:
    """With message ids made random on purpose, a SIGKILL mid-decode and a rerun apply records twice: caught."""
    KILLED.clear()
    records = 10_000
    broken = {BREAK_IDEMPOTENCY: "random-message-ids"}
    cfg = _crash_config(tmp_path, make_config)
    write_customers(tmp_path / "drop" / "customers.jsonl", records)
    engine = make_engine(store_url)
    try:
        _kill_when(_run(cfg, broken), engine, lambda s, m, d: s == "claimed" and 0 < m < records, "mid-decode")
        final = _run(cfg, broken)
        final.wait(timeout=300)
        assert final.returncode == 0, _log(cfg)
    finally:
        engine.dispose()
    problems = sink_problems(read_calls(tmp_path / "out" / "calls.jsonl"), records)
    assert problems and "applied under more than one idempotency key" in problems[0], problems


def test_sink_count_flags_what_the_file_sink_would_hide() -> None:
    """Same-id repeats that a deduplicating sink hides are flagged: one process resending, a repeat with no kill."""
    KILLED.clear()
    KILLED.update({101: "mid-decode", 102: "mid-delivery"})
    call = {"pid": 102, "message_id": "m1", "customer_number": "C1"}
    assert sink_problems([call, {**call, "pid": 103}], 1) == []  # in flight at the mid-delivery kill: allowed
    resent = sink_problems([{**call, "pid": 103}, {**call, "pid": 103}], 1)
    assert len(resent) == 2 and "sent twice by one process" in resent[0] and "not after" in resent[1]
    after_clean_exit = sink_problems([{**call, "pid": 104}, {**call, "pid": 103}], 1)
    assert after_clean_exit == ["1 repeat(s) not after the mid-delivery kill, e.g. ['m1']"]
