"""`esb-bridge validate` checks what it can without side effects, on real files: mappings, hooks, folders,
projections, shared drops, and suggests the key or kind that was meant."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bridge.cli.main import cli
from tests.integration.cli.projects import MAPPING

PROJECT = "      project: {kind: canonical-json}\n"


def _project(
    tmp_path: Path,
    *,
    source: str = "in",
    mapping: str = "maps/customers.csv.yaml",
    project: str = PROJECT,
    extra: str = "",
    mode: str = "dual_write",
) -> Path:
    (tmp_path / "maps").mkdir(exist_ok=True)
    (tmp_path / "maps" / "customers.csv.yaml").write_text(MAPPING)
    (tmp_path / "in").mkdir(exist_ok=True)
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        "store: sqlite:///bridge.db\n"
        "interfaces:\n"
        "  customers:\n"
        "    canonical: Customer\n"
        f"    source: {{kind: folder, path: {source}, include: ['*.csv']}}\n"
        f"    decoder: {{kind: csv, mapping: {mapping}}}\n"
        "    legacy:\n"
        "      encoder: {kind: json}\n"
        "      sink: {kind: file, path: out/legacy}\n"
        f"{project}"
        "    cloud:\n"
        "      encoder: {kind: json}\n"
        "      sink: {kind: file, path: out/cloud}\n"
        f"{project}"
        f"    cutover: {{mode: {mode}}}\n"
        f"{extra}"
    )
    return cfg


def _validate(cfg: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--config", str(cfg), "validate", *args])
    return res.exit_code, res.stdout, res.stderr


def test_a_good_project_is_ok_and_writes_nothing(tmp_path: Path) -> None:
    """The reference project validates without warnings, and validating creates no ledger or output folder."""
    cfg = _project(tmp_path)
    code, out, err = _validate(cfg)
    assert code == 0 and "OK, 1 interface(s): customers" in out and err == ""
    assert not (tmp_path / "bridge.db").exists() and not (tmp_path / "out").exists()


def test_wrong_mapping_path_is_an_error_at_its_line(tmp_path: Path) -> None:
    """A mapping path that does not exist fails validation (as `run` would), naming config file and line."""
    cfg = _project(tmp_path, mapping="maps/nope.yaml")
    code, _, err = _validate(cfg)
    assert code == 2
    assert f"{cfg}:6: interfaces.customers.decoder: decoder kind 'csv': cannot read mapping" in err
    assert "nope.yaml" in err


def test_unimportable_hook_is_an_error_at_the_mappings_line(tmp_path: Path) -> None:
    """A mapping whose hook module cannot be imported fails validation, located in the mapping file."""
    cfg = _project(tmp_path)
    (tmp_path / "maps" / "customers.csv.yaml").write_text(MAPPING + "hook: no_such_module:fix\n")
    code, out, _ = _validate(cfg, "--json")
    assert code == 2
    (hook,) = [p for p in json.loads(out)["problems"] if "cannot import" in p["message"]]
    assert hook["file"].endswith("customers.csv.yaml") and hook["line"] == 7
    assert "cannot import module 'no_such_module'" in hook["message"]


def test_missing_drop_folder_is_reported(tmp_path: Path) -> None:
    """A drop folder that does not exist is a located warning (the run starts but reads nothing)."""
    cfg = _project(tmp_path, source="drops/customers")
    code, out, _ = _validate(cfg, "--json")
    assert code == 0
    (finding,) = json.loads(out)["findings"]
    assert finding["severity"] == "warning" and finding["line"] == 5
    assert finding["path"] == "interfaces.customers.source"
    assert f"drop folder {tmp_path / 'drops' / 'customers'} does not exist" in finding["message"]


def test_a_file_where_the_drop_folder_should_be_is_an_error(tmp_path: Path) -> None:
    """A drop path that is a file, not a folder, fails validation."""
    cfg = _project(tmp_path, source="in.txt")
    (tmp_path / "in.txt").write_text("x")
    code, _, err = _validate(cfg)
    assert code == 2 and "interfaces.customers.source.path: " in err and "in.txt is not a folder" in err


def test_dual_write_without_projections_warns_that_nothing_will_be_compared(tmp_path: Path) -> None:
    """dual_write (or legacy_primary) with a path lacking `project:` is a warning naming the fix."""
    for mode in ("dual_write", "legacy_primary"):
        cfg = _project(tmp_path, project="", mode=mode)
        code, _, err = _validate(cfg)
        assert code == 0
        assert f"mode {mode} compares the two paths, but the legacy and cloud paths have no projection" in err
        assert "nothing will be compared: add `project:` to both paths" in err
    code, _, err = _validate(_project(tmp_path, project="", mode="legacy_only"))
    assert code == 0 and "project" not in err


def test_unknown_key_and_kind_get_a_suggestion(tmp_path: Path) -> None:
    """A misspelt key (at any depth, also inside a plugin block) and kind name the closest allowed name."""
    cfg = _project(tmp_path, extra="    schedule: {evrey: 5s}\n")
    text = cfg.read_text().replace("kind: folder, path", "kind: foldr, path").replace("store:", "stor:")
    text = text.replace("sink: {kind: file, path: out/cloud}", "sink: {kind: file, path: out/cloud, fsnyc: false}")
    cfg.write_text(text)
    code, out, _ = _validate(cfg, "--json")
    assert code == 2
    messages = {p["path"]: p["message"] for p in json.loads(out)["problems"]}
    assert messages["stor"].endswith("did you mean 'store'?")
    assert messages["interfaces.customers.schedule.evrey"].endswith("did you mean 'every'?")
    assert messages["interfaces.customers.source.kind"].endswith("did you mean 'folder'?")
    assert messages["interfaces.customers.cloud.sink.fsnyc"].endswith("did you mean 'fsync'?")


def test_a_drop_read_by_two_interfaces_that_moves_files_is_a_warning(tmp_path: Path) -> None:
    """Two interfaces reading one drop while one moves its files: a warning on the moving reader."""
    cfg = _project(tmp_path)
    second = (
        "  customers-copy:\n"
        "    canonical: Customer\n"
        "    source: {kind: folder, path: in, shared: true, after: {action: leave}}\n"
        "    decoder: {kind: csv, mapping: maps/customers.csv.yaml}\n"
        "    legacy: {encoder: {kind: json}, sink: {kind: file, path: out/copy}}\n"
    )
    cfg.write_text(cfg.read_text() + second)
    code, out, _ = _validate(cfg, "--json")
    assert code == 0
    (finding,) = [f for f in json.loads(out)["findings"] if "also read by" in f["message"]]
    assert finding["path"] == "interfaces.customers.source" and "after: {action: move}" in finding["message"]


def test_errors_are_json_under_json(tmp_path: Path) -> None:
    """A config that does not load at all still answers JSON under --json."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text("interfaces: {a: {canonical: Nope}}\n")
    code, out, _ = _validate(cfg, "--json")
    assert code == 2 and json.loads(out)["ok"] is False
