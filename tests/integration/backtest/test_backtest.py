"""Backtests: a generated archive replayed through the new path, kept apart from live evidence."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import func, select

from bridge.cli.main import cli
from bridge.cli.progress import RunProgress
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.backtest import Backtest, BacktestRefused
from bridge.store import schema as t
from bridge.store.ledger import open_ledger
from cutover.backtests import backtest_url
from cutover.gates import wilson_lower_bound
from tests.integration.backtest.archive import write_archive, write_config
from tests.integration.backtest.conftest import BUILT


def _levels(url: str) -> dict[str, tuple[int, int]]:
    """Per comparison level: (rows, distinct messages)."""
    c = t.comparisons
    with open_ledger(url, SimulatedClock()) as ledger, ledger.engine.connect() as conn:
        rows = conn.execute(
            select(c.c.level, func.count(), func.count(func.distinct(c.c.message_id))).group_by(c.c.level)
        ).all()
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def test_backtest_finds_exactly_the_planted_differences_and_the_gate_verdict(tmp_path: Path) -> None:
    """Rounding, truncation and a dropped record come back as exactly those mismatches and one orphan; the
    verdict is the gate rule applied to those figures; no live sink is built or called, the live ledger stays
    empty."""
    planted = write_archive(tmp_path)
    loaded = load_config(write_config(tmp_path))
    state = Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out").run()
    assert BUILT == {}  # neither live sink was even built
    assert not (tmp_path / "live.db").exists()
    v = state.verdict
    assert v is not None and state.cloud == "dry_run" and state.finished
    differing = planted.rounded | planted.truncated
    compared = planted.total - len(planted.dropped)
    matched = compared - len(differing)
    assert (v["compared"], v["matched"], v["orphans"], v["critical_open"]) == (
        compared,
        matched,
        1,
        len(planted.rounded),
    )
    assert v["span_days"] > 9  # ten days of archive, each compared at its own time
    lower = wilson_lower_bound(matched, compared, 0.95)
    assert v["reasons"] == [
        f"match rate lower bound {lower:.4f} < 0.9 ({matched}/{compared} matched)",
        f"{len(planted.rounded)} open mismatch(es) on critical fields",
        "no real cloud delivery finished in the window: a dry-run shadow proves no error rate",
        f"orphan rate {1 / planted.total:.4f} > 0.01",
    ]
    assert not v["ready"]
    url = backtest_url(loaded, state.id)
    with open_ledger(url, SimulatedClock()) as ledger:
        rows = ledger.comparisons("invoices", statuses=("mismatch",), levels=("payload",))
        orphans = ledger.comparisons("invoices", statuses=("orphan",))
    by_key = {r.business_key: {e["path"].split(".")[0] for e in r.diff["entries"]} for r in rows}
    assert set(by_key) == differing
    assert {k for k, paths in by_key.items() if "tax_total" in paths} == planted.rounded
    assert {k for k, paths in by_key.items() if "lines" in paths} == planted.truncated
    assert {r.business_key for r in orphans} == planted.dropped
    assert orphans[0].diff == {"missing": "legacy"}


def test_sandbox_backtest_reaches_the_sandbox_and_never_the_live_sink(tmp_path: Path) -> None:
    """With a shadow_sink the cloud path delivers there; the live cloud sink is never built."""
    planted = write_archive(tmp_path, days=3)
    loaded = load_config(write_config(tmp_path, sandbox=True))
    state = Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out").run()
    assert state.cloud == "sandbox" and set(BUILT) == {"sandbox"}
    assert len({d.message_id for d in BUILT["sandbox"].calls}) == planted.total
    assert state.verdict is not None and state.verdict["cloud_deliveries"] == planted.total


def test_a_cloud_path_that_can_run_neither_dry_nor_to_a_sandbox_is_refused(tmp_path: Path) -> None:
    """An observed cloud path has nothing to run dry and no sandbox: refused before anything is written."""
    write_archive(tmp_path, days=1)
    loaded = load_config(write_config(tmp_path, cloud_kind="observe"))
    with pytest.raises(BacktestRefused, match="cannot run dry"):
        Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out")
    assert not (tmp_path / "backtests").exists()


def test_readiness_shows_backtests_beside_live_and_an_accepting_gate_promotes_on_one(tmp_path: Path) -> None:
    """`cutover readiness` lists the backtest's verdict apart from the live figures; a gate with
    `backtest: accept` lets `cutover set` promote on it and the audit entry names it in evidence_from."""
    write_archive(tmp_path, days=4, round_every=0, truncate_every=0, drop=())
    cfg = write_config(tmp_path, sandbox=True, accept=True, min_match=0.8)
    run = CliRunner()
    res = run.invoke(
        cli,
        ["--config", str(cfg), "backtest", "invoices", "--inputs", str(tmp_path / "inputs")]
        + ["--legacy-outputs", str(tmp_path / "legacy-out"), "--id", "clean", "--json"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["verdict"]["ready"]
    text = run.invoke(cli, ["--config", str(cfg), "cutover", "readiness", "invoices"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert "      0 compared" in lines[0] and "not ready" in lines[0]
    assert lines[1] == "  backtest clean: would be ready"
    set_up = run.invoke(cli, ["--config", str(cfg), "cutover", "set", "invoices", "--mode", "legacy_primary"])
    assert set_up.exit_code == 0, set_up.output
    promote = ["--config", str(cfg), "cutover", "set", "invoices", "--mode", "dual_write", "--json"]
    assert run.invoke(cli, promote).exit_code == 0
    history = json.loads(run.invoke(cli, ["--config", str(cfg), "cutover", "history", "invoices", "--json"]).output)
    assert history[0]["action"] == "promote"
    assert history[0]["evidence"]["evidence_from"] == "backtest:clean"
    assert history[0]["evidence"]["live"]["compared"] == 0


def test_an_ignoring_gate_does_not_count_a_ready_backtest(tmp_path: Path) -> None:
    """`backtest: ignore` (the default): a backtest that would be ready opens nothing."""
    write_archive(tmp_path, days=4, round_every=0, truncate_every=0, drop=())
    cfg = write_config(tmp_path, sandbox=True, min_match=0.8)
    loaded = load_config(cfg)
    assert Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out").run().verdict["ready"]  # type: ignore[index]
    run = CliRunner()
    assert (
        run.invoke(cli, ["--config", str(cfg), "cutover", "set", "invoices", "--mode", "legacy_primary"]).exit_code == 0
    )
    res = run.invoke(cli, ["--config", str(cfg), "cutover", "set", "invoices", "--mode", "dual_write"])
    assert res.exit_code == 3


def test_the_report_of_a_backtest_in_every_format_and_what_changed_since_another(tmp_path: Path) -> None:
    """`shadow report --backtest B` says what the gate would have said, lists the mismatch classes and the
    rules they would need, in JSON, HTML, CSV and JUnit; `--compare-to` shows what a fix changed."""
    planted = write_archive(tmp_path, days=4)
    fixed = write_archive(tmp_path / "fixed", days=4, truncate_every=0)  # the name mapping was fixed
    cfg = write_config(tmp_path)
    loaded = load_config(cfg)
    Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out", backtest_id="before").run()
    Backtest(
        loaded, "invoices", tmp_path / "fixed" / "inputs", tmp_path / "fixed" / "legacy-out", backtest_id="after"
    ).run()
    run = CliRunner()
    base = ["--config", str(cfg), "shadow", "report", "--backtest", "after", "--compare-to", "before"]
    data = json.loads(run.invoke(cli, [*base, "--format", "json"]).output)
    bt = data["backtest"]
    assert bt["verdict"].startswith(
        "had you shadowed invoices from 2026-01-05 to 2026-01-08, the gate would have said: not ready: "
    )
    classes = {c["path"]: c["count"] for c in bt["mismatch_classes"]}
    assert classes == {k: len(fixed.rounded) for k in ("payable_amount", "tax_inclusive_amount", "tax_total")}
    assert [r["path"] for r in bt["suggested_rules"]] == [c["path"] for c in bt["mismatch_classes"]]
    assert all(r["expires"] and r["reason"].startswith("backtest after: ") for r in bt["suggested_rules"])
    change = {r["path"]: r["change"] for r in bt["compare_to"]["classes"]}
    assert change["lines.*.description"] == "fixed" and change["tax_total"] == "same"
    assert bt["compare_to"]["figures"]["matched"]["before"] == data["interfaces"]["invoices"]["matched"] - len(
        planted.truncated - planted.rounded
    )
    html = run.invoke(cli, [*base, "--format", "html"]).output
    assert "data-backtest='after'" in html and "Changes since backtest before" in html
    csv_text = run.invoke(cli, [*base, "--format", "csv"]).output
    assert "invoices,mismatch-class,after," in csv_text
    junit = run.invoke(cli, [*base, "--format", "junit"]).output
    assert 'testsuite name="backtest after"' in junit and 'name="mismatch class tax_total"' in junit


def test_a_killed_backtest_resumes_without_duplicating_comparisons(tmp_path: Path) -> None:
    """SIGKILL after the first day's comparisons (the `backtest_slice` failpoint), start again with the same id:
    the backtest finishes, every message is compared once per level, and the live file sinks stay untouched."""
    planted = write_archive(tmp_path, days=4)
    cfg = write_config(tmp_path, files=True)
    args = ["backtest", "invoices", "--inputs", str(tmp_path / "inputs")]
    args += ["--legacy-outputs", str(tmp_path / "legacy-out"), "--id", "k"]
    env = {**os.environ, "ESB_BRIDGE_FAILPOINTS": "backtest_slice=pause:60"}
    child = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(cfg), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = tmp_path / "backtests" / "k.db"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _payload_rows(db):
            time.sleep(0.2)
        time.sleep(1.0)  # past the slice's last comparison: paused at the failpoint
        assert child.poll() is None, "the backtest ended before it could be killed"
        first = _payload_rows(db)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    state = json.loads((tmp_path / "backtests" / "k.json").read_text())
    assert 0 < first < planted.total and state["done"] == [] and state["finished_at"] is None
    loaded = load_config(cfg)
    resumed = Backtest(loaded, "invoices", tmp_path / "inputs", tmp_path / "legacy-out", backtest_id="k").run()
    assert resumed.runs == 2 and resumed.done == resumed.slices and len(resumed.slices) == 4
    compared = planted.total - len(planted.dropped)
    levels = _levels(backtest_url(loaded, "k"))
    assert all(rows == distinct for rows, distinct in levels.values()), levels
    assert levels["payload"][0] == compared and levels["pairing"][0] == planted.total
    assert resumed.verdict is not None and resumed.verdict["compared"] == compared
    assert not (tmp_path / "live-out").exists()


def _payload_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM comparisons WHERE level = 'payload'").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def test_progress_on_a_terminal_counts_records_deliveries_and_days(tmp_path: Path) -> None:
    """On a terminal a backtest shows the records ingested, the dry-run deliveries and the days replayed."""
    planted = write_archive(tmp_path, days=2)
    out = io.StringIO()
    shown = RunProgress(Console(file=out, force_terminal=True, width=100))
    run = Backtest(
        load_config(write_config(tmp_path)),
        "invoices",
        tmp_path / "inputs",
        tmp_path / "legacy-out",
        progress=shown.ingested,
        delivery_progress=shown.delivered,
        on_slice=lambda _key, _done, _total: shown.sliced("invoices"),
    )
    with shown:
        run.run()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert re.search(rf"ingest invoices +{planted.total} records", text), text
    assert re.search(rf"deliver invoices:cloud +{planted.total} attempts", text), text
    assert re.search(r"backtest invoices +2 days", text), text
