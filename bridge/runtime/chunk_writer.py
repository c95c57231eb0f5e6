"""Recording a batch's chunks on one background thread while the poll thread decodes the next ones.

Why: on one big file the poll thread alternated between decoding (Python, holding the GIL) and recording a
chunk (SQLite's inserts and commit, zlib compressing payloads: C code that releases the GIL). Run one after
the other they add up; with the recording on its own thread they overlap, on the second core.

What stays as before: chunks are recorded in the order they were decoded, one transaction each, by ONE
thread (so per-batch order and the ledger's single writer are kept); at most ``depth`` decoded chunks wait
(memory stays bounded: the decoder blocks when the writer falls behind); the batch is released only after
:meth:`ChunkWriter.close` has seen every chunk committed. An error of the writer (the ledger unreachable) is
raised in the poll thread at its next submit or at ``close``, and nothing is recorded after it.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ChunkWriter"]

_C = TypeVar("_C")

log = logging.getLogger("esb_bridge.runtime.pipeline")


class ChunkWriter(Generic[_C]):
    """Runs ``write(chunk)`` for each submitted chunk, in order, on one thread started at the first submit."""

    def __init__(self, write: Callable[[_C], None], *, name: str, depth: int = 2) -> None:
        self._write = write
        self._name = name
        self._queue: queue.Queue[tuple[_C] | None] = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None  # raised once in the poll thread
        self._failed = False  # stays set: nothing is written after a failure

    def submit(self, chunk: _C) -> None:
        """Queue ``chunk`` (blocks while ``depth`` chunks wait); raises the writer's error if it had one."""
        self._raise()
        if self._thread is None:
            # run in a copy of the poll thread's context: its lease fence (bridge.store.leases) holds here too
            context = contextvars.copy_context()
            self._thread = threading.Thread(target=context.run, args=(self._loop,), name=self._name, daemon=True)
            self._thread.start()
        self._queue.put((chunk,))

    def close(self, *, raise_error: bool = True) -> None:
        """Wait until every submitted chunk is written (or the writer failed); then raise its error, or (with
        ``raise_error=False``, when the caller is raising its own) log it."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if raise_error:
            self._raise()
        elif self._error is not None:  # the caller's own error is the one raised; this one is still told
            log.warning("%s: recording a chunk failed as well: %s", self._name, self._error)
            self._error = None

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._failed:  # after a failure nothing more is written; the queue is only emptied
                continue
            try:
                self._write(item[0])
            except BaseException as exc:  # handed to the poll thread
                self._failed = True
                self._error = exc
