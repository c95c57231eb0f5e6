"""Alerts against a real webhook receiver on 127.0.0.1: fired once, retried after a failed POST, resolved."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge.cli.main import cli
from tests.integration.observability.project import write_config
from tests.integration.runtime.conftest import ScriptedSink, write_customers


class Receiver:
    """A webhook endpoint recording every JSON body; ``fail_next`` answers that many requests with 500."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
        r.thread.join(5)


def _config(tmp_path: Path, url: str) -> Path:
    return write_config(
        tmp_path,
        "{kind: scripted, name: legacy}",
        top=f'observability:\n  alerts: {{webhook: "{url}", every: 1s}}',
        interface="    alerts: {dlq_depth_above: 0, lag_above: 1h, silent_for: 1d}",
    )


def _cli(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(cfg), *args])


def test_alert_fired_once_retried_and_resolved(tmp_path: Path, receiver: Receiver) -> None:
    """A dead letter fires dlq_depth_above once (a 500 is retried, a repeat check sends nothing); discarding
    it sends one resolve; the rules that never fired send nothing."""
    ScriptedSink.SCRIPTS.clear()
    ScriptedSink.SCRIPTS["legacy"] = {"then": "reject"}
    write_customers(tmp_path / "drop" / "a.jsonl", 1)
    cfg = _config(tmp_path, receiver.url)
    assert _cli(cfg, "run", "--once").exit_code == 32  # the one delivery dead-lettered

    receiver.fail_next = 1
    failed = _cli(cfg, "alerts", "check", "--json")
    assert failed.exit_code == 1 and receiver.bodies == []
    assert "alert_send_failed" in failed.stderr and receiver.url not in failed.stderr

    sent = _cli(cfg, "alerts", "check", "--json")
    assert sent.exit_code == 1
    rows = {r["rule"]: r for r in json.loads(sent.stdout)}
    assert rows["dlq_depth_above"]["state"] == "firing" and rows["dlq_depth_above"]["sent"] == "firing"
    assert rows["lag_above"]["state"] == rows["silent_for"]["state"] == "ok"
    [fired] = receiver.bodies
    assert fired["status"] == "firing" and fired["alert"] == "customers:dlq_depth_above"
    assert fired["value"] == 1 and fired["threshold"] == 0 and fired["source"] == "esb-bridge"

    again = _cli(cfg, "alerts", "check", "--json")
    assert again.exit_code == 1 and len(receiver.bodies) == 1  # still firing: not sent again

    [dead] = json.loads(_cli(cfg, "dlq", "list", "--json").stdout)
    assert _cli(cfg, "dlq", "discard", str(dead["id"]), "--reason", "test").exit_code == 0
    resolved = _cli(cfg, "alerts", "check")
    assert resolved.exit_code == 0, resolved.output
    assert [b["status"] for b in receiver.bodies] == ["firing", "resolved"]
    assert receiver.bodies[1]["alert"] == "customers:dlq_depth_above"
    assert _cli(cfg, "alerts", "check").exit_code == 0 and len(receiver.bodies) == 2


def test_run_housekeeping_fires_a_silent_source(tmp_path: Path, receiver: Receiver) -> None:
    """``run``'s housekeeping evaluates the rules: a source with no batch for longer than silent_for fires."""
    from bridge.config import load_config
    from bridge.ports import SimulatedClock
    from bridge.runtime.runner import Runner

    (tmp_path / "drop").mkdir()
    clock = SimulatedClock()
    with Runner(load_config(_config(tmp_path, receiver.url)), clock) as runner:
        runner._housekeeping()  # first look: the silence is measured from here
        assert receiver.bodies == []
        clock.advance(86400 + 60)
        runner.alerts._last = float("-inf")  # `every` is real time; the test does not wait for it
        runner._housekeeping()
    [fired] = receiver.bodies
    assert fired["alert"] == "customers:silent_for" and fired["status"] == "firing" and fired["value"] > 86400


def test_circuit_open_alert_fires_while_a_target_is_down_and_resolves_when_it_is_back(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The legacy target fails: its circuit opens (2 failures of 2 keys), `run --once` leaves the work open
    (64) and `alerts check` fires circuit_open_for naming the target; once the target is back the next pass
    probes, closes the circuit and delivers, and the alert resolves."""
    import time

    ScriptedSink.SCRIPTS.clear()
    ScriptedSink.CALLS.clear()
    ScriptedSink.SCRIPTS["legacy"] = {"then": "fail"}
    write_customers(tmp_path / "drop" / "a.jsonl", 3)
    cfg = write_config(
        tmp_path,
        "{kind: scripted, name: legacy}, limits: {circuit: {failures: 2, open_for: 1s}}",
        top=f'observability:\n  alerts: {{webhook: "{receiver.url}", every: 1s}}',
        interface="    alerts: {circuit_open_for: 0s}",
    )
    assert _cli(cfg, "run", "--once", "--max-wait", "0").exit_code == 64
    assert len(ScriptedSink.CALLS["legacy"]) == 2  # the third delivery was not sent: the circuit was open
    assert _cli(cfg, "alerts", "check").exit_code == 1
    (fired,) = receiver.bodies
    assert (fired["status"], fired["rule"]) == ("firing", "circuit_open_for")
    assert "customers:legacy" in fired["summary"]
    ScriptedSink.SCRIPTS["legacy"] = {"then": "ok"}
    time.sleep(1.2)  # the open period (real time: run --once runs on the system clock)
    assert _cli(cfg, "run", "--once", "--max-wait", "10").exit_code == 0
    assert _cli(cfg, "alerts", "check").exit_code == 0
    assert [(b["status"], b["rule"]) for b in receiver.bodies] == [
        ("firing", "circuit_open_for"),
        ("resolved", "circuit_open_for"),
    ]
