"""The audit log's hash chain: each entry carries the previous entry's hash and its own.

An entry's hash is SHA-256 over the previous hash and the canonical JSON of the entry's fields (id, time, actor,
action, subject, reason, detail). Editing, deleting or inserting an entry anywhere but at the very end breaks
every later link, so an export (or the ledger itself) can be checked by recomputing the chain
(:func:`verify_chain`). What the chain cannot show is the *last* entries being cut off: keep the head hash
of each export (``esb-bridge audit export`` prints it) to detect that.

Pure functions only; the ledger computes the hash when it writes an entry (``ReferenceLedger.audit``), inside
the writing transaction, so two writers never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["GENESIS", "ChainBreak", "entry_hash", "verify_chain"]

#: the "previous hash" of the first entry
GENESIS = "0" * 64

_FIELDS = ("id", "at", "actor", "action", "subject", "reason", "detail")


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: entry.get(k) for k in _FIELDS}
    at = body["at"]
    body["at"] = at.astimezone(UTC).isoformat() if isinstance(at, datetime) else at
    body["id"] = int(entry["id"])
    body["reason"] = body["reason"] or ""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The hash of ``entry`` chained onto ``prev_hash`` (hex SHA-256)."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + _canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain does not hold: the entry id and what is wrong with it."""

    id: int
    problem: str


def verify_chain(entries: Iterable[Mapping[str, Any]]) -> list[ChainBreak]:
    """Every break in ``entries`` (in id order, each with ``prev_hash`` and ``hash``); empty when intact."""
    breaks: list[ChainBreak] = []
    prev = GENESIS
    for e in entries:
        eid = int(e["id"])
        if e.get("prev_hash") != prev:
            breaks.append(
                ChainBreak(eid, "prev_hash does not match the previous entry's hash (entry removed or inserted)")
            )
        if e.get("hash") != entry_hash(str(e.get("prev_hash")), e):
            breaks.append(ChainBreak(eid, "hash does not match the entry's content (entry edited)"))
        prev = str(e.get("hash"))
    return breaks
