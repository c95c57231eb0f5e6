"""The ledger's hot statements in the driver's own terms: plain SQL and tuples, one ``executemany`` each.

Why: SQLAlchemy Core builds every row of an ``executemany`` through its compiler (``construct_params``) and
runs each value through its type's bind processor, and every fetched row through result processors and a
row mapping; measured on the main job that is ~10 us per row and statement, about as much as SQLite's own
work, on the ~six rows each record costs (message, delivery, claim, attempt, outcome, state). The statements
here are the few that run once per record; everything else stays in Core.

What this module owns, so that rows written here read back through Core exactly as if Core had written them:

* times: aware datetimes in UTC; on SQLite as SQLAlchemy's ``DATETIME`` text (``YYYY-MM-DD HH:MM:SS.ffffff``,
  the form the ledger's string comparisons of times rely on), on PostgreSQL as they are;
* JSON columns: the JSON text, ``null`` for ``None`` (SQLAlchemy's ``JSON`` default, ``none_as_null=False``);
* placeholders: written as ``?`` and turned into the driver's style (``%s`` for psycopg);
* enums as their ``.value`` (callers pass plain values; psycopg would bind an ``Enum`` by its name).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

__all__ = ["RawSql"]


class RawSql:
    """Adapters and ``executemany`` for one backend (SQLite or PostgreSQL)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._texts: dict[str, str] = {}

    def time(self, value: datetime | None) -> Any:
        """A timestamp as the column stores it."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        if not self.sqlite:
            return value
        if value.tzinfo is not UTC:  # the Clock hands out UTC already; others are converted
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def read_time(self, value: Any) -> datetime | None:
        """A timestamp read by plain SQL, back as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def json(value: Any) -> str:
        """A JSON column's text (``null`` for ``None``, as SQLAlchemy writes it)."""
        return orjson.dumps(value).decode()

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in the driver's style (the statements here hold no literal ``?``)."""
        out = self._texts.get(text)
        if out is None:
            out = text if self.sqlite else text.replace("?", "%s")
            self._texts[text] = out
        return out

    def executemany(self, conn: Connection, text: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run ``text`` for every row, in the connection's transaction."""
        if rows:
            conn.exec_driver_sql(self.sql(text), list(rows))

    def fetch(self, conn: Connection, text: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of one query as plain tuples (no result processing: times come back as the driver gives them)."""
        return [tuple(r) for r in conn.exec_driver_sql(self.sql(text), params).all()]
