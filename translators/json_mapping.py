"""JSON bodies <-> canonical data through a JSON mapping (dotted key paths), in both directions.

Reading parses numbers as ``Decimal`` (never float) and converts every value through the field's pipeline;
writing renders through the same pipeline in reverse, with amounts as exact strings or, on request, as JSON
numbers spelled from the Decimal's own digits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from bridge.ports import DecodeError, Location
from translators.mapping.compiled import (
    MISSING,
    CompiledField,
    CompiledObject,
    FieldProblem,
    finish_object,
    written_fields,
)

__all__ = ["extract_json", "load_json", "render_json"]


def load_json(body: bytes, origin: str | None = None) -> Any:
    """Parse JSON with exact decimals; DecodeError with line and column when malformed."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise DecodeError(f"body is not valid JSON: {exc}", location=Location(file=origin, line=line)) from exc


def _dig(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise ValueError("a float reached a mapped value; JSON numbers must be parsed as Decimal")
    return value if isinstance(value, str) else str(value)


def _value(f: CompiledField, raw: Any) -> Any:
    try:
        return f.value(_text(raw))
    except ValueError as exc:
        raise FieldProblem(f.name, str(exc)) from None


def extract_json(node: Any, obj: CompiledObject) -> dict[str, Any]:
    """The converted values of ``obj``'s fields in the JSON object ``node`` (no defaults applied yet)."""
    out: dict[str, Any] = {}
    for f in obj.fields:
        try:
            if f.children is not None and f.is_grouping:
                sub = extract_json(node, f.children)
                if sub:
                    out[f.name] = finish_object(sub, f.children)
                continue
            if f.keys is None:
                continue
            raw = _dig(node, f.keys)
            if raw is None:
                continue
            if f.children is not None:
                if f.many:
                    items = []
                    # An API that sends one object where the mapping reads a list ("address": {...}) has one item
                    for i, item in enumerate([raw] if isinstance(raw, Mapping) else raw):
                        try:
                            items.append(finish_object(extract_json(item, f.children), f.children))
                        except FieldProblem as exc:
                            raise exc.nested(f"[{i}]") from None
                    out[f.name] = items
                else:
                    out[f.name] = finish_object(extract_json(raw, f.children), f.children)
            elif f.many or f.is_text_list:
                listed = raw if isinstance(raw, list) else [raw]  # one text where a list is read: one item
                values = [v for item in listed if (v := _value(f, item)) is not MISSING]
                if values:
                    out[f.name] = values
            else:
                v = _value(f, raw)
                if v is not MISSING:
                    out[f.name] = v
        except FieldProblem as exc:
            if exc.field.startswith("["):
                raise FieldProblem(f"{f.name}{exc.field}", exc.message) from None
            raise exc.nested(f.name) if exc.field != f.name else exc from None
    return out


def _native(f: CompiledField, value: Any, numbers: bool) -> Any:
    if f.kind == "bool" and f.codes is None:
        return bool(value)
    if f.kind == "int" and f.codes is None:
        return int(value)
    text = f.text(value)
    if numbers and f.kind == "decimal" and f.codes is None:
        return orjson.Fragment(text.encode())
    return text


def render_json(obj: CompiledObject, record: Any, *, numbers: bool = False) -> dict[str, Any]:
    """The JSON object (plain dict, orjson-ready) for ``record`` under ``obj``'s fields."""
    out: dict[str, Any] = {}
    for f, value in written_fields(obj, record):
        if f.children is not None and f.is_grouping:
            out.update(render_json(f.children, value, numbers=numbers))
            continue
        if f.keys is None:
            continue
        if f.children is not None:
            rendered: Any = (
                [render_json(f.children, item, numbers=numbers) for item in value]
                if f.many
                else render_json(f.children, value, numbers=numbers)
            )
        elif f.many or f.is_text_list:
            rendered = [_native(f, item, numbers) for item in value]
        else:
            rendered = _native(f, value, numbers)
        target = out
        for key in f.keys[:-1]:
            target = target.setdefault(key, {})
        target[f.keys[-1]] = rendered
    return out
