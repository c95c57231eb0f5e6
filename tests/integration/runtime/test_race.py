"""Two delivery worker processes race on one PostgreSQL backlog; one is paused (SIGSTOP) past its lease.

What is counted, at the sink (``CallFileSink``: one file per call, every call, duplicates included):

* every record's message reaches the sink, and no message is called more than twice;
* a second call of a message is only ever the stale worker's call made BEFORE it was paused (its attempt
  landed, but its claim was lost before it could record the outcome, so the other worker delivered it
  again under the same message id, the target's idempotency key); the resumed worker makes no call at all;
* per business key, the calls land in version order (duplicates included).

And in the ledger: every delivery is delivered with exactly one attempt row (the resumed worker's outcome
was refused by the claim token, and it logged each lost claim at WARNING).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.config import load_config
from bridge.ports import SystemClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.engine import make_engine
from samples.demo_app.generate import customer
from tests.integration.runtime import race_child  # noqa: F401  (registers the callfile sink here too)

KEYS, VERSIONS = 20, 3
TARGET = "customers:legacy"
ROOT = Path(__file__).resolve().parents[3]


def _config(make_config: Callable[..., Path], calls: Path, name: str, rate: float) -> Path:
    """The runtime tests' config with the callfile sink, a 3 s lease, batches of 5 and this worker's rate."""
    sink = f'{{kind: callfile, dir: "{calls}"}}\n      limits: {{rate: {rate}, batch: 5}}'
    cfg = make_config(sink, extra="lease: 3s")
    return cfg.rename(cfg.with_name(f"{name}.yaml"))


def _backlog(tmp: Path) -> None:
    """KEYS customers in VERSIONS versions each, interleaved (v1 of every key, then v2, ...)."""
    rng = random.Random(7)
    rows = []
    for v in range(1, VERSIONS + 1):
        for k in range(1, KEYS + 1):
            row = customer(rng, k)
            row["name"] = f"{row['name']} v{v}"
            rows.append(json.dumps(row))
    drop = tmp / "drop"
    drop.mkdir()
    (drop / "c.tmp").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (drop / "c.tmp").rename(drop / "c.jsonl")


def _start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.runtime.race_child", str(cfg), TARGET],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _calls(folder: Path) -> list[tuple[int, int, str, int]]:
    """(landed at ns, pid, message id, attempt) of every call, in landing order."""
    out = []
    for f in folder.iterdir() if folder.exists() else ():
        if f.name.startswith("."):
            continue
        ns, pid, rest = f.name.split("-", 2)
        mid, attempt = rest.rsplit("-", 1)
        out.append((int(ns), int(pid), mid, int(attempt)))
    return sorted(out)


def _wait(cond: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.005)
    pytest.fail(f"{what} not reached in {timeout}s")


@pytest.mark.parametrize("store_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_paused_worker_past_its_lease_records_nothing_and_each_record_lands_once(
    tmp_path: Path, store_url: str, make_config: Callable[..., Path]
) -> None:
    """SIGSTOP one of two racing workers past its lease: no outcome from it, one delivery per record, in order."""
    _backlog(tmp_path)
    calls_dir = tmp_path / "calls"
    slow = _config(make_config, calls_dir, "slow", rate=1)
    fast = _config(make_config, calls_dir, "fast", rate=10)
    with Runner(load_config(slow), SystemClock()) as runner:  # ingest only: the workers are the children
        runner.poll_all()
    engine = make_engine(store_url)
    with engine.connect() as conn:
        ordinal = {r.id: (r.business_key, r.ordinal) for r in conn.execute(select(t.messages))}
    assert len(ordinal) == KEYS * VERSIONS
    a = _start(slow, tmp_path / "a.log")
    b = _start(fast, tmp_path / "b.log")
    try:
        _wait(lambda: any(pid == a.pid for _, pid, _, _ in _calls(calls_dir)), "a call by the slow worker", 60)
        a.send_signal(signal.SIGSTOP)  # in its rate-limiter wait, holding the rest of its batch
        stopped = time.time_ns()
        assert b.wait(120) == 0, (tmp_path / "b.log").read_text()  # it reaps the lapsed claims and drains
        resumed = time.time_ns()
        a.send_signal(signal.SIGCONT)
        assert a.wait(60) == 0, (tmp_path / "a.log").read_text()
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(10)
    calls = _calls(calls_dir)
    with engine.connect() as conn:
        statuses = conn.execute(select(t.deliveries.c.status, func.count()).group_by(t.deliveries.c.status)).all()
        attempts = dict(
            conn.execute(select(t.attempts.c.delivery_id, func.count()).group_by(t.attempts.c.delivery_id)).all()
        )
        delivery_of = dict(conn.execute(select(t.deliveries.c.message_id, t.deliveries.c.id)).all())
        open_dls = conn.scalar(select(func.count()).select_from(t.dead_letters))
    engine.dispose()
    a_log = (tmp_path / "a.log").read_text()

    # Ledger: one delivered outcome per delivery, nothing from the stale worker.
    assert statuses == [("delivered", KEYS * VERSIONS)]
    assert set(attempts.values()) == {1} and len(attempts) == KEYS * VERSIONS
    assert open_dls == 0
    # Sink: each message called; the resumed worker called nothing; repeats are its pre-pause calls only.
    per_message: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ns, pid, mid, _ in calls:
        per_message[mid].append((ns, pid))
    assert set(per_message) == set(ordinal)
    assert not [c for c in calls if c[1] == a.pid and c[0] >= resumed]
    repeated = {mid: seen for mid, seen in per_message.items() if len(seen) > 1}
    for mid, seen in repeated.items():
        (first_ns, first_pid), (second_ns, second_pid) = seen  # never three calls
        assert first_pid == a.pid and first_ns < stopped < second_ns and second_pid == b.pid, (mid, seen)
        assert f"delivery {delivery_of[mid]} lost" in a_log and "outcome is not recorded" in a_log
    assert "WARNING esb_bridge.runtime.delivery" in a_log
    assert "not sent" in a_log  # the rest of its batch: claims it found lost before calling
    # Per-key order at the sink, duplicates included.
    by_key: dict[str, list[int]] = defaultdict(list)
    for _, _, mid, _ in calls:
        key, n = ordinal[mid]
        by_key[key].append(n)
    assert all(seq == sorted(seq) for seq in by_key.values()), dict(by_key)
