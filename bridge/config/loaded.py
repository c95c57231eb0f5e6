"""A loaded config: the validated schema, each plugin block's validated model, and where it all came from.

The result type of :func:`bridge.config.loader.load_config`, kept apart from the loader so layers that only
read a config (cutover) need not import the loader and, through it, the plugin registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config.model import BridgeConfig
from bridge.config.protection import protection_for
from bridge.config.yamlsource import LineMap, PathKey
from bridge.plugins import registry
from bridge.ports import KindConfig, PluginContext, PluginRole
from bridge.store.sealing import Protection

__all__ = ["PLUGIN_BLOCKS", "LoadedConfig"]

PLUGIN_BLOCKS: tuple[tuple[PathKey, PluginRole], ...] = (
    (("source",), PluginRole.SOURCE),
    (("decoder",), PluginRole.DECODER),
    (("legacy", "encoder"), PluginRole.ENCODER),
    (("legacy", "sink"), PluginRole.SINK),
    (("legacy", "shadow_sink"), PluginRole.SINK),
    (("legacy", "project"), PluginRole.PROJECTOR),
    (("legacy", "readback"), PluginRole.READBACK),
    (("legacy", "observe"), PluginRole.SOURCE),
    (("legacy", "listing"), PluginRole.LISTING),
    (("cloud", "encoder"), PluginRole.ENCODER),
    (("cloud", "sink"), PluginRole.SINK),
    (("cloud", "shadow_sink"), PluginRole.SINK),
    (("cloud", "project"), PluginRole.PROJECTOR),
    (("cloud", "readback"), PluginRole.READBACK),
    (("cloud", "observe"), PluginRole.SOURCE),
    (("cloud", "listing"), PluginRole.LISTING),
)
"""Every plugin block of an interface: where it sits in the YAML and the role its kind belongs to."""

_ROLES: dict[PathKey, PluginRole] = dict(PLUGIN_BLOCKS)


@dataclass
class LoadedConfig:
    """A validated config: the core model, each plugin block's validated model, and where it came from."""

    config: BridgeConfig
    file: Path
    base_dir: Path
    lines: LineMap
    plugins: dict[tuple[str, PathKey], KindConfig] = field(default_factory=dict)

    def plugin(self, interface: str, where: PathKey) -> KindConfig | None:
        return self.plugins.get((interface, where))

    def build(self, interface: str, where: PathKey, context: PluginContext) -> Any:
        """The object of the plugin block at ``where`` (None when absent), checked against its role's port.

        For code below the composition root that is handed a config (``cloud check``) and must not import
        the registry itself.
        """
        cfg = self.plugin(interface, where)
        return None if cfg is None else registry.build(_ROLES[where], cfg, context)

    def line_of(self, path: PathKey) -> tuple[str | None, int | None]:
        return self.lines.locate(path)

    def protection(self) -> Protection:
        """How the ledger seals and opens stored bytes (keys from the environment: ``bridge.config.protection``)."""
        return protection_for(self.config)

    def store_url(self) -> str:
        """The ledger URL of ``store:``; a relative SQLite file is relative to the config file's folder."""
        url = self.config.store
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///") :]
            if rel and rel != ":memory:":
                return "sqlite:///" + str((self.base_dir / rel).resolve())
        return url
