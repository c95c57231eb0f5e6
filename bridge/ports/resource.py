"""``__enter__``/``__exit__`` written once for every source and sink (and anything else used in ``with``).

The ports say constructors do no I/O and resources open on entry and close on exit. Rather than each adapter
repeating the same two dunder methods, an adapter subclasses :class:`Resource` and overrides the hooks it
needs: :meth:`Resource.on_enter` (acquire; default nothing) and :meth:`Resource.close` (release; default
nothing). ``close`` is also what an owner calls outside a ``with`` block, so it must be safe to call twice.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Resource"]


class Resource:
    """A context manager whose entry calls :meth:`on_enter` and whose exit calls :meth:`close`.

    An exception from ``on_enter`` propagates and ``close`` is not called (nothing was entered), exactly as
    when ``__enter__`` itself raises. Exceptions in the ``with`` body are never suppressed.
    """

    def on_enter(self) -> None:
        """Acquire what the object needs while entered (connections, folders, servers)."""

    def close(self) -> None:
        """Release what :meth:`on_enter` (or later use) acquired; idempotent."""

    def __enter__(self) -> Self:
        self.on_enter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
