"""Dashboard single sign-on against a local OIDC issuer (a real HTTP server on 127.0.0.1: discovery, JWKS,
authorize, token), authorization code flow with PKCE: the issuer checks the S256 challenge, the bridge checks
state, nonce, signature, audience and the role claim."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bridge.ports import SimulatedClock
from bridge.web import ApiServer
from tests.integration.web.conftest import World, served_world

CLIENT = "esb-bridge-dashboard"


@dataclass
class Issuer:
    """A minimal OIDC provider: logs in ``user`` at once, issues one-use codes bound to the PKCE challenge."""

    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    url: str = ""
    user: dict[str, Any] = field(default_factory=lambda: {"email": "alice@example.test", "roles": ["ops-leads"]})
    nonce_override: str | None = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                }
            )

        async def jwks(request: Request) -> Response:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return JSONResponse({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        async def authorize(request: Request) -> Response:
            q = request.query_params
            assert q["response_type"] == "code" and q["code_challenge_method"] == "S256" and "openid" in q["scope"]
            code = secrets.token_urlsafe(16)
            self.codes[code] = {k: q[k] for k in ("client_id", "redirect_uri", "nonce", "code_challenge")}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            grant = self.codes.pop(str(form.get("code")), None)
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest())
                .decode()
                .rstrip("=")
            )
            if (
                grant is None
                or form.get("client_id") != grant["client_id"]
                or form.get("redirect_uri") != grant["redirect_uri"]
                or challenge != grant["code_challenge"]
            ):
                self.refused.append(str(form.get("code")))
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            claims = {
                "iss": self.url,
                "aud": grant["client_id"],
                "sub": "u-1",
                "exp": int(time.time()) + 300,
                "nonce": self.nonce_override or grant["nonce"],
                **self.user,
            }
            id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
            return JSONResponse({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    iss = Issuer()
    with ApiServer(iss.app(), "127.0.0.1", 0) as server:
        iss.url = server.url
        yield iss


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory, issuer: Issuer) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("sso")
    extra = f"""api:
  oidc:
    issuer: "{issuer.url}"
    audience: esb-bridge-api
    jwks_url: "{issuer.url}/jwks"
    client_id: {CLIENT}
    role_map: {{ops-viewers: viewer, ops-leads: migration_lead}}
    identity_claim: email
"""
    with served_world(tmp, f"sqlite:///{tmp / 'ledger.db'}", SimulatedClock(), extra=extra) as w:
        yield w


@pytest.fixture(autouse=True)
def _reset(issuer: Issuer) -> None:
    issuer.user = {"email": "alice@example.test", "roles": ["ops-leads"]}
    issuer.nonce_override = None


def test_single_sign_on_logs_in_with_the_mapped_role(sso: World, issuer: Issuer) -> None:
    """Login page -> issuer -> callback -> the page asked for, as oidc:<email> with the mapped role; audited."""
    with httpx.Client(base_url=sso.server.url, follow_redirects=True, timeout=30) as c:
        assert 'id="oidc"' in c.get("/ui/login").text
        r = c.get("/ui/login/oidc", params={"next": "/ui/alerts"})
        assert r.status_code == 200 and r.url.path == "/ui/alerts", r.text
        assert "oidc:alice@example.test (migration_lead)" in r.text
        hops = [str(h.url) for h in r.history]
        assert hops[1].startswith(f"{issuer.url}/authorize?") and "/ui/login/oidc/callback?code=" in hops[2]
        cookie = r.history[-1].headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
    logins = [e for e in sso.runner.ledger.audit_entries() if e["action"] == "ui.login"]
    assert logins[-1]["actor"] == "oidc:alice@example.test" and logins[-1]["detail"] == {"via": "oidc"}


def _authorized(c: httpx.Client, issuer: Issuer) -> str:
    """Start a login in ``c`` and let the issuer answer: the callback URL with code and state."""
    start = c.get("/ui/login/oidc")
    assert start.status_code == 303
    with httpx.Client(timeout=30) as browser_at_issuer:
        back = browser_at_issuer.get(start.headers["location"])
    assert back.status_code == 302
    return back.headers["location"]


def test_a_callback_without_the_sessions_state_or_verifier_is_refused(sso: World, issuer: Issuer) -> None:
    """A code delivered to another browser (no state, no PKCE verifier in its cookie) logs nobody in, and a
    wrong state is refused before the code is used."""
    with (
        httpx.Client(base_url=sso.server.url, timeout=30) as victim,
        httpx.Client(base_url=sso.server.url, timeout=30) as attacker,
    ):
        callback = _authorized(victim, issuer)
        path = urlparse(callback)
        assert attacker.get(f"{path.path}?{path.query}").status_code == 403
        code = parse_qs(path.query)["code"][0]
        assert victim.get(path.path, params={"code": code, "state": "forged"}).status_code == 403
        assert victim.get("/ui").status_code == 303  # still not logged in


def test_the_issuer_refuses_a_code_without_the_right_verifier(sso: World, issuer: Issuer) -> None:
    """PKCE end to end: the code exchanged with another verifier is refused by the issuer."""
    with httpx.Client(base_url=sso.server.url, timeout=30) as c:
        code = parse_qs(urlparse(_authorized(c, issuer)).query)["code"][0]
        grant = issuer.codes[code]
        r = httpx.post(
            f"{issuer.url}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": CLIENT,
                "redirect_uri": grant["redirect_uri"],
                "code_verifier": "guessed",
            },
        )
        assert r.status_code == 400 and code in issuer.refused


@pytest.mark.parametrize(
    "change",
    [{"nonce_override": "replayed"}, {"user": {"email": "bob@example.test", "roles": ["someone-else"]}}],
    ids=["wrong-nonce", "no-mapped-role"],
)
def test_an_id_token_with_a_wrong_nonce_or_no_role_is_refused(
    sso: World, issuer: Issuer, change: dict[str, Any]
) -> None:
    """A replayed ID token (nonce not ours) or an account without a mapped role: 403, no session."""
    for k, v in change.items():
        setattr(issuer, k, v)
    with httpx.Client(base_url=sso.server.url, follow_redirects=True, timeout=30) as c:
        r = c.get("/ui/login/oidc")
        assert r.status_code == 403
        assert c.get("/ui", follow_redirects=False).status_code == 303
