"""The translators' plugins (registry kinds, factories) and CLI commands (mapping check, translate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.plugins import registry
from bridge.ports import ConfigError, Decoder, Encoder, PluginContext, PluginRole, Projector
from tests.unit.translators.support import MAPPINGS, SAMPLES
from translators.cli import mapping_group, translate_command


def test_kinds_are_registered() -> None:
    """The entry point registers every decoder, encoder and projector kind of the translators."""
    assert {"xml", "csv", "fixed_width"} <= set(registry.kinds(PluginRole.DECODER))
    assert {"xml", "csv", "json-mapped", "xslt"} <= set(registry.kinds(PluginRole.ENCODER))
    assert {"xml", "json", "csv"} <= set(registry.kinds(PluginRole.PROJECTOR))


@pytest.mark.parametrize(
    ("role", "kind", "block", "port"),
    [
        (PluginRole.DECODER, "xml", {"mapping": "ubl-invoice.yaml"}, Decoder),
        (PluginRole.ENCODER, "xml", {"mapping": "ubl-invoice.yaml", "pretty": True}, Encoder),
        (PluginRole.ENCODER, "xslt", {"stylesheet": "legacy-billing.xsl"}, Encoder),
        (PluginRole.PROJECTOR, "xml", {"mapping": "ubl-creditnote.yaml"}, Projector),
    ],
)
def test_factories_build_port_objects(role: PluginRole, kind: str, block: dict, port: type) -> None:  # type: ignore[type-arg]
    """A validated config block builds an object implementing the port, mapping resolved against base_dir."""
    plugin = registry.get(role, kind)
    config = plugin.config_model.model_validate({"kind": kind, **block})
    built = plugin.build(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Invoice"))
    assert isinstance(built, port)


def test_factory_refuses_mapping_of_another_canonical_type() -> None:
    """A mapping for Customer cannot serve an Invoice interface: ConfigError names both."""
    plugin = registry.get(PluginRole.DECODER, "csv")
    config = plugin.config_model.model_validate({"kind": "csv", "mapping": "customer-master-csv.yaml"})
    with pytest.raises(ConfigError, match=r"maps Customer.*carries Invoice"):
        plugin.factory(config, PluginContext(base_dir=MAPPINGS, interface="i", canonical="Invoice"))


def test_mapping_check_ok_and_failing(tmp_path: Path) -> None:
    """`mapping check` prints ok for a good mapping and exits 1 listing problems with lines for a bad one."""
    runner = CliRunner()
    ok = runner.invoke(mapping_group, ["check", str(MAPPINGS / "idoc-invoic02.yaml")])
    assert ok.exit_code == 0 and "xml -> Invoice" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("canonical: Invoice\nformat: xml\nrecord: /Invoice\nfields:\n  nope: X\n")
    result = runner.invoke(mapping_group, ["check", str(bad)])
    assert result.exit_code == 1 and "bad.yaml:5" in result.output and "no field 'nope'" in result.output


def test_translate_prints_json_lines_and_errors() -> None:
    """`translate` prints one canonical JSON line per record and honours --limit."""
    runner = CliRunner()
    args = [str(SAMPLES / "csv" / "customers-cp1252.csv"), "--mapping", str(MAPPINGS / "customer-master-csv.yaml")]
    result = runner.invoke(translate_command, [*args, "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["customer_number"] for r in lines] == ["4711", "4712"]


def test_translate_reports_record_failures_with_location(tmp_path: Path) -> None:
    """A failing record is reported on stderr with file, line and field, and the exit status is 1."""
    data = (SAMPLES / "fixed" / "bank-payments.txt").read_bytes().replace(b"0002 20240315", b"0002 20241315")
    path = tmp_path / "pay.txt"
    path.write_bytes(data)
    result = CliRunner().invoke(translate_command, [str(path), "-m", str(MAPPINGS / "bank-payments-fixed.yaml")])
    assert result.exit_code == 1
    assert "pay.txt:3" in result.stderr and "field value_date" in result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_translate_reencodes_as_xml() -> None:
    """`--to xml` re-encodes the decoded records as generic canonical XML."""
    args = [str(SAMPLES / "idoc" / "orders05.xml"), "-m", str(MAPPINGS / "idoc-orders05.yaml"), "--to", "xml"]
    result = CliRunner().invoke(translate_command, args)
    assert result.exit_code == 0 and "<order_number>4500012345</order_number>" in result.stdout
