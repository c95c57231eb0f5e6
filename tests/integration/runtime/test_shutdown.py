"""SIGTERM to a real ``esb-bridge run`` process mid-batch, against the SOAP simulator: it exits within the
shutdown grace, leaves no claim or lease in the ledger and nothing half-recorded (every request the target
received has its attempt row); a second SIGTERM exits at once and the next start recovers what it left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from bridge.cli.main import cli
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from samples.legacy_erp.store import Customer
from tests.integration.reconcile.test_reconcile import MAPS, _invoice

N = 30


@pytest.fixture
def erp() -> Iterator[ErpSimulator]:
    with ErpSimulator() as sim:
        for n in (1, 2, 3):
            cid = f"C-{n:05d}"
            sim.store.customers[cid] = Customer(cid, f"C {n}", "DE", modified_at=datetime(2026, 1, 1, tzinfo=UTC))
        yield sim


def _project(tmp_path: Path, erp: ErpSimulator, grace: str) -> Path:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = [_invoice(n, datetime(2026, 1, 5).date()) for n in range(1, N + 1)]
    (drop / "inv.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: sqlite:///ledger.db
spool_dir: spool
shutdown_grace: {grace}
retry: {{initial: 1s, max_attempts: 3}}
interfaces:
  invoices:
    canonical: Invoice
    schedule: {{every: 1h}}
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: xslt, stylesheet: "{MAPS / "legacy-billing-soap.xsl"}"}}
      sink: {{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{erp.url}", operation: PostInvoice, operation_timeout: 60}}
      limits: {{concurrency: 2, batch: 100}}
    cutover: {{mode: legacy_only}}
""",
        encoding="utf-8",
    )
    return cfg


def _start(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "run", *args],
        cwd=cfg.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_posts(erp: ErpSimulator, proc: subprocess.Popen[bytes], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while erp.stats.requests < at_least:  # counted on arrival, before a latency or hang knob
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the bridge never started delivering"
        time.sleep(0.05)


def _ledger(tmp_path: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with engine.connect() as conn:
            q = {
                "claims": "select count(*) from deliveries where status = 'in_progress' or claimed_by is not null",
                "leases": "select count(*) from leases",
                "attempts": "select count(*) from attempts",
                "delivered": "select count(*) from deliveries where status = 'delivered'",
            }
            return {k: int(conn.execute(text(v)).scalar_one()) for k, v in q.items()}
    finally:
        engine.dispose()


def _stop(proc: subprocess.Popen[bytes], *signals: int) -> tuple[int, float, str]:
    began = time.monotonic()
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.05)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, time.monotonic() - began, err.decode()


def test_sigterm_mid_batch_finishes_in_flight_and_leaves_no_claims_or_leases(tmp_path: Path, erp: ErpSimulator) -> None:
    """Each post takes 0.5 s, a worker holds a claimed batch of up to 30: SIGTERM after 3 posts exits well within
    the 8 s grace, with every request the ERP received recorded as an attempt, and no claim or lease left."""
    erp.set_knobs(latency=0.5)
    proc = _start(_project(tmp_path, erp, "8s"))
    _wait_for_posts(erp, proc, 3)
    code, took, err = _stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert took < 8, f"took {took:.1f}s: {err}"  # the rest of the batch would take 13 s
    left = _ledger(tmp_path)
    posts = erp.stats.requests
    assert left["claims"] == 0 and left["leases"] == 0, left
    assert left["attempts"] == posts == left["delivered"] < N, (left, posts)


def test_a_hanging_call_is_abandoned_after_the_grace_and_redelivered_once(tmp_path: Path, erp: ErpSimulator) -> None:
    """A target that hangs: SIGTERM exits after the 1 s grace (not after the call), releases the claims; the
    next pass delivers every invoice, each stored once at the ERP."""
    erp.set_knobs(hang=20)
    cfg = _project(tmp_path, erp, "1s")
    proc = _start(cfg)
    _wait_for_posts(erp, proc, 1)
    code, took, err = _stop(proc, signal.SIGTERM)
    assert code == 0 and 1 <= took < 6, (code, took, err)
    left = _ledger(tmp_path)
    assert left["claims"] == 0 and left["leases"] == 0 and left["attempts"] == 0, left
    erp.set_knobs(hang=0)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "20"])
    assert result.exit_code == 0, result.output
    assert len(erp.store.invoices) == N and _ledger(tmp_path)["delivered"] == N


def test_second_sigterm_exits_at_once_and_the_next_start_recovers(tmp_path: Path, erp: ErpSimulator) -> None:
    """Two SIGTERMs: exit 143 at once, claims left behind; the next start releases the dead process's claims and
    lease and delivers the rest, each invoice stored once."""
    erp.set_knobs(hang=20)
    cfg = _project(tmp_path, erp, "30s")
    proc = _start(cfg)
    _wait_for_posts(erp, proc, 1)
    code, took, err = _stop(proc, signal.SIGTERM, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM and took < 3, (code, took, err)
    assert _ledger(tmp_path)["claims"] > 0  # what a killed process leaves
    erp.set_knobs(hang=0)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "20"])
    assert result.exit_code == 0, result.output
    assert len(erp.store.invoices) == N
    assert _ledger(tmp_path)["claims"] == 0 and _ledger(tmp_path)["delivered"] == N


def test_sigterm_ends_run_once_after_the_work_in_flight_with_exit_64(tmp_path: Path, erp: ErpSimulator) -> None:
    """``run --once`` takes the same signals: SIGTERM mid-batch ends the pass within the grace, exit 64 (work
    left open), no claim or lease left, every request the ERP received recorded; the next pass delivers the
    rest, each invoice stored once."""
    erp.set_knobs(latency=0.5)
    cfg = _project(tmp_path, erp, "8s")
    proc = _start(cfg, "--once", "--max-wait", "60")
    _wait_for_posts(erp, proc, 3)
    code, took, err = _stop(proc, signal.SIGTERM)
    assert code == 64 and took < 8, (code, took, err)
    assert "exit 64" in err
    left = _ledger(tmp_path)
    posts = erp.stats.requests
    assert left["claims"] == 0 and left["leases"] == 0, left
    assert left["attempts"] == posts == left["delivered"] < N, (left, posts)
    erp.set_knobs(latency=0)
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "20"])
    assert result.exit_code == 0, result.output
    assert len(erp.store.invoices) == N and _ledger(tmp_path)["delivered"] == N
