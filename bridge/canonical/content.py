"""The byte form of a canonical record that content hashes (and so message ids) are computed from.

It lives with the models, not with a plugin, because identity depends on it: ``bridge.runtime`` hashes it for
every record, and any change to its output (key order, number or date rendering) would change message ids
of documents already in a ledger. Sorted keys and pydantic's JSON mode (Decimals as strings, aware datetimes
in ISO 8601) make it deterministic.
"""

from __future__ import annotations

import orjson
from pydantic import BaseModel

__all__ = ["canonical_json"]


def canonical_json(record: BaseModel) -> bytes:
    """Deterministic JSON of a record (sorted keys): the basis of content hashes."""
    return orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
