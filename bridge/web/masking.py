"""Masking of sensitive fields before a canonical record leaves the API.

The interface's ``compare.sensitive`` globs (``tax_id``, ``**.email``) name the fields; a matching field's value,
or a whole matching subtree, becomes ``***masked***`` (the mask the comparison diffs use), whatever its type.
"""

from __future__ import annotations

from typing import Any

from cutover.compare import MASK
from cutover.compare.paths import PathMatcher, escape_segment

__all__ = ["mask"]


def mask(value: Any, sensitive: PathMatcher, path: str = "") -> Any:
    """``value`` with every field under a sensitive path masked (lists: the element index is the segment)."""
    if path and sensitive.match_prefix(path) is not None:
        return None if value is None else MASK
    if isinstance(value, dict):
        return {
            k: mask(v, sensitive, f"{path}.{escape_segment(k)}" if path else escape_segment(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v, sensitive, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
    return value
