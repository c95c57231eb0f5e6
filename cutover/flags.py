"""Ledger-backed, versioned cutover flags per interface.

Each change inserts a new ``flags`` row (version n+1) and a ``flag_events`` row in ONE transaction; rows are
never updated or deleted, so the history is the audit. The YAML seeds version 1 only when the ledger has no
flag for the interface; afterwards the ledger wins and :func:`flag_drift` tells where the YAML differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from bridge.config.loader import LoadedConfig
from bridge.ports import Clock
from bridge.store import schema as t
from bridge.store.ledger import Ledger
from cutover.model import MODES, FlagRules

__all__ = ["MODES", "Flag", "FlagEvent", "FlagRules", "FlagStore", "check_config", "flag_drift"]


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


@dataclass(frozen=True)
class FlagEvent:
    """One audited change: who, when, from, to, why, ticket and the gate's evidence."""

    id: int
    interface: str
    at: datetime
    actor: str
    action: str
    from_version: int | None
    to_version: int
    from_mode: str | None
    to_mode: str
    reason: str
    ticket: str | None
    evidence: dict[str, Any] | None

    def public(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


class FlagStore:
    """Reads and appends flag versions; the only writer of ``flags`` and ``flag_events``."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def of(cls, ledger: Ledger) -> FlagStore:
        return cls(ledger.engine, ledger.clock)

    def current(self, interface: str) -> Flag | None:
        f = t.flags
        with self.engine.connect() as conn:
            row = conn.execute(
                select(f.c.version, f.c.rules, f.c.created_at)
                .where(f.c.interface == interface)
                .order_by(f.c.version.desc())
                .limit(1)
            ).first()
        return None if row is None else Flag(interface, int(row[0]), FlagRules.model_validate(row[1]), row[2])

    def all_current(self) -> dict[str, Flag]:
        f = t.flags
        latest = select(f.c.interface, func.max(f.c.version).label("v")).group_by(f.c.interface).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(f.c.interface, f.c.version, f.c.rules, f.c.created_at).join(
                    latest, (latest.c.interface == f.c.interface) & (latest.c.v == f.c.version)
                )
            ).all()
        return {str(r[0]): Flag(str(r[0]), int(r[1]), FlagRules.model_validate(r[2]), r[3]) for r in rows}

    def version(self, interface: str, version: int) -> Flag | None:
        f = t.flags
        with self.engine.connect() as conn:
            row = conn.execute(
                select(f.c.rules, f.c.created_at).where(f.c.interface == interface, f.c.version == version)
            ).first()
        return None if row is None else Flag(interface, version, FlagRules.model_validate(row[0]), row[1])

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
        now = self.clock.now()
        f = t.flags
        with self.engine.begin() as conn:
            prev = conn.execute(
                select(f.c.version, f.c.mode).where(f.c.interface == interface).order_by(f.c.version.desc()).limit(1)
            ).first()
            from_version = None if prev is None else int(prev[0])
            if expect_version is not None and from_version != expect_version:
                raise RuntimeError(f"flag of {interface} changed meanwhile (now version {from_version})")
            version = (from_version or 0) + 1
            conn.execute(
                f.insert().values(
                    interface=interface, version=version, mode=rules.mode, rules=rules.public(), created_at=now
                )
            )
            conn.execute(
                t.flag_events.insert().values(
                    interface=interface,
                    at=now,
                    actor=actor,
                    action=action,
                    from_version=from_version,
                    to_version=version,
                    from_mode=None if prev is None else str(prev[1]),
                    to_mode=rules.mode,
                    reason=reason,
                    ticket=ticket,
                    evidence=evidence,
                )
            )
        return Flag(interface, version, rules, now)

    def seed(self, loaded: LoadedConfig) -> list[str]:
        """Version 1 from the YAML for every interface the ledger has no flag for; returns those seeded."""
        have = self.all_current()
        seeded = []
        for name, iface in loaded.config.interfaces.items():
            if name in have:
                continue
            self.change(
                name,
                seed_rules(iface.cutover.model_dump()),
                actor="config",
                action="seed",
                reason=f"seeded from {loaded.file}",
            )
            seeded.append(name)
        return seeded

    def events(self, interface: str | None = None, limit: int = 1000) -> list[FlagEvent]:
        e = t.flag_events
        q = select(e).order_by(e.c.id.desc()).limit(limit)
        if interface:
            q = q.where(e.c.interface == interface)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [FlagEvent(**{k: r[k] for k in FlagEvent.__dataclass_fields__}) for r in rows]


def seed_rules(block: dict[str, Any]) -> FlagRules:
    """The YAML ``cutover:`` block as flag rules (``mode`` plus the extra fields CutoverConfig allows)."""
    return FlagRules.from_yaml({k: v for k, v in block.items() if v is not None})


def flag_drift(loaded: LoadedConfig, ledger: Ledger | FlagStore) -> list[str]:
    """One warning per interface whose YAML cutover block differs from the ledger's current flag."""
    store = ledger if isinstance(ledger, FlagStore) else FlagStore.of(ledger)
    current = store.all_current()
    out = []
    for name, iface in sorted(loaded.config.interfaces.items()):
        flag = current.get(name)
        if flag is None:
            continue
        yaml_rules = seed_rules(iface.cutover.model_dump())
        if yaml_rules == flag.rules:
            continue
        a, b = yaml_rules.public(), flag.rules.public()
        fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        detail = ", ".join(f"{k}: yaml={a.get(k)!r} ledger={b.get(k)!r}" for k in fields if k != "gate")
        if "gate" in fields:
            detail = (detail + ", " if detail else "") + "gate differs"
        out.append(f"{name}: YAML cutover differs from the ledger's flag v{flag.version} (ledger wins): {detail}")
    return out


def check_config(loaded: LoadedConfig) -> list[str]:
    """Problems in the interfaces' ``cutover:`` and ``compare:`` blocks (checked by ``validate``)."""
    from pydantic import ValidationError

    from cutover.compare import CompareRules

    out = []
    for name, iface in sorted(loaded.config.interfaces.items()):
        for block in ("cutover", "compare"):
            try:
                if block == "cutover":
                    seed_rules(iface.cutover.model_dump())
                else:
                    CompareRules.model_validate(iface.compare)
            except ValidationError as exc:
                for e in exc.errors(include_input=False, include_url=False):
                    where = ".".join(str(p) for p in e["loc"])
                    out.append(f"interfaces.{name}.{block}{'.' + where if where else ''}: {e['msg']}")
    return out
