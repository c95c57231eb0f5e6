"""The generated config reference and JSON Schema: complete, described, and in step with the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict

from bridge.cli.main import cli
from bridge.config.reference import config_schema, plugin_sections, render_reference, undocumented_fields
from bridge.plugins import registry
from bridge.ports import PluginRole

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "config-reference.md"


def test_reference_file_is_up_to_date() -> None:
    """docs/config-reference.md equals a fresh rendering (regenerate: `esb-bridge config reference`)."""
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        "docs/config-reference.md is stale: run `esb-bridge config reference`"
    )


def test_every_config_field_has_a_description() -> None:
    """No field of the core config or of a project plugin's config model lacks a description."""
    assert undocumented_fields() == []


def test_a_field_without_description_is_found() -> None:
    """The description check names a field that has none (and not one that has a docstring)."""

    class Probe(BaseModel):
        model_config = ConfigDict(use_attribute_docstrings=True)
        documented: int = 1
        """Has one."""
        bare: str = ""

    assert undocumented_fields([Probe]) == [f"{Probe.__module__}.{Probe.__qualname__}.bare"]


def test_reference_names_every_kind_and_option() -> None:
    """Every registered source/sink/... kind has a section, and core options with defaults appear."""
    text = render_reference()
    for role, plugin, _ in plugin_sections():
        assert f"### {role.value} `{plugin.kind}`" in text
    assert {p.kind for r, p, _ in plugin_sections() if r is PluginRole.SOURCE} == set(registry.kinds(PluginRole.SOURCE))
    assert "| `min_match` | number | `0.99` | >= 0; <= 1 |" in text
    assert '| `rule` | text | `"stable"` | `stable`, `done_file`, `rename` |' in text


def test_cli_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    """`config reference --check` exits 1 on a stale file and 0 after `config reference` wrote it."""
    target = tmp_path / "ref.md"
    target.write_text("old\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "reference", "-o", str(target), "--check"]).exit_code == 1
    assert runner.invoke(cli, ["config", "reference", "-o", str(target)]).exit_code == 0
    assert runner.invoke(cli, ["config", "reference", "-o", str(target), "--check"]).exit_code == 0


def test_schema_accepts_a_real_config_and_rejects_an_unknown_kind() -> None:
    """`config schema` is valid JSON Schema; a demo interface passes; a wrong sink kind or key fails."""
    res = CliRunner().invoke(cli, ["config", "schema"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    assert schema == json.loads(json.dumps(config_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    interfaces = yaml.safe_load((ROOT / "samples/demo/interfaces/orders.yaml").read_text())
    config = {"store": "sqlite:///x.db", "retry": {"initial": "2s"}, "interfaces": interfaces}
    assert list(validator.iter_errors(config)) == []
    name = next(iter(interfaces))
    bad = json.loads(json.dumps(interfaces))
    bad[name]["cloud"]["sink"] = {"kind": "carrier-pigeon"}
    assert list(validator.iter_errors({"interfaces": bad}))
    assert list(validator.iter_errors({"interfacez": {}}))
