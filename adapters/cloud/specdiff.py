"""Breaking changes between two versions of a target's OpenAPI spec, for the fields a mapping uses.

Only what breaks the bridge's requests is reported: a used property removed (or renamed: a new property of
the same type appears where it was), a type that no longer accepts the old values, an enum that lost values,
a tightened constraint (length, range, pattern), and a newly required property the mapping does not fill.
Pure: no I/O besides what the given specs already hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.cloud.openapi import OpenApiSpec
from bridge.ports import ConfigError

__all__ = ["BreakingChange", "diff_operation", "schema_fields"]


@dataclass(frozen=True)
class BreakingChange:
    kind: str
    field: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "field": self.field, "detail": self.detail}


def _flatten(spec: OpenApiSpec, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A schema with ``$ref`` resolved and ``allOf`` merged (properties, required, the rest)."""
    node = spec.resolve(schema or {})
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    props: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for part in node["allOf"]:
        sub = _flatten(spec, part)
        props.update(sub.get("properties") or {})
        required += [r for r in sub.get("required") or [] if r not in required]
        for k, v in sub.items():
            if k not in ("properties", "required"):
                merged.setdefault(k, v)
    merged["properties"], merged["required"] = props, required
    return merged


def _types(node: Mapping[str, Any]) -> set[str]:
    t = node.get("type")
    found = {t} if isinstance(t, str) else set(t or [])
    if "integer" in found:
        found.add("number")
    return found


def schema_fields(spec: OpenApiSpec, schema: Mapping[str, Any] | None, prefix: str = "", depth: int = 0) -> list[str]:
    """Every leaf property path of a schema (``lines.*.amount``): the default 'used fields'."""
    node = _flatten(spec, schema)
    if depth > 20:
        return [prefix]
    if node.get("type") == "array" or "items" in node:
        return schema_fields(spec, node.get("items"), f"{prefix}.*" if prefix else "*", depth + 1)
    props = node.get("properties") or {}
    if not props:
        return [prefix] if prefix else []
    out: list[str] = []
    for name, sub in props.items():
        out += schema_fields(spec, sub, f"{prefix}.{name}" if prefix else name, depth + 1)
    return out


def _compare_leaf(field: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[BreakingChange]:
    out: list[BreakingChange] = []
    old_t, new_t = _types(old), _types(new)
    if old_t and new_t and not old_t <= new_t:
        out.append(BreakingChange("type_changed", field, f"{sorted(old_t)} -> {sorted(new_t)}"))
    if "enum" in new:
        lost = [v for v in old.get("enum", []) if v not in new["enum"]] if "enum" in old else None
        if lost is None:
            out.append(BreakingChange("enum_added", field, f"now restricted to {new['enum']}"))
        elif lost:
            out.append(BreakingChange("enum_narrowed", field, f"values removed: {lost}"))
    for key, tighter in (
        ("maxLength", min),
        ("maximum", min),
        ("maxItems", min),
        ("minLength", max),
        ("minimum", max),
        ("minItems", max),
    ):
        if key in new and (key not in old or tighter(old[key], new[key]) != old[key]):
            out.append(BreakingChange("constraint", field, f"{key} {old.get(key, 'none')} -> {new[key]}"))
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        out.append(BreakingChange("constraint", field, f"pattern {old.get('pattern')!r} -> {new['pattern']!r}"))
    return out


def _walk(
    old_spec: OpenApiSpec,
    new_spec: OpenApiSpec,
    old_schema: Any,
    new_schema: Any,
    parts: list[str],
    done: list[str],
    used: set[str],
    out: list[BreakingChange],
    seen_levels: set[str],
) -> None:
    old, new = _flatten(old_spec, old_schema), _flatten(new_spec, new_schema)
    here = ".".join(done)
    if here not in seen_levels and (old.get("properties") or new.get("properties")):
        seen_levels.add(here)
        for name in new.get("required") or []:
            path = f"{here}.{name}" if here else name
            if name not in (old.get("required") or []) and not any(u == path or u.startswith(path + ".") for u in used):
                out.append(BreakingChange("new_required", path, "required now; the mapping does not fill it"))
    out.extend(_compare_leaf(here or "(body)", old, new) if not parts else [])
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*" or (old.get("type") == "array" and "items" in old):
        if "items" not in new:
            out.append(BreakingChange("type_changed", here or "(body)", "no longer an array"))
            return
        nxt = rest if head == "*" else parts
        _walk(old_spec, new_spec, old.get("items"), new.get("items"), nxt, [*done, "*"], used, out, seen_levels)
        return
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    path = ".".join([*done, head])
    if head not in old_props:
        return  # not in the old contract either: nothing a spec change can break
    if head not in new_props:
        old_t = _types(_flatten(old_spec, old_props[head]))
        renamed = [n for n in new_props if n not in old_props and _types(_flatten(new_spec, new_props[n])) == old_t]
        if renamed:
            out.append(BreakingChange("renamed", path, f"gone; probably renamed to {', '.join(renamed)}"))
        else:
            out.append(BreakingChange("removed", path, "property removed"))
        return
    _walk(old_spec, new_spec, old_props[head], new_props[head], rest, [*done, head], used, out, seen_levels)


def diff_operation(
    old: OpenApiSpec, new: OpenApiSpec, operation: str, used_fields: Iterable[str] | None = None
) -> list[BreakingChange]:
    """Breaking changes of ``operation``'s request body between ``old`` and ``new`` for ``used_fields``
    (default: every property of the old request schema)."""
    op_old = old.operation("post", operation)
    try:
        op_new = new.operation(op_old.method, op_old.operation_id or op_old.name)
    except ConfigError:
        try:
            op_new = new.operation(op_old.method, op_old.name)
        except ConfigError:
            return [BreakingChange("operation_removed", op_old.name, "the operation is gone from the new spec")]
    used = list(used_fields) if used_fields else schema_fields(old, op_old.body_schema)
    out: list[BreakingChange] = []
    levels: set[str] = set()
    used_set = set(used)
    _walk(old, new, op_old.body_schema, op_new.body_schema, [], [], used_set, out, levels)
    for field in used:
        _walk(
            old,
            new,
            op_old.body_schema,
            op_new.body_schema,
            [p for p in field.split(".") if p],
            [],
            used_set,
            out,
            levels,
        )
    unique: list[BreakingChange] = []
    for change in out:
        if change not in unique:
            unique.append(change)
    return unique
