"""``SoapPollSource``: pages through a legacy change-feed operation by watermark and page token.

Each page's response body element (XML) becomes one :class:`Envelope` with ``IdentityRule.CHANGE``; the XML
decoder splits it into records and the runtime derives each record's identity from business key + the change
version the record declares (read by the decoder's mapping, ``version:``; the content hash when it names none),
so a page re-read after a crash, or records re-read inside the overlap window, are no-ops.
The cursor (watermark, scan start, next page token) is one JSON value written through the ledger only in
``acknowledge``, i.e. after every record of the page is durably recorded. The source knows no canonical
model and never calls a decoder or a sink.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree
from pydantic import Field, field_validator

from adapters.legacy.soap_client import SoapConnection, SoapEndpointConfig, classify_fault, page_kwargs
from adapters.legacy.soap_xml import elements, local_path
from bridge.ports import (
    BridgeError,
    DecodeError,
    Envelope,
    IdentityRule,
    Location,
    PeerCheck,
    Resource,
    SourceContext,
    SystemClock,
)

__all__ = ["PollCursor", "SoapPollConfig", "SoapPollSource"]

log = logging.getLogger("esb_bridge.adapters.soap_poll")


class SoapPollConfig(SoapEndpointConfig):
    """A change-feed poll: which operation, how the watermark and page token map to its parameters."""

    kind: Literal["soap"] = "soap"
    """Selects this plugin: ``soap``."""
    operation: str
    """WSDL operation returning changes since a watermark."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Further fixed parameters of the operation."""
    watermark_param: str = "since"
    """Parameter receiving the watermark (last change time seen)."""
    page_token_param: str | None = "pageToken"
    """Parameter receiving the next page token; no paging when unset."""
    page_size_param: str | None = "pageSize"
    """Parameter receiving the page size; none when unset."""
    page_size: int = Field(default=500, gt=0)
    """Records asked for per page."""
    initial_watermark: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    """Watermark of the very first poll."""
    overlap_seconds: float = Field(default=60.0, ge=0)
    """Seconds the watermark is moved back on each poll so late commits are not missed (re-read records are
    no-ops by identity; 0 misses a record committed late with an earlier change time)."""
    naive_timezone: str | None = None
    """IANA time zone (e.g. Europe/Berlin, UTC) change timestamps without an offset are read in; unset: such
    a timestamp is refused with a located error instead of being guessed."""
    records_path: str = Field(description="local-name path from the body element to each record, e.g. invoices/invoice")
    watermark_field: str = Field(description="local-name path from a record to its change timestamp")
    next_page_token_path: str = "nextPageToken"
    """Local-name path from the body element to the next page token."""
    max_pages: int = Field(default=100_000, gt=0)
    """Most pages read in one poll."""

    @field_validator("initial_watermark")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(f"initial_watermark {value.isoformat()} has no time zone (write e.g. ...+00:00)")
        return value

    @field_validator("naive_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"naive_timezone {value!r} is not a known IANA time zone") from exc
        return value


@dataclass(frozen=True)
class PollCursor:
    """The durable position: the highest acknowledged change time, and an unfinished scan's next page."""

    watermark: datetime
    scan: str = ""
    since: datetime | None = None
    page_token: str | None = None
    acked_page: int = -1

    def dumps(self) -> str:
        return json.dumps(
            {
                "watermark": self.watermark.isoformat(),
                "scan": self.scan,
                "since": self.since.isoformat() if self.since else None,
                "page_token": self.page_token,
                "acked_page": self.acked_page,
            },
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str) -> PollCursor:
        data = json.loads(text)
        return cls(
            watermark=datetime.fromisoformat(data["watermark"]),
            scan=data.get("scan", ""),
            since=datetime.fromisoformat(data["since"]) if data.get("since") else None,
            page_token=data.get("page_token"),
            acked_page=int(data.get("acked_page", -1)),
        )


def _parse_time(text: str, *, where: Location, zone: tzinfo | None) -> datetime:
    """An ISO dateTime; one without an offset is read in ``zone`` and refused when none is configured
    (taking it as UTC moved the watermark by the legacy server's UTC offset and skipped changes)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise DecodeError(f"change timestamp {text!r} is not an ISO dateTime", location=where) from exc
    if value.tzinfo is not None:
        return value
    if zone is None:
        raise DecodeError(
            f"change timestamp {text!r} has no time zone; set naive_timezone to the zone the service writes in",
            location=where,
        )
    return value.replace(tzinfo=zone)


class SoapPollSource(Resource):
    """Polls ``config.operation`` page by page; see the module docstring for the cursor rules."""

    def __init__(self, config: SoapPollConfig, *, base_dir: Path, interface: str = "") -> None:
        self.config = config
        self._base_dir = base_dir
        self._interface = interface
        self._context: SourceContext | None = None
        self._conn: SoapConnection | None = None
        self._records = local_path(config.records_path)
        self._stamps = local_path(f"{config.records_path}/{config.watermark_field}")  # one XPath per page
        self._next = local_path(config.next_page_token_path)
        self._zone: tzinfo | None = None if config.naive_timezone is None else ZoneInfo(config.naive_timezone)
        self._halted = False

    @property
    def cursor_key(self) -> str:
        return f"soap:{self.config.operation}"

    # ------------------------------------------------------------------ lifecycle

    def open(self, context: SourceContext) -> None:
        self._context = context
        self._conn = SoapConnection(self.config, base_dir=self._base_dir, clock=context.clock)
        self._conn.open()
        self._conn.check_operation(self.config.operation)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: the WSDL loads with the poll operation and the endpoint answers (no call)."""
        conn = SoapConnection(self.config, base_dir=self._base_dir, clock=SystemClock())
        return conn.connect_checks(self.config.operation)

    def _ctx(self) -> tuple[SourceContext, SoapConnection]:
        if self._context is None or self._conn is None:
            raise RuntimeError("SoapPollSource is not open")
        return self._context, self._conn

    def cursor(self) -> PollCursor:
        """The acknowledged position (the initial watermark when nothing was acknowledged yet)."""
        ctx, _ = self._ctx()
        raw = ctx.ledger.get_cursor(ctx.interface, self.cursor_key)
        return PollCursor.loads(raw) if raw else PollCursor(watermark=self.config.initial_watermark)

    # ------------------------------------------------------------------ polling

    def poll(self) -> Generator[Envelope, None, None]:
        ctx, conn = self._ctx()
        cursor = self.cursor()
        if cursor.page_token and cursor.since is not None:
            since, token, page, scan = cursor.since, cursor.page_token, cursor.acked_page + 1, cursor.scan
        else:
            since = cursor.watermark - timedelta(seconds=self.config.overlap_seconds)
            token, page, scan = None, 0, f"{since.isoformat()}@{ctx.clock.now().isoformat()}"
        seen_tokens: set[str] = set()
        self._halted = False
        for _ in range(self.config.max_pages):
            envelope, next_token = self._fetch(conn, ctx, since, token, page, scan)
            if ctx.ledger.batch_state(ctx.interface, envelope.batch_id) in ("acknowledged", "failed"):
                self.acknowledge(envelope)  # committed or kept before a crash that came before the cursor write
            else:
                yield envelope
            if self._halted:
                return  # a failed page that is not kept: the cursor stays on it, so the scan stops here
            if not next_token:
                return
            if next_token in seen_tokens:
                raise DecodeError(
                    f"{self.config.operation} returned page token {next_token!r} twice",
                    location=Location(file=conn.address, field=self.config.next_page_token_path),
                )
            seen_tokens.add(next_token)
            token, page = next_token, page + 1
        raise DecodeError(f"{self.config.operation} did not finish within max_pages={self.config.max_pages}")

    def _fetch(
        self, conn: SoapConnection, ctx: SourceContext, since: datetime, token: str | None, page: int, scan: str
    ) -> tuple[Envelope, str | None]:
        cfg = self.config
        kwargs = page_kwargs(
            {**cfg.params, cfg.watermark_param: since}, cfg.page_size_param, cfg.page_size, cfg.page_token_param, token
        )
        where = Location(file=conn.address, record=page)
        exchange = conn.call(cfg.operation, kwargs)
        if exchange.fault is not None:
            raise classify_fault(exchange.fault, cfg, where=where).concerning(interface=ctx.interface)
        if exchange.body is None:
            raise DecodeError(f"{cfg.operation} answered with an empty soap:Body", location=where)
        body = exchange.body_bytes()
        records = elements(self._records(exchange.body))
        stamp_where = Location(file=conn.address, record=page, field=f"{cfg.records_path}/{cfg.watermark_field}")
        stamps = [
            _parse_time(el.text or "", where=stamp_where, zone=self._zone)
            for el in elements(self._stamps(exchange.body))
        ]
        found = elements(self._next(exchange.body))
        next_token = (found[0].text or "").strip() or None if found else None
        # The batch is identified by its records, not by volatile parts of the page (an ``asOf`` stamp), so
        # the same page re-read after a crash has the same batch id.
        digest = hashlib.sha256(b"\x1e".join(etree.tostring(record) for record in records)).hexdigest()
        batch_id = f"soap:{cfg.operation}:{since.isoformat()}:{token or '-'}:{digest[:16]}"
        metadata = {
            "soap.operation": cfg.operation,
            "soap.endpoint": conn.address,
            "soap.scan": scan,
            "soap.since": since.isoformat(),
            "soap.page": str(page),
            "soap.page_token": token or "",
            "soap.next_page_token": next_token or "",
            "soap.records": str(len(records)),
            "soap.watermark_candidate": max(stamps).isoformat() if stamps else "",
            "soap.request": exchange.request_capture,
        }
        envelope = Envelope(
            interface=ctx.interface,
            batch_id=batch_id,
            origin=f"{conn.address}#{cfg.operation}",
            identity_rule=IdentityRule.CHANGE,
            identity=digest,
            received_at=ctx.clock.now(),
            transaction_id=str(uuid.uuid5(uuid.NAMESPACE_URL, batch_id)),
            body=body,
            media_type="application/xml",
            size=len(body),
            metadata=metadata,
        )
        return envelope, next_token

    # ------------------------------------------------------------------ acknowledgement

    def acknowledge(self, envelope: Envelope) -> None:
        """Advance the cursor past ``envelope``'s page; idempotent, and an older page never moves it back."""
        ctx, _ = self._ctx()
        ctx.ledger.set_cursor(ctx.interface, self.cursor_key, self._advanced(self.cursor(), envelope).dumps())

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        """The whole page failed. Kept by the runtime (its batch is ``failed``: the page's bytes sit in the
        batch dead letter, replayable with ``dlq replay``), it is moved past so it is not re-read forever.
        Not kept, the cursor stays on it and this scan stops, so the page is read again on the next poll."""
        ctx, _ = self._ctx()
        if ctx.ledger.batch_state(ctx.interface, envelope.batch_id) != "failed":
            log.warning(
                "%s: page %s failed but is not kept (%s); the cursor stays", ctx.interface, envelope.batch_id, error
            )
            self._halted = True
            return
        self.acknowledge(envelope)

    def _advanced(self, cursor: PollCursor, envelope: Envelope) -> PollCursor:
        meta = envelope.metadata
        candidate = meta.get("soap.watermark_candidate")
        watermark = max(cursor.watermark, datetime.fromisoformat(candidate)) if candidate else cursor.watermark
        page, scan = int(meta["soap.page"]), meta["soap.scan"]
        if scan == cursor.scan and page <= cursor.acked_page:
            return replace(cursor, watermark=watermark)  # a repeat acknowledgement: only the watermark may grow
        next_token = meta.get("soap.next_page_token") or None
        return PollCursor(
            watermark=watermark,
            scan=scan,
            since=datetime.fromisoformat(meta["soap.since"]) if next_token else None,
            page_token=next_token,
            acked_page=page,
        )
