"""Flag changes with their audit: set (gated promotions), rollback, history, and the automatic guard.

Every change is an append-only ``flag_events`` row (who, when, from, to, reason, ticket, gate evidence) next
to the new flag version (see :mod:`cutover.flags`). A promotion past ``legacy_primary`` needs the readiness
gate to pass, or ``force`` with a reason (the failed gate is still stored as evidence). ``rollback`` restores
the flag version that was in force before the last promotion. The guard demotes an interface whose mismatch
or error rate spikes after a promotion and records the figures that triggered it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bridge.store.ledger import Ledger
from bridge.store.records import ComparisonLevel, ComparisonStatus, DeliveryStatus
from cutover.flags import Flag, FlagEvent, FlagStore
from cutover.gates import Readiness, evaluate
from cutover.model import FlagRules, GateRule, rank

#: the verdict of the backtest a ``backtest: accept`` gate may rest on (:mod:`cutover.backtests`), or None
BacktestEvidence = Callable[[str, GateRule], Readiness | None]

__all__ = ["Cutover", "CutoverError", "GateClosed", "is_promotion"]


class CutoverError(Exception):
    """A flag change that is not allowed as asked (unknown interface, nothing to roll back, no reason)."""


class GateClosed(CutoverError):
    """A promotion the readiness gate refuses; ``readiness`` says why."""

    def __init__(self, readiness: Readiness) -> None:
        super().__init__(f"{readiness.interface} is not ready: " + "; ".join(readiness.reasons))
        self.readiness = readiness


def _share(rules: FlagRules) -> float:
    """How much traffic goes cloud-first under ``cloud_primary`` (percentage; attribute rules count as less)."""
    if rules.rollout is None:
        return 100.0
    return rules.rollout.percent - (0.5 if rules.rollout.rules else 0.0)


def is_promotion(old: FlagRules, new: FlagRules) -> bool:
    """A move towards the cloud past ``legacy_primary`` (including a larger cloud_primary rollout)."""
    if rank(new.mode) <= rank("legacy_primary"):
        return False
    if rank(new.mode) != rank(old.mode):
        return rank(new.mode) > rank(old.mode)
    return new.mode == "cloud_primary" and _share(new) > _share(old)


@dataclass
class Cutover:
    """The operations behind ``esb-bridge cutover``; ``store`` and ``ledger`` share one engine and Clock.

    ``backtest`` finds the verdict of an interface's newest backtest; a gate with ``backtest: accept``
    may then open on it when the live evidence does not (the audit entry's ``evidence_from`` names it).
    """

    ledger: Ledger
    backtest: BacktestEvidence | None = None

    @property
    def store(self) -> FlagStore:
        return FlagStore.of(self.ledger)

    def _current(self, interface: str) -> Flag:
        flag = self.store.current(interface)
        if flag is None:
            raise CutoverError(f"no flag for {interface!r} in the ledger (run the bridge or validate once to seed)")
        return flag

    def readiness(self, interface: str) -> Readiness:
        flag = self._current(interface)
        return evaluate(self.ledger, interface, flag.rules.gate)

    def set(
        self,
        interface: str,
        changes: dict[str, Any],
        *,
        actor: str,
        reason: str = "",
        ticket: str | None = None,
        force: bool = False,
    ) -> Flag:
        """Apply ``changes`` (mode, rollout, legacy_feed, gate, ...) as a new version, gated if a promotion."""
        old = self._current(interface)
        new = FlagRules.model_validate({**old.rules.public(), **changes})
        if new == old.rules:
            return old
        evidence: dict[str, Any] | None = None
        action = "change"
        if is_promotion(old.rules, new):
            action = "promote"
            # The gate in force decides: loosening it in the same change must not open it.
            ready = evaluate(self.ledger, interface, old.rules.gate)
            evidence = ready.to_dict()
            if not ready.ready and old.rules.gate.backtest == "accept" and self.backtest is not None:
                bt = self.backtest(interface, old.rules.gate)
                if bt is not None and bt.ready:
                    evidence = {**bt.to_dict(), "evidence_from": f"backtest:{bt.figures['backtest']}"}
                    evidence["live"] = ready.to_dict()
                    ready = bt
            if not ready.ready:
                if not force:
                    raise GateClosed(ready)
                if not reason.strip():
                    raise CutoverError("--force needs a --reason (it is kept in the audit log)")
                action = "force-promote"
                evidence["forced"] = True
        elif rank(new.mode) < rank(old.rules.mode):
            action = "demote"
        return self.store.change(
            interface,
            new,
            actor=actor,
            action=action,
            reason=reason,
            ticket=ticket,
            evidence=evidence,
            expect_version=old.version,
        )

    def rollback(self, interface: str, *, actor: str, reason: str = "", ticket: str | None = None) -> Flag:
        """Restore the flag version in force before the last promotion (as a new, audited version)."""
        old = self._current(interface)
        promo = next((e for e in self.store.events(interface) if e.action in ("promote", "force-promote")), None)
        if promo is None or promo.from_version is None:
            raise CutoverError(f"{interface}: no promotion to roll back")
        target = self.store.version(interface, promo.from_version)
        assert target is not None
        if target.rules == old.rules:
            raise CutoverError(f"{interface}: already at the rules of v{target.version} (nothing to roll back)")
        return self.store.change(
            interface,
            target.rules,
            actor=actor,
            action="rollback",
            reason=reason or f"rollback of v{promo.to_version} to v{target.version}",
            ticket=ticket,
            evidence={"restored_version": target.version, "undone_version": promo.to_version},
            expect_version=old.version,
        )

    def history(self, interface: str | None = None) -> list[FlagEvent]:
        return self.store.events(interface)

    def guard(self, interface: str) -> Flag | None:
        """Demote when the guard's mismatch or error rate is exceeded since the last promotion; else None."""
        flag = self.store.current(interface)
        if flag is None or flag.rules.guard is None or rank(flag.mode) <= rank(flag.rules.guard.demote_to):
            return None
        g = flag.rules.guard
        since = max(flag.created_at, self.ledger.clock.now() - timedelta(seconds=g.window))
        by_status = self.ledger.comparison_counts(
            interface, since=since, levels=(ComparisonLevel.OUTCOME, ComparisonLevel.PAYLOAD)
        )
        delivered = self.ledger.finished_deliveries(interface, since=since, path="cloud")
        compared = sum(
            by_status.get(s, 0) for s in (ComparisonStatus.MATCH, ComparisonStatus.MISMATCH, ComparisonStatus.ACCEPTED)
        )
        mismatch = by_status.get(ComparisonStatus.MISMATCH, 0)
        finished = sum(delivered.values())
        dead = delivered.get(("cloud", DeliveryStatus.DEAD), 0)
        why = []
        if compared >= g.min_samples and mismatch / compared > g.max_mismatch_rate:
            why.append(f"mismatch rate {mismatch}/{compared} > {g.max_mismatch_rate:g}")
        if finished >= g.min_samples and dead / finished > g.max_error_rate:
            why.append(f"cloud error rate {dead}/{finished} > {g.max_error_rate:g}")
        if not why:
            return None
        new = FlagRules.model_validate({**flag.rules.public(), "mode": g.demote_to})
        return self.store.change(
            interface,
            new,
            actor="guard",
            action="guard-demote",
            reason="; ".join(why),
            evidence={
                "since": since.isoformat(),
                "compared": compared,
                "mismatches": mismatch,
                "cloud_finished": finished,
                "cloud_dead": dead,
            },
            expect_version=flag.version,
        )
