"""How many deliveries a worker claims at once: grown while its target keeps up, shrunk when it does not.

Why adaptive: every claim and every outcome batch is one ledger transaction, so a batch of 2,000 costs the
ledger about what a batch of 100 costs; a target that takes everything should get large batches. But a batch
is held (``in_progress``) until its outcomes are written, so a slow or failing target should not hold
thousands of claims: their lease would need renewing, another node could not take them, and a crash would put
them all back at once. Hence: start at ``limits.batch``; double after a batch that was full, fully delivered,
and whose doubled duration would still stay within a tenth of the lease; halve after any failure or after a
batch that took a third of the lease; never above ``limits.max_batch``, never below 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bridge.ports import OutcomeStatus
from bridge.store.records import AttemptResult

__all__ = ["BatchSizer"]


class BatchSizer:
    """The next claim size of one target's worker from how its last batch went."""

    def __init__(self, start: int, most: int, lease: timedelta) -> None:
        self.start = max(1, start)
        self.most = max(self.start, most)
        self.lease = lease.total_seconds()

    def next(self, size: int, claimed: int, results: Sequence[AttemptResult], seconds: float) -> int:
        """The size after a batch of ``claimed`` claims (asked: ``size``) whose attempts gave ``results`` in
        ``seconds``."""
        failed = len(results) < claimed or any(r.outcome is not OutcomeStatus.DELIVERED for r in results)
        if failed or seconds >= self.lease / 3:
            return max(1, size // 2)
        if claimed >= size and 2 * seconds < self.lease / 10:
            return min(self.most, size * 2)
        return size
