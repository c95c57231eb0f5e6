"""Generic mappings derived from a canonical model: the bridge's own XML/CSV/JSON rendering of canonical data.

Used where no hand-written mapping exists: the XSLT encoder's input document, round-trip tests of every
model, and a starting point for mapping authors (``esb-bridge mapping generic``). XML and JSON carry every
field; CSV is flat, so it carries the scalar fields, nested single objects as ``parent.child`` columns, string
lists as numbered columns and the model's first list of objects as line rows grouped by the business key.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bridge.canonical import model_for
from translators.mapping.compiled import CompiledMapping
from translators.mapping.loader import compile_spec
from translators.mapping.spec import MappingSpec

__all__ = ["CANONICAL_NS", "KEY_FIELDS", "generic_mapping", "generic_spec"]

CANONICAL_NS = "urn:esb-bridge:canonical:1"
_SKIP = {"schema_version", "notes"}
#: The field holding each document type's business key (grouping key for CSV line rows).
KEY_FIELDS = {
    "Invoice": "invoice_number",
    "SalesOrder": "order_number",
    "Customer": "customer_number",
    "Product": "sku",
    "Payment": "payment_id",
    "Subscription": "subscription_id",
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is_list) with Optional and Annotated stripped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(inner[0])
    if origin in (tuple, list):
        inner_type, _ = _unwrap(typing.get_args(annotation)[0])
        return inner_type, True
    return annotation, False


def _convert(kind: Any) -> str:
    if isinstance(kind, type):
        if issubclass(kind, bool):
            return "bool"
        if issubclass(kind, int):
            return "int"
        if issubclass(kind, Decimal):
            return "decimal"
        if issubclass(kind, dt.datetime):
            return "datetime"
        if issubclass(kind, dt.date):
            return "date"
    return "str"


def _xml_fields(model: type[BaseModel], fmt: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sep = "/" if fmt == "xml" else "."
    for name, info in model.model_fields.items():
        if name in _SKIP:
            continue
        kind, is_list = _unwrap(info.annotation)
        path = f"c:{name}" if fmt == "xml" else name
        if kind is model:  # a list of the model itself (an invoice line's sub-lines)
            if fmt == "xml" and is_list:
                out[name] = {"path": f"{path}/c:item", "many": True, "recursive": True}
            continue  # JSON mappings cannot nest without end: the generic JSON mapping leaves it out
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            spec: dict[str, Any] = {
                "path": path + (f"{sep}c:item" if fmt == "xml" and is_list else ""),
                "fields": _xml_fields(kind, fmt),
            }
            if is_list:
                spec["many"] = True
        elif is_list:
            spec = {"path": path + ("/c:item" if fmt == "xml" else ""), "many": True}
        else:
            spec = {"path": path, "convert": {"type": _convert(kind), "trim": False}}
        out[name] = spec
    return out


def _csv_fields(model: type[BaseModel], prefix: str, lines: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in _SKIP:
            continue
        kind, is_list = _unwrap(info.annotation)
        column = f"{prefix}{name}"
        if kind is model:
            continue  # CSV is flat: a line's own sub-lines have no columns
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if is_list:
                if lines or prefix:
                    continue  # CSV is flat: only the first list of objects becomes line rows
                lines.append(name)
                out[name] = {"many": True, "fields": _csv_fields(kind, f"{name}.", lines)}
            else:
                out[name] = {"fields": _csv_fields(kind, f"{column}.", lines)}
        elif is_list:
            out[name] = {"columns": [f"{column}.{i}" for i in range(1, 5)]}
        else:
            out[name] = {"column": column, "convert": {"type": _convert(kind), "trim": False}}
    return out


def generic_spec(canonical: str, fmt: str = "xml") -> MappingSpec:
    """The generic mapping of ``canonical`` for ``fmt`` (``xml``, ``csv`` or ``json``)."""
    model = model_for(canonical)
    if fmt == "csv":
        lines: list[str] = []
        fields = _csv_fields(model, "", lines)
        group = {"key": [KEY_FIELDS[canonical]], "lines_field": lines[0]} if lines else None
        data: dict[str, Any] = {"canonical": canonical, "format": "csv", "csv": {"group": group}, "fields": fields}
    elif fmt == "json":
        data = {"canonical": canonical, "format": "json", "fields": _xml_fields(model, "json")}
    else:
        data = {
            "canonical": canonical,
            "format": "xml",
            "namespaces": {"c": CANONICAL_NS},
            "record": f"/c:{canonical}",
            "fields": _xml_fields(model, "xml"),
        }
    return MappingSpec.model_validate(data)


def generic_mapping(canonical: str, fmt: str = "xml") -> CompiledMapping:
    """:func:`generic_spec`, compiled."""
    return compile_spec(generic_spec(canonical, fmt))
