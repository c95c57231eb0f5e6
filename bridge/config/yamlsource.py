"""YAML reading that remembers where every value came from.

Config errors must name the YAML path *and the line*, for every problem at once. PyYAML's composed node
tree carries marks; we build plain Python data from it together with a map from each value's path to its
file and line. ``${ENV_VAR}`` references in strings are substituted here (secrets come from the
environment); a missing variable is reported at its line, and values are never echoed in errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bridge.ports import ConfigProblem

__all__ = ["LineMap", "SourcedYaml", "load_yaml"]

PathKey = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class LineMap:
    """Path (tuple of keys/indexes) -> (file, 1-based line) for every node read."""

    lines: dict[PathKey, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: PathKey) -> tuple[str | None, int | None]:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None, None
            p = p[:-1]

    def update(self, other: LineMap, prefix: PathKey = ()) -> None:
        for k, v in other.lines.items():
            self.lines[prefix + k] = v


@dataclass
class SourcedYaml:
    data: Any
    lines: LineMap
    problems: list[ConfigProblem]


def _build(
    node: yaml.Node, path: PathKey, file: str, lines: LineMap, problems: list[ConfigProblem], env: Mapping[str, str]
) -> Any:
    lines.lines[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(
                    ConfigProblem(_dotted(path + (key,)), "duplicate key", file, key_node.start_mark.line + 1)
                )
            lines.lines[path + (key,)] = (file, key_node.start_mark.line + 1)
            out[key] = _build(value_node, path + (key,), file, lines, problems, env)
            lines.lines[path + (key,)] = (file, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, path + (i,), file, lines, problems, env) for i, v in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    value = _scalar(node)
    if isinstance(value, str) and "${" in value:

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(
                ConfigProblem(_dotted(path), f"environment variable {name} is not set", file, node.start_mark.line + 1)
            )
            return ""

        value = _ENV.sub(sub, value)
    return value


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _dotted(path: PathKey) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


def load_yaml(text: str, file: str, env: Mapping[str, str] | None = None) -> SourcedYaml:
    """Parse ``text``; a YAML syntax error becomes one problem with its line."""
    lines = LineMap()
    problems: list[ConfigProblem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problems.append(ConfigProblem("<root>", f"invalid YAML: {exc.problem}", file, line))
        return SourcedYaml(None, lines, problems)
    if node is None:
        return SourcedYaml({}, lines, problems)
    data = _build(node, (), file, lines, problems, os.environ if env is None else env)
    return SourcedYaml(data, lines, problems)


def read_yaml(path: Path, env: Mapping[str, str] | None = None) -> SourcedYaml:
    return load_yaml(path.read_text(encoding="utf-8"), str(path), env)


__all__ += ["read_yaml"]
