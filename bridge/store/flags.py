"""The ledger's cutover flags: versioned rules per interface and the audited events that changed them.

Rows are only ever appended (a change is version n+1 plus its event, in one transaction), so the history is
the audit. The store keeps the rules as JSON; what they mean is the cutover layer's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bridge.store import schema as t
from bridge.store._core import LedgerCore

__all__ = ["FlagEvent", "FlagLedger", "FlagVersionConflict", "StoredFlag"]


class FlagVersionConflict(RuntimeError):
    """The flag changed between reading it and appending the next version (a lost update was refused)."""


@dataclass(frozen=True)
class StoredFlag:
    """One version of one interface's flag as stored: its mode and its rules (JSON)."""

    interface: str
    version: int
    mode: str
    rules: dict[str, Any]
    created_at: datetime


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


def _flag(interface: str, version: Any, mode: Any, rules: Any, created_at: datetime) -> StoredFlag:
    return StoredFlag(interface, int(version), str(mode), dict(rules), created_at)


class FlagLedger(LedgerCore):
    """Reads and appends flag versions; the only writer of ``flags`` and ``flag_events``."""

    def current_flag(self, interface: str) -> StoredFlag | None:
        """The newest version of ``interface``'s flag (None: never seeded)."""
        f = t.flags
        with self.engine.connect() as conn:
            row = conn.execute(
                select(f.c.version, f.c.mode, f.c.rules, f.c.created_at)
                .where(f.c.interface == interface)
                .order_by(f.c.version.desc())
                .limit(1)
            ).first()
        return None if row is None else _flag(interface, *row)

    def current_flags(self) -> dict[str, StoredFlag]:
        """The newest version of every interface's flag."""
        f = t.flags
        latest = select(f.c.interface, func.max(f.c.version).label("v")).group_by(f.c.interface).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(f.c.interface, f.c.version, f.c.mode, f.c.rules, f.c.created_at).join(
                    latest, (latest.c.interface == f.c.interface) & (latest.c.v == f.c.version)
                )
            ).all()
        return {str(r[0]): _flag(str(r[0]), *r[1:]) for r in rows}

    def flag_version(self, interface: str, version: int) -> StoredFlag | None:
        """One given version of ``interface``'s flag."""
        f = t.flags
        with self.engine.connect() as conn:
            row = conn.execute(
                select(f.c.mode, f.c.rules, f.c.created_at).where(f.c.interface == interface, f.c.version == version)
            ).first()
        return None if row is None else _flag(interface, version, *row)

    def append_flag(
        self,
        interface: str,
        mode: str,
        rules: dict[str, Any],
        *,
        actor: str,
        action: str,
        reason: str = "",
        ticket: str | None = None,
        evidence: dict[str, Any] | None = None,
        expect_version: int | None = None,
    ) -> StoredFlag:
        """Append version n+1 with its event in one transaction; ``expect_version`` guards lost updates."""
        now = self._now()
        f = t.flags
        with self.engine.begin() as conn:
            prev = conn.execute(
                select(f.c.version, f.c.mode).where(f.c.interface == interface).order_by(f.c.version.desc()).limit(1)
            ).first()
            from_version = None if prev is None else int(prev[0])
            if expect_version is not None and from_version != expect_version:
                raise FlagVersionConflict(f"flag of {interface} changed meanwhile (now version {from_version})")
            version = (from_version or 0) + 1
            conn.execute(
                f.insert().values(interface=interface, version=version, mode=mode, rules=rules, created_at=now)
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
                    to_mode=mode,
                    reason=reason,
                    ticket=ticket,
                    evidence=evidence,
                )
            )
        return StoredFlag(interface, version, mode, rules, now)

    def flag_events(self, interface: str | None = None, limit: int = 1000) -> list[FlagEvent]:
        """Flag changes, newest first (of one interface, or of all)."""
        e = t.flag_events
        q = select(e).order_by(e.c.id.desc()).limit(limit)
        if interface:
            q = q.where(e.c.interface == interface)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [FlagEvent(**{k: r[k] for k in FlagEvent.__dataclass_fields__}) for r in rows]
