"""Credentials for cloud HTTP calls: bearer token, API key header, OAuth2 client credentials.

The OAuth2 token is fetched once, cached until its expiry as the Clock tells (minus a safety margin), and
dropped when the API answers 401 so the caller can refresh it once. Secrets are ``SecretStr`` and are never
logged or put into error messages.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from adapters.cloud._http import parse_retry_after, transport_error
from bridge.ports import BridgeError, Clock, ConfigError, PeerCheck, SecurityError, TargetUnavailable

__all__ = ["ApiKeyConfig", "AuthConfig", "Authenticator", "AuthorizedClient", "OAuth2Config"]


class ApiKeyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    value: SecretStr
    """The API key (from the environment)."""
    header: str = "X-API-Key"
    """Header the key is sent in."""


class OAuth2Config(BaseModel):
    """Client-credentials grant; ``client_auth`` picks HTTP Basic or form fields for the client secret."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    token_url: str
    """Token endpoint of the client-credentials grant."""
    client_id: str
    """OAuth2 client id."""
    client_secret: SecretStr
    """OAuth2 client secret (from the environment)."""
    scope: str | None = None
    """Scope asked for."""
    audience: str | None = None
    """Audience asked for."""
    client_auth: str = "post"
    """How the client secret is sent: post (form fields) or basic (HTTP Basic)."""
    expiry_margin: float = 30.0
    """Seconds before expiry a token is renewed."""


class AuthConfig(BaseModel):
    """Exactly one of ``bearer``, ``api_key`` and ``oauth2``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    bearer: SecretStr | None = None
    """A static bearer token (from the environment)."""
    api_key: ApiKeyConfig | None = None
    """An API key header."""
    oauth2: OAuth2Config | None = None
    """OAuth2 client-credentials tokens."""

    @model_validator(mode="after")
    def _one(self) -> AuthConfig:
        if sum(x is not None for x in (self.bearer, self.api_key, self.oauth2)) != 1:
            raise ValueError("auth takes exactly one of bearer, api_key, oauth2")
        return self


class Authenticator:
    """Auth headers for one target; thread-safe (one token fetch at a time)."""

    def __init__(self, config: AuthConfig | None, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires: datetime | None = None
        self.fetches = 0

    @property
    def refreshable(self) -> bool:
        return self._config is not None and self._config.oauth2 is not None

    def headers(self, client: httpx.Client) -> dict[str, str]:
        """Headers to add; may fetch an OAuth2 token (raising a RetryableError or SecurityError)."""
        cfg = self._config
        if cfg is None:
            return {}
        if cfg.bearer is not None:
            return {"Authorization": f"Bearer {cfg.bearer.get_secret_value()}"}
        if cfg.api_key is not None:
            return {cfg.api_key.header: cfg.api_key.value.get_secret_value()}
        return {"Authorization": f"Bearer {self._access_token(client)}"}

    def invalidate(self, headers: dict[str, str]) -> None:
        """Forget the token these headers carried (a 401 said it is no longer good)."""
        with self._lock:
            if self._token and headers.get("Authorization") == f"Bearer {self._token}":
                self._token = None
                self._expires = None

    def _access_token(self, client: httpx.Client) -> str:
        assert self._config is not None and self._config.oauth2 is not None
        with self._lock:
            if self._token and self._expires and self._clock.now() < self._expires:
                return self._token
            oauth = self._config.oauth2
            form = {"grant_type": "client_credentials"}
            auth: httpx.BasicAuth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
            if oauth.client_auth == "basic":
                auth = httpx.BasicAuth(oauth.client_id, oauth.client_secret.get_secret_value())
            else:
                form.update(client_id=oauth.client_id, client_secret=oauth.client_secret.get_secret_value())
            if oauth.scope:
                form["scope"] = oauth.scope
            if oauth.audience:
                form["audience"] = oauth.audience
            where = f"token endpoint {oauth.token_url}"
            try:
                response = client.post(oauth.token_url, data=form, auth=auth)
            except httpx.HTTPError as exc:
                raise transport_error(exc, where=where) from exc
            self.fetches += 1
            if response.status_code in (408, 429) or response.status_code >= 500:
                wait = parse_retry_after(response.headers.get("retry-after"), self._clock)
                raise TargetUnavailable(f"{where}: HTTP {response.status_code}", retry_after=wait)
            if response.status_code != 200:
                raise SecurityError(f"{where}: HTTP {response.status_code}: client credentials refused")
            try:
                data = response.json()
                token = str(data["access_token"])
                ttl = float(data.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as exc:
                raise SecurityError(f"{where}: no access_token in the answer") from exc
            self._token = token
            self._expires = self._clock.now() + timedelta(seconds=max(0.0, ttl - oauth.expiry_margin))
            return token


def plain_headers(headers: Mapping[str, SecretStr | str]) -> dict[str, str]:
    """Header values as sent: a config's ``headers:`` are secrets (masked in dumps and logs), unwrapped here only."""
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in headers.items()}


class AuthorizedClient:
    """One pooled httpx client plus its credentials: what every HTTP adapter of this package sends through.

    ``request`` adds the auth headers, translates transport failures into the error tree, and on a 401 with
    OAuth2 drops the token and sends once more with a fresh one (the only repeat anywhere in a sink: it is
    part of making the one attempt with valid credentials). Opened and closed by its owner's context manager.
    """

    def __init__(self, auth: AuthConfig | None, clock: Clock, **client_options: Any) -> None:
        self.auth = Authenticator(auth, clock)
        if client_options.get("headers"):  # config headers are SecretStr (a static token may be one of them)
            client_options["headers"] = plain_headers(client_options["headers"])
        self._options = client_options
        self._client: httpx.Client | None = None

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        if self._client is None:
            self._client = httpx.Client(**self._options)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def connect_checks(self, url: str) -> list[PeerCheck]:
        """``validate --connect``: fetch a token when OAuth2 is configured (the client credentials are checked),
        then reach ``url``'s server with a HEAD of its root (any HTTP answer proves it listens; HEAD changes
        nothing). Opens and closes its own client; no document is sent."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}/"
        checks: list[PeerCheck] = []
        with httpx.Client(**self._options) as client:
            if self.auth.refreshable:
                assert self.auth._config is not None and self.auth._config.oauth2 is not None
                token_url = self.auth._config.oauth2.token_url
                try:
                    self.auth.headers(client)
                except BridgeError as exc:
                    return [PeerCheck("rest token", token_url, False, exc.message)]
                checks.append(PeerCheck("rest token", token_url, True, "client credentials accepted"))
            try:
                res = client.request("HEAD", origin)
            except httpx.HTTPError as exc:
                return [*checks, PeerCheck("rest endpoint", origin, False, f"not reachable: {type(exc).__name__}")]
        return [*checks, PeerCheck("rest endpoint", origin, True, f"answers (HTTP {res.status_code} to a HEAD)")]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        client = self._client
        if client is None:
            raise ConfigError(f"{method} {url}: HTTP client used before it was opened")
        headers = dict(kwargs.pop("headers", None) or {})
        for refresh in (False, True):
            auth = self.auth.headers(client)
            try:
                response = client.request(method, url, headers={**headers, **auth}, **kwargs)
            except httpx.HTTPError as exc:
                raise transport_error(exc, where=f"{method} {url}") from exc
            if response.status_code == 401 and self.auth.refreshable and not refresh:
                self.auth.invalidate(auth)
                continue
            return response
        raise AssertionError("unreachable: the loop returns on its second pass")
