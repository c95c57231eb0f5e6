"""Graceful shutdown of ``esb-bridge run``: the first SIGTERM (or Ctrl-C) stops, a second one exits at once.

After the first signal the bridge takes no new work: polls are not started again, each delivery worker sends
nothing more of its claimed batch once its current attempt is over and records what it sent. It waits up to
``shutdown_grace`` for that, then releases its delivery claims and poll leases (another node, or the next
start, takes over at once instead of after the lease) and exits. Whatever is still running then (a sink call
that hangs, a poll of a large file) is abandoned: its claim is released, so its late result is fenced off and
records nothing; the delivery is sent again under the same message id, and a half-read batch is read again
at the next poll, as after a crash. A second signal exits at once (code 128 + signal); the next start
releases what that process held (``release_orphaned_claims``, leases of dead processes of this host).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

__all__ = ["Shutdown", "wait_within"]

log = logging.getLogger("esb_bridge.runtime.shutdown")


class Shutdown:
    """The stop event of ``run`` and the signal handlers that set it (installed from the main thread)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.stop = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    @contextmanager
    def installed(self) -> Iterator[Shutdown]:
        """The handlers for the duration of a block (``run --once``), the previous ones restored after it; a
        no-op off the main thread (Python takes signals there only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.install()
        try:
            yield self
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            os.write(2, b"esb-bridge: second signal, exiting now (the next start recovers what is open)\n")
            os._exit(128 + signum)
        os.write(2, f"esb-bridge: stopping (up to {self.grace:g}s for in-flight work; again to exit now)\n".encode())
        self.stop.set()


def wait_within(grace: float, steps: Sequence[Callable[[], None]], threads: Sequence[threading.Thread]) -> list[str]:
    """Run each of ``steps`` (e.g. the scheduler's shutdown) and join ``threads``, all within ``grace`` seconds
    together; the names of what is still running when the time is up."""
    deadline = time.monotonic() + grace
    helpers = [threading.Thread(target=step, daemon=True, name=f"shutdown-{n}") for n, step in enumerate(steps)]
    for h in helpers:
        h.start()
    for th in [*helpers, *threads]:
        th.join(timeout=max(0.0, deadline - time.monotonic()))
    left = [th.name for th in [*helpers, *threads] if th.is_alive()]
    if left:
        log.warning("shutdown grace of %gs over; abandoning %s (their claims are released)", grace, ", ".join(left))
    return left
