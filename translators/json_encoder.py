"""Canonical record -> JSON body for cloud targets, shaped by a JSON mapping (kind ``json-mapped``).

Field renaming and nesting come from the mapping's dotted paths; code tables and converters run in reverse.
Serialised with orjson. Amounts are exact strings by default; ``decimals: number`` writes JSON numbers using
the Decimal's own digits (no float on the way).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from bridge.ports import EncodeContext, Encoded
from translators._records import encode_errors
from translators.json_mapping import render_json
from translators.mapping.compiled import CompiledMapping

__all__ = ["JsonMappedEncoder"]


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
        """Render ``record`` as ``application/json``."""
        return Encoded(self.render(record), "application/json", name=f"{context.message_id}.json")
