"""The Clock port: the only way anything in esb-bridge reads or waits for time.

Settle windows, backoff, gates, leases, schedules and reports all take a :class:`Clock`, so tests and the
demo can run simulated days in seconds (:class:`SimulatedClock`) while production uses
:class:`SystemClock`. Code must not call ``datetime.now()`` or ``time.sleep()`` directly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SimulatedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Time source.

    Contract: ``now()`` returns a timezone-aware UTC datetime that never goes backwards for one clock;
    ``sleep(seconds)`` blocks (or, simulated, advances) for at least that long and may return early only
    when ``wake()`` is called (used to stop workers promptly).
    """

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def wake(self) -> None: ...


class SystemClock:
    """Wall-clock time; ``sleep`` waits on an event so ``wake`` can interrupt it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._event.wait(seconds)
            self._event.clear()

    def wake(self) -> None:
        self._event.set()


class SimulatedClock:
    """A clock that only moves when told to (``advance``) or when someone sleeps.

    ``sleep`` advances simulated time immediately instead of blocking, so backoff and settle windows run in
    no wall time; ``sleeps`` records every requested sleep so tests can assert backoff schedules.
    """

    def __init__(self, start: datetime | None = None, *, real_sleep_cap: float = 0.0) -> None:
        start = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._real_sleep_cap = real_sleep_cap
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move time forward; negative steps are refused (time never goes backwards)."""
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (not earlier than now)."""
        self.advance(when.astimezone(UTC) - self.now())

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)
            if self._real_sleep_cap:
                time.sleep(min(seconds, self._real_sleep_cap))

    def wake(self) -> None:
        """Nothing blocks on a simulated clock, so there is nothing to wake."""
