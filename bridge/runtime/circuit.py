"""A circuit breaker per delivery target: stop calling a target that keeps failing, probe it, resume.

Why: without one, a target that is down gets every due delivery of every worker thread, each attempt is
spent (and counts towards ``max_attempts``), and the backoff of thousands of deliveries is what paces the
retries. With it, after ``failures`` retryable failures in a row the target gets nothing for ``open_for``:
no call, no attempt spent, the deliveries wait pending; then ONE delivery is sent as a probe (half-open):
success closes the circuit, failure opens it again for twice as long (at most ``max_open_for``).

What counts: retryable failures (``OutcomeStatus.FAILED``) except ``DependencyPending`` (our reference is
missing, the target is fine) and dry runs; a rejection (4xx) means the target answers, so it breaks the
run without counting; any success closes. The run must span at least two business keys: one record that
fails again and again (a poison record) is that record's problem, and its own retries and dead letter deal
with it; it must never stop the other keys' deliveries.

Time is the runtime's Clock (tests run on a simulated one). Each transition is written to the ledger
(``circuit_states``), so ``status``, the admin API and the ``circuit_open`` alert see it; in between, the
breaker is memory only, shared by the target's worker threads (a lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from logging import INFO, WARNING
from typing import Any

from bridge.config.model import CircuitPolicy
from bridge.observability.logs import event
from bridge.ports import Clock, DependencyPending, OutcomeStatus
from bridge.store.circuits import CircuitState
from bridge.store.ledger import Ledger
from bridge.store.records import AttemptResult

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "CircuitBreaker"]

log = logging.getLogger("esb_bridge.runtime.circuit")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """The breaker of one target. ``permit()`` before a claim; ``record()`` each attempt's result."""

    def __init__(self, target: str, interface: str, policy: CircuitPolicy, clock: Clock, ledger: Ledger) -> None:
        self.target = target
        self.interface = interface
        self.policy = policy
        self.clock = clock
        self.ledger = ledger
        self.state = CLOSED
        self.retry_at: datetime | None = None
        self._lock = threading.Lock()
        self._failures = 0
        self._keys: set[str] = set()
        self._open_for = float(policy.open_for)
        self._probing = False
        self._last_error: dict[str, Any] | None = None
        self._since = clock.now()
        if self.enabled:
            self._adopt()

    def _adopt(self) -> None:
        """A restart does not forget an open circuit: the stored state of the target (open or half-open) is
        taken over as open until its ``retry_at`` (a half-open one probes at once)."""
        stored = next((c for c in self.ledger.circuits(self.interface) if c.target == self.target), None)
        if stored is None or stored.state == CLOSED:
            return
        self.state, self._failures, self._since = OPEN, stored.failures, stored.since
        self.retry_at = stored.retry_at if stored.state == OPEN and stored.retry_at else self.clock.now()

    @property
    def enabled(self) -> bool:
        return self.policy.failures > 0

    def permit(self) -> int | None:
        """How many deliveries may be claimed now: None = any number (closed), 1 = a probe, 0 = none (open)."""
        if not self.enabled:
            return None
        with self._lock:
            if self.state == CLOSED:
                return None
            if self.state == OPEN:
                assert self.retry_at is not None
                if self.clock.now() < self.retry_at:
                    return 0
                self._move(HALF_OPEN)
            if self._probing:  # one probe at a time, whatever the worker threads
                return 0
            self._probing = True
            return 1

    def probe_done(self) -> None:
        """The probe's claim came back empty (nothing due): the next permit may probe again."""
        with self._lock:
            self._probing = False

    def is_open(self) -> bool:
        """Open: the rest of a claimed batch is not sent but given back (half-open, the probe goes out)."""
        return self.enabled and self.state == OPEN

    def record(self, call: Sequence[AttemptResult]) -> None:
        """Count one sink call: one delivery, or a bulk sink's whole chunk (one failed bulk request is ONE
        failure, of all its keys). Any delivery delivered, or rejected (the target answers), resets the count;
        dry runs and missing references do not count."""
        counted = [r for r in call if not r.delivery.dry_run]
        if not self.enabled or not counted:
            return
        outcomes = {r.outcome for r in counted}
        with self._lock:
            if OutcomeStatus.DELIVERED in outcomes or OutcomeStatus.REJECTED in outcomes:
                self._failures, self._keys = 0, set()
                # a probe asks only whether the target answers: a rejection closes too
                if self.state == HALF_OPEN or (self.state == OPEN and OutcomeStatus.DELIVERED in outcomes):
                    self._open_for = float(self.policy.open_for)
                    self._move(CLOSED)
                return
            failed = [r for r in counted if (r.error or {}).get("type") != DependencyPending.__name__]
            if not failed:
                if self.state == HALF_OPEN:
                    self._probing = False  # no verdict on the target: probe again with another delivery
                return
            self._failures += 1
            self._keys.update(r.delivery.business_key for r in failed)
            first = failed[0]
            self._last_error = {"detail": (first.detail or "")[:300], "error": (first.error or {}).get("type")}
            if self.state == HALF_OPEN:
                self._open_for = min(self._open_for * 2, float(self.policy.max_open_for))
                self._open()
            elif self.state == CLOSED and self._failures >= self.policy.failures and len(self._keys) >= 2:
                self._open()

    def _open(self) -> None:
        self.retry_at = self.clock.now() + timedelta(seconds=self._open_for)
        self._move(OPEN)

    def _move(self, state: str) -> None:
        """Change state (lock held) and write it to the ledger; log opening and closing."""
        before, self.state = self.state, state
        self._probing = False
        if state != OPEN:
            self.retry_at = None
        now = self.clock.now()
        if before == CLOSED or state == CLOSED:
            self._since = now  # the row's ``since``: closed since, or not closed since (probes do not reset it)
        detail = {**(self._last_error or {}), "keys": len(self._keys)} if state == OPEN else None
        self.ledger.put_circuit(
            CircuitState(self.target, self.interface, state, self._failures, self._since, self.retry_at, detail=detail)
        )
        if state == OPEN:
            event(
                log,
                WARNING,
                "circuit_opened",
                interface=self.interface,
                target=self.target,
                failures=self._failures,
                keys=len(self._keys),
                open_for=self._open_for,
                was=before,
                **(self._last_error or {}),
            )
        elif state == CLOSED:
            event(log, INFO, "circuit_closed", interface=self.interface, target=self.target)
