"""``SoapListing``: what a legacy SOAP target holds, read page by page through one of its read operations.

Used by reconciliation: a change feed asked for everything since a fixed early date (``GetChangedInvoices``
since 1970) lists every record the target holds. Each record's business key, date and amount are read by
local-name paths relative to the record, so the listing needs no mapping and knows no canonical model.
It only reads; paging stops at the last page, a repeated page token or ``max_pages``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pydantic import Field

from adapters.legacy.soap_call import _SoapResource
from adapters.legacy.soap_client import SoapEndpointConfig, classify_fault, page_kwargs
from adapters.legacy.soap_xml import elements, local_path
from bridge.ports import Clock, DecodeError, ListedRecord, Location

__all__ = ["SoapListing", "SoapListingConfig"]


class SoapListingConfig(SoapEndpointConfig):
    """A read operation that lists the target's records (a change feed asked for everything, or a search)."""

    kind: Literal["soap"] = "soap"
    """Selects this plugin: ``soap``."""
    operation: str
    """WSDL operation listing the records (e.g. GetChangedInvoices)."""
    params: dict[str, Any] = Field(default_factory=lambda: {"since": datetime(1970, 1, 1, tzinfo=UTC)})
    """Fixed parameters of the operation (default: since 1970-01-01, i.e. everything)."""
    page_token_param: str | None = "pageToken"
    """Parameter receiving the next page token; no paging when unset."""
    page_size_param: str | None = "pageSize"
    """Parameter receiving the page size; none when unset."""
    page_size: int = Field(default=500, gt=0)
    """Records asked for per page."""
    next_page_token_path: str = "nextPageToken"
    """Local-name path from the body element to the next page token."""
    max_pages: int = Field(default=100_000, gt=0)
    """Most pages read in one listing."""
    records_path: str = Field(description="local-name path from the body element to each record, e.g. invoice")
    key_field: str = Field(description="local-name path from a record to its business key, e.g. invoiceNumber")
    date_field: str | None = None
    """Local-name path from a record to its business date (xs:date or dateTime); unset: not compared."""
    amount_field: str | None = None
    """Local-name path from a record to the amount summed per date (e.g. grossTotal); unset: not compared."""


class SoapListing(_SoapResource):
    """Implements :class:`bridge.ports.TargetListing` over one SOAP read operation."""

    def __init__(self, config: SoapListingConfig, *, base_dir: Path, clock: Clock | None = None) -> None:
        super().__init__(config, config.operation, base_dir=base_dir, clock=clock)
        self.config = config
        self._records = local_path(config.records_path)
        self._next = local_path(config.next_page_token_path)
        self._key = local_path(config.key_field)
        self._date = local_path(config.date_field) if config.date_field else None
        self._amount = local_path(config.amount_field) if config.amount_field else None

    def list_records(self) -> Iterator[ListedRecord]:
        cfg, conn = self.config, self.conn
        token: str | None = None
        seen: set[str] = set()
        for page in range(cfg.max_pages):
            kwargs = page_kwargs(cfg.params, cfg.page_size_param, cfg.page_size, cfg.page_token_param, token)
            where = Location(file=conn.address, record=page)
            exchange = conn.call(cfg.operation, kwargs)
            if exchange.fault is not None:
                raise classify_fault(exchange.fault, cfg, where=where)
            if exchange.body is None:
                raise DecodeError(f"{cfg.operation} answered with an empty soap:Body", location=where)
            for n, record in enumerate(elements(self._records(exchange.body))):
                yield self._listed(record, Location(file=conn.address, record=page, field=f"{cfg.records_path}[{n}]"))
            found = elements(self._next(exchange.body))
            token = (found[0].text or "").strip() or None if found and cfg.page_token_param else None
            if token is None:
                return
            if token in seen:
                raise DecodeError(f"{cfg.operation} returned page token {token!r} twice", location=where)
            seen.add(token)
        raise DecodeError(f"{cfg.operation} did not finish within max_pages={cfg.max_pages}")

    def _listed(self, record: etree._Element, where: Location) -> ListedRecord:
        day = _text(self._date, record) if self._date is not None else None
        amount = _text(self._amount, record) if self._amount is not None else None
        return ListedRecord.read(_text(self._key, record), day, amount, where=where)


def _text(path: etree.XPath, record: etree._Element) -> str:
    found = elements(path(record))
    return (found[0].text or "").strip() if found else ""
