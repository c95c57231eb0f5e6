"""Browser sessions of the dashboard: a signed cookie, its CSRF token, and who the caller is.

Every visitor holds one session cookie (``esbb_session``: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over
HTTPS), signed with HMAC-SHA256 under ``ESB_BRIDGE_SESSION_KEY`` (from the environment; without it a random key
per process, so sessions end with the process). It carries no secret: the identity and role, where they came
from (``tok``: the API token's name, rechecked against the ledger on every request so a revoked or expired
token ends its sessions at once), an expiry (8 hours), and the CSRF token every form posts back. A login
replaces the session (new CSRF token: no session fixation); logout replaces it with an anonymous one and
refuses the old cookie from then on (the refusal is kept in the serving process until the cookie would have
expired anyway: a restart forgets it, as it forgets a random key's sessions).

A form post is accepted only when its ``csrf`` field equals the session's (:func:`check_csrf`, else 403): a page
of another site can make the browser post, but cannot read the token. ``SameSite=Lax`` keeps the cookie off
cross-site posts as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from bridge.web.auth import Identity, Role

__all__ = ["COOKIE", "LIFETIME", "Session", "SessionKeeper", "check_csrf"]

COOKIE = "esbb_session"
LIFETIME = 8 * 3600  # seconds a login lasts


@dataclass(frozen=True)
class Session:
    """What the cookie says (after its signature was checked)."""

    csrf: str
    expires: float
    who: str | None = None
    role: str | None = None
    #: the API token the login used (its name), rechecked on every request; None for an OIDC login
    token: str | None = None
    #: OIDC login in progress: state, PKCE verifier, nonce and where to go afterwards
    pending: dict[str, str] | None = None

    @property
    def sid(self) -> str:
        """The session's id (a digest of its CSRF token: unique per login, and no secret)."""
        return hashlib.sha256(self.csrf.encode()).hexdigest()[:32]

    def identity(self) -> Identity | None:
        if self.who is None or self.role is None:
            return None
        return Identity(self.who, Role.parse(self.role))


class SessionKeeper:
    """Signs, reads and writes session cookies (one per app)."""

    def __init__(self, key: bytes | None = None) -> None:
        env = os.environ.get("ESB_BRIDGE_SESSION_KEY")
        if key is None:
            key = hashlib.sha256(env.encode()).digest() if env else secrets.token_bytes(32)
        self._key = key
        self._ended: dict[str, float] = {}  # sid -> expiry of the sessions logged out
        self._lock = threading.Lock()

    def end(self, s: Session) -> None:
        """Log ``s`` out: its cookie is refused from now on."""
        with self._lock:
            now = time.time()
            self._ended = {k: v for k, v in self._ended.items() if v > now}
            self._ended[s.sid] = s.expires

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def encode(self, s: Session) -> str:
        body = orjson.dumps({k: v for k, v in s.__dict__.items() if v is not None})
        return f"{base64.urlsafe_b64encode(body).decode().rstrip('=')}.{self._sign(body)}"

    def decode(self, value: str | None) -> Session | None:
        if not value or "." not in value:
            return None
        raw, sig = value.rsplit(".", 1)
        try:
            body = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(body), sig):
            return None
        try:
            data: dict[str, Any] = orjson.loads(body)
            s = Session(**data)
        except (orjson.JSONDecodeError, TypeError):
            return None
        if s.expires <= time.time():
            return None
        with self._lock:
            return None if s.sid in self._ended else s

    @staticmethod
    def fresh(**fields: Any) -> Session:
        """A new session (new CSRF token) with ``fields`` (who, role, token, pending)."""
        return Session(csrf=secrets.token_urlsafe(32), expires=time.time() + LIFETIME, **fields)

    def current(self, request: Request) -> Session:
        """The request's session: its cookie's, or a new anonymous one (kept in ``request.state``)."""
        cached: Session | None = getattr(request.state, "session", None)
        if cached is not None:
            return cached
        s = self.decode(request.cookies.get(COOKIE))
        if s is not None and s.who is not None and not self._still_valid(request, s):
            s = None
        if s is None:
            s = self.fresh()
            request.state.new_session = True
        request.state.session = s
        return s

    def _still_valid(self, request: Request, s: Session) -> bool:
        """A token login holds while its token is live (not revoked, not expired on the ledger's clock)."""
        if s.token is None:
            return True
        ledger = request.app.state.ctx.ledger
        now = ledger.clock.now()
        for tk in ledger.tokens():
            if tk.name == s.token:
                live = tk.revoked_at is None and (tk.expires_at is None or tk.expires_at > now)
                return bool(live and tk.role == s.role)
        return False

    def write(self, request: Request, response: Response, s: Session) -> None:
        """Set ``s`` as the cookie of ``response`` (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
        response.set_cookie(
            COOKIE,
            self.encode(s),
            max_age=max(0, int(s.expires - time.time())),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def check_csrf(session: Session, form: dict[str, str]) -> bool:
    """The form's ``csrf`` field is the session's token (compared in constant time)."""
    given = form.get("csrf", "")
    return bool(given) and hmac.compare_digest(given.encode(), session.csrf.encode())
