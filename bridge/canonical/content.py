"""The byte form of a canonical record, and the value form content hashes and comparisons use.

It lives with the models, not with a plugin, because identity depends on it: ``bridge.runtime`` hashes it for
every record, and any change to its output (key order, number or date rendering) would change message ids
of documents already in a ledger. Sorted keys and pydantic's JSON mode (Decimals as strings keeping their
scale, aware datetimes in ISO 8601) make :func:`canonical_json` deterministic; it is the payload as stored.

Values, not spellings (issue 17): ``100.00`` and ``100`` are the same amount, but their JSON spellings differ,
so a hash of :func:`canonical_json` told an echo of our own write (a target that stores ``100``) from the
write itself, and a comparison called them a mismatch. :func:`content_hash` hashes :func:`value_json`: the
record's values as sorted-key JSON, every Decimal spelled by value (trailing zeros dropped), built from the
Python-mode dump in one orjson pass (the JSON-mode dump's Decimal serializer is the slow part of hashing).
Hashes of ledgers written before are recognised by :func:`legacy_content_hash` (the upgrade rule in
``bridge.runtime.upgrade_identity``), so recorded message ids stay. :func:`value_tree` is the JSON tree with
Decimals as ``Decimal`` objects, which compare by value and still carry their scale for a rule that asks.

Keyed (issue 17): a record of an interface with sensitive fields (a tax id, an e-mail) could be found from
its plain SHA-256 by trying the few values a field can take, so with a hash key its content hash is
HMAC-SHA256 of the same :func:`value_json` (:func:`keyed_payload_and_hash`). It is as stable as the key, so
echo suppression and change-feed identities work as before; the plain hash is handed on beside it so rows
stored before the key was set are still recognised, and is not stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = [
    "canonical_json",
    "content_hash",
    "keyed_payload_and_hash",
    "legacy_content_hash",
    "payload_and_hash",
    "value_json",
    "value_text",
    "value_tree",
]


def canonical_json(record: BaseModel) -> bytes:
    """Deterministic JSON of a record (sorted keys), decimals with their scale: the stored payload."""
    return orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


def value_text(value: Decimal) -> str:
    """A decimal spelled by value: fixed point, no trailing zeros ("100.00" -> "100", "1.50" -> "1.5")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _by_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return value_text(value)
    raise TypeError(f"{type(value).__name__} has no value form")


def _merge(py: Any, js: Any, leaf: Callable[[Decimal], Any]) -> Any:
    """``js`` (the JSON-mode dump) with each value that is a Decimal in ``py`` (the Python-mode dump) replaced."""
    if isinstance(py, Decimal) and isinstance(js, str):
        return leaf(py)
    if isinstance(py, dict) and isinstance(js, dict):
        return {k: _merge(py.get(k), v, leaf) for k, v in js.items()}
    if isinstance(py, list | tuple) and isinstance(js, list) and len(py) == len(js):
        return [_merge(p, j, leaf) for p, j in zip(py, js, strict=True)]
    return js


def value_tree(record: BaseModel, *, exclude: set[str] | None = None) -> Any:
    """The JSON tree of ``record`` with its Decimals as ``Decimal`` objects (equal by value, scale kept)."""
    return _merge(
        record.model_dump(mode="python", exclude=exclude), record.model_dump(mode="json", exclude=exclude), Decimal
    )


def value_json(record: BaseModel) -> bytes:
    """The record's values as sorted-key JSON, Decimals spelled by value: what :func:`content_hash` hashes."""
    return orjson.dumps(record.model_dump(mode="python"), default=_by_value, option=orjson.OPT_SORT_KEYS)


def content_hash(record: BaseModel) -> str:
    """SHA-256 of the record's values (:func:`value_json`): equal for ``100.00`` and ``100``."""
    return hashlib.sha256(value_json(record)).hexdigest()


def payload_and_hash(record: BaseModel) -> tuple[bytes, str]:
    """(:func:`canonical_json`, :func:`content_hash`): the poll side's per-record pair."""
    return canonical_json(record), content_hash(record)


def keyed_payload_and_hash(record: BaseModel, key: bytes) -> tuple[bytes, str, str]:
    """(:func:`canonical_json`, HMAC-SHA256 of :func:`value_json` under ``key``, the unkeyed :func:`content_hash`)."""
    values = value_json(record)
    keyed = hmac.new(key, values, hashlib.sha256).hexdigest()
    return canonical_json(record), keyed, hashlib.sha256(values).hexdigest()


def legacy_content_hash(payload: str) -> str:
    """The hash a ledger written before issue 17 holds for a message: SHA-256 of its stored payload
    (:func:`canonical_json`, scale-sensitive). Used to recognise those messages, never for new ones."""
    return hashlib.sha256(payload.encode()).hexdigest()
