"""Fixtures for the ledger API tests: a migrated ledger on SQLite and PostgreSQL, and messages written through it.

Everything here goes through the public ledger methods (no table access), so the tests check the API the
runtime and cutover use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bridge.ports import OutcomeStatus, PathName, Role, SimulatedClock
from bridge.store.ledger import Ledger, open_ledger
from bridge.store.records import AttemptResult, ClaimedDelivery, DeliveryStatus, NewMessage, NewRoute

Deliver = Callable[..., list[str]]


@pytest.fixture
def ledger(store_url: str, clock: SimulatedClock) -> Iterator[Ledger]:
    """A fresh, migrated ledger on each backend."""
    with open_ledger(store_url, clock, node="test-node") as led:
        yield led


def message(
    n: int, key: str, *, mode: str = "dual_write", paths: tuple[str, ...] = ("legacy", "cloud"), **extra: object
) -> NewMessage:
    """Message ``n`` of business key ``key``, routed to one target per path (``<path>-t``)."""
    routes = tuple(NewRoute(PathName(p), Role.AUTHORITATIVE if p == "legacy" else Role.SHADOW, f"{p}-t") for p in paths)
    fields: dict[str, object] = dict(
        id=f"00000000-0000-0000-0000-{n:012d}",
        ordinal=n,
        identity=f"file:x:{n}",
        canonical="Customer",
        business_key=key,
        content_hash="h" * 64,
        payload="{}",
        transaction_id="tx",
        mode=mode,
        routes=routes,
    )
    fields.update(extra)
    return NewMessage(**fields)  # type: ignore[arg-type]


def outlive_lease(ledger: Ledger, clock: SimulatedClock, seconds: float) -> None:
    """Let a lease of ``seconds`` run out: on the Clock (SQLite), on the database's real clock (PostgreSQL)."""
    if ledger.engine.dialect.name == "sqlite":
        clock.advance(seconds + 0.5)
    else:
        time.sleep(seconds + 0.2)


def attempt(c: ClaimedDelivery, at: datetime, status: DeliveryStatus, **extra: Any) -> AttemptResult:
    """The first attempt of ``c``, at ``at``, ending in ``status`` (delivered; pending: failed; else rejected)."""
    outcome = {DeliveryStatus.DELIVERED: OutcomeStatus.DELIVERED, DeliveryStatus.PENDING: OutcomeStatus.FAILED}
    return AttemptResult(c, 1, at, at, outcome.get(status, OutcomeStatus.REJECTED), status, **extra)


@pytest.fixture
def deliver(ledger: Ledger) -> Deliver:
    """Record messages in one released batch and finish every delivery with the given status per path."""

    def run(
        messages: list[NewMessage], status: dict[str, DeliveryStatus], *, sent: bytes = b"{}", batch: str = "b1"
    ) -> list[str]:
        b = ledger.open_batch("i", batch, "file:///in")
        ledger.record_chunk("i", b, messages, [])
        ledger.release_batch("i", b)
        now = ledger.clock.now()
        for path, st in status.items():
            claimed = ledger.claim(f"{path}-t", 1000, timedelta(minutes=1))
            ledger.finish(
                [
                    attempt(
                        c,
                        now,
                        st,
                        response=b"resp",
                        media_type="application/json",
                        sent=sent,
                        target_id=f"{path}-{c.business_key}",
                    )
                    for c in claimed
                ]
            )
        return [m.id for m in messages]

    return run
