"""The progress display: drawn for ingest and delivery on a terminal, silent when stderr is not one."""

from __future__ import annotations

import io
import re
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from bridge.cli.main import cli
from bridge.cli.progress import RunProgress
from bridge.config import load_config
from bridge.ports import SystemClock
from bridge.runtime.runner import Runner
from tests.integration.observability.project import write_config
from tests.integration.runtime.conftest import write_customers


def _config(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path, "{kind: file, path: out}")
    write_customers(tmp_path / "drop" / "a.jsonl", 5)
    return cfg


def _pass(cfg: Path, shown: RunProgress) -> None:
    with (
        Runner(load_config(cfg), SystemClock(), progress=shown.ingested, delivery_progress=shown.delivered) as runner,
        shown,
    ):
        runner.run_once(max_wait=5)


def test_terminal_renders_ingest_and_delivery(tmp_path: Path) -> None:
    """On a terminal the display shows a line per interface ingested and per target delivered, with counts."""
    out = io.StringIO()
    shown = RunProgress(Console(file=out, force_terminal=True, width=100))
    assert shown.enabled
    _pass(_config(tmp_path), shown)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # without the terminal's control codes
    assert re.search(r"ingest customers +5 records", text), text
    assert re.search(r"deliver customers:legacy +5 attempts", text), text


def test_not_a_terminal_stays_quiet(tmp_path: Path) -> None:
    """Writing to a pipe or file, the display prints nothing, neither from the runtime nor from the CLI."""
    out = io.StringIO()
    shown = RunProgress(Console(file=out))
    assert not shown.enabled
    _pass(_config(tmp_path), shown)
    assert out.getvalue() == ""
    other = tmp_path / "cli"
    other.mkdir()
    result = CliRunner().invoke(cli, ["--config", str(_config(other)), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "ingest customers" not in result.stderr and "\r" not in result.stderr
