"""Human renderings carry no Python reprs, count records from 1, refuse unknown states; `--json` errors are
JSON; messages are found by business key and transaction id. A real `run --once` fills the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli.main import cli, main
from tests.integration.cli.projects import MAPPING

CONFIG = """\
store: sqlite:///bridge.db
interfaces:
  customers:
    canonical: Customer
    source: {kind: folder, path: in, include: ["*.csv"], readiness: {rule: rename}}
    decoder: {kind: csv, mapping: maps/customers.csv.yaml}
    legacy: {encoder: {kind: json}, sink: {kind: file, path: out/legacy}, project: {kind: canonical-json}}
    cloud: {encoder: {kind: json}, sink: {kind: file, path: out/cloud}, project: {kind: canonical-json}}
    cutover: {mode: dual_write}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder -> file project after one `run --once` over three rows, the second without a name."""
    root = tmp_path_factory.mktemp("human")
    (root / "maps").mkdir()
    (root / "maps" / "customers.csv.yaml").write_text(MAPPING)
    (root / "in").mkdir()
    (root / "in" / "customers.csv").write_text("id,name\nC-1,Alice\nC-2,\nC-3,Carol\n")
    (root / "bridge.yaml").write_text(CONFIG)
    res = CliRunner().invoke(cli, ["--config", str(root / "bridge.yaml"), "run", "--once", "--max-wait", "5"])
    assert res.exit_code == 16, res.output  # the row without a name is a record dead letter (exit bit 16)
    return root / "bridge.yaml"


def _cli(cfg: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--config", str(cfg), *args])
    return res.exit_code, res.stdout, res.stderr


def _no_reprs(text: str) -> None:
    assert "None" not in text and "{'" not in text and "['" not in text, text


def test_dlq_show_and_list_read_as_text_with_records_counted_from_one(project: Path) -> None:
    """`dlq show` prints the error as indented fields, `-` for unset; the 2nd row on line 3 is `record 2`."""
    code, out, _ = _cli(project, "dlq", "list", "--json")
    (dead,) = json.loads(out)
    assert dead["location"]["record"] == 1 and dead["location"]["line"] == 3  # the data stays 0-based
    code, out, _ = _cli(project, "dlq", "show", str(dead["id"]))
    assert code == 0
    _no_reprs(out)
    assert "resolved_by: -" in out and "type: RecordInvalid" in out
    assert "customers.csv:3, record 2" in out
    code, out, _ = _cli(project, "dlq", "list")
    _no_reprs(out)
    assert "customers.csv:3, record 2" in out and "..." not in out  # listings print descriptions in full


def test_dead_letter_location_names_the_archived_file(project: Path) -> None:
    """The file was moved to the drop's archive after processing: its dead letter points there, and keeps
    where it was read as `moved_from`."""
    code, out, _ = _cli(project, "dlq", "list", "--json")
    assert code == 0
    (dead,) = json.loads(out)
    archived = project.parent / "in" / "archive" / "customers.csv"
    assert archived.exists() and dead["location"]["file"] == archived.as_uri()
    assert dead["location"]["moved_from"] == (project.parent / "in" / "customers.csv").as_uri()


def test_cutover_history_and_status_have_no_none(project: Path) -> None:
    """The seeded first flag version reads `v1 dual_write`, not `vNone->v1 None->dual_write`."""
    code, out, _ = _cli(project, "cutover", "history")
    assert code == 0 and " seed " in out and "v1 dual_write by config" in out
    _no_reprs(out)


def test_messages_list_filters_and_refuses_an_unknown_state(project: Path) -> None:
    """--business-key and --transaction-id find a message; --state bogus is a usage error."""
    code, out, _ = _cli(project, "messages", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2  # the nameless row is a dead letter, not a message
    code, out, _ = _cli(project, "messages", "list", "--business-key", "C-3", "--json")
    (row,) = json.loads(out)
    assert row["business_key"] == "C-3"
    code, out, _ = _cli(project, "messages", "list", "--transaction-id", row["transaction_id"], "--json")
    assert {r["id"] for r in json.loads(out)} >= {row["id"]}
    code, out, _ = _cli(project, "messages", "list", "-k", "C-3", "-t", "no-such-transaction", "--json")
    assert json.loads(out) == []
    code, _, err = _cli(project, "messages", "list", "--state", "bogus")
    assert code == 2 and "'bogus' is not one of" in err
    code, out, _ = _cli(project, "messages", "show", row["id"])
    _no_reprs(out)


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`esb-bridge ARGV` through the real entry point (its error handling), in this process."""
    monkeypatch.setattr(sys, "argv", ["esb-bridge", *argv])
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def test_errors_under_json_are_json(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused command under --json prints a JSON error on stdout (and keeps its exit code)."""
    code, out, _ = _main(monkeypatch, capsys, "--config", str(project), "messages", "show", "nope", "--json")
    assert code == 1 and json.loads(out) == {"ok": False, "error": {"type": "error", "message": "no message nope"}}
    code, out, _ = _main(monkeypatch, capsys, "--config", str(project), "messages", "list", "--state", "x", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "usage"
    code, out, err = _main(monkeypatch, capsys, "--config", str(project), "messages", "show", "nope")
    assert code == 1 and out == "" and "no message nope" in err
    code, out, _ = _main(monkeypatch, capsys, "--config", str(project.parent / "none.yaml"), "status", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "config"
