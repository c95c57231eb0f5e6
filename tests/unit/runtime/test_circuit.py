"""The circuit breaker's rules (bridge/runtime/circuit.py) on a simulated Clock and a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bridge.config.model import CircuitPolicy
from bridge.ports import OutcomeStatus, PathName, Role, SimulatedClock
from bridge.runtime.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from bridge.store.ledger import Ledger, open_ledger
from bridge.store.records import AttemptResult, ClaimedDelivery, DeliveryStatus

POLICY = CircuitPolicy(failures=3, open_for=30.0, max_open_for=100.0)


@pytest.fixture
def ledger(tmp_path: Path, clock: SimulatedClock) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", clock) as led:
        yield led


def result(key: str, outcome: OutcomeStatus, clock: SimulatedClock, error: str = "TargetUnavailable") -> AttemptResult:
    d = ClaimedDelivery(
        1, "m", "customers", PathName.CLOUD, Role.AUTHORITATIVE, False, "customers:cloud", key, 0, None,
        "Customer", "{}", "h", "tx",
    )  # fmt: skip
    status = {OutcomeStatus.DELIVERED: DeliveryStatus.DELIVERED, OutcomeStatus.REJECTED: DeliveryStatus.DEAD}
    return AttemptResult(
        d,
        1,
        clock.now(),
        clock.now(),
        outcome,
        status.get(outcome, DeliveryStatus.PENDING),
        error=None if outcome is OutcomeStatus.DELIVERED else {"type": error},
    )


def breaker(ledger: Ledger, clock: SimulatedClock, policy: CircuitPolicy = POLICY) -> CircuitBreaker:
    return CircuitBreaker("customers:cloud", "customers", policy, clock, ledger)


def test_opens_after_failures_of_several_keys_then_probes_and_closes(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    b = breaker(ledger, clock)
    for key in ("A", "B"):
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    assert b.state == CLOSED and b.permit() is None
    b.record([result("C", OutcomeStatus.FAILED, clock)])
    assert b.state == OPEN and b.is_open() and b.permit() == 0
    (stored,) = ledger.circuits("customers")
    assert stored.state == OPEN and stored.retry_at == clock.now() + timedelta(seconds=30)
    assert stored.detail is not None and stored.detail["error"] == "TargetUnavailable"
    clock.advance(29.9)
    assert b.permit() == 0
    clock.advance(0.1)
    assert b.permit() == 1 and b.state == HALF_OPEN
    assert b.permit() == 0  # one probe at a time, whatever the threads
    b.record([result("D", OutcomeStatus.DELIVERED, clock)])
    assert b.state == CLOSED and b.permit() is None
    assert [c.state for c in ledger.circuits()] == [CLOSED]


def test_a_failed_probe_doubles_the_open_period_up_to_the_maximum(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    for key in "ABC":
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    opened_at = clock.now()
    periods = []
    for _ in range(3):
        assert b.retry_at is not None
        periods.append((b.retry_at - clock.now()).total_seconds())
        clock.advance(periods[-1])
        assert b.permit() == 1
        b.record([result("P", OutcomeStatus.FAILED, clock)])
        assert b.state == OPEN
    assert periods == [30.0, 60.0, 100.0]
    # "since" stays the first opening: the alert's "open for" is not reset by failed probes
    assert ledger.circuits()[0].since == opened_at


def test_one_poison_key_never_opens_the_circuit(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    for _ in range(10):
        b.record([result("POISON", OutcomeStatus.FAILED, clock)])
    assert b.state == CLOSED and ledger.circuits() == []


def test_rejections_and_missing_references_do_not_count(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    b.record([result("A", OutcomeStatus.FAILED, clock)])
    b.record([result("B", OutcomeStatus.FAILED, clock)])
    b.record([result("C", OutcomeStatus.REJECTED, clock, error="Rejected")])  # the target answers: run broken
    b.record([result("D", OutcomeStatus.FAILED, clock)])
    b.record([result("E", OutcomeStatus.FAILED, clock, error="DependencyPending")])  # our reference is missing
    assert b.state == CLOSED
    b.record([result("F", OutcomeStatus.FAILED, clock)])
    b.record([result("G", OutcomeStatus.FAILED, clock)])
    assert b.state == OPEN


def test_a_rejected_probe_closes_and_a_pending_reference_lets_another_probe_go(
    ledger: Ledger, clock: SimulatedClock
) -> None:
    b = breaker(ledger, clock)
    for key in "ABC":
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    clock.advance(30)
    assert b.permit() == 1
    b.record([result("X", OutcomeStatus.FAILED, clock, error="DependencyPending")])
    assert b.state == HALF_OPEN and b.permit() == 1  # no verdict on the target yet
    b.record([result("Y", OutcomeStatus.REJECTED, clock, error="Rejected")])
    assert b.state == CLOSED


def test_a_restart_keeps_an_open_circuit_until_its_retry_time(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    for key in "ABC":
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    clock.advance(10)
    again = breaker(ledger, clock)
    assert again.state == OPEN and again.permit() == 0
    clock.advance(20)
    assert again.permit() == 1


def test_failures_zero_turns_the_breaker_off(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock, CircuitPolicy(failures=0))
    for key in "ABCDEFGH":
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    assert b.permit() is None and not b.is_open() and ledger.circuits() == []


def test_one_failed_bulk_call_is_one_failure_of_all_its_keys(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    for _ in range(2):
        b.record([result(k, OutcomeStatus.FAILED, clock) for k in "ABCDE"])
    assert b.state == CLOSED  # two calls failed, not ten
    b.record([result("F", OutcomeStatus.FAILED, clock), result("G", OutcomeStatus.DELIVERED, clock)])
    assert b.state == CLOSED  # part of a bulk call went through: the target works
    for _ in range(3):
        b.record([result(k, OutcomeStatus.FAILED, clock) for k in "AB"])
    assert b.state == OPEN


def test_a_late_failure_while_open_does_not_push_the_probe_back(ledger: Ledger, clock: SimulatedClock) -> None:
    b = breaker(ledger, clock)
    for key in "ABC":
        b.record([result(key, OutcomeStatus.FAILED, clock)])
    retry_at = b.retry_at
    clock.advance(5)
    b.record([result("D", OutcomeStatus.FAILED, clock)])  # another thread's call, sent before the opening
    assert b.state == OPEN and b.retry_at == retry_at
