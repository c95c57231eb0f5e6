"""``esb-bridge validate``'s plugin check: build every plugin block of a config and hold it to its port.

Loading a config validates each block against its plugin's config model, but only building the object shows
whether the plugin keeps the rest of the contract (``bridge.ports.plugins``): that its factory returns an
object with every member of the role's port, and that the files the factory reads (mappings, stylesheets,
XSDs, hooks, code tables) exist and load. Factories do no I/O but reading those files, so building is safe
while validating. Then an object that offers the optional :class:`~bridge.ports.Preflight` check is asked
what it will need (a drop folder that exists and is readable, an output folder that can be created).

A plugin that breaks the contract is an error naming block, kind, role and entry point. A factory that
refuses the config with a :class:`BridgeError` is an error, located at the file and line of the mapping's
problem or of the block, when ``run`` builds that block (:func:`built_by_run` mirrors the composition root):
the run would stop there. A block the run does not build in this config (a ``project:`` on an interface
with one path) stays a warning, so every config that really runs stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bridge.config.findings import Finding
from bridge.config.loaded import PLUGIN_BLOCKS, LoadedConfig
from bridge.config.model import InterfaceConfig
from bridge.config.yamlsource import PathKey
from bridge.plugins import registry
from bridge.ports import (
    BridgeError,
    ConfigError,
    ConfigProblem,
    KindConfig,
    PluginContext,
    PluginContractError,
    PluginRole,
    Preflight,
    SystemClock,
)

__all__ = ["PluginCheck", "built_by_run", "check_plugins"]

#: Fields that name a file a factory reads; a factory error mentioning the file is located at that field.
_FILE_FIELDS = ("mapping", "stylesheet", "xsd", "wsdl", "openapi", "key_file", "known_hosts", "ca_bundle")


@dataclass
class PluginCheck:
    """What building every block found, as located :class:`Finding` objects."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f.message for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[str]:
        return [f.message for f in self.findings if not f.is_error]


def built_by_run(iface: InterfaceConfig, where: PathKey) -> bool:
    """Whether ``run`` builds the block at ``where`` (as ``bridge.runtime.wiring.build_interfaces`` does)."""
    if len(where) == 1:
        return True
    path = iface.legacy if where[0] == "legacy" else iface.cloud
    if path is None:
        return False
    compared = iface.legacy is not None and iface.cloud is not None
    if where[1] in ("project", "readback"):
        return compared
    if where[1] == "observe":
        return compared and where[0] == "legacy" and path.kind in ("forward", "observe")
    return True


def _file_field(cfg: KindConfig, message: str) -> str | None:
    for name in _FILE_FIELDS:
        value = getattr(cfg, name, None)
        if isinstance(value, str) and value and Path(value).name in message:
            return name
    return None


def check_plugins(loaded: LoadedConfig) -> PluginCheck:
    """Build every plugin block of ``loaded`` (nothing is entered or opened) and check it against its port."""
    result = PluginCheck()
    clock = SystemClock()
    for name, iface in loaded.config.interfaces.items():
        ctx = PluginContext(base_dir=loaded.base_dir, interface=name, canonical=iface.canonical, clock=clock)
        for where, role in PLUGIN_BLOCKS:
            cfg = loaded.plugin(name, where)
            if cfg is not None:
                _BlockCheck(loaded, ("interfaces", name, *where), built_by_run(iface, where), result).run(
                    role, cfg, ctx
                )
    return result


@dataclass
class _BlockCheck:
    """Building one block: what it found, located in the config (or in the mapping the factory read)."""

    loaded: LoadedConfig
    loc: PathKey
    used: bool
    result: PluginCheck

    @property
    def block(self) -> str:
        return ".".join(map(str, self.loc))

    def add(self, error: bool, message: str, field: str | None = None, problem: ConfigProblem | None = None) -> None:
        if problem is not None:
            file, line = problem.file, problem.line
        else:
            file, line = self.loaded.line_of((*self.loc, field) if field else self.loc)
        unused = "" if self.used else " (run does not use this block in this config)"
        severity: Literal["error", "warning"] = "error" if error and self.used else "warning"
        self.result.findings.append(Finding(severity, self.block, f"{message}{unused}", file, line))

    def run(self, role: PluginRole, cfg: KindConfig, ctx: PluginContext) -> None:
        block, what = self.block, f"{role.value} kind {cfg.kind!r}"
        try:
            obj = registry.build(role, cfg, ctx)
        except PluginContractError as exc:
            self.used = True  # a broken plugin is an error wherever it is named
            self.add(True, f"{block}: {exc.message}")
            return
        except BridgeError as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else []
            self.add(True, f"{block}: {what}: {exc.message}", None if problems else _file_field(cfg, exc.message))
            for p in problems:
                self.add(True, f"{block}: {p.path}: {p.message}", problem=p)
            return
        except Exception as exc:  # a factory must refuse a config with a BridgeError; anything else is a bug
            self.used = True
            origin = registry.origin(role, cfg.kind)
            self.add(True, f"{block}: {role.value} plugin {cfg.kind!r} ({origin}) failed to build: {_name(exc)}")
            return
        if isinstance(obj, Preflight):
            for problem in obj.preflight():
                at = f"{block}.{problem.field}" if problem.field else block
                self.add(problem.error, f"{at}: {problem.message}", problem.field or None)


def _name(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
