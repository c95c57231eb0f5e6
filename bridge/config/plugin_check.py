"""``esb-bridge validate``'s plugin check: build every plugin block of a config and hold it to its port.

Loading a config validates each block against its plugin's config model, but only building the object shows
whether the plugin keeps the rest of the contract (``bridge.ports.plugins``): that its factory returns an
object with every member of the role's port. Factories do no I/O, so building is safe while validating.
A plugin that breaks the contract (or whose factory fails with anything but a :class:`BridgeError`) is an
error naming block, kind, role and entry point. A factory that refuses the config with a
:class:`BridgeError` (a mapping file not found, a mapping for another canonical type) is only a warning:
validating did not build objects before, so a config valid then stays valid; the run reports it as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.config.loaded import PLUGIN_BLOCKS, LoadedConfig
from bridge.plugins import registry
from bridge.ports import BridgeError, PluginContext, PluginContractError, SystemClock

__all__ = ["PluginCheck", "check_plugins"]


@dataclass
class PluginCheck:
    """What building every block found: contract ``errors`` (fail validation) and ``warnings``."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_plugins(loaded: LoadedConfig) -> PluginCheck:
    """Build every plugin block of ``loaded`` (nothing is entered or opened) and check it against its port."""
    result = PluginCheck()
    clock = SystemClock()
    for name, iface in loaded.config.interfaces.items():
        ctx = PluginContext(base_dir=loaded.base_dir, interface=name, canonical=iface.canonical, clock=clock)
        for where, role in PLUGIN_BLOCKS:
            cfg = loaded.plugin(name, where)
            if cfg is None:
                continue
            block = ".".join(("interfaces", name, *map(str, where)))
            try:
                registry.build(role, cfg, ctx)
            except PluginContractError as exc:
                result.errors.append(f"{block}: {exc.message}")
            except BridgeError as exc:
                result.warnings.append(f"{block}: {role.value} kind {cfg.kind!r} could not be built: {exc.message}")
            except Exception as exc:  # a factory must refuse a config with a BridgeError; anything else is a bug
                origin = registry.origin(role, cfg.kind)
                result.errors.append(
                    f"{block}: {role.value} plugin {cfg.kind!r} ({origin}) failed to build: {type(exc).__name__}: {exc}"
                )
    return result
