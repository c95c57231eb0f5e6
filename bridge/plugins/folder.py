"""``folder`` source: a local drop folder, the simplest real source (the embedded demo and crash tests use it).

Readiness is ``stable``: a file is taken only when its size and mtime did not change between two listings
taken ``min_age`` apart, so a half-written file is never read. Identity is the file's SHA-256 (streamed),
so a file re-read after a crash yields the same message ids. After-processing (``move``/``delete``/``leave``)
happens in ``acknowledge`` only, i.e. after every record is committed; failed files go to ``error/`` with a
sidecar JSON that says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from pydantic import Field

from bridge.plugins import KindConfig, Plugin, PluginContext, PluginRole
from bridge.ports import BridgeError, ConnectionFailed, Envelope, IdentityRule, SourceContext

__all__ = ["PLUGIN", "FolderConfig", "LocalFolderSource"]


class FolderConfig(KindConfig):
    kind: Literal["folder"]
    path: str
    pattern: str = "*"
    after: Literal["move", "delete", "leave"] = "move"
    archive: str | None = Field(None, description="archive folder for after=move (default: <path>/archive)")
    error: str | None = Field(None, description="folder for failed files (default: <path>/error)")
    min_age: float = Field(0.0, ge=0, description="seconds a file must be unchanged before it is read")
    max_files_per_poll: int = Field(1000, ge=1)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class LocalFolderSource:
    """A drop folder on the local file system."""

    def __init__(self, config: FolderConfig, context: PluginContext) -> None:
        self.config = config
        self.root = context.resolve(config.path)
        self.archive = context.resolve(config.archive) if config.archive else self.root / "archive"
        self.error_dir = context.resolve(config.error) if config.error else self.root / "error"
        self._ctx: SourceContext | None = None
        self._seen: dict[Path, tuple[int, float]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._ctx = None

    def open(self, context: SourceContext) -> None:
        self._ctx = context

    def _ready(self, path: Path, size: int, mtime: float) -> bool:
        if self.config.min_age <= 0:
            return True
        previous = self._seen.get(path)
        self._seen[path] = (size, mtime)
        assert self._ctx is not None
        age = self._ctx.clock.now().timestamp() - mtime
        return previous == (size, mtime) and age >= self.config.min_age

    def poll(self) -> Iterator[Envelope]:
        assert self._ctx is not None, "open() the source first"
        ctx = self._ctx
        if not self.root.is_dir():
            raise ConnectionFailed(f"drop folder {self.root} does not exist", interface=ctx.interface)
        files = sorted((p for p in self.root.glob(self.config.pattern) if p.is_file()), key=lambda p: p.stat().st_mtime)
        for path in files[: self.config.max_files_per_poll]:
            st = path.stat()
            if not self._ready(path, st.st_size, st.st_mtime):
                continue
            digest = sha256_file(path)
            batch_id = f"{path.name}|{st.st_size}|{int(st.st_mtime)}|{digest}"
            state = ctx.ledger.batch_state(ctx.interface, batch_id)
            if state == "acknowledged":
                self._after(path)  # a move that failed last time is retried, nothing is re-read
                continue
            if state == "failed":
                continue
            yield Envelope(
                interface=ctx.interface,
                batch_id=batch_id,
                origin=str(path),
                identity_rule=IdentityRule.FILE,
                identity=digest,
                received_at=ctx.clock.now(),
                transaction_id=str(uuid.uuid4()),
                spool_path=path,
                size=st.st_size,
                metadata={"name": path.name},
            )

    def _after(self, path: Path) -> None:
        if not path.exists() or self.config.after == "leave":
            return
        if self.config.after == "delete":
            path.unlink()
            return
        self.archive.mkdir(parents=True, exist_ok=True)
        target = self.archive / path.name
        os.replace(path, target)
        if not target.exists():
            raise OSError(f"move of {path} to {target} did not take effect")

    def acknowledge(self, envelope: Envelope) -> None:
        assert self._ctx is not None and envelope.spool_path is not None
        self._ctx.ledger.mark_batch(self._ctx.interface, envelope.batch_id, "acknowledged", origin=envelope.origin)
        self._after(envelope.spool_path)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        assert self._ctx is not None and envelope.spool_path is not None
        self._ctx.ledger.mark_batch(self._ctx.interface, envelope.batch_id, "failed", detail=str(error))
        path = envelope.spool_path
        if self.config.after == "leave" or not path.exists():
            return
        self.error_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), self.error_dir / path.name)
        sidecar = self.error_dir / (path.name + ".error.json")
        sidecar.write_text(json.dumps(error.to_dict(), indent=2, default=str), encoding="utf-8")


PLUGIN = Plugin(PluginRole.SOURCE, "folder", FolderConfig, LocalFolderSource, description="local drop folder")
