"""Load and validate a config file: every problem of every file reported at once, each with its line.

Validation runs in two phases: the core schema (``bridge.config.model``), then every plugin block through
the plugin registered for its ``kind`` (``bridge.plugins``; the contract is ``bridge.ports.plugins``). Both
phases collect problems instead of stopping at the first; each problem names the YAML path, the file and
line, and what was expected, never the offending value (it may be a secret).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.config.loaded import PLUGIN_BLOCKS, LoadedConfig
from bridge.config.model import BridgeConfig, InterfaceConfig
from bridge.config.suggest import did_you_mean, fields_at
from bridge.config.yamlsource import LineMap, PathKey, _dotted, read_yaml
from bridge.plugins import registry
from bridge.ports import ConfigError, ConfigProblem, KindConfig

__all__ = ["DEFAULT_CONFIG", "PLUGIN_BLOCKS", "LoadedConfig", "load_config", "resolve_config_path"]

DEFAULT_CONFIG = "bridge.yaml"

#: Where plugin blocks sit inside an interface, and the role their kind is looked up in.


def resolve_config_path(explicit: str | None) -> Path:
    """``--config`` wins, then ``ESB_BRIDGE_CONFIG``, then ``./bridge.yaml``."""
    return Path(explicit or os.environ.get("ESB_BRIDGE_CONFIG") or DEFAULT_CONFIG)


def _problems(
    exc: ValidationError, prefix: PathKey, lines: LineMap, model: type[BaseModel] | None = None
) -> list[ConfigProblem]:
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        inner: PathKey = tuple(p for p in err["loc"] if isinstance(p, str | int))
        loc: PathKey = prefix + inner
        file, line = lines.locate(loc)
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (not allowed here)"
            if model is not None and inner:
                msg += did_you_mean(str(inner[-1]), fields_at(model, inner[:-1]))
        out.append(ConfigProblem(_dotted(loc), msg, file, line))
    return out


def load_config(path: Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, include, validate; raise :class:`ConfigError` listing every problem when anything is wrong."""
    if not path.exists():
        raise ConfigError(f"config file {path} not found (use --config FILE or ESB_BRIDGE_CONFIG)")
    main = read_yaml(path, env)
    problems = list(main.problems)
    lines = main.lines
    data: Any = main.data if main.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError("invalid config", [ConfigProblem("<root>", "expected a mapping", str(path), 1)])
    base = path.parent.resolve()
    interfaces: dict[str, Any] = dict(data.get("interfaces") or {})
    for pattern in data.get("include") or []:
        matches = sorted(glob.glob(str(base / str(pattern))))
        if not matches:
            f, ln = lines.locate(("include",))
            problems.append(ConfigProblem("include", f"no file matches {pattern!r}", f, ln))
        for inc in matches:
            sub = read_yaml(Path(inc), env)
            problems += [
                ConfigProblem(f"interfaces.{p.path}" if p.path != "<root>" else p.path, p.message, p.file, p.line)
                for p in sub.problems
            ]
            if not isinstance(sub.data, dict):
                problems.append(ConfigProblem("<root>", "expected a mapping of interface name -> interface", inc, 1))
                continue
            for name, body in sub.data.items():
                if name in interfaces:
                    problems.append(
                        ConfigProblem(
                            f"interfaces.{name}", "interface defined twice", inc, sub.lines.locate((name,))[1]
                        )
                    )
                interfaces[name] = body
            lines.update(sub.lines, ("interfaces",))
    data = {**data, "interfaces": {}}

    core: BridgeConfig | None = None
    try:
        core = BridgeConfig.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc, (), lines, BridgeConfig)
    valid_interfaces: dict[str, InterfaceConfig] = {}
    plugins: dict[tuple[str, PathKey], KindConfig] = {}
    for name, body in interfaces.items():
        prefix: PathKey = ("interfaces", name)
        try:
            valid_interfaces[name] = InterfaceConfig.model_validate(body)
        except ValidationError as exc:
            problems += _problems(exc, prefix, lines, InterfaceConfig)
        if isinstance(body, dict):
            problems += _validate_plugins(name, body, prefix, lines, plugins)
    if core is not None:
        try:
            core = BridgeConfig.model_validate({**core.model_dump(), "interfaces": valid_interfaces})
        except ValidationError as exc:
            problems += _problems(exc, (), lines, BridgeConfig)
    if problems:
        problems.sort(key=lambda p: (p.file or "", p.line or 0))
        count = len(problems)
        raise ConfigError(f"{path}: {count} problem{'s' if count != 1 else ''} found", problems)
    assert core is not None
    return LoadedConfig(core, path, base, lines, plugins)


def _validate_plugins(
    name: str, body: dict[str, Any], prefix: PathKey, lines: LineMap, out: dict[tuple[str, PathKey], KindConfig]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for where, role in PLUGIN_BLOCKS:
        block: Any = body
        for part in where:
            block = block.get(part) if isinstance(block, dict) else None
        if not isinstance(block, dict) or "kind" not in block:
            continue
        loc = prefix + where
        try:
            plugin = registry.get(role, str(block["kind"]))
        except KeyError as exc:
            f, ln = lines.locate(loc + ("kind",))
            hint = did_you_mean(str(block["kind"]), registry.kinds(role))
            problems.append(ConfigProblem(_dotted(loc + ("kind",)), str(exc.args[0]) + hint, f, ln))
            continue
        try:
            out[(name, where)] = plugin.config_model.model_validate(block)
        except ValidationError as exc:
            problems += _problems(exc, loc, lines, plugin.config_model)
    return problems


def dump_public(model: BaseModel) -> dict[str, Any]:
    """A config model as JSON-able data with secrets masked (``SecretStr`` dumps as ``**********``)."""
    return model.model_dump(mode="json")


__all__ += ["dump_public"]
