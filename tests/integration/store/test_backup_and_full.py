"""``ledger backup`` of a live ledger, restored and run on; and a full ledger that stops intake cleanly.

The backup is taken while a real ``esb-bridge run`` process delivers to the SOAP simulator; the restored ledger
is read by ``status`` and ``run --once`` goes on from it: every invoice at the ERP once (what was delivered
after the backup is sent again under the same message id and is a repeat there). The full ledger is SQLite
capped by ``?max_pages=N``: the poll fails with a clear error, the drop file stays, and once there is room the
next pass delivers every record exactly once (counted in the sink's folder).
"""

from __future__ import annotations

import json
import signal
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli.main import cli
from bridge.ports import ConfigError
from bridge.runtime.exitcodes import RunProblem
from samples.legacy_erp.simulator import ErpSimulator
from tests.integration.runtime.conftest import customers_config, write_customers
from tests.integration.runtime.test_shutdown import N, _ledger, _project, _start, _stop, _wait_for_posts, erp

__all__ = ["erp"]  # the SOAP simulator fixture, shared with the shutdown tests


def test_backup_during_a_run_restores_and_the_run_continues_without_loss_or_duplicates(
    tmp_path: Path, erp: ErpSimulator
) -> None:
    """Backup mid-run, restore it over the ledger: status reads it, run --once completes, N invoices at the ERP."""
    erp.set_knobs(latency=0.05)
    cfg = _project(tmp_path, erp, "5s")
    proc = _start(cfg)
    try:
        _wait_for_posts(erp, proc, 5)
        backup = tmp_path / "backups" / "ledger-backup.db"
        result = CliRunner().invoke(cli, ["--config", str(cfg), "ledger", "backup", str(backup)])
        assert result.exit_code == 0, result.output
        again = CliRunner().invoke(cli, ["--config", str(cfg), "ledger", "backup", str(backup)])
        assert isinstance(again.exception, ConfigError) and "exists" in str(again.exception)  # never overwritten
    finally:
        code, _, err = _stop(proc, signal.SIGTERM)
    assert code == 0, err
    with sqlite3.connect(backup) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        in_backup = check.execute("select count(*) from deliveries where status = 'delivered'").fetchone()[0]
    assert _ledger(tmp_path)["delivered"] >= in_backup  # the run went on after the backup

    ledger = tmp_path / "ledger.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{ledger}{suffix}").unlink(missing_ok=True)
    backup.replace(ledger)  # the documented restore: bridge stopped, file replaced, -wal/-shm removed
    status = CliRunner().invoke(cli, ["--config", str(cfg), "status", "--json"])
    assert status.exit_code == 0, status.output
    assert sum(json.loads(status.stdout)["invoices"]["messages"].values()) == N
    erp.set_knobs(latency=0)
    once = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "20"])
    assert once.exit_code == 0, once.output
    assert len(erp.store.invoices) == N
    assert len({i.invoice_id for i in erp.store.invoices.values()}) == N  # each posted once, repeats were no-ops
    left = _ledger(tmp_path)
    assert left["delivered"] == N and left["claims"] == 0


def _capped(tmp_path: Path, cap: int | None) -> Path:
    url = "sqlite:///ledger.db" + (f"?max_pages={cap}" if cap else "")
    return customers_config(tmp_path, url, "{kind: file, path: out}")


def test_a_full_ledger_stops_intake_with_a_clear_error_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The ledger may grow by 3 pages only: the poll of 400 customers fails (exit 4, "the ledger is full"), the
    file is not acknowledged, nothing half-recorded; with room again every customer is delivered once."""
    assert CliRunner().invoke(cli, ["--config", str(_capped(tmp_path, None)), "db", "upgrade"]).exit_code == 0
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    drop = write_customers(tmp_path / "drop" / "a.jsonl", 400)
    full = CliRunner().invoke(cli, ["--config", str(_capped(tmp_path, pages + 3)), "run", "--once", "--json"])
    assert full.exit_code == RunProblem.POLL_FAILED, full.output
    assert json.loads(full.stdout)["ingest"]["customers"]["poll_failed"] == 1
    assert "poll of customers failed: the ledger is full" in caplog.text
    assert drop.exists() and not list((tmp_path / "out").glob("*"))
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        assert db.execute("select count(*) from messages").fetchone() == (0,)
    room = CliRunner().invoke(cli, ["--config", str(_capped(tmp_path, None)), "run", "--once"])
    assert room.exit_code == 0, room.output
    assert len(list((tmp_path / "out").glob("*.json"))) == 400 and not drop.exists()


def test_backup_copies_sqlite_and_names_pg_dump_for_postgresql(store_url: str, tmp_path: Path) -> None:
    """On SQLite the backup is a complete ledger file; on PostgreSQL it refuses with the pg_dump command to run,
    without the password."""
    from bridge.ports import SimulatedClock
    from bridge.store.backup import backup_sqlite
    from bridge.store.ledger import open_ledger

    with open_ledger(store_url, SimulatedClock()) as ledger:
        ledger.acquire_lease("poll:x", timedelta(minutes=1))
        if store_url.startswith("sqlite"):
            result = backup_sqlite(ledger.engine, tmp_path / "b.db")
            with sqlite3.connect(result.path) as copy:
                assert copy.execute("select name from leases").fetchall() == [("poll:x",)]
            return
        with pytest.raises(ConfigError, match="pg_dump --format=custom --file") as caught:
            backup_sqlite(ledger.engine, tmp_path / "b.dump")
        assert "postgresql://postgres@127.0.0.1:5432/test" in str(caught.value)
