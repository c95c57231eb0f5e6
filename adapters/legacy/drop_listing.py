"""``FolderListing`` and ``SftpListing``: what a drop folder holds, for reconciliation of a file-writing path.

The delivered files of a folder or SFTP sink are the target's own record of what it received. Each file
(matching ``include``) is one record: its business key comes from the file name (``key_pattern``, a regular
expression with a group ``key``) or, with ``format: json``, from a dotted field of the file's JSON together
with its date and amount. Only listing and reading: nothing is moved, renamed or written. A file larger than
``max_file_bytes`` is not read (a :class:`~bridge.ports.DecodeError`, so the path is reported incomplete).
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.legacy.drop_poller import DropFileSystem
from adapters.legacy.sftp_conn import SftpConnectionConfig
from bridge.ports import DecodeError, KindConfig, ListedRecord, Location, Resource, TargetUnavailable, dotted

__all__ = ["DropListing", "DropListingFields", "FolderListingConfig", "SftpListingConfig"]


class DropListingFields(BaseModel):
    """Which files of the folder are records, and how a record's key, date and amount are read."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    path: str
    """Folder the sink delivers into."""
    include: list[str] = Field(default_factory=lambda: ["*"])
    """Glob patterns of the delivered files (temporary and trigger files of the sink are not records)."""
    format: Literal["name", "json"] = "name"
    """name: the key from the file name (count only); json: key, date and amount from each file's JSON."""
    key_pattern: str = r"(?P<key>.+?)(\.[^.]*)?$"
    """name format: regular expression with a group 'key' matched against the file name (default: the name
    without its extension, for name templates such as {business_key}.xml)."""
    key_field: str | None = None
    """json format: dotted path of the business key in the file's JSON."""
    date_field: str | None = None
    """json format: dotted path of the business date; unset: not compared."""
    amount_field: str | None = None
    """json format: dotted path of the amount summed per date; unset: not compared."""
    max_file_bytes: int = Field(10_000_000, gt=0)
    """Largest file read (json format)."""

    @field_validator("key_pattern")
    @classmethod
    def _has_key_group(cls, value: str) -> str:
        if "key" not in re.compile(value).groupindex:
            raise ValueError("key_pattern needs a group named 'key', e.g. (?P<key>[^.]+)\\.xml")
        return value

    @model_validator(mode="after")
    def _json_needs_key(self) -> DropListingFields:
        if self.format == "json" and not self.key_field:
            raise ValueError("format json needs key_field (the dotted path of the business key)")
        return self


class FolderListingConfig(DropListingFields, KindConfig):
    """The ``folder`` listing kind: a local folder's delivered files."""

    kind: Literal["folder"] = "folder"
    """Selects this plugin: ``folder``."""


class SftpListingConfig(DropListingFields, SftpConnectionConfig, KindConfig):
    """The ``sftp`` listing kind: the delivered files of a remote SFTP drop."""

    kind: Literal["sftp"] = "sftp"
    """Selects this plugin: ``sftp``."""


class DropListing(Resource):
    """Implements :class:`bridge.ports.TargetListing` over a drop file system (local or SFTP)."""

    def __init__(
        self, config: DropListingFields, fs: DropFileSystem, *, on_close: Callable[[], None] | None = None
    ) -> None:
        self.config = config
        self._fs = fs
        self._on_close = on_close
        self._key = re.compile(config.key_pattern)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()

    def list_records(self) -> Iterator[ListedRecord]:
        cfg = self.config
        try:
            entries = sorted(self._fs.list_folder(cfg.path))
        except OSError as exc:  # a connection problem is a RetryableError of the file system already
            raise TargetUnavailable(f"cannot list {cfg.path}: {exc}", location=Location(file=cfg.path)) from exc
        for name, is_dir, size, _ in entries:
            if is_dir or not any(fnmatch.fnmatchcase(name, p) for p in cfg.include):
                continue
            where = Location(file=posixpath.join(cfg.path, name))
            if cfg.format == "name":
                match = self._key.match(name)
                if match is None or not match.group("key"):
                    raise DecodeError(f"{name!r} does not match key_pattern", location=where)
                yield ListedRecord(match.group("key"))
                continue
            yield self._json(name, size, where)

    def _json(self, name: str, size: int, where: Location) -> ListedRecord:
        cfg = self.config
        if size > cfg.max_file_bytes:
            raise DecodeError(f"{name} has {size} bytes, more than max_file_bytes", location=where)
        with self._fs.open_read(posixpath.join(cfg.path, name), size) as f:
            data = f.read(size + 1)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise DecodeError(f"{name} is not JSON", location=where) from exc
        assert cfg.key_field is not None
        day = dotted(doc, cfg.date_field) if cfg.date_field else None
        amount = dotted(doc, cfg.amount_field) if cfg.amount_field else None
        return ListedRecord.read(dotted(doc, cfg.key_field), day, amount, where=where)
