"""``file`` sink: one file per message id, written atomically; idempotent by construction.

The file name derives from the message id, and a file that already holds exactly these bytes is not written
again, so a redelivery after a crash (sink wrote, ledger did not record) changes nothing and writes nothing.
``journal`` appends one JSON line per physical write: an audit of what the target really received.
"""

from __future__ import annotations

import json
import os
import threading
from types import TracebackType
from typing import Literal, Self

from bridge.plugins import KindConfig, Plugin, PluginContext, PluginRole
from bridge.ports import Delivery, Outcome, Rejected, TargetUnavailable

__all__ = ["PLUGIN", "FileSink", "FileSinkConfig"]


class FileSinkConfig(KindConfig):
    kind: Literal["file"]
    path: str
    name: str = "{message_id}.json"
    journal: str | None = None
    fsync: bool = True


class FileSink:
    """Writes ``<path>/<name>`` via a temp file and rename (readers never see a partial file)."""

    def __init__(self, config: FileSinkConfig, context: PluginContext) -> None:
        self.config = config
        self.dir = context.resolve(config.path)
        self.journal = context.resolve(config.journal) if config.journal else None
        self.target = context.target or f"file:{self.dir}"
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def _name(self, delivery: Delivery) -> str:
        try:
            name = self.config.name.format(
                message_id=delivery.message_id,
                business_key=delivery.business_key,
                interface=delivery.interface,
                path=delivery.path.value,
            )
        except (KeyError, IndexError) as exc:
            raise Rejected(f"file name template {self.config.name!r} uses an unknown field: {exc}") from exc
        if "/" in name or name in (".", "..") or "\x00" in name:
            raise Rejected(f"file name {name!r} is not a plain file name")
        return name

    def deliver(self, delivery: Delivery) -> Outcome:
        try:
            name = self._name(delivery)
        except Rejected as exc:
            return Outcome.rejected(exc)
        target = self.dir / name
        body = delivery.payload.body
        if delivery.dry_run:
            return Outcome.delivered(detail="dry run: not written", target_id=name)
        try:
            if target.exists() and target.stat().st_size == len(body) and target.read_bytes() == body:
                return Outcome.delivered(detail="already present", target_id=name)
            tmp = self.dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
            with tmp.open("wb") as f:
                f.write(body)
                if self.config.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, target)
            if self.journal is not None:
                line = json.dumps({"message_id": str(delivery.message_id), "name": name, "attempt": delivery.attempt})
                with self._lock, self.journal.open("a", encoding="utf-8") as j:
                    j.write(line + "\n")
                    j.flush()
                    if self.config.fsync:
                        os.fsync(j.fileno())
        except OSError as exc:
            return Outcome.failed(TargetUnavailable(f"cannot write {target}: {exc}"))
        return Outcome.delivered(detail=f"written {name}", target_id=name)


PLUGIN = Plugin(PluginRole.SINK, "file", FileSinkConfig, FileSink, description="one file per message, atomic")
