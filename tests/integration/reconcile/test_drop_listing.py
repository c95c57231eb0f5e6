"""Reconciling a file-writing path against the files of its drop, over a local folder and over real sshd:
a delivered file deleted at the target is missing there, a stray file is extra, a missing folder is incomplete."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.cli.main import cli
from tests.integration.runtime.conftest import customers_config, write_customers
from tests.integration.sftp_drops.conftest import Sshd, sshd

__all__ = ["sshd"]  # the real sshd fixture of the SFTP tests


@pytest.fixture(params=["folder", "sftp"])
def listing(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """The YAML of a listing of folder ``out`` in ``tmp_path``: a local folder, or the same folder over sshd."""

    def make(fmt: str) -> str:
        fields: dict[str, Any] = {
            "kind": "folder",
            "path": str(tmp_path / "out"),
            "include": ["*.json"],
            **json.loads(fmt),
        }
        if request.param == "sftp":
            server: Sshd = request.getfixturevalue("sshd")
            fields = {**fields, **server.connection_fields(), "kind": "sftp"}
        return json.dumps(fields)

    return make


def _config(tmp_path: Path, listing: str) -> Path:
    sink = '{kind: folder, path: out, name_template: "{business_key}.json"}'
    return customers_config(tmp_path, "sqlite:///ledger.db", sink, f"\n      listing: {listing}", "\n    reconcile: {}")


@pytest.mark.parametrize("fmt", ['{"format": "name"}', '{"format": "json", "key_field": "customer_number"}'])
def test_deleted_and_stray_files_are_found_in_the_drop(tmp_path: Path, listing: Callable[[str], str], fmt: str) -> None:
    """5 delivered, one file deleted at the target and one stray added: one missing, one extra, exit 8."""
    write_customers(tmp_path / "drop" / "a.jsonl", 5)
    cfg = _config(tmp_path, listing(fmt))
    assert CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once"]).exit_code == 0
    out = tmp_path / "out"
    assert len(list(out.glob("*.json"))) == 5
    assert CliRunner().invoke(cli, ["--config", str(cfg), "reconcile"]).exit_code == 0
    (out / "C-00002.json").unlink()
    (out / "C-09999.json").write_text('{"customer_number": "C-09999"}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "reconcile", "--json"])
    assert result.exit_code == 8, result.output
    [row] = json.loads(result.stdout)["reports"][0]["rows"]
    assert (row["business_date"], row["ledger_count"], row["target_count"]) == (None, 5, 5)
    assert [(k["key"], k["issue"]) for k in row["detail"]["keys"]] == [
        ("C-00002", "missing_at_target"),
        ("C-09999", "extra_at_target"),
    ]


def test_a_missing_drop_folder_is_incomplete(tmp_path: Path, listing: Callable[[str], str]) -> None:
    """A drop folder that is gone cannot be listed: the path is incomplete (exit 4), not five records missing."""
    write_customers(tmp_path / "drop" / "a.jsonl", 5)
    cfg = _config(tmp_path, listing('{"format": "name"}'))
    assert CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once"]).exit_code == 0
    for f in (tmp_path / "out").iterdir():
        f.unlink()
    (tmp_path / "out").rmdir()
    result = CliRunner().invoke(cli, ["--config", str(cfg), "reconcile", "--json"])
    assert result.exit_code == 4, result.output
    [row] = json.loads(result.stdout)["reports"][0]["rows"]
    assert row["status"] == "incomplete" and row["target_count"] is None
