"""Backoff arithmetic, pure: the delivery workers ask it when the next attempt is due.

Delay for attempt ``n`` (1-based, the attempt that just failed) is ``initial * multiplier**(n-1)``, capped at
``max_delay``, spread by +/- ``jitter`` (seeded RNG, so simulations repeat), and never shorter than the
target's ``retry_after``.
"""

from __future__ import annotations

import random

from bridge.config.model import RetryPolicy

__all__ = ["backoff_delay"]


def backoff_delay(policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float:
    base = min(policy.max_delay, policy.initial * (policy.multiplier ** max(0, attempt - 1)))
    if policy.jitter:
        base *= 1.0 + policy.jitter * (2.0 * rng.random() - 1.0)
    if retry_after is not None:
        base = max(base, retry_after)
    return max(0.0, base)
