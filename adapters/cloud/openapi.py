"""OpenAPI 3 contract checks: validate outgoing request bodies, and find spec changes that break a mapping.

An interface may name its target's OpenAPI 3 file. Before a sink sends, the body is validated with
``jsonschema`` against the request-body schema of the operation the request hits (``$ref`` resolved inside
the spec); a violation is a :class:`~bridge.ports.ContractViolation` naming the field path, so the message is
dead-lettered with *where* instead of being sent to fail at the target. Both OpenAPI 3.0 (``nullable``) and
3.1 (plain JSON Schema 2020-12) are read. This module does no network I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bridge.ports import ConfigError, ContractViolation, Location

__all__ = ["OpenApiSpec", "Operation", "field_path", "leaf_paths"]

_SPEC_URI = "urn:esb-bridge:openapi"
_METHODS = ("get", "put", "post", "delete", "patch")


def field_path(parts: Iterable[str | int]) -> str:
    """``["lines", 0, "amount"]`` -> ``lines[0].amount``: how a violation names its field."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(body)"


def leaf_paths(sample: Any, prefix: str = "") -> list[str]:
    """Every leaf field path of a JSON sample body, arrays written as ``*`` (``lines.*.amount``)."""
    if isinstance(sample, Mapping):
        paths: list[str] = []
        for key, value in sample.items():
            paths.extend(leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
        return paths or ([prefix] if prefix else [])
    if isinstance(sample, list):
        merged: list[str] = []
        for item in sample:
            for p in leaf_paths(item, f"{prefix}.*" if prefix else "*"):
                if p not in merged:
                    merged.append(p)
        return merged or [prefix]
    return [prefix]


def _escape(token: str) -> str:
    """A JSON-pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _nullable_to_31(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` rewritten as JSON Schema's ``type: [T, "null"]``."""
    if isinstance(node, dict):
        out = {k: _nullable_to_31(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_31(v) for v in node]
    return node


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: method, path template and its JSON request-body schema (if any)."""

    method: str
    path: str
    operation_id: str | None
    body_schema: Mapping[str, Any] | None
    body_pointer: str | None = None

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"


class OpenApiSpec:
    """A loaded OpenAPI 3 document with ``$ref`` resolution and request-body validation."""

    def __init__(self, document: Mapping[str, Any], *, source: str = "<spec>") -> None:
        version = str(document.get("openapi", ""))
        if not version.startswith("3."):
            raise ConfigError(f"{source}: not an OpenAPI 3 document (openapi: {version or 'missing'})")
        self.source = source
        self.document: dict[str, Any] = _nullable_to_31(dict(document)) if version.startswith("3.0") else dict(document)
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
        servers = self.document.get("servers") or [{"url": "/"}]
        self.base_paths = sorted({urlsplit(str(s.get("url", "/"))).path.rstrip("/") for s in servers}, key=len)
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def load(cls, path: str | Path) -> OpenApiSpec:
        """Read a YAML or JSON spec file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read OpenAPI spec {p}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: an OpenAPI spec is a mapping")
        return cls(data, source=str(p))

    # ------------------------------------------------------------------ operations

    def operations(self) -> Iterator[Operation]:
        """Every operation, with its ``application/json`` request-body schema resolved one level."""
        for path, item in (self.document.get("paths") or {}).items():
            for method in _METHODS:
                op = item.get(method) if isinstance(item, dict) else None
                if isinstance(op, dict):
                    schema, pointer = self._body_schema(op, f"/paths/{_escape(path)}/{method}")
                    yield Operation(method, path, op.get("operationId"), schema, pointer)

    def _body_schema(self, op: Mapping[str, Any], pointer: str) -> tuple[Mapping[str, Any] | None, str | None]:
        body = op.get("requestBody")
        pointer += "/requestBody"
        if isinstance(body, dict) and "$ref" in body:
            pointer = str(body["$ref"]).removeprefix("#")
            body = self.resolve(body)
        content = (body or {}).get("content") or {}
        for media, entry in content.items():
            if media == "application/json" or media.endswith("+json"):
                schema = entry.get("schema")
                if isinstance(schema, dict):
                    return schema, f"{pointer}/content/{_escape(media)}/schema"
        return None, None

    def operation(self, method: str, url_or_path: str) -> Operation:
        """The operation a request hits: by ``operationId``, by ``"POST /v1/x"``, or by method + concrete URL."""
        for op in self.operations():
            if url_or_path in (op.operation_id, op.name):
                return op
        path = urlsplit(url_or_path).path.rstrip("/") or "/"
        candidates = [path] + [path[len(b) :] or "/" for b in self.base_paths if b and path.startswith(b)]
        for op in self.operations():
            if op.method != method.lower():
                continue
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(op.path.rstrip("/") or "/")) + "$"
            if any(re.match(pattern, c) for c in candidates):
                return op
        raise ConfigError(f"{self.source}: no operation {method.upper()} {url_or_path}")

    def resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` (inside this spec) until a concrete schema."""
        seen = 0
        current: Any = node
        while isinstance(current, Mapping) and "$ref" in current:
            ref = str(current["$ref"])
            if not ref.startswith("#"):
                raise ConfigError(f"{self.source}: only references inside the spec are supported ({ref})")
            current = self._registry.resolver(_SPEC_URI).lookup(_SPEC_URI + ref).contents
            seen += 1
            if seen > 50:
                raise ConfigError(f"{self.source}: $ref cycle at {ref}")
        return dict(current) if isinstance(current, Mapping) else {}

    # ------------------------------------------------------------------ validation

    def _validator(self, op: Operation) -> Draft202012Validator | None:
        if op.body_pointer is None:
            return None
        validator = self._validators.get(op.name)
        if validator is None:
            # Validate through a $ref into the whole document, so the schema's own "#/components/..." refs
            # resolve against the spec rather than against the body schema.
            validator = Draft202012Validator(
                {"$ref": f"{_SPEC_URI}#{op.body_pointer}"}, registry=self._registry, format_checker=FormatChecker()
            )
            self._validators[op.name] = validator
        return validator

    def violations(self, op: Operation, body: Any) -> list[tuple[str, str]]:
        """Every (field path, message) where ``body`` breaks the operation's request schema, sorted by path."""
        validator = self._validator(op)
        if validator is None:
            return []
        errors: list[ValidationError] = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))
        return [(field_path(e.absolute_path), e.message) for e in errors]

    def validate_body(self, op: Operation, body: bytes | Any, *, media_type: str = "application/json") -> None:
        """Raise :class:`ContractViolation` naming the first offending field (all of them in ``detail``)."""
        if isinstance(body, bytes | bytearray):
            if "json" not in media_type:
                return
            try:
                body = json.loads(body)
            except ValueError as exc:
                raise ContractViolation(
                    f"{op.name}: body is not JSON: {exc}", location=Location(field="(body)")
                ) from exc
        found = self.violations(op, body)
        if found:
            path, message = found[0]
            raise ContractViolation(
                f"{op.name}: field {path}: {message}",
                location=Location(field=path, file=self.source),
                detail={"operation": op.name, "violations": [{"field": p, "message": m} for p, m in found]},
            )
