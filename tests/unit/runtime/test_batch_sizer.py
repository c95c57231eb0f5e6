"""The adaptive claim size: doubles while a target takes everything quickly, halves on failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.ports import OutcomeStatus, PathName, Role
from bridge.runtime.batching import BatchSizer
from bridge.store.records import AttemptResult, ClaimedDelivery, DeliveryStatus

AT = datetime(2026, 1, 5, tzinfo=UTC)


def _results(n: int, failed: int = 0) -> list[AttemptResult]:
    c: Any = ClaimedDelivery(
        1, "m", "i", PathName.LEGACY, Role.AUTHORITATIVE, False, "t", "k", 0, None, "C", "{}", "h", "tx"
    )
    ok = [AttemptResult(c, 1, AT, AT, OutcomeStatus.DELIVERED, DeliveryStatus.DELIVERED) for _ in range(n - failed)]
    bad = [AttemptResult(c, 1, AT, AT, OutcomeStatus.FAILED, DeliveryStatus.PENDING) for _ in range(failed)]
    return ok + bad


def test_grows_to_its_maximum_while_every_batch_is_full_fast_and_delivered() -> None:
    sizer = BatchSizer(100, 2000, timedelta(minutes=5))
    size, seen = 100, []
    for _ in range(6):
        size = sizer.next(size, size, _results(size), 0.5)
        seen.append(size)
    assert seen == [200, 400, 800, 1600, 2000, 2000]


def test_keeps_its_size_when_the_batch_was_not_full_or_slow_and_halves_on_failure() -> None:
    sizer = BatchSizer(100, 2000, timedelta(minutes=5))
    assert sizer.next(800, 300, _results(300), 0.5) == 800  # not full: nothing more was due
    assert sizer.next(800, 800, _results(800), 20.0) == 800  # doubling would take 40 s > a tenth of the lease
    assert sizer.next(800, 800, _results(800, failed=1), 0.5) == 400
    assert sizer.next(800, 800, _results(799), 0.5) == 400  # a lost claim counts as a failure
    assert sizer.next(800, 800, _results(800), 100.0) == 400  # a third of the lease: too slow
    assert sizer.next(1, 1, _results(1, failed=1), 0.5) == 1
