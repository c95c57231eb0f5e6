"""A ``recorder`` sink kind for runtime tests: the test kit's RecordingSink, one per ``name``, kept across runs.

Tests that run the real runtime from a config file count raw calls here: every call the delivery workers
made is recorded (none is de-duplicated), so a lost or repeated delivery shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from bridge.plugins import registry
from bridge.ports import KindConfig, Plugin, PluginContext, PluginRole
from bridge.runtime.runner import Runner
from bridge.testing import RecordingSink


class RecorderConfig(KindConfig):
    kind: Literal["recorder"]
    name: str


class Recorders:
    """The sinks by name; ``clear()`` between tests."""

    SINKS: ClassVar[dict[str, RecordingSink]] = {}

    @classmethod
    def build(cls, config: RecorderConfig, context: PluginContext) -> RecordingSink:
        return cls.SINKS.setdefault(config.name, RecordingSink(context.target))

    @classmethod
    def clear(cls) -> None:
        cls.SINKS.clear()


RECORDER = Plugin(PluginRole.SINK, "recorder", RecorderConfig, Recorders.build)
registry.register(RECORDER)


def feed_config(tmp_path: Path, interface: str, canonical: str, source: str, decoder: str, sink: str) -> Path:
    """A one-interface config (SQLite ledger under ``tmp_path``): ``source`` -> ``decoder`` -> json -> recorder."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
interfaces:
  {interface}:
    canonical: {canonical}
    source: {source}
    decoder: {decoder}
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: recorder, name: {sink}}}
    cutover: {{mode: cloud_only}}
""",
        encoding="utf-8",
    )
    return cfg


def drain_poll(runner: Runner) -> None:
    """One poll of every interface, then deliver until nothing is open."""
    runner.poll_all()
    runner.drain(max_wait=60)
