"""The change version a change-feed record declares, read where the mapping's ``version`` path says.

A change feed (SOAP or REST poll) identifies each record by business key + change version, so a revert
A -> B -> A is a new change and not the first A again (docs/architecture.md, "the flow of one document").
The decoders read the version here and hand it on as :attr:`bridge.ports.DecodedRecord.version`; the record
itself stays as the canonical model has it. A mapping that declares ``version`` for a record that has none is
a record problem (a dead letter naming the path), never a silent fall-back to the content hash. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from translators.mapping.compiled import FieldProblem, Step

__all__ = ["json_version", "xml_version"]


def _missing(path: str) -> FieldProblem:
    return FieldProblem("version", f"the record declares no change version at {path!r} (mapping 'version')")


def xml_version(element: Any, located: tuple[tuple[Step, ...], str | None], path: str) -> str:
    """The text (or attribute) at ``located`` under the record ``element``; FieldProblem when absent or empty."""
    steps, attr = located
    node = element
    for step in steps:
        node = next((child for child in node if child.tag == step.tag and step.matches(child)), None)
        if node is None:
            raise _missing(path)
    value = node.get(attr) if attr is not None else node.text
    text = (value or "").strip()
    if not text:
        raise _missing(path)
    return str(text)


def json_version(node: Any, keys: tuple[str, ...], path: str) -> str:
    """The scalar at ``keys`` in the record object ``node`` as text; FieldProblem when absent or not a scalar."""
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            raise _missing(path)
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, str | int | Decimal):
        raise _missing(path)
    text = str(node).strip()
    if not text:
        raise _missing(path)
    return text
