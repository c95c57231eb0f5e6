"""Plugin registry: every source, decoder, encoder, sink and projector kind registers here.

A plugin is found through the entry-point group ``esb_bridge.plugins``; the entry point's object is a
:class:`Plugin` (or a sequence of them). The core validates a config block's ``kind`` against the registry
and delegates the rest of the block to the plugin's own pydantic model, so YAML errors inside a plugin's
block still name their path and line. The core never imports an adapter: only this registry knows them.
A ``command`` plugin (e.g. the separately installed demo) only adds a CLI command and builds nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bridge.ports import Clock, ConfigError, SystemClock

__all__ = ["ENTRY_POINT_GROUP", "KindConfig", "Plugin", "PluginContext", "PluginRole", "Registry", "registry"]

ENTRY_POINT_GROUP = "esb_bridge.plugins"


class PluginRole(StrEnum):
    """The port a plugin implements."""

    SOURCE = "source"
    DECODER = "decoder"
    ENCODER = "encoder"
    SINK = "sink"
    PROJECTOR = "projector"
    READBACK = "readback"
    COMMAND = "command"
    """Adds only its ``cli`` command (e.g. ``esb-bridge demo``); builds no object, no config block names it."""


class KindConfig(BaseModel):
    """Base of every plugin's config model: ``kind`` plus the plugin's own fields, nothing unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str


@dataclass(frozen=True)
class PluginContext:
    """What a factory may use to build its object: where relative paths start, time, and names.

    ``base_dir`` is the folder of the config file (relative paths in a config are relative to it);
    ``canonical`` is the interface's canonical type name; ``target`` a name for per-target limits.
    Factories do no I/O: they build objects whose ``__enter__`` opens resources.
    """

    base_dir: Path
    interface: str
    canonical: str
    clock: Clock = field(default_factory=SystemClock)
    target: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, path: str | Path) -> Path:
        """A config path made absolute against the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)


@dataclass(frozen=True)
class Plugin:
    """One kind of one role: its config model and the factory that turns a validated config into an object.

    ``cli`` is an optional ``click`` group added as ``esb-bridge <name>`` (e.g. ``sftp doctor``).
    """

    role: PluginRole
    kind: str
    config_model: type[KindConfig]
    factory: Callable[[Any, PluginContext], Any]
    cli: Any = None
    description: str = ""


class Registry:
    """Plugins by (role, kind), loaded lazily from entry points; tests may register extra plugins."""

    def __init__(self) -> None:
        self._plugins: dict[tuple[PluginRole, str], Plugin] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def register(self, plugin: Plugin) -> None:
        key = (plugin.role, plugin.kind)
        existing = self._plugins.get(key)
        if existing is not None and existing is not plugin:
            raise ConfigError(f"two plugins register {plugin.role.value} kind {plugin.kind!r}")
        self._plugins[key] = plugin

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                loaded = ep.load()
                items: Iterable[Plugin] = loaded if isinstance(loaded, Sequence) else (loaded,)
                for plugin in items:
                    if not isinstance(plugin, Plugin):
                        raise ConfigError(f"entry point {ep.name} ({ep.value}) is not a Plugin")
                    self.register(plugin)
            self._loaded = True

    def get(self, role: PluginRole, kind: str) -> Plugin:
        """The plugin for ``kind``; ``KeyError`` lists the kinds that exist for the role."""
        self._load()
        try:
            return self._plugins[(role, kind)]
        except KeyError:
            raise KeyError(
                f"unknown {role.value} kind {kind!r}; known: {', '.join(self.kinds(role)) or 'none'}"
            ) from None

    def kinds(self, role: PluginRole) -> list[str]:
        self._load()
        return sorted(k for (r, k) in self._plugins if r is role)

    def all(self) -> list[Plugin]:
        self._load()
        return list(self._plugins.values())


registry = Registry()
