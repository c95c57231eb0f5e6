"""A dead peer that counts: a TCP listener that accepts every connection and closes it at once.

A sink's "one attempt per call" can be counted at a network peer only if the peer is there to count. This
one is: point a sink at ``port`` and every attempt (a connect) is one accepted connection, refused in the
cheapest way (closed before any byte), which every protocol client sees as a retryable connection failure.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["DeadPeer"]


class DeadPeer:
    """``with DeadPeer() as dead: ...`` listens on 127.0.0.1:``dead.port``; ``dead.accepted`` counts attempts."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __enter__(self) -> DeadPeer:
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, name="dead-peer", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed: the peer is gone
            with self._lock:
                self.accepted += 1
            conn.close()
