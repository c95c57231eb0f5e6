"""The ledger's audit log (hash-chained) and the API tokens whose holders write most of it.

Every audited write appends one ``audit_events`` row carrying the previous row's hash and its own
(:mod:`bridge.store.audit_chain`), computed in the inserting transaction under a lock (PostgreSQL: a
transaction advisory lock; SQLite: its one writer), so concurrent writers never fork the chain.

API tokens are random 256-bit secrets; only their SHA-256 is stored (a fast hash is enough for a secret of
that entropy: there is nothing to brute-force), the token itself is shown once at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text, update

from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.audit_chain import GENESIS, entry_hash

__all__ = ["TOKEN_PREFIX", "ApiToken", "AuditLedger", "token_hash"]

#: every token starts with this, so a leaked one is recognisable by secret scanners
TOKEN_PREFIX = "esbb_"
_CHAIN_LOCK = 0x65736262  # "esbb": the advisory lock serialising audit appends on PostgreSQL


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A stored token, never its secret: name, role, who created it, when it expires or was revoked."""

    name: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _token(row: Any) -> ApiToken:
    return ApiToken(row.name, row.role, row.created_by, row.created_at, row.expires_at, row.revoked_at)


class AuditLedger(LedgerCore):
    # ------------------------------------------------------------------ audit

    def audit(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Append one audit entry, chained onto the last one; inside ``conn``'s transaction when given (so the
        audited write and its entry commit together)."""
        if conn is None:
            with self.engine.begin() as own:
                self._append_audit(own, actor, action, subject, reason, detail)
        else:
            self._append_audit(conn, actor, action, subject, reason, detail)

    def _append_audit(
        self, conn: Connection, actor: str, action: str, subject: str, reason: str, detail: dict[str, Any] | None
    ) -> None:
        a = t.audit_events
        now = self._now()
        if not self._sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
        prev = conn.scalar(select(a.c.hash).order_by(a.c.id.desc()).limit(1)) or GENESIS
        values = {
            "at": now,
            "actor": actor,
            "action": action,
            "subject": subject,
            "reason": reason,
            "detail": detail,
        }
        new_id = conn.execute(a.insert().values(**values, prev_hash=prev)).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(update(a).where(a.c.id == new_id).values(hash=entry_hash(prev, {"id": new_id, **values})))

    def audit_entries(self, *, after_id: int = 0, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Every audit entry in id order (with its chain hashes), read in chunks."""
        a = t.audit_events
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(a).where(a.c.id > after_id).order_by(a.c.id).limit(chunk)).mappings().all()
            for r in rows:
                yield {str(k): v for k, v in r.items()}
            if len(rows) < chunk:
                return
            after_id = int(rows[-1]["id"])

    # ------------------------------------------------------------------ API tokens

    def create_token(self, name: str, role: str, *, created_by: str, expires_at: datetime | None = None) -> str:
        """A new token for ``name`` (unique) with ``role``; returns the secret, which is not stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                t.api_tokens.insert().values(
                    name=name,
                    role=role,
                    token_hash=token_hash(secret),
                    created_by=created_by,
                    created_at=self._now(),
                    expires_at=expires_at,
                )
            )
        return secret

    def tokens(self) -> list[ApiToken]:
        with self.engine.connect() as conn:
            return [_token(r) for r in conn.execute(select(t.api_tokens).order_by(t.api_tokens.c.name))]

    def revoke_token(self, name: str) -> bool:
        """Revoke ``name``; False when there is no such live token."""
        tk = t.api_tokens
        with self.engine.begin() as conn:
            res = conn.execute(
                update(tk).where(tk.c.name == name, tk.c.revoked_at.is_(None)).values(revoked_at=self._now())
            )
        return bool(res.rowcount)

    def token_for(self, secret: str) -> ApiToken | None:
        """The live token whose secret is ``secret`` (not revoked, not expired), else None."""
        tk = t.api_tokens
        with self.engine.connect() as conn:
            row = conn.execute(select(tk).where(tk.c.token_hash == token_hash(secret))).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= self._now():
            return None
        return _token(row)

    # ------------------------------------------------------------------ ownership of failures

    def assign_dead_letter(self, dl_id: int, owner: str | None) -> bool:
        """Name who owns the failed transaction of dead letter ``dl_id`` (None clears it)."""
        dl = t.dead_letters
        with self.engine.begin() as conn:
            res = conn.execute(update(dl).where(dl.c.id == dl_id).values(assigned_to=owner))
        return bool(res.rowcount)
