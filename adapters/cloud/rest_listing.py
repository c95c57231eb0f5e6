"""``RestListing``: what a REST target holds, read from its list endpoint page by page (``GET /v1/invoices``).

Used by reconciliation. Pages are followed by the ``Link: <...>; rel="next"`` header or by a cursor field
of the body; each item's business key, date and amount are read by dotted JSON paths. A non-2xx answer is
translated like any answer of this package (:func:`adapters.cloud._http.classify`): 429/5xx are retryable,
so a busy target makes the reconciliation incomplete, never "every record missing". It only reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr

from adapters.cloud._http import classify
from adapters.cloud.auth import AuthConfig, AuthorizedClient
from adapters.cloud.rest_poll import next_link
from bridge.ports import (
    Clock,
    DecodeError,
    KindConfig,
    ListedRecord,
    Location,
    PeerCheck,
    Resource,
    SystemClock,
    dotted,
)

__all__ = ["RestListing", "RestListingConfig"]


class RestListingConfig(KindConfig):
    """The ``rest`` listing kind: a collection URL whose pages list every record the target holds."""

    kind: Literal["rest"] = "rest"
    """Selects this plugin: ``rest``."""
    url: str
    """Collection URL listed (e.g. https://billing.example/v1/invoices)."""
    auth: AuthConfig | None = None
    """Authentication (bearer, api_key or oauth2)."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra headers sent with every request."""
    params: dict[str, str] = Field(default_factory=dict)
    """Fixed query parameters of the first page (e.g. a page size: {limit: "200"})."""
    pagination: Literal["link", "cursor"] = "link"
    """How pages are followed: link (the Link header's rel=next) or cursor (a body field)."""
    cursor_param: str = "cursor"
    """Query parameter of the cursor (pagination cursor)."""
    next_cursor_field: str = "next_cursor"
    """Response field holding the next cursor (pagination cursor)."""
    items_field: str = "data"
    """Response field holding the items (empty: the body is the list)."""
    key_field: str = Field(description="dotted path of an item's business key, e.g. external_id")
    date_field: str | None = None
    """Dotted path of an item's business date (ISO date or date-time); unset: not compared."""
    amount_field: str | None = None
    """Dotted path of the amount summed per date (e.g. total); unset: not compared."""
    timeout: float = Field(30.0, gt=0)
    """Seconds one request may take."""
    max_pages: int = Field(10_000, ge=1)
    """Most pages read in one listing."""


class RestListing(Resource):
    """Implements :class:`bridge.ports.TargetListing` over a REST collection."""

    def __init__(self, config: RestListingConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self._clock = clock or SystemClock()
        self._http = AuthorizedClient(config.auth, self._clock, timeout=config.timeout, headers=config.headers)

    def on_enter(self) -> None:
        self._http.open()

    def close(self) -> None:
        self._http.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the token endpoint (OAuth2) and the collection's server (nothing listed)."""
        return AuthorizedClient(self.config.auth, self._clock, timeout=self.config.timeout).connect_checks(
            self.config.url
        )

    def list_records(self) -> Iterator[ListedRecord]:
        cfg = self.config
        url: str | None = _with_query(cfg.url, cfg.params)
        seen: set[str] = set()
        for page in range(cfg.max_pages):
            if url is None:
                return
            response = self._http.request("GET", url)
            where = Location(file=url, record=page)
            if not 200 <= response.status_code < 300:
                outcome = classify(
                    response.status_code, response.content, response.headers, self._clock, where=f"GET {url}"
                )
                assert outcome.error is not None
                raise outcome.error
            try:
                body: Any = json.loads(response.content)
            except ValueError as exc:
                raise DecodeError(f"GET {url} did not answer JSON", location=where) from exc
            items = dotted(body, cfg.items_field) if cfg.items_field else body
            if not isinstance(items, list):
                raise DecodeError(f"GET {url}: no list at {cfg.items_field!r}", location=where)
            for n, item in enumerate(items):
                yield self._listed(item, Location(file=url, record=page, field=f"{cfg.items_field}[{n}]"))
            url = self._next(url, body, response.headers)
            if url is not None:
                if url in seen:
                    raise DecodeError(f"GET {url} was the next page twice", location=where)
                seen.add(url)
        raise DecodeError(f"{cfg.url} did not finish within max_pages={cfg.max_pages}")

    def _next(self, url: str, body: Any, headers: Mapping[str, str]) -> str | None:
        if self.config.pagination == "link":
            return next_link(headers.get("link"))
        token = dotted(body, self.config.next_cursor_field)
        if not token:
            return None
        return _with_query(self.config.url, {**self.config.params, self.config.cursor_param: str(token)})

    def _listed(self, item: Any, where: Location) -> ListedRecord:
        cfg = self.config
        day = dotted(item, cfg.date_field) if cfg.date_field else None
        amount = dotted(item, cfg.amount_field) if cfg.amount_field else None
        return ListedRecord.read(dotted(item, cfg.key_field), day, amount, where=where)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
