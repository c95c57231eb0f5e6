"""Sensitive values taken out of the error texts a delivery attempt leaves (ledger and logs).

Why: a target's rejection often quotes what it refused (``HTTP 422: email ap1@example.com is invalid``; the
REST sink puts up to 500 bytes of the answer in the error). Error texts are stored in clear (attempt detail,
``last_error``, the dead letter's error) and logged, so for an interface with ``compare.sensitive`` fields the
record's own sensitive values are replaced by ``***masked***`` in them before they are recorded or logged.
Exact values only (the ones this record holds), which is what a target can quote back. Runs only for a
non-delivered attempt of a sensitive interface: nothing on the delivered path, nothing elsewhere.
"""

from __future__ import annotations

from typing import Any

import orjson

from cutover.compare import MASK
from cutover.compare.paths import PathMatcher, escape_segment

__all__ = ["Redactor"]

#: Values shorter than this are not replaced: "1" or "EU" would mask unrelated text everywhere.
_MIN = 3


class Redactor:
    """Replaces the sensitive values of one record (named by the interface's globs) in error texts."""

    def __init__(self, globs: tuple[str, ...]) -> None:
        self._sensitive = PathMatcher(globs)

    def values(self, payload: str) -> list[str]:
        """The record's values under a sensitive path (longest first, so a value inside another goes last)."""
        try:
            tree = orjson.loads(payload)
        except orjson.JSONDecodeError:  # a forwarded batch's reference: no record fields
            return []
        found: set[str] = set()
        self._collect(tree, "", False, found)
        return sorted((v for v in found if len(v) >= _MIN), key=len, reverse=True)

    def _collect(self, value: Any, path: str, inside: bool, found: set[str]) -> None:
        inside = inside or (bool(path) and self._sensitive.match_prefix(path) is not None)
        if isinstance(value, dict):
            for k, v in value.items():
                self._collect(v, f"{path}.{escape_segment(k)}" if path else escape_segment(k), inside, found)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._collect(v, f"{path}.{i}" if path else str(i), inside, found)
        elif inside and value is not None and not isinstance(value, bool):
            found.add(str(value))

    def scrub(self, payload: str, error: dict[str, Any] | None, detail: str) -> tuple[dict[str, Any] | None, str]:
        """(error, detail) with every sensitive value of the record masked."""
        values = self.values(payload)
        if not values:
            return error, detail
        return _replace(error, values), _replace(detail, values)


def _replace(value: Any, values: list[str]) -> Any:
    if isinstance(value, str):
        for v in values:
            value = value.replace(v, MASK)
        return value
    if isinstance(value, dict):
        return {k: _replace(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, values) for v in value]
    return value
