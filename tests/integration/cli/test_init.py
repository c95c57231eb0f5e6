"""`esb-bridge init` scaffolds a project that validates and delivers with `run --once`: every offered
source x target pair, against a real sshd and the shipped cloud simulator, with the sample's records arriving."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli.init import SOURCES, TARGETS
from bridge.cli.main import cli
from samples.cloud_sim.server import SimServer
from tests.integration.sftp_drops.conftest import Sshd, sshd  # noqa: F401  (the session fixture)

KEYS = {"C-1001", "C-1002"}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", SOURCES)
def test_init_then_run_once_delivers_the_sample(
    source: str, target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """init DIR --source S --target T; validate is clean; run --once delivers both sample rows to the target."""
    project = tmp_path / "project"
    args = ["init", str(project), "--source", source, "--target", target]
    drop = tmp_path / "remote-drop"
    if source == "sftp":
        server: Sshd = request.getfixturevalue("sshd")
        drop.mkdir()
        args += ["--sftp-port", str(server.port), "--sftp-user", server.user, "--sftp-path", str(drop)]
        args += ["--sftp-key-file", str(server.key_file), "--sftp-known-hosts", str(server.known_hosts)]
    with SimServer() as sim:
        if target == "rest":
            args += ["--url", sim.url]
        runner = CliRunner()
        made = runner.invoke(cli, args)
        assert made.exit_code == 0, made.output
        if source == "sftp":  # what the README asks: upload the sample into the drop
            shutil.copy(project / "samples" / "customers.csv", drop / "customers.csv")
        cfg = ["--config", str(project / "bridge.yaml")]
        checked = runner.invoke(cli, [*cfg, "validate", "--json"])
        assert checked.exit_code == 0 and json.loads(checked.stdout)["warnings"] == [], checked.output
        ran = runner.invoke(cli, [*cfg, "run", "--once", "--max-wait", "10"])
        assert ran.exit_code == 0, ran.output
        if target == "file":
            bodies = [json.loads(p.read_text()) for p in (project / "out" / "customers").glob("*.json")]
            assert {b["customer_number"] for b in bodies} == KEYS
        else:
            assert set(sim.state.ingested) == {f"customers/{k}" for k in KEYS}
    status = runner.invoke(cli, [*cfg, "status", "--json"])
    assert json.loads(status.stdout)["customers"]["dead_letters_open"] == 0


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """A second init into the same folder changes nothing and says which files exist."""
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "bridge.yaml").read_text()
    again = runner.invoke(cli, ["init", str(tmp_path), "--target", "rest"])
    assert again.exit_code == 1 and "not overwriting" in again.output
    assert (tmp_path / "bridge.yaml").read_text() == before
