"""A channel receive buffer whose cost per read is the bytes read, not the bytes still waiting.

paramiko's ``BufferedPipe`` keeps a channel's unread data in one ``array.array`` and reads with
``del buffer[:n]``, which moves everything still buffered to the front. With a large window and a deep read
pipeline (megabytes waiting), every read of one SFTP response moved megabytes: measured with yappi, a fifth of
a download's CPU time went there. :class:`ChunkedPipe` keeps the fed packets as they arrived, in a deque, and
a read joins just the packets it returns. It keeps ``BufferedPipe``'s contract (blocking read with timeout,
close, the optional event) so a ``Channel`` cannot tell the difference.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from threading import Event
from typing import Any

from paramiko.buffered_pipe import PipeTimeout

__all__ = ["ChunkedPipe", "install"]


class ChunkedPipe:
    """``BufferedPipe``'s interface with deque-of-bytes storage (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._event: Event | None = None
        self._closed = False
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def set_event(self, event: Event) -> None:
        """Set an event that is set while data is ready or the pipe is closed (``Channel.fileno`` uses it)."""
        with self._lock:
            self._event = event
            if self._closed or self._size > 0:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes) -> None:
        """Append one packet's data (called by the transport thread)."""
        if not data:
            return
        with self._lock:
            if self._event is not None:
                self._event.set()
            self._chunks.append(bytes(data))
            self._size += len(data)
            self._cv.notify_all()

    def read_ready(self) -> bool:
        """True when a read would return at least one byte without waiting."""
        with self._lock:
            return self._size > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        """Up to ``nbytes`` bytes, waiting up to ``timeout`` seconds for the first; ``b""`` once closed."""
        with self._lock:
            if self._size == 0:
                if self._closed:
                    return b""
                if timeout == 0.0:
                    raise PipeTimeout()
                while self._size == 0 and not self._closed:
                    then = time.time()
                    self._cv.wait(timeout)
                    if timeout is not None:
                        timeout -= time.time() - then
                        if timeout <= 0.0:
                            raise PipeTimeout()
                if self._size == 0:
                    return b""
            return self._take(nbytes)

    def _take(self, nbytes: int) -> bytes:
        chunks = self._chunks
        if self._size <= nbytes:
            out = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
            self._size = 0
            if self._event is not None and not self._closed:
                self._event.clear()
            return out
        parts: list[bytes] = []
        need = nbytes
        while need:
            head = chunks[0]
            if len(head) <= need:
                parts.append(chunks.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                chunks[0] = head[need:]
                need = 0
        self._size -= nbytes
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def empty(self) -> bytes:
        """Everything buffered, removed from the pipe."""
        with self._lock:
            return self._take(self._size)

    def close(self) -> None:
        """Close the pipe: reads return what is left, then ``b""``; waiting readers wake up."""
        with self._lock:
            self._closed = True
            self._cv.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        with self._lock:
            return self._size


def install(channel: Any) -> None:
    """Give ``channel`` a :class:`ChunkedPipe` receive buffer; call before any data can arrive on it."""
    if len(channel.in_buffer):
        raise RuntimeError("install the receive buffer before the channel receives data")
    channel.in_buffer = ChunkedPipe()
