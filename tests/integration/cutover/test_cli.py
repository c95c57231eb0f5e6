"""`esb-bridge cutover ...`, `shadow report` and `validate` drift warnings through the click CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from tests.integration.cutover.conftest import write_customers


def _run(cfg: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--config", str(cfg), *args], env={"ESB_BRIDGE_ACTOR": "ana"})
    return res.exit_code, res.stdout, res.stderr


def test_cutover_commands_end_to_end(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """status, a refused promotion (exit 3 with reasons), forced promotion, rollback, history, readiness."""
    cfg = two_path_config(mode="legacy_primary")
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2])
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
    code, out, _ = _run(cfg, "cutover", "status", "--json")
    assert code == 0 and json.loads(out)[0]["mode"] == "legacy_primary"
    code, out, err = _run(cfg, "cutover", "set", "customers", "--mode", "cloud_primary", "--percent", "25", "--json")
    assert code == 3 and "compared 2 < 100" in err and json.loads(out)["ok"] is False
    code, _, err = _run(cfg, "cutover", "set", "customers", "--mode", "cloud_primary", "--force")
    assert code != 0 and "--reason" in err
    code, out, _ = _run(
        cfg,
        "cutover",
        "set",
        "customers",
        "--mode",
        "cloud_primary",
        "--percent",
        "25",
        "--rule",
        "addresses.country in [DE]",
        "--force",
        "--reason",
        "pilot",
        "--ticket",
        "CHG-7",
    )
    assert code == 0 and "cloud_primary (flag v2)" in out
    code, out, _ = _run(cfg, "cutover", "rollback", "customers", "--reason", "spike")
    assert code == 0 and "legacy_primary (flag v3)" in out
    code, out, _ = _run(cfg, "cutover", "history", "customers", "--json")
    events = json.loads(out)
    assert [e["action"] for e in events] == ["rollback", "force-promote", "seed"]
    assert events[1]["actor"] == "ana" and events[1]["ticket"] == "CHG-7" and events[1]["evidence"]["forced"]
    code, out, _ = _run(cfg, "cutover", "readiness", "--json")
    assert code == 0 and json.loads(out)[0]["compared"] == 2


def test_validate_warns_when_yaml_differs_from_the_ledger(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """After seeding, a changed YAML mode is a warning (the ledger wins), not an error."""
    cfg = two_path_config(mode="legacy_primary")
    code, out, _ = _run(cfg, "cutover", "status")
    assert code == 0
    two_path_config(mode="legacy_only")
    code, out, err = _run(cfg, "validate", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and "yaml='legacy_only' ledger='legacy_primary'" in data["warnings"][0]
    code, _, err = _run(cfg, "validate")
    assert code == 0 and "warning: customers" in err


def test_shadow_report_formats(tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock) -> None:
    """json/csv/junit/html to stdout or a file; --interface filters; --since in the future empties counts."""
    cfg = two_path_config()
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2, 3])
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
    code, out, _ = _run(cfg, "shadow", "report", "--interface", "customers", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["interfaces"]["customers"]["compared"] == 3
    code, out, _ = _run(cfg, "shadow", "report", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("interface,kind,message_id")
    code, out, _ = _run(cfg, "shadow", "report", "--format", "junit")
    assert code == 0 and "<testsuite" in out
    target = tmp_path / "r" / "report.html"
    code, _, _ = _run(cfg, "shadow", "report", "--format", "html", "-o", str(target))
    assert code == 0 and target.read_text().startswith("<!DOCTYPE html>")
    code, out, _ = _run(cfg, "shadow", "report", "--since", "2099-01-01", "--format", "json")
    assert json.loads(out)["interfaces"]["customers"]["compared"] == 0


def test_validate_rejects_bad_cutover_and_compare_blocks(tmp_path: Path, two_path_config: Callable[..., Path]) -> None:
    """A bad gate value or an unknown normaliser fails validation with the block's path."""
    cfg = two_path_config(cutover_extra=", gate: {min_match: 2}", compare="{normalise: {name: [shout]}}")
    code, _, err = _run(cfg, "validate")
    assert code == 2
    assert "interfaces.customers.cutover.gate.min_match" in err and "unknown normaliser 'shout'" in err
