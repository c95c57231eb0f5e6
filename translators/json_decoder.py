"""``json`` decoder: one JSON document (a webhook event, an API response, a change-feed page) -> canonical records.

The record sits at the mapping's ``record`` path (dotted keys, e.g. ``data`` in a webhook event
``{id, type, data: {...}}``); the root when the mapping has none. An object there is one record; a list there
(a REST change feed's page of items) is one record per item, in order. With a mapping ``version`` path each
record hands on the change version it declares (see :mod:`translators._version`). A document that is not JSON
is a batch-level :class:`~bridge.ports.DecodeError`; a record that fails conversion or validation is a
RecordFailure. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bridge.ports import BridgeError, DecodedRecord, Envelope, Location, RecordFailure, RecordInvalid
from translators._records import STRICT, build_record, problem_error, record_context
from translators._version import json_version
from translators.json_mapping import extract_json, load_json
from translators.mapping.compiled import CompiledMapping, FieldProblem, finish_object

__all__ = ["JsonDecoder"]


class JsonDecoder:
    """Implements ``bridge.ports.Decoder`` for JSON documents through a JSON mapping."""

    def __init__(self, mapping: CompiledMapping) -> None:
        self.mapping = mapping
        self._keys = [k for k in (mapping.spec.record or "").split(".") if k]

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        with envelope.open() as stream:
            body = stream.read()
        node: Any = load_json(body, envelope.origin)
        path = ".".join(self._keys) or None
        for key in self._keys:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            for ordinal, item in enumerate(node):
                where = Location(file=envelope.origin, field=f"{path or ''}[{ordinal}]")
                fragment = json.dumps(item, default=str)[:4000]
                yield self._record(ordinal, item, where, fragment)
            return
        location = Location(file=envelope.origin, field=path)
        yield self._record(0, node, location, body[:2000].decode("utf-8", "replace"))

    def _record(self, ordinal: int, node: Any, where: Location, fragment: str) -> DecodedRecord | RecordFailure:
        if not isinstance(node, dict):
            failure = RecordInvalid("JSON document has no record object at the record path", location=where)
            return RecordFailure(ordinal, failure, fragment)
        mapping = self.mapping
        try:
            data = finish_object(extract_json(node, mapping.root), mapping.root)
            keys = mapping.version_keys
            version = None if keys is None else json_version(node, keys, mapping.spec.version or "")
            record = build_record(mapping, data, where, record_context(mapping, STRICT))
        except FieldProblem as exc:
            return RecordFailure(ordinal, problem_error(exc, where), fragment)
        except BridgeError as exc:
            return RecordFailure(ordinal, exc, fragment)
        return DecodedRecord(ordinal, record, where, version)
