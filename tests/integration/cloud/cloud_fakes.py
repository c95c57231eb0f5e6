"""A test double of the network for the cloud area: a TCP proxy that can cut a connection mid-write.

(The source ledger these tests use is the test kit's, ``bridge.testing.MemorySourceLedger``.)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TcpProxy:
    """A threaded TCP proxy on 127.0.0.1 in front of ``target``; the test starts, cuts and kills it.

    ``cut_next_write()``: the next bytes the client sends are forwarded to the target for ``window``
    seconds, nothing the target answers is relayed, then both sides are closed (a connection lost
    mid-publish, after the broker may already have the message, before the client saw the confirm).
    """

    def __init__(self, target_port: int, *, port: int = 0, window: float = 0.3) -> None:
        self.target_port = target_port
        self.port = port
        self.window = window
        self._armed = threading.Event()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> TcpProxy:
        self._stop.clear()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut_next_write(self) -> None:
        self._armed.set()

    def kill(self) -> None:
        """Stop listening and drop every connection."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._conns:
                _close(s)
            self._conns.clear()
        time.sleep(0.15)

    def _accept(self) -> None:
        listener = self._listener
        while not self._stop.is_set() and listener is not None:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._conns += [client, upstream]
            state = {"blackhole": False}
            threading.Thread(target=self._pump_up, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client, state), daemon=True).start()

    def _pump_up(self, src: socket.socket, dst: socket.socket, state: dict[str, bool]) -> None:
        deadline: float | None = None
        src.settimeout(0.05)
        while True:
            if deadline is not None and time.monotonic() > deadline:
                _close(src)
                _close(dst)
                return
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                _close(dst)
                return
            if not data:
                _close(dst)
                return
            if self._armed.is_set() and deadline is None:
                self._armed.clear()
                state["blackhole"] = True
                deadline = time.monotonic() + self.window
            try:
                dst.sendall(data)
            except OSError:
                _close(src)
                return

    def _pump_down(self, src: socket.socket, dst: socket.socket, state: dict[str, bool]) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                _close(dst)
                return
            if not data:
                _close(dst)
                return
            if state["blackhole"]:
                continue
            try:
                dst.sendall(data)
            except OSError:
                _close(src)
                return


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
