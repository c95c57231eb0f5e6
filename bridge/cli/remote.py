"""The CLI's write commands through the admin API, under a token, when ``api:`` is configured.

Why: the API knows who is calling (a hashed token or an OIDC identity with a role) and audits that identity;
the CLI writing to the ledger itself can only record a self-declared name (``ESB_BRIDGE_ACTOR`` or ``$USER``).
So once a bridge has an API, ``cutover set|rollback`` and ``dlq replay|discard|assign`` call it with
``ESB_BRIDGE_API_TOKEN``, and a write needs a role the API grants. ``--direct`` (or ``ESB_BRIDGE_DIRECT=1``)
writes to the ledger directly: full trust, documented as such in ``docs/operations.md``; anyone who can open
the ledger's database can do anything to it anyway.

The API's address: ``ESB_BRIDGE_API_URL`` or, by default, ``api.listen`` on this machine (``https`` when
``api.tls_cert`` is set, that certificate trusted, or ``ESB_BRIDGE_API_CA``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bridge.config import LoadedConfig

__all__ = ["ApiAnswer", "ApiWriter", "writer_for"]

TOKEN_ENV = "ESB_BRIDGE_API_TOKEN"
URL_ENV = "ESB_BRIDGE_API_URL"
CA_ENV = "ESB_BRIDGE_API_CA"


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    data: Any

    @property
    def detail(self) -> str:
        d = self.data.get("detail") if isinstance(self.data, dict) else self.data
        return d if isinstance(d, str) else str(d)


class ApiWriter:
    """POSTs of the CLI's write commands to the admin API at ``url`` with a bearer token."""

    def __init__(self, url: str, token: str, verify: str | bool = True) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._verify = verify

    def post(self, path: str, body: dict[str, Any]) -> ApiAnswer:
        """The API's answer; refusals other than a closed gate (409 with readiness) raise ClickException."""
        import httpx

        try:
            with httpx.Client(base_url=self.url, verify=self._verify, timeout=120) as client:
                r = client.post(path, json=body, headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as exc:
            raise click.ClickException(
                f"cannot reach the admin API at {self.url} ({exc}); it is served by `esb-bridge run` or "
                f"`esb-bridge serve` (set {URL_ENV} if it listens elsewhere, or pass --direct to write to the "
                "ledger directly)"
            ) from exc
        try:
            data = r.json()
        except ValueError:
            data = r.text
        answer = ApiAnswer(r.status_code, data)
        if r.status_code in (401, 403):
            raise click.ClickException(f"the admin API refused {path}: {answer.detail} (token in {TOKEN_ENV})")
        if r.status_code >= 400 and not (isinstance(data, dict) and "readiness" in data):
            raise click.ClickException(f"the admin API refused {path} ({r.status_code}): {answer.detail}")
        return answer


def _default_url(loaded: LoadedConfig) -> tuple[str, str | bool]:
    from bridge.config.api import parse_listen

    api = loaded.config.api
    assert api is not None
    host, port = parse_listen(api.listen)
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    if api.tls_cert:
        return f"https://{host}:{port}", str(loaded.base_dir / api.tls_cert)
    return f"http://{host}:{port}", True


def writer_for(loaded: LoadedConfig, direct: bool) -> ApiWriter | None:
    """The API writer when ``api:`` is configured and ``--direct`` was not given; None to write directly."""
    if direct or loaded.config.api is None:
        return None
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise click.UsageError(
            f"this bridge has an admin API (api: in {loaded.file.name}), so write commands go through it: set "
            f"{TOKEN_ENV} to a token with the needed role (`esb-bridge auth token create NAME --role ROLE`), "
            "or pass --direct to write to the ledger directly (full trust: the actor is self-declared)"
        )
    url, verify = _default_url(loaded)
    url = os.environ.get(URL_ENV, url)
    ca = os.environ.get(CA_ENV)
    return ApiWriter(url, token, ca if ca else verify)
