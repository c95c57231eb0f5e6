"""Who is calling the admin API, and may they: API tokens, OIDC bearer tokens, and the three roles.

Roles are ordered: ``viewer`` reads; ``operator`` also replays, discards and assigns dead letters;
``migration_lead`` also changes cutover flags and may override a closed gate (``force`` with a reason). A route
declares the least role it needs (:func:`require`); a caller without credentials gets 401, one whose role is
too low 403. The caller's identity (``token:<name>`` or ``oidc:<claim>``) is what every write is audited under.

API tokens (``esbb_...``) are looked up by their SHA-256 in the ledger (revoked and expired ones are refused);
any other bearer token is taken as an OIDC JWT when an issuer is configured: signature against the issuer's
JWKS, issuer, audience and expiry checked by PyJWT, the role read from one claim through ``role_map``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import jwt
from fastapi import HTTPException, Request

from bridge.config.api import OidcConfig
from bridge.store.audit import TOKEN_PREFIX
from bridge.store.ledger import Ledger

__all__ = ["Authenticator", "Identity", "Role", "require"]


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    MIGRATION_LEAD = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().upper().replace("-", "_").replace(" ", "_")]
        except KeyError:
            raise ValueError(f"unknown role {value!r}; expected viewer, operator or migration_lead") from None


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the name audited and the role granted."""

    name: str
    role: Role

    def public(self) -> dict[str, str]:
        return {"identity": self.name, "role": self.role.label}


class _Oidc:
    """Checks OIDC JWTs of one issuer; keys from its JWKS (URL fetched and cached by PyJWT, or a file)."""

    def __init__(self, cfg: OidcConfig) -> None:
        self.cfg = cfg
        self._file_keys: jwt.PyJWKSet | None = None
        self._client: jwt.PyJWKClient | None = None
        if cfg.jwks_url.startswith(("http://", "https://")):
            self._client = jwt.PyJWKClient(cfg.jwks_url, cache_keys=True, lifespan=300)
        else:
            self._file_keys = jwt.PyJWKSet.from_dict(json.loads(Path(cfg.jwks_url).read_text(encoding="utf-8")))

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        assert self._file_keys is not None
        for k in self._file_keys.keys:
            if kid is None or k.key_id == kid:
                return k.key
        raise jwt.InvalidKeyError(f"no key {kid!r} in the issuer's JWKS")

    def claims(self, token: str, audience: str | None = None) -> dict[str, Any] | None:
        """The claims of ``token`` when its signature, issuer, audience (``audience``, else the configured
        one) and expiry hold; else None."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(token),
                algorithms=list(self.cfg.algorithms),
                audience=audience or self.cfg.audience,
                issuer=self.cfg.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError):
            return None
        return claims

    def identity_of(self, claims: dict[str, Any]) -> Identity | None:
        """The caller the claims name, with the highest role their roles claim maps to (None: no mapped role)."""
        raw = claims.get(self.cfg.roles_claim, [])
        values = [raw] if isinstance(raw, str) else [str(v) for v in raw] if isinstance(raw, list) else []
        roles = [Role.parse(self.cfg.role_map[v]) for v in values if v in self.cfg.role_map]
        who = claims.get(self.cfg.identity_claim)
        if not roles or not who:
            return None
        return Identity(f"oidc:{who}", max(roles))

    def identify(self, token: str) -> Identity | None:
        claims = self.claims(token)
        return None if claims is None else self.identity_of(claims)


class Authenticator:
    """Turns an ``Authorization: Bearer`` header into an :class:`Identity` (or None)."""

    def __init__(self, ledger: Ledger, oidc: OidcConfig | None = None) -> None:
        self.ledger = ledger
        self._oidc = _Oidc(oidc) if oidc is not None else None

    @property
    def oidc(self) -> _Oidc | None:
        """The issuer's token checker (the dashboard's OIDC login verifies ID tokens with it)."""
        return self._oidc

    def identify(self, authorization: str | None) -> Identity | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        if token.startswith(TOKEN_PREFIX):
            stored = self.ledger.token_for(token)
            return None if stored is None else Identity(f"token:{stored.name}", Role.parse(stored.role))
        return self._oidc.identify(token) if self._oidc is not None else None


def require(role: Role) -> Callable[[Request], Identity]:
    """A FastAPI dependency: the caller, who must hold at least ``role`` (401 without credentials, else 403)."""

    def dependency(request: Request) -> Identity:
        auth: Authenticator = request.app.state.ctx.auth
        who = auth.identify(request.headers.get("authorization"))
        if who is None:
            raise HTTPException(401, "a valid bearer token is needed", headers={"WWW-Authenticate": "Bearer"})
        if who.role < role:
            raise HTTPException(403, f"{who.name} ({who.role.label}) may not do this: it needs {role.label}")
        return who

    dependency.__name__ = f"require_{role.label}"
    return dependency
