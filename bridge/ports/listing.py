"""The target listing port: what a target says it holds, for reconciliation (``esb-bridge reconcile``).

A reconciliation compares what the ledger says a path delivered with what the target itself reports. Only
the target's own query can show a record that was deleted or changed there after delivery; a listing is
that query (a REST list endpoint, a SOAP read operation, the files of a drop folder). It is read-only and
knows nothing of the ledger or of canonical models: it names each record's business key and, where the
target shows them, its business date and amount.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

__all__ = ["ListedRecord", "TargetListing", "dotted"]


@dataclass(frozen=True)
class ListedRecord:
    """One record as the target lists it: its business key, and its business date and amount where shown."""

    key: str
    day: date | None = None
    amount: Decimal | None = None


@runtime_checkable
class TargetListing(Protocol):
    """Lists every record a target holds (entered before use, exited once, like every adapter).

    ``list_records`` may page through the target and yields each record once; a key listed twice is the
    target's own duplicate and is reported as such. It raises a retryable error when the target cannot be
    reached (the reconciliation of that path is then incomplete, never "everything is missing") and a
    :class:`~bridge.ports.DecodeError` when an answer cannot be read. It never writes to the target.
    """

    def list_records(self) -> Iterator[ListedRecord]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def dotted(node: Any, path: str) -> Any:
    """``a.b`` of parsed JSON (mappings only), or None where it is absent: how listings and the ledger side of
    a reconciliation read a record's key, date and amount."""
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
