"""Writing one file into a drop (SFTP or folder): the name, the temporary name, the rename, the check.

A reader of the drop (the legacy ERP) must never see a partial file, and a redelivery of the same message
must not produce a second file. So the file name is derived from the message id (template), the bytes are
written under a temporary name the reader ignores, the size is verified, and only then is the file renamed
to its final name. A file already there with the same bytes is the same delivery: ``delivered`` again.
One attempt per call; errors become an :class:`~bridge.ports.Outcome`, never a retry. (The ``file`` sink,
``file_sink.py``, also writes one file per message but is not a drop: its module docstring says why.)
"""

from __future__ import annotations

import logging
import posixpath
import re
import uuid
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from adapters.legacy.drop import DropEntry, safe_name
from adapters.legacy.drop_poller import Readable
from bridge.ports import (
    BridgeError,
    Delivery,
    Encoded,
    KindConfig,
    Location,
    Outcome,
    PermanentError,
    Rejected,
    RetryableError,
    TargetUnavailable,
)

__all__ = ["DropSinkConfig", "DropWriter", "WriteFileSystem", "render_name", "same_stream"]

log = logging.getLogger("esb_bridge.legacy.drop")

_EXTENSIONS = {
    "application/xml": ".xml",
    "text/xml": ".xml",
    "text/csv": ".csv",
    "application/json": ".json",
    "application/jsonl": ".jsonl",
    "text/plain": ".txt",
}


class DropSinkConfig(KindConfig):
    """Where and how files are written: folder, name template, temp naming, done file, conflicts, mode.

    ``name_template`` may use ``{message_id}``, ``{business_key}``, ``{interface}``, ``{path}``, ``{role}``,
    ``{transaction_id}``, ``{name}`` (the encoder's suggested name) and ``{ext}`` (from the media type).
    Leave ``{message_id}`` (or a field unique per message) in it: that is what makes redelivery idempotent.
    """

    path: str
    """Folder files are written into."""
    name_template: str = "{message_id}{ext}"
    """File name; may use {message_id}, {business_key}, {interface}, {path}, {role}, {transaction_id}, {name}, {ext}."""
    temp_prefix: str = "."
    """Prefix of the temporary name a file is written under before its rename."""
    temp_suffix: str = ".part"
    """Suffix of the temporary name."""
    done_suffix: str | None = None
    """When set, an empty trigger file <name><suffix> is written after each file."""
    conflict: Literal["fail", "replace", "unique"] = "fail"
    """When the file already exists: fail, replace it, or write under a unique name."""
    mode: int | None = Field(default=None, ge=0, le=0o7777)
    """File permissions (octal, e.g. '0640'); the default umask when unset."""
    batch_size: int = Field(default=100, ge=1, le=10_000)
    """Deliveries the runtime hands over in one call, written one after the other over one session."""

    @field_validator("mode", mode="before")
    @classmethod
    def _octal(cls, value: Any) -> Any:
        if isinstance(value, str):
            return int(value, 8)
        return value

    @field_validator("name_template")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        unknown = set(re.findall(r"{(\w+)", value)) - set(_FIELDS)
        if unknown:
            raise ValueError(f"name_template uses unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
        return value


_FIELDS = ("message_id", "business_key", "interface", "path", "role", "transaction_id", "name", "ext")
_UNSAFE = re.compile(r"[^\w.\-@+=,]+", re.UNICODE)


def render_name(template: str, delivery: Delivery) -> str:
    """The final file name for a delivery; unsafe characters in the fields become ``_``."""
    ext = _EXTENSIONS.get(delivery.payload.media_type.split(";")[0].strip(), "")
    suggested = delivery.payload.name or ""
    if suggested and not ext:
        ext = posixpath.splitext(suggested)[1]

    def clean(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "_"

    values = {
        "message_id": str(delivery.message_id),
        "business_key": clean(delivery.business_key),
        "interface": clean(delivery.interface),
        "path": delivery.path.value,
        "role": delivery.role.value,
        "transaction_id": clean(delivery.transaction_id),
        "name": clean(posixpath.basename(suggested)) if suggested else "",
        "ext": ext,
    }
    return safe_name(template.format(**values), where=template)


class WriteFileSystem(Protocol):
    """File operations a sink needs; same error conventions as :class:`~adapters.legacy.drop_poller.DropFileSystem`."""

    def stat(self, path: str) -> DropEntry | None: ...

    def write_file(self, path: str, data: bytes, mode: int | None) -> None: ...

    def write_stream(self, path: str, data: Readable, mode: int | None) -> None:
        """Write ``data`` read to its end in pieces (a body too big to hold: ``StreamedEncoded``)."""
        ...

    def read_bytes(self, path: str, limit: int) -> bytes: ...

    def open_read(self, path: str, size: int) -> AbstractContextManager[Readable]: ...

    def rename(self, src: str, dst: str) -> None:
        """Rename; ``FileExistsError`` if ``dst`` exists."""
        ...

    def replace(self, src: str, dst: str) -> None:
        """Rename atomically over an existing ``dst``."""
        ...

    def remove(self, path: str) -> None: ...


class DropWriter:
    """One delivery into a drop over a :class:`WriteFileSystem`."""

    def __init__(self, config: DropSinkConfig) -> None:
        self.config = config

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """The file name the delivery would be written under; nothing is written."""
        try:
            name = render_name(self.config.name_template, delivery)
        except BridgeError as exc:
            return Outcome.rejected(PermanentError(exc.message, location=exc.location))
        return Outcome.delivered(target_id=name, detail="dry run: not written")

    def deliver(self, fs: WriteFileSystem, delivery: Delivery) -> Outcome:
        try:
            name = render_name(self.config.name_template, delivery)
        except BridgeError as exc:
            return Outcome.rejected(PermanentError(exc.message, location=exc.location))
        final = posixpath.join(self.config.path, name)
        if delivery.dry_run:
            return Outcome.delivered(target_id=name, detail="dry run: not written")
        try:
            return self._write(fs, final, delivery.payload)
        except RetryableError as exc:
            return Outcome.failed(exc)
        except PermissionError as exc:
            error = Rejected(f"permission denied writing {final}: {exc}", location=Location(file=final))
            return Outcome.rejected(error)
        except OSError as exc:
            return Outcome.failed(TargetUnavailable(f"writing {final} failed: {exc}", location=Location(file=final)))

    def _same(self, fs: WriteFileSystem, path: str, body: Encoded) -> bool | None:
        """``None``: no file; True/False: a file with the same / different bytes (a streamed body is compared
        piece by piece, never read whole)."""
        existing = fs.stat(path)
        if existing is None:
            return None
        if existing.size != body.size:
            return False
        if not body.streamed:
            return fs.read_bytes(path, body.size + 1) == body.body
        with fs.open_read(path, existing.size) as there, body.open() as ours:
            return same_stream(there, ours)

    def _write(self, fs: WriteFileSystem, final: str, body: Encoded) -> Outcome:
        folder, name = posixpath.split(final)
        same = self._same(fs, final, body)
        if same:
            self._done_file(fs, final)
            return Outcome.delivered(target_id=name, detail="already delivered (same bytes)")
        if same is False and self.config.conflict == "fail":
            error = Rejected(f"{final} exists with different content (conflict: fail)", location=Location(file=final))
            return Outcome.rejected(error)
        if same is False and self.config.conflict == "unique":
            stem, ext = posixpath.splitext(name)
            for n in range(1, 1000):
                final = posixpath.join(folder, f"{stem}-{n}{ext}")
                same = self._same(fs, final, body)
                if same is None:
                    break
                if same:
                    self._done_file(fs, final)
                    return Outcome.delivered(target_id=posixpath.basename(final), detail="already delivered")
            else:
                return Outcome.rejected(Rejected(f"no free unique name for {name}", location=Location(file=final)))
        temp = posixpath.join(
            folder,
            f"{self.config.temp_prefix}{posixpath.basename(final)}.{uuid.uuid4().hex[:8]}{self.config.temp_suffix}",
        )
        try:
            if body.streamed:
                with body.open() as stream:
                    fs.write_stream(temp, stream, self.config.mode)
            else:
                fs.write_file(temp, body.body, self.config.mode)
            written = fs.stat(temp)
            if written is None or written.size != body.size:
                size = None if written is None else written.size
                raise TargetUnavailable(f"uploaded {size} bytes of {body.size} to {temp}", location=Location(file=temp))
            if self.config.conflict == "replace":
                fs.replace(temp, final)
            else:
                try:
                    fs.rename(temp, final)
                except FileExistsError as exc:
                    fs.remove(temp)
                    if self._same(fs, final, body):
                        return Outcome.delivered(target_id=posixpath.basename(final), detail="delivered concurrently")
                    where = Location(file=final)
                    raise TargetUnavailable(f"{final} appeared while writing; retry", location=where) from exc
        except BaseException:
            _quietly_remove(fs, temp)
            raise
        placed = fs.stat(final)
        if placed is None or placed.size != body.size:
            where = Location(file=final)
            raise TargetUnavailable(f"{final} not found with {body.size} bytes after rename", location=where)
        self._done_file(fs, final)
        return Outcome.delivered(target_id=posixpath.basename(final), metadata={"size": str(body.size)})

    def _done_file(self, fs: WriteFileSystem, final: str) -> None:
        if self.config.done_suffix and fs.stat(final + self.config.done_suffix) is None:
            fs.write_file(final + self.config.done_suffix, b"", self.config.mode)


_PIECE = 1 << 20


def same_stream(a: Readable, b: Readable) -> bool:
    """Whether two streams hold the same bytes, read a piece at a time (short reads allowed on either)."""
    left = right = b""
    while True:
        if len(left) < _PIECE:
            left += a.read(_PIECE)
        if len(right) < _PIECE:
            right += b.read(_PIECE)
        n = min(len(left), len(right))
        if left[:n] != right[:n]:
            return False
        left, right = left[n:], right[n:]
        if n == 0:
            return not left and not right


def _quietly_remove(fs: WriteFileSystem, path: str) -> None:
    try:
        fs.remove(path)
    except (OSError, BridgeError) as exc:  # the original error is what matters; the temp name is ignored by readers
        log.warning("could not remove temporary file %s: %s", path, exc)
