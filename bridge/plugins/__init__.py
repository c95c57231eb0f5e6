"""Plugin registry: every source, decoder, encoder, sink and projector kind is found here.

A plugin is found through the entry-point group ``esb_bridge.plugins``; each entry point names a module's
``PLUGINS`` list of :class:`~bridge.ports.plugins.Plugin` (the contract, with its version ``PLUGIN_API``, is
in :mod:`bridge.ports.plugins`). The core validates a config block's ``kind`` against the registry and
delegates the rest of the block to the plugin's own pydantic model, so YAML errors inside a plugin's block
still name their path and line. The registry checks each plugin when it is registered and each object a
plugin builds (:meth:`Registry.build`), naming the entry point of a plugin that breaks the contract. The core
never imports an adapter: only this registry knows them.

The plugin types are re-exported here for code written before they moved to ``bridge.ports``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import click

from bridge.ports import ConfigError
from bridge.ports.plugins import (
    ENTRY_POINT_GROUP,
    KindConfig,
    Plugin,
    PluginContext,
    PluginContractError,
    PluginRole,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "IN_CODE",
    "KindConfig",
    "Plugin",
    "PluginContext",
    "PluginRole",
    "Registry",
    "check_plugin",
    "registry",
]

IN_CODE = "registered in code"


def _entry_point_label(ep: EntryPoint) -> str:
    return f"entry point {ep.name!r} = {ep.value}"


def check_plugin(plugin: object, origin: str) -> Plugin[Any, Any]:
    """``plugin`` if it is a well-formed :class:`Plugin`; otherwise :class:`PluginContractError` naming ``origin``."""
    if not isinstance(plugin, Plugin):
        raise PluginContractError(f"{origin}: {type(plugin).__name__} {plugin!r:.80} is not a Plugin")
    what = f"plugin {plugin.kind!r} ({origin})"
    if not isinstance(plugin.role, PluginRole):
        raise PluginContractError(f"{what}: role {plugin.role!r} is not a PluginRole")
    if not isinstance(plugin.kind, str) or not plugin.kind:
        raise PluginContractError(f"{what}: kind must be a non-empty string")
    if not (isinstance(plugin.config_model, type) and issubclass(plugin.config_model, KindConfig)):
        raise PluginContractError(f"{what}: config_model {plugin.config_model!r} is not a KindConfig subclass")
    if not callable(plugin.factory):
        raise PluginContractError(f"{what}: factory {plugin.factory!r} is not callable")
    if plugin.cli is not None and not isinstance(plugin.cli, click.Command):
        raise PluginContractError(f"{what}: cli {plugin.cli!r} is not a click command")
    if plugin.role is PluginRole.COMMAND and plugin.cli is None:
        raise PluginContractError(f"{what}: a command plugin must bring its cli command")
    return plugin


class Registry:
    """Plugins by (role, kind), loaded lazily from entry points; tests may register extra plugins."""

    def __init__(self) -> None:
        self._plugins: dict[tuple[PluginRole, str], Plugin[Any, Any]] = {}
        self._origins: dict[tuple[PluginRole, str], str] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def register(self, plugin: Plugin[Any, Any], *, origin: str = IN_CODE) -> None:
        """Add ``plugin`` after checking its shape; a second plugin for the same (role, kind) is an error."""
        checked = check_plugin(plugin, origin)
        key = (checked.role, checked.kind)
        existing = self._plugins.get(key)
        if existing is not None and existing is not checked:
            raise ConfigError(
                f"two plugins register {checked.role.value} kind {checked.kind!r}: {self._origins[key]} and {origin}"
            )
        self._plugins[key] = checked
        self._origins.setdefault(key, origin)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                origin = _entry_point_label(ep)
                if ep.attr != "PLUGINS":
                    raise PluginContractError(f"{origin}: must name a module's PLUGINS list (module:PLUGINS)")
                loaded = ep.load()
                if not isinstance(loaded, Sequence) or isinstance(loaded, str):
                    raise PluginContractError(f"{origin}: PLUGINS is a {type(loaded).__name__}, not a list")
                for plugin in loaded:
                    self.register(plugin, origin=origin)
            self._loaded = True

    def get(self, role: PluginRole, kind: str) -> Plugin[Any, Any]:
        """The plugin for ``kind``; ``KeyError`` lists the kinds that exist for the role."""
        self._load()
        try:
            return self._plugins[(role, kind)]
        except KeyError:
            raise KeyError(
                f"unknown {role.value} kind {kind!r}; known: {', '.join(self.kinds(role)) or 'none'}"
            ) from None

    def origin(self, role: PluginRole, kind: str) -> str:
        """Where the plugin came from: its entry point (name and value) or ``registered in code``."""
        self._load()
        return self._origins[(role, kind)]

    def build(self, role: PluginRole, config: KindConfig, context: PluginContext) -> Any:
        """The object of ``config``'s plugin, checked against the role's port (see :meth:`Plugin.build`)."""
        return self.get(role, config.kind).build(config, context, origin=self.origin(role, config.kind))

    def kinds(self, role: PluginRole) -> list[str]:
        self._load()
        return sorted(k for (r, k) in self._plugins if r is role)

    def all(self) -> list[Plugin[Any, Any]]:
        self._load()
        return list(self._plugins.values())


registry = Registry()
