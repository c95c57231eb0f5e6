"""Per-target rate limiting (token bucket on the Clock), shared by a target's worker threads."""

from __future__ import annotations

import threading

from bridge.ports import Clock

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``; ``None`` = unlimited."""

    def __init__(self, rate: float | None, clock: Clock, burst: float | None = None) -> None:
        self.rate = rate
        self.clock = clock
        self.capacity = burst if burst is not None else max(1.0, rate or 1.0)
        self._tokens = self.capacity
        self._last = clock.now()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping on the clock as needed; returns the seconds waited."""
        if self.rate is None:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock.now()
                self._tokens = min(self.capacity, self._tokens + (now - self._last).total_seconds() * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                need = (1.0 - self._tokens) / self.rate
            self.clock.sleep(need)
            waited += need
