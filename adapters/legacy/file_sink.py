"""``file`` sink: the bridge's own output into a folder, idempotent per message id by construction.

Why there are two sinks that write one file per message, this one and ``folder`` (``adapters.legacy.folder``,
over the drop rules of ``drop_sink.py``): they promise different things to whoever reads the folder, and a
config valid for either must keep meaning what it means today.

* ``folder`` is a *legacy drop*: another system (the ERP) polls it, so it follows the drop conventions shared
  with ``sftp`` uploads: temp names the reader is configured to ignore (``temp_prefix``/``temp_suffix``),
  an optional done file, a ``conflict`` policy that by default refuses to touch a file with other bytes
  (``fail``; or ``replace``, ``unique``), file permissions, names whose fields are made file-name safe with
  an ``{ext}`` from the media type, always fsync.
* ``file`` is the bridge's *own output* (canonical JSON for the demo, crash tests, exchange with tools): the
  latest delivery of a message id wins (a file with other bytes is replaced), names come from a plain
  ``str.format`` template whose result must already be a plain file name (no field is rewritten; a bad name
  rejects the delivery), fsync can be turned off, and it has an ``append`` mode (one JSON-lines batch file)
  that no drop has.

Merging them would change either file names or conflict behaviour for configs in use; what they do share
(the local file operations) is small. Two modes:

* ``file`` (default): one file per message, named from the message id, written to a temp name and renamed
  (readers never see a partial file). A file that already holds exactly these bytes is not written again,
  so a redelivery after a crash (the sink wrote, the ledger had not recorded it yet) writes nothing.
* ``append``: every message is one JSON line ``{"message_id": ..., "body": ...}`` appended to one file (a
  daily batch file, as many legacy systems read), in ONE ``write`` on an ``O_APPEND`` descriptor, so a line is
  either fully there or absent even if the process is killed. The ids already in the file are kept in an
  index file beside it (``.<name>.ids.sqlite``, :mod:`adapters.legacy.append_index`), so a redelivery is
  recognised and not appended twice with bounded memory at any volume. One writer process per file.

Group commit (``append`` mode is a :class:`~bridge.ports.BatchSink`, ``max_batch`` = ``batch_size``): the
lines of a whole batch go out in ONE ``write`` and ONE ``fsync``, then the index records all their ids in one
transaction. An fsync costs milliseconds whatever it flushes, so per line it capped the sink at a few hundred
lines a second; per batch ``fsync: true`` can stay the default. The order write -> fsync -> index keeps the
guarantees of one line: a crash before the index update leaves lines the index does not cover, which its
catch-up reads from the file on the next open (so they are recognised, not appended again); a power cut
before the fsync loses lines that were never reported delivered, so they are delivered again. ``file``
mode writes one file per message and stays one delivery per call (``max_batch`` 1).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import orjson
from pydantic import Field

from adapters.legacy.append_index import AppendIndex
from adapters.legacy.drop_sink import same_stream
from adapters.legacy.local_checks import creatable_folder
from bridge.ports import (
    Delivery,
    Encoded,
    KindConfig,
    Outcome,
    PluginContext,
    PreflightProblem,
    Rejected,
    Resource,
    TargetUnavailable,
)

__all__ = ["FileSink", "FileSinkConfig"]


class FileSinkConfig(KindConfig):
    kind: Literal["file"]
    """Selects this plugin: ``file``."""
    path: str
    """Folder written into (created when missing)."""
    mode: Literal["file", "append"] = "file"
    """file: one file per delivery; append: one line per delivery in a single file."""
    name: str | None = None
    """File name template ({message_id}.json per delivery, deliveries.jsonl in append mode, by default)."""
    fsync: bool = True
    """Flush each write to disk before the delivery counts as done."""
    batch_size: int = Field(1000, ge=1, le=100_000)
    """Append mode: most deliveries appended with one write and one fsync (the runtime's batch size)."""


class FileSink(Resource):
    """Writes into ``path``; see the module docstring for the two modes."""

    def __init__(self, config: FileSinkConfig, context: PluginContext) -> None:
        self.config = config
        self.dir = context.resolve(config.path)
        self.name = config.name or ("{message_id}.json" if config.mode == "file" else "deliveries.jsonl")
        self.target = context.target or f"file:{self.dir}"
        self._lock = threading.Lock()
        self._known: dict[Path, AppendIndex] = {}
        #: deliveries per ``deliver_batch`` call: a batch only pays in append mode (one write and fsync)
        self.max_batch = config.batch_size if config.mode == "append" else 1

    def on_enter(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def preflight(self) -> list[PreflightProblem]:
        """The output folder exists and is writable, or can be created (``esb-bridge validate``)."""
        return creatable_folder(str(self.dir))

    def close(self) -> None:
        with self._lock:
            for index in self._known.values():
                index.close()
            self._known.clear()

    def _name(self, delivery: Delivery) -> str:
        try:
            name = self.name.format(
                message_id=delivery.message_id,
                business_key=delivery.business_key,
                interface=delivery.interface,
                path=delivery.path.value,
            )
        except (KeyError, IndexError) as exc:
            raise Rejected(f"file name template {self.name!r} uses an unknown field: {exc}") from exc
        if "/" in name or name in (".", "..") or "\x00" in name:
            raise Rejected(f"file name {name!r} is not a plain file name")
        return name

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: the file name, nothing written."""
        try:
            name = self._name(delivery)
        except Rejected as exc:
            return Outcome.rejected(exc)
        return Outcome.delivered(detail="dry run: not written", target_id=name)

    def deliver(self, delivery: Delivery) -> Outcome:
        if self.config.mode == "append":
            return self.deliver_batch([delivery])[0]
        try:
            name = self._name(delivery)
        except Rejected as exc:
            return Outcome.rejected(exc)
        if delivery.dry_run:
            return Outcome.delivered(detail="dry run: not written", target_id=name)
        try:
            return self._write(self.dir / name, delivery.payload)
        except OSError as exc:
            return Outcome.failed(TargetUnavailable(f"cannot write {self.dir / name}: {exc}"))

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order. Append mode: per target file one write and one fsync for all
        new lines (see the module docstring); file mode: one delivery after the other."""
        if self.config.mode != "append":
            return [self.deliver(d) for d in deliveries]
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        by_file: dict[Path, list[int]] = {}
        for i, delivery in enumerate(deliveries):
            try:
                name = self._name(delivery)
            except Rejected as exc:
                outcomes[i] = Outcome.rejected(exc)
                continue
            if delivery.dry_run:
                outcomes[i] = Outcome.delivered(detail="dry run: not written", target_id=name)
                continue
            by_file.setdefault(self.dir / name, []).append(i)
        for target, indexes in by_file.items():
            chunk = [deliveries[i] for i in indexes]
            try:
                done = self._append(target, chunk)
            except OSError as exc:
                done = [Outcome.failed(TargetUnavailable(f"cannot append to {target}: {exc}"))] * len(chunk)
            for i, outcome in zip(indexes, done, strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _write(self, target: Path, body: Encoded) -> Outcome:
        if target.exists() and target.stat().st_size == body.size and self._same(target, body):
            return Outcome.delivered(detail="already present", target_id=target.name)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("wb") as f:
            if body.streamed:  # a body too big to hold (a forwarded file): copied piece by piece
                with body.open() as src:
                    shutil.copyfileobj(src, f, 1 << 20)
            else:
                f.write(body.body)
            if self.config.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
        return Outcome.delivered(detail=f"written {target.name}", target_id=target.name)

    @staticmethod
    def _same(target: Path, body: Encoded) -> bool:
        if not body.streamed:
            return target.read_bytes() == body.body
        with target.open("rb") as there, body.open() as ours:
            return same_stream(there, ours)

    def _index(self, target: Path) -> AppendIndex:
        known = self._known.get(target)
        if known is None:
            known = AppendIndex(target)
            known.open()
            self._known[target] = known
        return known

    def _append(self, target: Path, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Append the lines of ``deliveries`` not in ``target`` yet: one write, one fsync, one index update."""
        with self._lock:
            known = self._index(target)
            outcomes: list[Outcome] = []
            lines: list[bytes] = []
            fresh: dict[str, None] = {}  # ids appended by this call, in order
            present = known.present([str(d.message_id) for d in deliveries])
            appended = f"appended to {target.name}"
            for delivery in deliveries:
                mid = str(delivery.message_id)
                if mid in fresh or mid in present:
                    outcomes.append(Outcome.delivered(detail="already present", target_id=mid))
                    continue
                body = delivery.payload.body.decode("utf-8", "replace")
                lines.append(orjson.dumps({"message_id": mid, "body": body}) + b"\n")
                fresh[mid] = None
                outcomes.append(Outcome.delivered(detail=appended, target_id=mid))
            if not fresh:
                return outcomes
            data = (b"\n" if known.torn_tail else b"") + b"".join(lines)
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, data)
                if self.config.fsync:
                    os.fsync(fd)
                end = os.lseek(fd, 0, os.SEEK_CUR)
            finally:
                os.close(fd)
            if written != len(data):  # a full disk: the complete lines are found by the next catch-up
                self._forget(target)
                raise OSError(f"short write: {written} of {len(data)} bytes")
            try:
                known.add(list(fresh), end)
            except OSError as exc:  # the lines are written; a fresh index re-reads them from the file next time
                self._forget(target)
                note = f"appended to {target.name}; id index reset: {exc}"
                return [dataclasses.replace(o, detail=note) if o.target_id in fresh else o for o in outcomes]
        return outcomes

    def _forget(self, target: Path) -> None:
        known = self._known.pop(target, None)
        if known is not None:
            known.close()
