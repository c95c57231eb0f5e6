"""The config reference and the JSON Schema of the whole config, generated from the pydantic models.

The reference (``docs/config-reference.md``, written by ``esb-bridge config reference``) is rendered from the
core models (:mod:`bridge.config.model` and its sections) and from every plugin's config model as the
registry knows it, so it cannot drift from what the loader accepts: a test compares the file with a fresh
rendering and lists every field without a description (:func:`undocumented_fields`). The schema
(``esb-bridge config schema``) is the core schema with each plugin block replaced by the union of the kinds
registered for its role, for YAML editors' completion. Nothing here reads a config file or does I/O.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticUndefined

from bridge.config.loaded import PLUGIN_BLOCKS
from bridge.config.model import BridgeConfig, InterfaceConfig, PathConfig
from bridge.config.types import DURATION_SCHEMA
from bridge.plugins import registry
from bridge.ports import KindConfig, Plugin, PluginRole

__all__ = ["config_schema", "core_models", "plugin_sections", "render_reference", "undocumented_fields"]

#: Top-level packages whose plugins the reference documents (third-party plugins document themselves).
PROJECT_PACKAGES = ("bridge", "adapters", "translators", "cutover")

_ROLE_ORDER = (
    PluginRole.SOURCE,
    PluginRole.DECODER,
    PluginRole.ENCODER,
    PluginRole.SINK,
    PluginRole.PROJECTOR,
    PluginRole.READBACK,
    PluginRole.LISTING,
)

#: Where the core config holds a plugin block: (model, field) -> role of the block's kind.
BLOCK_ROLES: dict[tuple[type[BaseModel], str], PluginRole] = {
    (InterfaceConfig if len(where) == 1 else PathConfig, str(where[-1])): role for where, role in PLUGIN_BLOCKS
}


def _nested(annotation: Any) -> Iterator[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _nested(arg)


def _walk(model: type[BaseModel], seen: dict[type[BaseModel], None]) -> None:
    if model in seen:
        return
    seen[model] = None
    for f in model.model_fields.values():
        for sub in _nested(f.annotation):
            _walk(sub, seen)


def core_models() -> list[type[BaseModel]]:
    """Every model of the core config, from :class:`BridgeConfig` down, in reading order."""
    seen: dict[type[BaseModel], None] = {}
    _walk(BridgeConfig, seen)
    return list(seen)


def _project_plugin(p: Plugin[Any, Any]) -> bool:
    return p.role in _ROLE_ORDER and p.config_model.__module__.split(".")[0] in PROJECT_PACKAGES


def plugin_sections() -> list[tuple[PluginRole, Plugin[Any, Any], list[type[BaseModel]]]]:
    """Per role and kind: the plugin and its config model with the models nested in it."""
    out = []
    for role in _ROLE_ORDER:
        for kind in registry.kinds(role):
            p = registry.get(role, kind)
            if not _project_plugin(p):
                continue
            seen: dict[type[BaseModel], None] = {}
            _walk(p.config_model, seen)
            out.append((role, p, list(seen)))
    return out


def undocumented_fields(models: Iterable[type[BaseModel]] | None = None) -> list[str]:
    """``Model.field`` for every config field without a description (all core and plugin models by default)."""
    if models is None:
        models = [*core_models(), *(m for _, _, ms in plugin_sections() for m in ms)]
    missing: dict[str, None] = {}
    for m in models:
        for name, f in m.model_fields.items():
            if not (f.description or "").strip():
                missing[f"{m.__module__}.{m.__qualname__}.{name}"] = None
    return list(missing)


# ------------------------------------------------------------------------------------------------ rendering


def _is_duration(f: FieldInfo) -> bool:
    return any(getattr(m, "json_schema", None) == DURATION_SCHEMA for m in f.metadata)


def _type_name(annotation: Any, links: dict[type[BaseModel], str]) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation is Any:
        return "any"
    if origin is typing.Annotated:
        meta = typing.get_args(annotation)[1:]
        if any(getattr(m, "json_schema", None) == DURATION_SCHEMA for m in meta):
            return "duration"
        return _type_name(typing.get_args(annotation)[0], links)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a, links) for a in args)
    if origin is Literal:
        return "text" if all(isinstance(a, str) for a in typing.get_args(annotation)) else "value"
    if origin in (list, tuple, set, frozenset):
        inner = [a for a in args if a is not Ellipsis]
        return "list of " + (_type_name(inner[0], links) if inner else "values")
    if origin is dict:
        if args and args[1] is Any:
            return "mapping"
        return f"mapping of {_type_name(args[0], links)} to {_type_name(args[1], links)}"
    if inspect.isclass(annotation):
        if issubclass(annotation, BaseModel):
            return f"[{annotation.__name__}](#{links.get(annotation, annotation.__name__.lower())})"
        if issubclass(annotation, SecretStr):
            return "secret"
        if issubclass(annotation, bool):
            return "boolean"
        if issubclass(annotation, Enum):
            return "text"
        return {"str": "text", "int": "integer", "float": "number", "date": "date", "datetime": "date-time"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _allowed(f: FieldInfo) -> str:
    parts: list[str] = []
    literal = [a for a in typing.get_args(f.annotation) if typing.get_origin(a) is Literal]
    if typing.get_origin(f.annotation) is Literal:
        literal = [f.annotation]
    for lit in literal:
        parts.append(", ".join(f"`{v}`" for v in typing.get_args(lit)))
    for m in f.metadata:
        if isinstance(m, annotated_types.Ge):
            parts.append(f">= {_value(m.ge)}")
        elif isinstance(m, annotated_types.Gt):
            parts.append(f"> {_value(m.gt)}")
        elif isinstance(m, annotated_types.Le):
            parts.append(f"<= {_value(m.le)}")
        elif isinstance(m, annotated_types.Lt):
            parts.append(f"< {_value(m.lt)}")
    return "; ".join(parts)


def _value(v: Any) -> str:
    if v is None:
        return "unset"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, BaseModel):
        return "defaults"
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, list | tuple | dict | str):
        return json.dumps(v if not isinstance(v, tuple) else list(v), default=str, ensure_ascii=False)
    return str(v)


def _default(f: FieldInfo) -> str:
    if f.is_required():
        return "**required**"
    if f.default_factory is not None:
        return f"`{_value(f.default_factory())}`"  # type: ignore[call-arg]
    if f.default is PydanticUndefined:
        return ""
    return f"`{_value(f.default)}`"


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, ``<name>`` not taken for an HTML tag."""
    return re.sub(r"<(?=[A-Za-z{$])", "&lt;", " ".join(text.split()).replace("|", "\\|"))


def _example_value(name: str, f: FieldInfo) -> str:
    ann = f.annotation
    if typing.get_origin(ann) is Literal:
        return str(typing.get_args(ann)[0])
    if inspect.isclass(ann) and issubclass(ann, SecretStr):
        return "${" + name.upper() + "}"
    if inspect.isclass(ann) and issubclass(ann, int | float) and not issubclass(ann, bool):
        return "1"
    return f"<{name}>"


def _example(role: PluginRole, p: Plugin[Any, Any]) -> str:
    lines = [f"kind: {p.kind}"]
    for name, f in p.config_model.model_fields.items():
        if name != "kind" and f.is_required():
            lines.append(f"{name}: {_example_value(name, f)}")
    return "```yaml\n" + "\n".join(lines) + "\n```"


def _anchor(model: type[BaseModel], prefix: str = "") -> str:
    return (prefix + model.__name__).lower().replace(".", "").replace(" ", "-")


def _table(model: type[BaseModel], links: dict[type[BaseModel], str]) -> list[str]:
    rows = ["| option | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
    fields = sorted(model.model_fields.items(), key=lambda item: item[0] != "kind")
    for name, f in fields:
        kind = "duration" if _is_duration(f) else _type_name(f.annotation, links)
        if (model, name) in BLOCK_ROLES:
            role = BLOCK_ROLES[(model, name)]
            kind = f"[{role.value} block](#{role.value}-kinds)"
        rows.append(f"| `{name}` | {kind} | {_default(f)} | {_cell(_allowed(f))} | {_cell(f.description or '')} |")
    return rows


def _doc(model: type[BaseModel]) -> str:
    doc = inspect.getdoc(model) or ""
    if model.__doc__ is None or doc == inspect.getdoc(BaseModel) or doc == inspect.getdoc(KindConfig):
        return ""
    return " ".join(doc.split("\n\n")[0].split())


_INTRO = """\
# Config reference

<!-- Generated by `esb-bridge config reference` from the pydantic config models; do not edit by hand.
     `make test` fails when this file is stale or a config field has no description. -->

Every option of `bridge.yaml` (and of the interface files it includes), with its type, default, allowed
values and meaning. Durations accept `500ms`, `30s`, `5m`, `2h`, `1d` or a number of seconds; `${VAR}`
anywhere in a value is replaced by the environment variable `VAR` (secrets never live in the file);
relative paths are relative to the config file's folder. `esb-bridge config schema` prints the same as a
JSON Schema for editors; `esb-bridge validate` checks a file against it and more.

```yaml
store: sqlite:///bridge.db
include: [interfaces/*.yaml]
retry: {initial: 2s, multiplier: 2, max_delay: 5m, max_attempts: 8}
interfaces:
  customers-to-crm:
    canonical: Customer
    source: {kind: folder, path: drops/customers, include: ["*.csv"], readiness: {rule: rename}}
    decoder: {kind: csv, mapping: maps/customers.csv.yaml}
    legacy: {encoder: {kind: json}, sink: {kind: file, path: out/legacy}, project: {kind: canonical-json}}
    cloud:  {encoder: {kind: json}, sink: {kind: rest, url: "http://127.0.0.1:8080/customers"}}
    cutover: {mode: legacy_primary}
```

Commands that change who acts take the actor from `ESB_BRIDGE_ACTOR` (else `USER`); the config file comes
from `--config FILE`, else `ESB_BRIDGE_CONFIG`, else `./bridge.yaml`.
"""


def render_reference() -> str:
    """``docs/config-reference.md``: the core sections, then every plugin kind by role."""
    core = core_models()
    links = {m: _anchor(m) for m in core}
    out = [_INTRO, "## Core", ""]
    for m in core:
        out += [f"### {m.__name__}", ""]
        if doc := _doc(m):
            out += [doc, ""]
        out += [*_table(m, links), ""]
    sections = plugin_sections()
    for role in _ROLE_ORDER:
        mine = [(p, ms) for r, p, ms in sections if r is role]
        if not mine:
            continue
        out += [f"## {role.value} kinds", ""]
        out += [f"Kinds of a `{role.value}` block: " + ", ".join(f"`{p.kind}`" for p, _ in mine) + ".", ""]
        for p, models in mine:
            prefix = f"{role.value}-{p.kind}-"
            plinks = {**links, **{m: _anchor(m, prefix) for m in models}}
            out += [f"### {role.value} `{p.kind}`", ""]
            if p.description:
                out += [p.description[0].upper() + p.description[1:] + ".", ""]
            out += [_example(role, p), ""]
            for i, m in enumerate(models):
                if i:
                    out += [f'#### <a id="{plinks[m]}"></a>{m.__name__}', ""]
                    if doc := _doc(m):
                        out += [doc, ""]
                elif doc := _doc(m):
                    out += [doc, ""]
                out += [*_table(m, plinks), ""]
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------ schema


def config_schema() -> dict[str, Any]:
    """JSON Schema of ``bridge.yaml``; plugin blocks are the union of their role's kinds (``$defs``)."""
    plugins = [p for _, p, _ in plugin_sections()]
    models: list[type[BaseModel]] = [BridgeConfig, *dict.fromkeys(p.config_model for p in plugins)]
    keyed, top = models_json_schema([(m, "validation") for m in models], ref_template="#/$defs/{model}")
    defs: dict[str, Any] = top["$defs"]
    ref = {m: keyed[(m, "validation")]["$ref"] for m in models}
    for (model, fname), role in BLOCK_ROLES.items():
        choices = [{"$ref": ref[p.config_model]} for p in plugins if p.role is role]
        prop = defs[model.__name__]["properties"][fname]
        desc = prop.get("description")
        variants: list[dict[str, Any]] = list(choices)
        if not model.model_fields[fname].is_required():
            variants.append({"type": "null"})
        defs[model.__name__]["properties"][fname] = {"anyOf": variants, **({"description": desc} if desc else {})}
    root = dict(defs.pop("BridgeConfig"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://esb-bridge.invalid/bridge.schema.json",
        **root,
        "$defs": defs,
    }
