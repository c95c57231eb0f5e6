"""A body too big to hold in memory: an :class:`~bridge.ports.Encoded` read from a stream, piece by piece.

Why: a ``forward`` legacy path hands the old ESB a whole input file, of any size, byte for byte. The runtime
reads those bytes from the ledger's blob store chunk by chunk; a sink that writes a file (a folder or SFTP
drop, the ``file`` sink) reads :meth:`StreamedEncoded.open` in pieces and never holds the file whole. A sink
written before streams existed reads ``body`` as always and still gets every byte (read whole then, so its
memory grows with the file): correct, only not flat. ``streamed`` tells the two apart.

``open`` may be called more than once (a sink compares an existing file first, then writes); each call is a
new stream from the first byte. Reading may raise ``OSError`` (the stream's store failed) or a
:class:`~bridge.ports.errors.BridgeError`; a sink treats it as it treats its own write errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import BinaryIO, ClassVar

from bridge.ports.protocols import Encoded

__all__ = ["StreamedEncoded"]


class StreamedEncoded(Encoded):
    """An :class:`Encoded` whose bytes come from ``opener`` (a new binary stream per call), ``size`` long."""

    streamed: ClassVar[bool] = True

    def __init__(
        self,
        opener: Callable[[], BinaryIO],
        size: int,
        media_type: str,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        # Encoded is a frozen dataclass: its fields are set the way its own __init__ sets them.
        object.__setattr__(self, "media_type", media_type)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "headers", dict(headers or {}))
        object.__setattr__(self, "_opener", opener)
        object.__setattr__(self, "_size", size)

    @property
    def body(self) -> bytes:
        """Every byte, read whole (for sinks that do not stream; memory grows with the body)."""
        with self.open() as stream:
            return stream.read()

    @property
    def size(self) -> int:
        return int(self._size)  # type: ignore[attr-defined]

    def open(self) -> BinaryIO:
        stream: BinaryIO = self._opener()  # type: ignore[attr-defined]
        return stream

    def __repr__(self) -> str:
        return f"StreamedEncoded(size={self.size}, media_type={self.media_type!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)
