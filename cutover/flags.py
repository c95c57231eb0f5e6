"""Ledger-backed, versioned cutover flags per interface.

Each change inserts a new ``flags`` row (version n+1) and a ``flag_events`` row in ONE transaction; rows are
never updated or deleted, so the history is the audit. The YAML seeds version 1 only when the ledger has no
flag for the interface; afterwards the ledger wins and :func:`flag_drift` tells where the YAML differs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.observability.logs import event
from bridge.store.flags import FlagEvent, StoredFlag
from bridge.store.ledger import Ledger
from cutover.model import MODES, FlagRules

__all__ = ["MODES", "Flag", "FlagEvent", "FlagRules", "FlagStore", "flag_drift"]

log = logging.getLogger("esb_bridge.cutover.flags")


@dataclass(frozen=True)
class Flag:
    """One version of one interface's flag."""

    interface: str
    version: int
    rules: FlagRules
    created_at: datetime

    @property
    def mode(self) -> str:
        return self.rules.mode

    @classmethod
    def of(cls, stored: StoredFlag) -> Flag:
        return cls(stored.interface, stored.version, FlagRules.model_validate(stored.rules), stored.created_at)


class FlagStore:
    """Flag versions as :class:`FlagRules`, read and appended through the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @classmethod
    def of(cls, ledger: Ledger) -> FlagStore:
        return cls(ledger)

    def current(self, interface: str) -> Flag | None:
        stored = self.ledger.current_flag(interface)
        return None if stored is None else Flag.of(stored)

    def all_current(self) -> dict[str, Flag]:
        return {name: Flag.of(f) for name, f in self.ledger.current_flags().items()}

    def version(self, interface: str, version: int) -> Flag | None:
        stored = self.ledger.flag_version(interface, version)
        return None if stored is None else Flag.of(stored)

    def change(
        self,
        interface: str,
        rules: FlagRules,
        *,
        actor: str,
        action: str,
        reason: str = "",
        ticket: str | None = None,
        evidence: dict[str, Any] | None = None,
        expect_version: int | None = None,
    ) -> Flag:
        """Append version n+1 with its event, in one transaction; ``expect_version`` guards lost updates."""
        stored = self.ledger.append_flag(
            interface,
            rules.mode,
            rules.public(),
            actor=actor,
            action=action,
            reason=reason,
            ticket=ticket,
            evidence=evidence,
            expect_version=expect_version,
        )
        event(
            log,
            logging.INFO,
            "flag_changed",
            interface=interface,
            action=action,
            mode=rules.mode,
            version=stored.version,
            actor=actor,
            reason=reason or None,
            ticket=ticket,
        )
        return Flag(interface, stored.version, rules, stored.created_at)

    def seed(self, loaded: LoadedConfig) -> list[str]:
        """Version 1 from the YAML for every interface the ledger has no flag for; returns those seeded."""
        have = self.all_current()
        seeded = []
        for name, iface in loaded.config.interfaces.items():
            if name in have:
                continue
            self.change(
                name,
                iface.cutover,
                actor="config",
                action="seed",
                reason=f"seeded from {loaded.file}",
            )
            seeded.append(name)
        return seeded

    def events(self, interface: str | None = None, limit: int = 1000) -> list[FlagEvent]:
        return self.ledger.flag_events(interface, limit)


def flag_drift(loaded: LoadedConfig, ledger: Ledger | FlagStore) -> list[str]:
    """One warning per interface whose YAML cutover block differs from the ledger's current flag."""
    store = ledger if isinstance(ledger, FlagStore) else FlagStore.of(ledger)
    current = store.all_current()
    out = []
    for name, iface in sorted(loaded.config.interfaces.items()):
        flag = current.get(name)
        if flag is None:
            continue
        yaml_rules = iface.cutover
        if yaml_rules == flag.rules:
            continue
        a, b = yaml_rules.public(), flag.rules.public()
        fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        detail = ", ".join(f"{k}: yaml={a.get(k)!r} ledger={b.get(k)!r}" for k in fields if k != "gate")
        if "gate" in fields:
            detail = (detail + ", " if detail else "") + "gate differs"
        out.append(f"{name}: YAML cutover differs from the ledger's flag v{flag.version} (ledger wins): {detail}")
    return out
