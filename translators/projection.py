"""A path's projection: its target's bytes read back to canonical through the mapping that wrote them.

The same mapping that encodes for a target reads that target's bodies (what was sent, the response, or a
read-back) in the models' ``observed`` mode: a target whose totals do not add up yields a record with notes,
which comparison reports as a diff note, rather than an error. Projector kinds ``xml``, ``json``, ``csv``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree

from bridge.ports import DecodeError, Envelope, IdentityRule, Location, RecordFailure
from bridge.safexml import parse_bytes
from translators._records import OBSERVED, build_record, problem_error
from translators.csv_decoder import CsvDecoder
from translators.json_mapping import extract_json, load_json
from translators.mapping.compiled import CompiledMapping, FieldProblem, finish_object
from translators.xml_decoder import extract_element

__all__ = ["MappingProjector"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MappingProjector:
    """Implements ``bridge.ports.Projector`` for XML, JSON and CSV mappings."""

    def __init__(self, mapping: CompiledMapping, *, origin: str = "projection") -> None:
        self.mapping = mapping
        self.origin = origin

    def project(self, body: bytes, media_type: str | None = None) -> Any:
        """The canonical record in ``body`` (observed mode); DecodeError/RecordInvalid when unreadable."""
        fmt = self.mapping.spec.format
        location = Location(file=self.origin)
        try:
            if fmt == "xml":
                data = self._xml(body)
            elif fmt == "json":
                node = load_json(body, self.origin)
                for key in [k for k in (self.mapping.spec.record or "").split(".") if k]:
                    node = node.get(key) if isinstance(node, dict) else None
                if not isinstance(node, dict):
                    raise DecodeError("JSON body has no record object at the mapping's record path", location=location)
                data = finish_object(extract_json(node, self.mapping.root), self.mapping.root)
            elif fmt == "csv":
                return self._csv(body)
            else:
                raise DecodeError(f"no projection for {fmt} mappings", location=location)
        except FieldProblem as exc:
            raise problem_error(exc, location) from None
        return build_record(self.mapping, data, location, OBSERVED)

    def _xml(self, body: bytes) -> dict[str, Any]:
        root = parse_bytes(body, origin=self.origin)
        tag = self.mapping.record_steps[-1].tag
        element = root if root.tag == tag else next(root.iter(tag), None)
        if element is None:
            raise DecodeError(
                f"XML body has no {etree.QName(tag).localname} record element", location=Location(file=self.origin)
            )
        return finish_object(extract_element(element, self.mapping.root), self.mapping.root)

    def _csv(self, body: bytes) -> Any:
        envelope = Envelope(
            interface="projection",
            batch_id="projection",
            origin=self.origin,
            identity_rule=IdentityRule.EVENT,
            identity="projection",
            received_at=_EPOCH,
            transaction_id="projection",
            body=body,
        )
        for item in CsvDecoder(self.mapping, mode=OBSERVED).decode(envelope):
            if isinstance(item, RecordFailure):
                raise item.error
            return item.record
        raise DecodeError("CSV body holds no record", location=Location(file=self.origin))
