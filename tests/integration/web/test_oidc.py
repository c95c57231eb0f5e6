"""OIDC bearer tokens against a locally generated issuer key (RSA, JWKS file): signature, audience, expiry,
and the roles claim mapped to bridge roles."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bridge.ports import SimulatedClock
from tests.integration.web.conftest import World, served_world

ISSUER, AUDIENCE = "https://login.example.test/realms/ops", "esb-bridge"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def issuer_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def oidc_world(tmp_path_factory: pytest.TempPathFactory, issuer_key: rsa.RSAPrivateKey) -> Any:
    tmp_path = tmp_path_factory.mktemp("oidc")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer_key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    extra = f"""api:
  oidc:
    issuer: "{ISSUER}"
    audience: {AUDIENCE}
    jwks_url: "{tmp_path / "jwks.json"}"
    role_map: {{ops-viewers: viewer, ops-leads: migration_lead}}
    identity_claim: email
"""
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", SimulatedClock(), extra=extra) as w:
        yield w


def _token(key: rsa.RSAPrivateKey, **over: Any) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-1",
        "email": "alice@example.test",
        "roles": ["ops-leads", "unrelated"],
        "exp": int(time.time()) + 600,
        **over,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": "k1"})


def _whoami(w: World, token: str) -> Any:
    with w.client(None) as c:
        return c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_oidc_token_maps_its_claim_to_a_role(oidc_world: World, issuer_key: rsa.RSAPrivateKey) -> None:
    """Signature, issuer, audience and expiry hold: the caller is oidc:<email> with the highest mapped role."""
    r = _whoami(oidc_world, _token(issuer_key))
    assert r.status_code == 200 and r.json() == {"identity": "oidc:alice@example.test", "role": "migration_lead"}
    viewer = _whoami(oidc_world, _token(issuer_key, roles="ops-viewers"))
    assert viewer.json()["role"] == "viewer"


@pytest.mark.parametrize(
    "over",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example.test"},
        {"exp": int(time.time()) - 60},
        {"exp": None},
        {"roles": ["unrelated"]},
    ],
    ids=["audience", "issuer", "expired", "no-expiry", "no-mapped-role"],
)
def test_oidc_tokens_failing_a_check_are_refused(
    oidc_world: World, issuer_key: rsa.RSAPrivateKey, over: dict[str, Any]
) -> None:
    """Wrong audience or issuer, expired or without expiry, or without a mapped role: 401."""
    assert _whoami(oidc_world, _token(issuer_key, **over)).status_code == 401


def test_an_oidc_token_signed_by_another_key_or_unsigned_is_refused(oidc_world: World) -> None:
    """A token signed by a key not in the issuer's JWKS, and an alg=none token, are refused."""
    assert _whoami(oidc_world, _token(_key())).status_code == 401
    claims = {"iss": ISSUER, "aud": AUDIENCE, "email": "x@y", "roles": ["ops-leads"], "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _whoami(oidc_world, unsigned).status_code == 401
