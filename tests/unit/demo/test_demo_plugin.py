"""The demo reaches the command line only as a plugin: a ``command`` plugin found through its entry point,
which adds ``esb-bridge demo`` and cannot be named by a config block."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.plugins import registry
from bridge.ports import ConfigError, KindConfig, PluginContext, PluginRole
from samples.demo_app.cli import demo


def test_demo_is_a_command_plugin_from_its_entry_point() -> None:
    """The installed esb-bridge-demo registers exactly the ``demo`` command, under the command role only."""
    plugin = registry.get(PluginRole.COMMAND, "demo")
    assert plugin.cli is demo and demo.name == "demo"
    assert all("demo" not in registry.kinds(role) for role in PluginRole if role is not PluginRole.COMMAND)


def test_command_plugin_builds_nothing(tmp_path: Path) -> None:
    """Were a command plugin's factory ever called, it fails with a config error rather than building something."""
    plugin = registry.get(PluginRole.COMMAND, "demo")
    with pytest.raises(ConfigError, match="only adds the `esb-bridge demo` command"):
        plugin.factory(KindConfig(kind="demo"), PluginContext(base_dir=tmp_path, interface="x", canonical="Customer"))
