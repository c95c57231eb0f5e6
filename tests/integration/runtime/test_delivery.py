"""Delivery workers end to end through the runtime, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.replay import replay
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.queries import dead_letters
from tests.integration.runtime.conftest import ScriptedSink, write_customers
from tests.unit.translators.support import MAPPINGS


def test_failing_sink_is_retried_with_configured_backoff(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A sink that fails twice then succeeds is attempted at t0, t0+1s, t0+3s (backoff 1s x2, on the Clock)."""
    scripted["legacy"] = {"steps": ["fail", "fail"], "then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}")
    write_customers(tmp_path / "drop" / "c.jsonl", 1)
    t0 = clock.now()
    with Runner(load_config(cfg), clock) as runner:
        summary = runner.run_once()
        with runner.ledger.engine.connect() as conn:
            attempts = conn.execute(
                select(t.attempts.c.started_at, t.attempts.c.status).order_by(t.attempts.c.id)
            ).all()
            status = conn.scalar(select(t.deliveries.c.status))
    assert [a.status for a in attempts] == ["failed", "failed", "delivered"]
    assert [(a.started_at - t0).total_seconds() for a in attempts] == [0.0, 1.0, 3.0]
    assert clock.sleeps[:2] == [1.0, 2.0]
    assert status == "delivered" and summary.drain.open_left == 0
    assert len(ScriptedSink.CALLS["legacy"]) == 3


def test_rejecting_sink_dead_letters_then_replay_delivers(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A rejecting sink's delivery lands in the DLQ with the record's location; replay after the fix delivers."""
    scripted["legacy"] = {"then": "reject"}
    cfg = make_config("{kind: scripted, name: legacy}")
    drop = write_customers(tmp_path / "drop" / "c.jsonl", 3)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        dls = dead_letters(runner.ledger.engine)
        assert len(dls) == 3
        assert {d["kind"] for d in dls} == {"delivery"}
        # the drop was archived after the commit: a delivery that dies later still names the archived file
        archived = drop.parent / "archive" / drop.name
        assert archived.exists() and dls[0]["location"]["file"] == archived.as_uri()
        assert dls[0]["location"]["moved_from"] == drop.as_uri() and dls[0]["location"]["line"] == 1
        assert "customer unknown" in dls[0]["error"]["message"]
        assert len(ScriptedSink.CALLS["legacy"]) == 3  # permanent: no retry
        scripted["legacy"] = {"then": "ok"}
        for d in dls:
            replay(runner, d["id"], "tester")
        runner.drain()
        with runner.ledger.engine.connect() as conn:
            statuses = conn.scalars(select(t.deliveries.c.status)).all()
            audit = conn.scalars(select(t.audit_events.c.action)).all()
        assert statuses == ["delivered"] * 3
        assert dead_letters(runner.ledger.engine) == []
        assert audit == ["dlq.replay"] * 3


def test_bad_record_goes_to_dlq_and_the_file_goes_on(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A malformed line becomes a record dead letter with its line; every other record is delivered."""
    scripted["legacy"] = {"then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}")
    write_customers(tmp_path / "drop" / "c.jsonl", 5, bad_lines={2: '{"customer_number": "X", "currency": 1.5}'})
    with Runner(load_config(cfg), clock) as runner:
        summary = runner.run_once()
        dls = dead_letters(runner.ledger.engine)
    assert summary.ingest["customers"]["dead_letters"] == 1
    assert len(ScriptedSink.CALLS["legacy"]) == 5
    assert dls[0]["kind"] == "record" and dls[0]["location"]["line"] == 3
    assert (tmp_path / "drop" / "archive" / "c.jsonl").exists()


def test_xrefs_park_dependent_deliveries(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A delivery whose reference has no xref yet is parked (DependencyPending) and goes once the xref exists."""
    scripted["legacy"] = {"then": "ok"}
    extra = ""
    cfg = make_config("{kind: scripted, name: legacy}", extra=extra)
    text = cfg.read_text().replace(
        "      sink: {kind: scripted, name: legacy}",
        "      sink: {kind: scripted, name: legacy}\n      references: [{entity: customer, field: customer_number,"
        " system: erp}]",
    )
    cfg.write_text(text)
    write_customers(tmp_path / "drop" / "c.jsonl", 1)
    with Runner(load_config(cfg), clock) as runner:
        runner.poll_all()
        runner.drain(max_wait=5)
        assert ScriptedSink.CALLS.get("legacy", []) == []
        runner.ledger.put_xref("customer", "erp", "C-00001", "erp-1")
        runner.drain(max_wait=120)
    calls = ScriptedSink.CALLS["legacy"]
    assert len(calls) == 1


def test_validate_reports_every_mistake_with_its_line(tmp_path: Path) -> None:
    """`esb-bridge validate` on a config with three distinct mistakes reports all three, each with its line."""
    from bridge.cli.main import cli

    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        """store: sqlite:///x.db
interfaces:
  customers:
    canonical: Custmer
    source: {kind: folder, path: drop, readiness: {rule: rename}}
    decoder: {kind: jsonl}
    legacy:
      encoder: {kind: json}
      sink: {kind: file, path: out, colour: blue}
    cutover: {mode: legacy_only}
  invoices:
    canonical: Invoice
    source: {kind: folder, path: drop2, readiness: {rule: rename}}
    decoder: {kind: xmll}
    legacy:
      encoder: {kind: json}
      sink: {kind: file, path: out2}
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(cfg), "validate"])
    assert result.exit_code == 2
    out = result.output
    assert f"{cfg}:4: interfaces.customers.canonical" in out
    assert f"{cfg}:9: interfaces.customers.legacy.sink.colour" in out
    assert f"{cfg}:14: interfaces.invoices.decoder.kind" in out
    assert "3 problems" in out


def test_drain_sleeps_until_a_blocked_keys_head_is_due(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """Two versions of one key behind a failing first attempt: drain sleeps on the Clock, then delivers in order."""
    import json

    scripted["legacy"] = {"steps": ["fail"], "then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}")
    drop = tmp_path / "drop"
    drop.mkdir()
    row = {"customer_number": "C-1", "name": "First", "currency": "EUR"}
    (drop / "x.tmp").write_text(json.dumps(row) + "\n" + json.dumps({**row, "name": "Second"}) + "\n")
    (drop / "x.tmp").rename(drop / "x.jsonl")
    with Runner(load_config(cfg), clock) as runner:
        summary = runner.run_once(max_wait=60)
    names = [json.loads(c.payload.body)["name"] for c in ScriptedSink.CALLS["legacy"]]
    assert names == ["First", "First", "Second"]
    assert summary.drain.open_left == 0 and summary.drain.rounds < 10


def test_csv_record_dead_letter_replays_after_the_mapping_fix(
    tmp_path: Path, store_url: str, scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A CSV row that fails the mapping is dead-lettered; after the mapping is fixed, replay records and delivers it
    under its original message id (the fragment carries the header, so replay finds the columns)."""
    scripted["legacy"] = {"then": "ok"}
    mapping = tmp_path / "customers.yaml"
    good = (MAPPINGS / "customer-master-csv.yaml").read_text(encoding="utf-8")
    mapping.write_text(good.replace(", I: inactive", ""), encoding="utf-8")
    (tmp_path / "drop").mkdir()
    shutil.copy(MAPPINGS.parent / "translators" / "csv" / "customers-cp1252.csv", tmp_path / "drop" / "c.csv")
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "{store_url}"
spool_dir: spool
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.csv"], readiness: {{rule: rename}}}}
    decoder: {{kind: csv, mapping: customers.yaml}}
    legacy: {{encoder: {{kind: json}}, sink: {{kind: scripted, name: legacy}}}}
    cutover: {{mode: legacy_only}}
""",
        encoding="utf-8",
    )
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        dls = dead_letters(runner.ledger.engine)
    assert [d["kind"] for d in dls] == ["record"] and len(ScriptedSink.CALLS["legacy"]) == 3
    mapping.write_text(good, encoding="utf-8")  # the fix
    with Runner(load_config(cfg), clock) as runner:
        result = replay(runner, dls[0]["id"], "tester")
        runner.drain()
        assert dead_letters(runner.ledger.engine) == []
    assert result["result"] == "recorded" and result["message_id"] == dls[0]["message_id"]
    delivered = ScriptedSink.CALLS["legacy"][-1]
    assert str(delivered.message_id) == dls[0]["message_id"] and delivered.business_key == "4714"
    assert len(ScriptedSink.CALLS["legacy"]) == 4
