"""A loaded config: the validated schema, each plugin block's validated model, and where it all came from.

The result type of :func:`bridge.config.loader.load_config`, kept apart from the loader so layers that only
read a config (cutover) need not import the loader and, through it, the plugin registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bridge.config.model import BridgeConfig
from bridge.config.yamlsource import LineMap, PathKey
from bridge.plugins import KindConfig

__all__ = ["LoadedConfig"]


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

    def line_of(self, path: PathKey) -> tuple[str | None, int | None]:
        return self.lines.locate(path)

    def store_url(self) -> str:
        """The ledger URL of ``store:``; a relative SQLite file is relative to the config file's folder."""
        url = self.config.store
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///") :]
            if rel and rel != ":memory:":
                return "sqlite:///" + str((self.base_dir / rel).resolve())
        return url
