"""Single sign-on for the dashboard: the OIDC authorization code flow with PKCE (RFC 7636, ``S256``).

Offered when the ``api.oidc`` block names a ``client_id``. ``GET /ui/login/oidc`` keeps a fresh ``state``,
``nonce`` and PKCE verifier in the (signed, HttpOnly) session cookie and sends the browser to the issuer's
authorization endpoint with the verifier's SHA-256 challenge. ``GET /ui/login/oidc/callback`` accepts only the
``state`` it sent (else 403), exchanges the code at the token endpoint with the verifier (so a code caught on
the way is worthless without the cookie), and checks the ID token as the API checks OIDC bearer tokens
(signature against the issuer's JWKS, issuer, expiry) with the client as audience and the ``nonce`` it sent;
the role comes from the same roles claim and ``role_map``. Endpoints come from the issuer's discovery
document (``/.well-known/openid-configuration``, fetched once) unless the config names them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from bridge.config.api import OidcConfig
from bridge.web.ui.guard import PageRefused, keeper, secure_headers, session_of

__all__ = ["OidcLogin", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


class OidcLoginError(Exception):
    """The issuer could not be reached or answered something unusable."""


class OidcLogin:
    """The client side of the code flow for one issuer (endpoints discovered once, thread-safe)."""

    def __init__(self, cfg: OidcConfig) -> None:
        assert cfg.client_id is not None
        self.cfg = cfg
        self.client_id: str = cfg.client_id
        self._endpoints: dict[str, str] | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> dict[str, str]:
        with self._lock:
            if self._endpoints is None:
                found: dict[str, Any] = {}
                if not (self.cfg.authorization_endpoint and self.cfg.token_endpoint):
                    url = self.cfg.issuer.rstrip("/") + "/.well-known/openid-configuration"
                    try:
                        r = httpx.get(url, timeout=10)
                        r.raise_for_status()
                        found = r.json()
                    except (httpx.HTTPError, ValueError) as exc:
                        raise OidcLoginError(f"the issuer's discovery document ({url}) could not be read") from exc
                    if found.get("issuer") != self.cfg.issuer:
                        raise OidcLoginError("the discovery document names another issuer")
                auth = self.cfg.authorization_endpoint or found.get("authorization_endpoint")
                token = self.cfg.token_endpoint or found.get("token_endpoint")
                if not auth or not token:
                    raise OidcLoginError("the issuer names no authorization or token endpoint")
                self._endpoints = {"authorization": str(auth), "token": str(token)}
            return dict(self._endpoints)

    def redirect_uri(self, request: Request) -> str:
        return self.cfg.redirect_url or str(request.url_for("oidc_callback"))

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> str:
        """The ID token for ``code`` (PKCE verifier and, for a confidential client, its secret sent along)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.cfg.client_secret is not None:
            data["client_secret"] = self.cfg.client_secret.get_secret_value()
        try:
            r = httpx.post(self.endpoints()["token"], data=data, timeout=15)
        except httpx.HTTPError as exc:
            raise OidcLoginError("the issuer's token endpoint could not be reached") from exc
        if r.status_code != 200:
            raise OidcLoginError(f"the issuer refused the code ({r.status_code})")
        try:
            token = r.json()["id_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise OidcLoginError("the issuer's answer has no id_token") from exc
        return str(token)


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _login_of(request: Request) -> OidcLogin:
    login: OidcLogin | None = request.app.state.oidc_login
    if login is None:
        raise PageRefused("single sign-on is not configured (api.oidc.client_id)")
    return login


@router.get("/login/oidc")
def start(request: Request, next: str = "/ui") -> Response:
    login = _login_of(request)
    try:
        auth = login.endpoints()["authorization"]
    except OidcLoginError as exc:
        raise PageRefused(f"single sign-on is unavailable: {exc}") from exc
    pending = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": next if next.startswith("/ui") and not next.startswith("//") else "/ui",
    }
    query = urlencode(
        {
            "response_type": "code",
            "client_id": login.client_id,
            "redirect_uri": login.redirect_uri(request),
            "scope": " ".join(login.cfg.scopes),
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": _challenge(pending["verifier"]),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{auth}{'&' if '?' in auth else '?'}{query}", status_code=303)
    keeper(request).write(request, response, keeper(request).fresh(pending=pending))
    return secure_headers(response)


@router.get("/login/oidc/callback", name="oidc_callback")
def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    login = _login_of(request)
    pending = session_of(request).pending or {}
    if not pending or not hmac.compare_digest(state.encode(), pending.get("state", "").encode()):
        raise PageRefused("this login was not started here (state mismatch): start it again")
    if error or not code:
        raise PageRefused(f"the issuer did not log you in: {error or 'no code'}")
    auth = request.app.state.ctx.auth.oidc
    try:
        id_token = login.exchange(code, pending["verifier"], login.redirect_uri(request))
    except OidcLoginError as exc:
        raise PageRefused(f"single sign-on failed: {exc}") from exc
    claims = auth.claims(id_token, audience=login.client_id) if auth is not None else None
    if claims is None or not hmac.compare_digest(str(claims.get("nonce", "")).encode(), pending["nonce"].encode()):
        raise PageRefused("the issuer's ID token did not verify (signature, issuer, audience, expiry or nonce)")
    who = auth.identity_of(claims) if auth is not None else None
    if who is None:
        raise PageRefused("your account has no role for esb-bridge (api.oidc.role_map)")
    fresh = keeper(request).fresh(who=who.name, role=who.role.label)
    request.app.state.ctx.ledger.audit(who.name, "ui.login", who.name, detail={"via": "oidc"})
    response = RedirectResponse(pending["next"], status_code=303)
    keeper(request).write(request, response, fresh)
    return secure_headers(response)
