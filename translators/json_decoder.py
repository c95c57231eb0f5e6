"""``json`` decoder: one JSON document (a webhook event, an API response) -> one canonical record.

The record object sits at the mapping's ``record`` path (dotted keys, e.g. ``data`` in a webhook event
``{id, type, data: {...}}``); the root when the mapping has none. A document that is not JSON is a batch-level
:class:`~bridge.ports.DecodeError`; a record that fails conversion or validation is a RecordFailure. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bridge.ports import BridgeError, DecodedRecord, Envelope, Location, RecordFailure, RecordInvalid
from translators._records import STRICT, build_record, problem_error, record_context
from translators.json_mapping import extract_json, load_json
from translators.mapping.compiled import CompiledMapping, FieldProblem, finish_object

__all__ = ["JsonDecoder"]


class JsonDecoder:
    """Implements ``bridge.ports.Decoder`` for single JSON documents through a JSON mapping."""

    def __init__(self, mapping: CompiledMapping) -> None:
        self.mapping = mapping
        self._keys = [k for k in (mapping.spec.record or "").split(".") if k]

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        with envelope.open() as stream:
            body = stream.read()
        node: Any = load_json(body, envelope.origin)
        location = Location(file=envelope.origin, field=".".join(self._keys) or None)
        for key in self._keys:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            failure = RecordInvalid("JSON document has no record object at the record path", location=location)
            yield RecordFailure(0, failure, body[:2000].decode("utf-8", "replace"))
            return
        try:
            data = finish_object(extract_json(node, self.mapping.root), self.mapping.root)
            record = build_record(self.mapping, data, location, record_context(self.mapping, STRICT))
        except FieldProblem as exc:
            yield RecordFailure(0, problem_error(exc, location), body[:2000].decode("utf-8", "replace"))
            return
        except BridgeError as exc:
            yield RecordFailure(0, exc, body[:2000].decode("utf-8", "replace"))
            return
        yield DecodedRecord(0, record, location)
