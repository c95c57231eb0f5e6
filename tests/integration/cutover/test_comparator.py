"""Comparison after deliveries through the Runner: levels, not-available, rules, masking (SQLite + PG)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from cutover.reports import build_report, render_csv, render_html, render_junit
from tests.integration.cutover.conftest import write_customers


def _rows(runner: Runner) -> dict[tuple[str, str], tuple[str, Any, bool]]:
    c = t.comparisons
    with runner.ledger.engine.connect() as conn:
        rows = conn.execute(select(c.c.business_key, c.c.level, c.c.status, c.c.diff, c.c.critical)).all()
    return {(r[0], r[1]): (r[2], r[3], bool(r[4])) for r in rows}


def test_identical_paths_match_and_unconfigured_readback_is_not_available(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """Both paths deliver the same projection: outcome and payload match; read-back is `not_available`."""
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2, 3])
    with Runner(load_config(two_path_config()), clock) as runner:
        runner.run_once()
        rows = _rows(runner)
        with runner.ledger.engine.connect() as conn:
            routed = conn.execute(select(t.messages.c.mode, t.messages.c.flag_version)).all()
    assert {r for r in routed} == {("legacy_primary", 1)}
    assert len(rows) == 9
    assert {s for (_, lv), (s, _, _) in rows.items() if lv in ("outcome", "payload")} == {"match"}
    readback = [v for (_, lv), v in rows.items() if lv == "readback"]
    assert {s for s, _, _ in readback} == {"not_available"}
    assert "no read-back configured" in readback[0][1]["reason"]


def test_without_projections_payload_is_not_available_never_computed_from_input(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """No `project` on the paths: payload is not available although the shared input is identical."""
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2])
    with Runner(load_config(two_path_config(project=False)), clock) as runner:
        runner.run_once()
        rows = _rows(runner)
    assert {s for (_, lv), (s, _, _) in rows.items() if lv == "payload"} == {"not_available"}
    assert {s for (_, lv), (s, _, _) in rows.items() if lv == "outcome"} == {"match"}


def test_dry_run_shadow_has_no_outcome_but_its_payload_is_compared(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """A dry-run shadow (no sandbox) sends nothing: outcome `not_available`, payload from the encoded bytes."""
    cfg = two_path_config()
    cfg.write_text(cfg.read_text().replace("shadow: live", "shadow: dry_run"))
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        rows = _rows(runner)
    assert rows[("C-00001", "outcome")][0] == "not_available"
    assert rows[("C-00001", "payload")][0] == "match"
    assert not list((tmp_path / "out" / "cloud").glob("*.json"))


def test_rules_mismatch_accepted_critical_and_masking_everywhere(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A real mismatch on a critical sensitive field is masked in the ledger, every report and the logs; an
    accepted truncation is counted apart."""
    caplog.set_level(logging.DEBUG)
    secret_legacy, secret_cloud = "DE-SECRET-LEGACY-4711", "DE-SECRET-CLOUD-0815"
    compare = (
        "{sensitive: [tax_id], critical: [tax_id], "
        "accepted: [{path: name, owner: crm-team, reason: cloud truncates names, expires: 2030-01-01}]}"
    )
    cfg = two_path_config(
        cloud_encoder=f"{{kind: mangle, truncate: {{name: 5}}, set: {{tax_id: {secret_cloud}}}, only_keys: [C-00002]}}",
        compare=compare,
    )
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2, 3], tax_id=secret_legacy)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        rows = _rows(runner)
        report = build_report(runner.ledger, runner.loaded)
        with runner.ledger.engine.connect() as conn:
            stored = list(conn.scalars(select(t.comparisons.c.diff)))
    status, diff, critical = rows[("C-00002", "payload")]
    assert status == "mismatch" and critical
    by_path = {e["path"]: e for e in diff["entries"]}
    assert by_path["tax_id"]["legacy"] == "***masked***" and by_path["tax_id"]["critical"]
    assert by_path["name"]["accepted"]["owner"] == "crm-team"
    assert rows[("C-00001", "payload")][0] == "match"
    it = report["interfaces"]["customers"]
    assert (it["compared"], it["matched"], it["mismatched"], it["accepted_total"]) == (3, 2, 1, 1)
    assert it["top_fields"] == [{"path": "tax_id", "count": 1, "critical": True}]
    assert "1 open mismatch(es) on critical fields" in it["gate"]["reasons"]
    outputs = [
        orjson.dumps(stored).decode(),
        orjson.dumps(report).decode(),
        render_html(report),
        render_csv(report),
        render_junit(report),
        caplog.text,
    ]
    for text in outputs:
        assert secret_legacy not in text and secret_cloud not in text
    assert "***masked***" in render_html(report)


def test_readback_level_projects_what_each_target_holds_afterwards(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """With a ReadBack on both paths the read-back level compares the targets' current content: a target
    changed after delivery shows up there while the sent payloads still match."""
    legacy = """
      encoder: {kind: json}
      sink: {kind: file, path: out/legacy}
      project: {kind: canonical-json}
      readback: {kind: folder-readback, path: out/legacy}"""
    cfg = two_path_config(legacy=legacy)
    cfg.write_text(
        cfg.read_text().replace(
            "sink: {kind: file, path: out/cloud}",
            "sink: {kind: file, path: out/cloud}\n      readback: {kind: folder-readback, path: out/cloud}",
        )
    )
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    settle_cfg = load_config(cfg)
    with Runner(settle_cfg, clock) as runner:
        runner.poll_all()
        runner.deliver_round()
        held = next((tmp_path / "out" / "cloud").glob("*.json"))
        doc = orjson.loads(held.read_bytes())
        held.write_bytes(orjson.dumps({**doc, "name": "Edited In Cloud UI"}))
        runner.compare_round()
        rows = _rows(runner)
    assert rows[("C-00001", "payload")][0] == "match"
    status, diff, _ = rows[("C-00001", "readback")]
    assert status == "mismatch" and diff["entries"][0]["path"] == "name"
    assert diff["entries"][0]["cloud"] == "Edited In Cloud UI"


def test_a_mismatch_caused_by_a_dead_side_disappears_once_that_side_is_replayed_and_delivered(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """The cloud side rejects C-00002 (outcome mismatch, gate counts it); after `dlq replay` delivers it the
    comparison is re-evaluated: a match, marked as re-evaluated, and the report's mismatch is gone."""
    from bridge.runtime.replay import replay
    from bridge.store.queries import dead_letters
    from tests.integration.runtime.conftest import ScriptedSink

    ScriptedSink.SCRIPTS.clear()
    ScriptedSink.CALLS.clear()
    ScriptedSink.SCRIPTS["cloud"] = {"steps": ["ok", "reject"], "then": "ok"}
    cfg = two_path_config()
    cfg.write_text(cfg.read_text().replace("{kind: file, path: out/cloud}", "{kind: scripted, name: cloud}"))
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2])
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        before = build_report(runner.ledger, runner.loaded)["interfaces"]["customers"]
        assert _rows(runner)[("C-00002", "outcome")][0] == "mismatch"
        [dl] = dead_letters(runner.ledger.engine)
        clock.advance(60)
        replay(runner, dl["id"], "ops")
        runner.drain(max_wait=0)
        rows = _rows(runner)
        after = build_report(runner.ledger, runner.loaded)["interfaces"]["customers"]
    assert (before["compared"], before["matched"]) == (2, 1)
    status, diff, _ = rows[("C-00002", "outcome")]
    assert status == "match" and diff["reevaluated_from"] == "mismatch"
    assert (after["compared"], after["matched"], after["mismatched"]) == (2, 2, 0)
    assert after["reevaluated"] == 1
