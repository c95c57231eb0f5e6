"""``RestPollSource``: polls a cloud list endpoint for records changed since a durable ``updated_since`` cursor.

Each page becomes one Envelope (the page's items as a JSON array, ``IdentityRule.CHANGE``: the ``json``
decoder splits it into records, identified by business key + the change version each declares, read through
the mapping's ``version:`` path, so re-reading a page is a no-op). Pages are followed in the
target's style: page number, offset, cursor token, or the ``Link: <...>; rel="next"`` header. The query
starts ``overlap`` seconds before the cursor, so records committed late with an earlier timestamp are not
missed. The cursor moves only in ``acknowledge`` (after the page's records are durable), and only as far as
the longest run of acknowledged pages, so a crash never skips a page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from adapters.cloud._http import classify
from adapters.cloud.auth import AuthConfig, AuthorizedClient
from bridge.ports import (
    BridgeError,
    ConfigError,
    DecodeError,
    Envelope,
    IdentityRule,
    KindConfig,
    Location,
    PeerCheck,
    Resource,
    SourceContext,
    SystemClock,
)

__all__ = ["CURSOR_KEY", "RestPollSource", "RestPollSourceConfig", "next_link"]

CURSOR_KEY = "updated_since"
#: Batch states a re-read page is skipped in: acknowledged (committed) or failed (kept with its dead letter).
_FINISHED = ("acknowledged", "failed")
log = logging.getLogger("esb_bridge.adapters.rest_poll")
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


class RestPollSourceConfig(KindConfig):
    """The ``rest_poll`` source kind."""

    kind: Literal["rest_poll"] = "rest_poll"
    """Selects this plugin: ``rest_poll``."""
    url: str
    """Collection URL polled for changes."""
    auth: AuthConfig | None = None
    """Authentication (bearer, api_key or oauth2)."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra headers sent with every request (values are secrets: a static token is often one; masked in dumps)."""
    pagination: Literal["cursor", "page", "offset", "link"] = "cursor"
    """How pages are followed: cursor, page, offset or link (Link header)."""
    page_size: int = Field(100, ge=1)
    """Items asked for per page."""
    page_size_param: str = "limit"
    """Query parameter of the page size."""
    updated_since_param: str = "updated_since"
    """Query parameter of the change watermark."""
    cursor_param: str = "cursor"
    """Query parameter of the cursor (pagination cursor)."""
    next_cursor_field: str = "next_cursor"
    """Response field holding the next cursor."""
    page_param: str = "page"
    """Query parameter of the page number (pagination page)."""
    offset_param: str = "offset"
    """Query parameter of the offset (pagination offset)."""
    has_more_field: str = "has_more"
    """Response field saying whether more pages follow."""
    items_field: str = "data"
    """Response field holding the items."""
    updated_field: str = "updated_at"
    """Item field holding its change time (the watermark)."""
    overlap: float = Field(60.0, ge=0)
    """Seconds the watermark is moved back on each poll so late writes are not missed."""
    initial_since: str | None = None
    """Watermark of the very first poll (ISO time with its offset); everything when unset."""
    timeout: float = Field(30.0, gt=0)
    """Seconds one request may take."""
    max_pages: int = Field(10_000, ge=1)
    """Most pages read in one poll."""

    @field_validator("initial_since")
    @classmethod
    def _aware(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))  # ValueError: a located config error
            if parsed.tzinfo is None:
                raise ValueError(f"initial_since {value!r} has no time zone (write e.g. {value}+00:00)")
        return value


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        params = match.group(2)
        if re.search(r'rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?', params):
            return match.group(1)
    return None


def _parse_time(value: str, where: Location | None = None) -> datetime:
    """An ISO time with its offset; anything else is a located, permanent :class:`DecodeError` (a bare
    ``ValueError`` would escape the runtime's error handling and stop every interface's poll)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DecodeError(f"change timestamp {value!r} is not an ISO time", location=where) from exc
    if parsed.tzinfo is None:
        raise DecodeError(
            f"change timestamp {value!r} has no time zone: a REST feed must say which instant it means",
            location=where,
        )
    return parsed


@dataclass
class _Page:
    batch_id: str
    watermark: str | None
    done: bool = False


class RestPollSource(Resource):
    """A REST change feed as a Source."""

    def __init__(self, config: RestPollSourceConfig) -> None:
        self.config = config
        self._context: SourceContext | None = None
        self._http: AuthorizedClient | None = None
        self._order: list[_Page] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the token endpoint (OAuth2) and the feed's server (nothing polled)."""
        http = AuthorizedClient(
            self.config.auth, SystemClock(), timeout=self.config.timeout, headers=self.config.headers
        )
        return http.connect_checks(self.config.url)

    def open(self, context: SourceContext) -> None:
        self._context = context
        self._http = AuthorizedClient(
            self.config.auth, context.clock, timeout=self.config.timeout, headers=self.config.headers
        )
        self._http.open()

    def _ctx(self) -> SourceContext:
        if self._context is None or self._http is None or not self._http.is_open:
            raise ConfigError("rest_poll source is not open")
        return self._context

    # ------------------------------------------------------------------ polling

    def _since(self, ctx: SourceContext) -> str | None:
        stored = ctx.ledger.get_cursor(ctx.interface, CURSOR_KEY) or self.config.initial_since
        if not stored:
            return None
        return (_parse_time(stored) - timedelta(seconds=self.config.overlap)).isoformat()

    def _get(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        """One page; answers that are not 2xx raise the classified error (429/5xx retryable, 4xx permanent)."""
        ctx = self._ctx()
        assert self._http is not None
        response = self._http.request("GET", url, params=params)
        outcome = classify(
            response.status_code, response.content, response.headers, ctx.clock, where=f"GET {url}", target_id_field=""
        )
        if outcome.error is not None:
            raise outcome.error
        return response

    def poll(self) -> Iterator[Envelope]:
        """Pages changed since the cursor (minus the overlap), oldest first, fetched one at a time."""
        ctx = self._ctx()
        cfg = self.config
        since = self._since(ctx)
        params: dict[str, str] | None = {cfg.page_size_param: str(cfg.page_size)}
        assert params is not None
        if since:
            params[cfg.updated_since_param] = since
        if cfg.pagination == "page":
            params[cfg.page_param] = "1"
        elif cfg.pagination == "offset":
            params[cfg.offset_param] = "0"
        url = cfg.url
        for number in range(1, cfg.max_pages + 1):
            response = self._get(url, params)
            try:
                page: Any = response.json()
            except ValueError as exc:
                raise DecodeError(f"GET {url}: page {number} is not JSON: {exc}") from exc
            items = page.get(cfg.items_field) if isinstance(page, dict) else page
            if not isinstance(items, list):
                raise DecodeError(f"GET {url}: page {number} has no list at {cfg.items_field!r}")
            if items:
                envelope = self._envelope(ctx, items, url, number, since)
                if ctx.ledger.batch_state(ctx.interface, envelope.batch_id) not in _FINISHED:
                    with self._lock:
                        self._order.append(_Page(envelope.batch_id, envelope.metadata.get("watermark")))
                    yield envelope
            url, params = self._next(url, params, page, response, items)
            if url is None:
                return

    def _next(
        self, url: str, params: dict[str, str] | None, page: Any, response: httpx.Response, items: list[Any]
    ) -> tuple[Any, dict[str, str] | None]:
        """The next page's URL and query, or (None, None) at the end."""
        cfg = self.config
        body = page if isinstance(page, dict) else {}
        if not items:
            return None, None
        if cfg.pagination == "link":
            return next_link(response.headers.get("link")), None
        assert params is not None
        more = body.get(cfg.has_more_field)
        if cfg.pagination == "cursor":
            token = body.get(cfg.next_cursor_field)
            return (url, {**params, cfg.cursor_param: str(token)}) if token else (None, None)
        if more is False or (more is None and len(items) < cfg.page_size):
            return None, None
        if cfg.pagination == "page":
            return url, {**params, cfg.page_param: str(int(params[cfg.page_param]) + 1)}
        return url, {**params, cfg.offset_param: str(int(params[cfg.offset_param]) + len(items))}

    def _envelope(self, ctx: SourceContext, items: list[Any], url: str, number: int, since: str | None) -> Envelope:
        body = json.dumps(items, sort_keys=True, separators=(",", ":")).encode()
        digest = hashlib.sha256(body).hexdigest()
        field = self.config.updated_field
        stamps = [(n, i.get(field)) for n, i in enumerate(items) if isinstance(i, dict)]
        parsed = [
            (_parse_time(s, Location(file=url, record=n, field=field)), s) for n, s in stamps if isinstance(s, str)
        ]
        watermark = max(parsed)[1] if parsed else None
        meta = {"page": str(number), "since": since or "", "count": str(len(items))}
        if watermark:
            meta["watermark"] = watermark
        batch_id = f"restpoll:{digest}"
        return Envelope(
            interface=ctx.interface,
            batch_id=batch_id,
            origin=url,
            identity_rule=IdentityRule.CHANGE,
            identity=batch_id,
            received_at=ctx.clock.now(),
            transaction_id=f"poll-{digest[:16]}",
            body=body,
            media_type="application/json",
            size=len(body),
            metadata=meta,
        )

    # ------------------------------------------------------------------ acknowledgement

    def _settle(self, envelope: Envelope) -> None:
        ctx = self._ctx()
        with self._lock:
            for page in self._order:
                if page.batch_id == envelope.batch_id:
                    page.done = True
            best: str | None = None
            while self._order and self._order[0].done:
                mark = self._order.pop(0).watermark
                if mark and (best is None or _parse_time(mark) > _parse_time(best)):
                    best = mark
            if best is not None:
                current = ctx.ledger.get_cursor(ctx.interface, CURSOR_KEY)
                if current is None or _parse_time(best) > _parse_time(current):
                    ctx.ledger.set_cursor(ctx.interface, CURSOR_KEY, best)

    def acknowledge(self, envelope: Envelope) -> None:
        """The page's records are durable: advance the cursor as far as every earlier page is too."""
        ctx = self._ctx()
        ctx.ledger.mark_batch(ctx.interface, envelope.batch_id, "acknowledged", origin=envelope.origin)
        self._settle(envelope)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        """The page failed as a whole. Once the runtime kept it (its batch is ``failed``: the page's bytes
        sit in the batch dead letter, replayable) it no longer holds the cursor back and is not read again;
        a page that is not kept keeps holding the cursor, so it is read again on the next poll."""
        ctx = self._ctx()
        if ctx.ledger.batch_state(ctx.interface, envelope.batch_id) != "failed":
            log.warning(
                "%s: page %s failed but is not kept (%s); it holds the cursor", ctx.interface, envelope.batch_id, error
            )
            return
        self._settle(envelope)
