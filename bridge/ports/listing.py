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
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from bridge.ports.errors import DecodeError, Location

__all__ = ["ListedRecord", "TargetListing", "dotted"]


@dataclass(frozen=True)
class ListedRecord:
    """One record as the target lists it: its business key, and its business date and amount where shown."""

    key: str
    day: date | None = None
    amount: Decimal | None = None

    @classmethod
    def read(cls, key: object, day: object, amount: object, *, where: Location) -> ListedRecord:
        """A record from the raw values a listing found (an ISO date or date-time, a number or numeric text;
        None or "" where absent); a :class:`DecodeError` at ``where`` for a missing key or a bad value."""
        if key is None or key == "":
            raise DecodeError("a listed record has no business key", location=where)
        parsed_day = parsed_amount = None
        if day not in (None, ""):
            try:
                parsed_day = date.fromisoformat(str(day)[:10])
            except ValueError as exc:
                raise DecodeError(f"{key}: {day!r} is not a date", location=where) from exc
        if amount not in (None, ""):
            try:
                parsed_amount = Decimal(str(amount))
            except InvalidOperation as exc:
                raise DecodeError(f"{key}: {amount!r} is not an amount", location=where) from exc
        return cls(str(key), parsed_day, parsed_amount)


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
