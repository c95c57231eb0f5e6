"""The ``api:`` block: where the admin HTTP API listens, its TLS files and an optional OIDC issuer.

When the block is present, ``esb-bridge run`` serves the API next to the bridge; ``esb-bridge serve`` serves
it alone (its ``--listen`` overrides ``listen``).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["ApiConfig", "OidcConfig", "parse_listen"]

ROLES = ("viewer", "operator", "migration_lead")


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (IPv6 hosts in brackets) as (host, port)."""
    m = re.fullmatch(r"\[?([^\]]*?)\]?:(\d{1,5})", value)
    if m is None or not m.group(1) or not 0 <= int(m.group(2)) <= 65535:
        raise ValueError(f"listen address {value!r}: expected host:port such as 127.0.0.1:8089")
    return m.group(1), int(m.group(2))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class OidcConfig(_Strict):
    """OIDC bearer tokens (JWT) accepted next to the API's own tokens: signature checked against the issuer's
    JWKS, audience and expiry checked, roles read from one claim."""

    issuer: str
    """The issuer (``iss`` claim) whose tokens are accepted, e.g. https://login.example.com/realms/ops."""
    audience: str
    """The audience (``aud`` claim) tokens must be issued for."""
    jwks_url: str
    """Where the issuer publishes its signing keys (JWKS); a file path is read from disk (tests, air-gapped)."""
    roles_claim: str = "roles"
    """Claim holding the caller's groups or roles (a string or a list of strings)."""
    role_map: dict[str, str] = Field(default_factory=dict)
    """Claim value -> bridge role (viewer, operator, migration_lead); the highest mapped role wins."""
    identity_claim: str = "sub"
    """Claim that names the caller in the audit log (sub, email, preferred_username ...)."""
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    """Signature algorithms accepted (never 'none')."""
    client_id: str | None = None
    """The dashboard's client id at the issuer; set, the dashboard offers single sign-on (authorization code
    flow with PKCE), and the ID token must be issued for this client (its ``aud``)."""
    client_secret: SecretStr | None = None
    """The client's secret, for an issuer that wants one from a confidential client (``${VAR}``, from the
    environment); a public client with PKCE needs none."""
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    """Scopes asked for at login (``openid`` is needed)."""
    redirect_url: str | None = None
    """The callback URL registered at the issuer (``https://host/ui/login/oidc/callback``); default: derived
    from the request, which is right unless a proxy in front changes the host or scheme."""
    authorization_endpoint: str | None = None
    """Where the browser is sent to log in; default: from the issuer's discovery document."""
    token_endpoint: str | None = None
    """Where the code is exchanged for tokens; default: from the issuer's discovery document."""

    @field_validator("role_map")
    @classmethod
    def _known_roles(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(r for r in v.values() if r not in ROLES)
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}; expected {', '.join(ROLES)}")
        return v

    @field_validator("algorithms")
    @classmethod
    def _signed(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or any(a.lower() == "none" or a.upper().startswith("HS") for a in v):
            raise ValueError("only asymmetric signature algorithms (RS*, PS*, ES*, EdDSA)")
        return v


class ApiConfig(_Strict):
    """The admin HTTP API (interfaces, messages, traces, dead letters, cutover, reports, metrics, health)."""

    listen: str = "127.0.0.1:8089"
    """host:port to listen on; 127.0.0.1 keeps it on this machine (put a proxy in front to expose it)."""
    tls_cert: str | None = None
    """PEM certificate file; with tls_key the API is served over HTTPS only."""
    tls_key: str | None = None
    """PEM private key file of tls_cert."""
    oidc: OidcConfig | None = None
    """Accept OIDC bearer tokens of this issuer too (the API's own tokens always work)."""
    metrics_cache: float = Field(5.0, ge=0.0, le=300.0)
    """Seconds a scrape's ledger figures are reused (several scrapers, one ledger query)."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_listen(v)
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self
