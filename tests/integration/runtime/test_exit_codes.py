"""``run --once`` exit codes a scheduler can trust (docs/operations.md), and the summary counting what failed."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.exitcodes import RunProblem
from bridge.runtime.runner import Runner
from tests.integration.runtime.conftest import write_customers
from tests.integration.runtime.test_no_record_file import ORDER
from tests.integration.runtime.test_no_record_file import _config as xml_config

DOCS = Path(__file__).parents[3] / "docs" / "operations.md"


def _once(cfg: Path, *extra: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, json.loads(result.stdout)


def test_clean_pass_exits_zero(tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any]) -> None:
    """Everything delivered: exit 0, no problems listed."""
    scripted["legacy"] = {"then": "ok"}
    write_customers(tmp_path / "drop" / "a.jsonl", 3)
    result, data = _once(make_config("{kind: scripted, name: legacy}"))
    assert result.exit_code == 0
    assert data["problems"] == [] and data["exit_code"] == 0
    assert data["ingest"]["customers"]["delivery_dead_letters"] == 0


def test_missing_drop_folder_is_a_failed_poll(tmp_path: Path, make_config: Callable[..., Path]) -> None:
    """A drop folder that does not exist exits 4 and the summary counts the failed poll."""
    result, data = _once(make_config("{kind: file, path: out}"))
    assert result.exit_code == RunProblem.POLL_FAILED == 4
    assert data["ingest"]["customers"]["poll_failed"] == 1
    assert data["problems"] == ["poll_failed"]


def test_rejected_deliveries_are_counted_and_exit_32(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any]
) -> None:
    """Deliveries dead-lettered during the pass: the summary counts them (table and JSON) and the code is 32."""
    scripted["legacy"] = {"steps": ["ok"], "then": "reject"}
    write_customers(tmp_path / "drop" / "a.jsonl", 3)
    cfg = make_config("{kind: scripted, name: legacy}")
    result, data = _once(cfg)
    assert result.exit_code == RunProblem.DELIVERIES_DEAD_LETTERED == 32
    assert data["ingest"]["customers"]["delivery_dead_letters"] == 2
    assert data["problems"] == ["deliveries_dead_lettered"]
    write_customers(tmp_path / "drop" / "b.jsonl", 2, start=10)
    table = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once"])
    assert table.exit_code == 32
    header, row = table.stdout.splitlines()[:2]
    column = header.split().index("DELIVERY_DEAD_LETTERS")
    assert row.split()[column] == "2", table.stdout
    assert "exit 32: deliveries were dead-lettered" in table.stderr


def test_bad_rows_and_open_work_compose(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any]
) -> None:
    """Record dead letters (16) and deliveries still open after --max-wait (64) exit 80, their sum."""
    scripted["legacy"] = {"then": "fail"}
    write_customers(tmp_path / "drop" / "a.jsonl", 2, bad_lines={1: "{not json"})
    result, data = _once(make_config("{kind: scripted, name: legacy}"), "--max-wait", "0")
    assert result.exit_code == 16 + 64
    assert data["problems"] == ["records_dead_lettered", "work_left_open"]
    assert data["open_deliveries_left"] == 2


def test_failed_batch_sets_bit_8(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """A file that fails to decode as a whole is a failed batch in the pass's problems."""
    scripted["legacy"] = {"then": "ok"}
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "order.xml").write_bytes(ORDER)
    with Runner(load_config(xml_config(make_config)), clock) as runner:
        summary = runner.run_once()
    assert summary.problems() == RunProblem.BATCH_FAILED
    assert summary.ingest["customers"]["failed_batches"] == 1


def test_record_dead_letters_are_logged_as_warnings(
    tmp_path: Path,
    make_config: Callable[..., Path],
    scripted: dict[str, Any],
    clock: SimulatedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Undecodable rows are logged at WARNING, as continuous ``run`` has no exit code to tell them."""
    scripted["legacy"] = {"then": "ok"}
    write_customers(tmp_path / "drop" / "a.jsonl", 2, bad_lines={1: "{not json"})
    cfg = make_config("{kind: scripted, name: legacy}")
    with caplog.at_level(logging.WARNING), Runner(load_config(cfg), clock) as runner:
        runner.poll_all()
    [rec] = [r for r in caplog.records if r.getMessage() == "records_dead_lettered"]
    assert rec.levelno == logging.WARNING and rec.name == "esb_bridge.runtime.pipeline"
    assert rec.interface == "customers" and rec.count == 1  # type: ignore[attr-defined]


def test_exit_codes_are_documented_in_docs_and_help() -> None:
    """docs/operations.md and ``run --help`` list every code with the meaning the code gives it."""
    text = DOCS.read_text(encoding="utf-8")
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", text, flags=re.M)}
    assert documented == {0, 1, 2, *(p.value for p in RunProblem)}
    helptext = CliRunner().invoke(cli, ["run", "--help"]).stdout
    for p in RunProblem:
        assert f"{p.value} {p.meaning}" in " ".join(helptext.split())
