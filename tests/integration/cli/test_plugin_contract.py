"""A third-party plugin that breaks the plugin contract fails at `esb-bridge validate`, named.

Each test installs a tiny distribution (a module plus a ``.dist-info`` with its entry point) on PYTHONPATH
and runs the real command line in a subprocess, so the plugin is found exactly as an installed one would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODULE = '''
from typing import Literal

from bridge.ports import KindConfig, Outcome, Resource
from bridge.ports.plugins import SINK, plugin


class ThirdConfig(KindConfig):
    kind: Literal["third"]


class NoDeliver(Resource):
    """Has a target but no deliver: not a Sink."""

    def __init__(self, config, context):
        self.target = "third"


class GoodSink(NoDeliver):
    def deliver(self, delivery):
        return Outcome.delivered()


PLUGINS = [plugin(SINK, "third", ThirdConfig, {factory})]
PLUGIN = PLUGINS[0]
'''

CONFIG = """
store: "sqlite:///{dir}/ledger.db"
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: third}}
"""


def _install(site: Path, factory: str, attr: str = "PLUGINS") -> None:
    site.mkdir()
    (site / "thirdparty_plugin.py").write_text(MODULE.format(factory=factory), encoding="utf-8")
    info = site / "thirdparty_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-plugin\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[esb_bridge.plugins]\nthird = thirdparty_plugin:{attr}\n", encoding="utf-8"
    )


def _validate(tmp_path: Path, site: Path) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(CONFIG.format(dir=tmp_path), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "validate", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_a_plugin_whose_object_misses_its_port_fails_validate_naming_plugin_kind_and_entry_point(
    tmp_path: Path,
) -> None:
    _install(tmp_path / "site", "NoDeliver")
    res = _validate(tmp_path, tmp_path / "site")
    assert res.returncode == 2, res.stdout + res.stderr
    (problem,) = json.loads(res.stdout)["problems"]
    message = problem["message"]
    assert message.startswith("interfaces.customers.legacy.sink: sink plugin 'third'")
    assert "entry point 'third' = thirdparty_plugin:PLUGINS" in message
    assert "NoDeliver that is not a Sink: missing deliver" in message


def test_the_same_plugin_with_a_sink_passes_validate(tmp_path: Path) -> None:
    _install(tmp_path / "site", "GoodSink")
    res = _validate(tmp_path, tmp_path / "site")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["ok"] is True


def test_an_entry_point_that_names_no_plugins_list_fails_validate_naming_it(tmp_path: Path) -> None:
    """One way to register: the entry point names a module's PLUGINS list, not a single Plugin."""
    _install(tmp_path / "site", "GoodSink", attr="PLUGIN")
    res = _validate(tmp_path, tmp_path / "site")
    assert res.returncode == 2
    assert "entry point 'third' = thirdparty_plugin:PLUGIN: must name a module's PLUGINS list" in res.stdout
