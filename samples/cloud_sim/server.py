"""Run the simulator under uvicorn on a thread (tests, benchmarks) on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from samples.cloud_sim.app import create_app
from samples.cloud_sim.state import SimState
from samples.cloud_sim.webhooks import WebhookSender


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimServer:
    """The simulator served by a real uvicorn server; ``state`` and ``sender`` are its live objects."""

    def __init__(self, port: int | None = None, *, webhook_backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)) -> None:
        self.port = port or free_port()
        self.state = SimState()
        self.sender = WebhookSender(backoff=webhook_backoff)
        self.app = create_app(self.state, self.sender)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"cloud-sim-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"cloud simulator did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        self.state.reset()
        self.sender.reset()
