"""Canonical record -> JSON body for cloud targets, shaped by a JSON mapping (kind ``json-mapped``).

Field renaming and nesting come from the mapping's dotted paths; code tables and converters run in reverse.
Serialised with orjson. Amounts are exact strings by default; ``decimals: number`` writes JSON numbers using
the Decimal's own digits (no float on the way). A field the path resolved as a reference (``references:``,
``EncodeContext.xrefs``: record field -> the target system's id) is written with that id instead of the
record's business key, so a target that knows another entity by its own id gets that id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson

from bridge.ports import EncodeContext, Encoded
from translators._records import encode_errors
from translators.json_mapping import render_json
from translators.mapping.compiled import CompiledMapping

__all__ = ["JsonMappedEncoder", "with_references"]


class JsonMappedEncoder:
    """Encoder kind ``json-mapped`` (implements ``bridge.ports.Encoder``)."""

    def __init__(self, mapping: CompiledMapping, *, decimals: Literal["string", "number"] = "string") -> None:
        if mapping.spec.format != "json":
            raise ValueError(f"JsonMappedEncoder needs a JSON mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self.numbers = decimals == "number"

    def document(self, record: Any) -> dict[str, Any]:
        """The body as a dict (wrapped under the mapping's ``record`` path when it has one)."""
        with encode_errors("JSON"):
            body = render_json(self.mapping.root, record, numbers=self.numbers)
        for key in reversed([k for k in (self.mapping.spec.record or "").split(".") if k]):
            body = {key: body}
        return body

    def render(self, record: Any) -> bytes:
        """The JSON bytes for ``record``."""
        return orjson.dumps(self.document(record))

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Render ``record`` as ``application/json``, resolved references replaced by the target's ids."""
        if context.xrefs:
            record = with_references(record, context.xrefs)
        return Encoded(self.render(record), "application/json", name=f"{context.message_id}.json")


def with_references(record: Any, xrefs: Mapping[str, str]) -> Any:
    """A copy of ``record`` (a pydantic model) whose top-level fields named in ``xrefs`` hold the resolved ids.
    A dotted (nested) reference field is left as it is: the mapping can only rename what the model holds."""
    updates = {name: target for name, target in xrefs.items() if "." not in name and name in type(record).model_fields}
    return record.model_copy(update=updates) if updates else record
