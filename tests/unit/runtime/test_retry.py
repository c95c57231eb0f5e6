"""Backoff arithmetic."""

from __future__ import annotations

import random

from bridge.config.model import RetryPolicy
from bridge.runtime.retry import backoff_delay


def test_backoff_grows_and_caps() -> None:
    """Delays double from the initial value and stop at max_delay when jitter is off."""
    p = RetryPolicy(initial=1, multiplier=2, max_delay=10, jitter=0)
    rng = random.Random(0)
    assert [backoff_delay(p, n, None, rng) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_backoff_honours_retry_after_and_jitter_bounds() -> None:
    """Retry-After lengthens a delay; jitter stays within its share."""
    p = RetryPolicy(initial=10, multiplier=1, jitter=0.2)
    rng = random.Random(1)
    delays = [backoff_delay(p, 1, None, rng) for _ in range(200)]
    assert min(delays) >= 8 and max(delays) <= 12 and len(set(delays)) > 100
    assert backoff_delay(RetryPolicy(initial=1, jitter=0), 1, 30.0, rng) == 30.0
