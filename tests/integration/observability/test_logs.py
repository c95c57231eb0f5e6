"""The bridge's own work in its logs: one JSON object per line from a real ``run --once`` over a folder drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.cli.main import cli
from tests.integration.observability.project import write_config
from tests.integration.runtime.conftest import ScriptedSink, write_customers

SECRET = "s3cr3t-value-never-logged"


def _config(tmp_path: Path) -> Path:
    """A legacy scripted sink, and a (never used) cloud REST sink whose bearer token must not be logged."""
    cloud = (
        "    cloud:\n"
        "      encoder: {kind: json}\n"
        '      sink: {kind: rest, url: "http://127.0.0.1:9/never", auth: {bearer: "${LOG_TEST_TOKEN}"}}'
    )
    retry = "retry: {initial: 1s, multiplier: 2, jitter: 0, max_attempts: 2, max_delay: 1s}"
    return write_config(tmp_path, "{kind: scripted, name: legacy}", top=retry, interface=cloud)


def _lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def scripted() -> dict[str, dict[str, Any]]:
    ScriptedSink.SCRIPTS.clear()
    ScriptedSink.CALLS.clear()
    return ScriptedSink.SCRIPTS


def test_json_log_line_per_event_type(tmp_path: Path, scripted: dict[str, dict[str, Any]]) -> None:
    """Every event type of a pass is one parseable JSON object with its ids; no secret appears anywhere."""
    scripted["legacy"] = {"steps": ["ok", "ok"], "then": "reject"}
    write_customers(tmp_path / "drop" / "a.jsonl", 3, bad_lines={1: "{not json"})
    cfg = _config(tmp_path)
    result = CliRunner().invoke(
        cli, ["--log-format", "json", "--config", str(cfg), "run", "--once"], env={"LOG_TEST_TOKEN": SECRET}
    )
    assert result.exit_code != 0, result.output  # a record and a delivery were dead-lettered
    assert SECRET not in result.stderr and SECRET not in result.stdout
    lines = _lines(result.stderr)
    by_event = {line["event"]: line for line in lines}
    for line in lines:
        assert {"event", "level", "timestamp", "logger"} <= set(line), line
        assert line["timestamp"].endswith("Z")

    seeded = by_event["flag_changed"]
    assert seeded["interface"] == "customers" and seeded["action"] == "seed" and seeded["level"] == "info"

    picked = by_event["batch_picked_up"]
    assert picked["origin"].endswith("a.jsonl") and picked["level"] == "info"
    assert isinstance(picked["batch_id"], int) and picked["transaction_id"]

    dead_records = by_event["records_dead_lettered"]
    assert dead_records["level"] == "warning" and dead_records["count"] == 1
    assert dead_records["batch_id"] == picked["batch_id"] and dead_records["message_id"]

    committed = by_event["batch_committed"]
    assert committed["interface"] == "customers" and committed["batch_id"] == picked["batch_id"]
    assert (committed["records"], committed["new_messages"], committed["dead_letters"]) == (4, 3, 1)
    assert committed["transaction_id"] == picked["transaction_id"]

    done = [line for line in lines if line["event"] == "deliveries_done"]
    assert sum(d["delivered"] for d in done) == 2 and sum(d["dead"] for d in done) == 1
    assert all(d["target"] == "customers:legacy" and d["interface"] == "customers" for d in done)
    assert picked["transaction_id"] in done[0]["transaction_ids"]

    dead = by_event["delivery_dead"]
    assert dead["level"] == "warning" and dead["outcome"] == "rejected" and dead["message_id"]
    assert dead["transaction_id"] == picked["transaction_id"] and "scripted 422" in dead["detail"]


def test_text_format_is_the_default(tmp_path: Path, scripted: dict[str, dict[str, Any]]) -> None:
    """Without --log-format a line is ``timestamp LEVEL logger: event key=value ...`` (no JSON)."""
    scripted["legacy"] = {"then": "ok"}
    write_customers(tmp_path / "drop" / "a.jsonl", 2)
    cfg = str(_config(tmp_path))
    result = CliRunner().invoke(cli, ["--config", cfg, "run", "--once"], env={"LOG_TEST_TOKEN": SECRET})
    assert result.exit_code == 0, result.output
    [committed] = [line for line in result.stderr.splitlines() if ": batch_committed " in line]
    assert " INFO esb_bridge.runtime.pipeline: batch_committed interface=customers " in committed
    assert "records=2" in committed and "new_messages=2" in committed
    assert not _lines(result.stderr)
