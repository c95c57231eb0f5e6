"""Accepted noise: fields of an interface accepted as noise (owner, reason, expiry), and their audit.

A field the shadow report flags as probable noise (or that differs between two legacy read-backs) can be
accepted by a person instead of edited into the config: one ``noise_rules`` row (migration 0014) plus one
entry in the hash-chained audit log, written in the same transaction. Rows are append-only; the newest row of
an (interface, path) is in force, so a renewal or an earlier end is a new row and the history stays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bridge.store import schema as t
from bridge.store.audit import AuditLedger

__all__ = ["NoiseRuleLedger", "NoiseRuleRow"]


@dataclass(frozen=True)
class NoiseRuleRow:
    """One accepted-noise rule as stored: ``path`` is a compare path glob (``lines.*.updated_at``)."""

    id: int
    interface: str
    path: str
    owner: str
    reason: str
    expires: date
    accepted_by: str
    accepted_at: datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["expires"] = self.expires.isoformat()
        d["accepted_at"] = self.accepted_at.isoformat()
        return d


class NoiseRuleLedger(AuditLedger):
    def accept_noise(
        self, interface: str, path: str, *, owner: str, reason: str, expires: date, actor: str
    ) -> NoiseRuleRow:
        """Store the rule and its audit entry (``shadow.accept_noise``); returns the stored row."""
        now = self._now()
        values = {
            "interface": interface,
            "path": path,
            "owner": owner,
            "reason": reason,
            "expires": expires.isoformat(),
            "accepted_by": actor,
            "accepted_at": now,
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(t.noise_rules.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
            detail = {"path": path, "owner": owner, "expires": expires.isoformat(), "rule_id": new_id}
            self.audit(actor, "shadow.accept_noise", f"interface:{interface}", reason, detail, conn=conn)
        return NoiseRuleRow(int(new_id), interface, path, owner, reason, expires, actor, now)

    def noise_rules(self, interface: str | None = None, *, history: bool = False) -> list[NoiseRuleRow]:
        """The rules in force (the newest per interface and path), expired ones included; with ``history``
        every row, newest first."""
        n = t.noise_rules
        q = select(n).order_by(n.c.id.desc())
        if interface is not None:
            q = q.where(n.c.interface == interface)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        out: list[NoiseRuleRow] = []
        seen: set[tuple[str, str]] = set()
        for r in rows:
            if not history and (r["interface"], r["path"]) in seen:
                continue
            seen.add((r["interface"], r["path"]))
            out.append(
                NoiseRuleRow(
                    int(r["id"]),
                    r["interface"],
                    r["path"],
                    r["owner"],
                    r["reason"],
                    date.fromisoformat(r["expires"]),
                    r["accepted_by"],
                    r["accepted_at"],
                )
            )
        return out
