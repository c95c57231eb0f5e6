"""Local folders: :class:`FolderDropSource` (watchdog wakes the poller), :class:`FolderSink` and their plugins.

Same readiness, identity and after-processing rules as SFTP (``drop.py``, ``drop_poller.py``): watchdog only
says "something changed, poll now"; the poll decides what is ready. Nothing here decodes. The ``PLUGINS`` list
(entry point ``folder``) also registers the ``file`` sink (``file_sink.py``), which writes local files too but
is not a drop: its module docstring says why ``file`` and ``folder`` are two sinks.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Literal

from adapters.legacy.drop import DropEntry, DropSourceConfig
from adapters.legacy.drop_listing import DropListing, FolderListingConfig
from adapters.legacy.drop_poller import DropPoller, Readable
from adapters.legacy.drop_sink import DropSinkConfig, DropWriter
from adapters.legacy.file_sink import FileSink, FileSinkConfig
from adapters.legacy.local_checks import creatable_folder, readable_folder
from bridge.ports import (
    BridgeError,
    Delivery,
    Envelope,
    Outcome,
    Plugin,
    PluginContext,
    PreflightProblem,
    Resource,
    SourceContext,
)
from bridge.ports.plugins import LISTING, SINK, SOURCE, plugin

__all__ = ["PLUGINS", "FolderDropSource", "FolderSink", "FolderSinkConfig", "FolderSourceConfig", "LocalFileSystem"]

log = logging.getLogger("esb_bridge.legacy.folder")


class FolderSourceConfig(DropSourceConfig):
    """A local folder polled as a drop."""

    kind: Literal["folder"] = "folder"
    """Selects this plugin: ``folder``."""


class FolderSinkConfig(DropSinkConfig):
    """A local folder written as a drop."""

    kind: Literal["folder"] = "folder"
    """Selects this plugin: ``folder``."""


class LocalFileSystem:
    """The drop operations on the local file system (paths are absolute)."""

    def list_folder(self, folder: str) -> list[tuple[str, bool, int, float]]:
        found: list[tuple[str, bool, int, float]] = []
        with os.scandir(folder) as it:
            for item in it:
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if item.is_symlink():
                    continue  # a symlink could point outside the drop
                found.append((item.name, item.is_dir(follow_symlinks=False), st.st_size, st.st_mtime))
        return found

    def stat(self, path: str) -> DropEntry | None:
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return DropEntry(path, st.st_size, st.st_mtime)

    def open_read(self, path: str, size: int) -> AbstractContextManager[BinaryIO]:
        return open(path, "rb")

    def rename(self, src: str, dst: str) -> None:
        os.link(src, dst)  # fails with FileExistsError instead of replacing
        os.unlink(src)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def remove(self, path: str) -> None:
        os.unlink(path)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def write_bytes(self, path: str, data: bytes) -> None:
        self.write_file(path, data, None)

    def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        self.write_stream(path, io.BytesIO(data), mode)

    def write_stream(self, path: str, data: Readable, mode: int | None) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd = os.open(path, flags, 0o644 if mode is None else mode)
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                for piece in iter(lambda: data.read(1 << 20), b""):
                    out.write(piece)
                out.flush()
                os.fsync(fd)
            if mode is not None:
                os.chmod(path, mode)
        finally:
            os.close(fd)

    def read_bytes(self, path: str, limit: int) -> bytes:
        with open(path, "rb") as f:
            return f.read(limit)

    def origin(self, path: str) -> str:
        return Path(path).as_uri()


def _wakeup(event: threading.Event) -> Any:
    """A watchdog handler that only sets an event: the poll decides what is ready."""
    from watchdog.events import FileSystemEventHandler

    class Wakeup(FileSystemEventHandler):
        def on_any_event(self, change: Any) -> None:
            event.set()

    return Wakeup()


class FolderDropSource(Resource):
    """A local drop folder as a :class:`~bridge.ports.Source`; ``wait_for_change`` blocks until watchdog fires."""

    def __init__(self, config: FolderSourceConfig, *, watch: bool = True) -> None:
        self.config = config
        self._fs = LocalFileSystem()
        self._poller = DropPoller(config, lambda: self._fs, scheme="file")
        self._watch = watch
        self._observer: Any = None
        self._changed = threading.Event()

    def open(self, context: SourceContext) -> None:
        self._poller.open(context)
        if self._watch and self._observer is None:
            if not os.path.isdir(self.config.path):
                log.warning(
                    "drop folder %s does not exist (yet); polling without change notifications", self.config.path
                )
                return
            from watchdog.observers import Observer

            observer = Observer()
            observer.schedule(_wakeup(self._changed), self.config.path, recursive=self.config.recursive)
            observer.daemon = True
            observer.start()
            self._observer = observer

    def preflight(self) -> list[PreflightProblem]:
        """The drop folder exists and can be listed (and changed, when processed files are moved or deleted)."""
        action = self.config.after.effective_action
        moves = action in ("move", "delete")
        return readable_folder(self.config.path, writable=moves, why=f"after: {{action: {action}}} changes it")

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def wait_for_change(self, timeout: float) -> bool:
        """Block until the folder changed or ``timeout`` passed; True if it changed. Clears the flag."""
        changed = self._changed.wait(timeout)
        self._changed.clear()
        return changed

    def scan(self) -> list[Any]:
        return self._poller.scan()

    def poll(self) -> Iterator[Envelope]:
        return self._poller.poll()

    def acknowledge(self, envelope: Envelope) -> None:
        self._poller.acknowledge(envelope)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        self._poller.fail(envelope, error)


class FolderSink(Resource):
    """Writes each delivery as one file into a local drop folder (temp name, fsync, verified size, rename).

    A drop for another system to read, with the same rules as an SFTP upload; the ``file`` sink
    (:class:`~adapters.legacy.file_sink.FileSink`) is the bridge's own output, see its module for the difference.
    """

    def __init__(self, config: FolderSinkConfig, *, target: str = "") -> None:
        self.config = config
        self.target = target or f"folder:{config.path}"
        self._writer = DropWriter(config)
        self._fs = LocalFileSystem()
        self.max_batch = config.batch_size

    def on_enter(self) -> None:
        os.makedirs(self.config.path, exist_ok=True)

    def preflight(self) -> list[PreflightProblem]:
        """The drop folder exists and is writable, or can be created (``esb-bridge validate``)."""
        return creatable_folder(self.config.path)

    def deliver(self, delivery: Delivery) -> Outcome:
        return self._writer.deliver(self._fs, delivery)

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: the file name, nothing written."""
        return self._writer.check_dry_run(delivery)

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One file after the other, each fsynced before its rename: a local drop has no session to share,
        and grouping the fsyncs of a batch measured no faster (every file still needs its own), so a batch
        is only the runtime's unit of work here, with the same outcome per file as ``deliver``."""
        return [self._writer.deliver(self._fs, d) for d in deliveries]


def _source(config: FolderSourceConfig, ctx: PluginContext) -> FolderDropSource:
    return FolderDropSource(config.model_copy(update={"path": str(ctx.resolve(config.path))}))


def _sink(config: FolderSinkConfig, ctx: PluginContext) -> FolderSink:
    return FolderSink(config.model_copy(update={"path": str(ctx.resolve(config.path))}), target=ctx.target)


#: Registered under the ``esb_bridge.plugins`` entry point ``folder``: kind ``folder`` as a source and as a
#: sink, and the ``file`` sink.
PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        SOURCE,
        "folder",
        FolderSourceConfig,
        _source,
        description="poll a local drop folder (watchdog wake-up, same rules as sftp)",
    ),
    plugin(
        SINK,
        "folder",
        FolderSinkConfig,
        _sink,
        description="write one file per message into a local folder (temp name, rename)",
    ),
    plugin(SINK, "file", FileSinkConfig, FileSink, description="files in a folder, idempotent"),
    plugin(
        LISTING,
        "folder",
        FolderListingConfig,
        lambda c, ctx: DropListing(c.model_copy(update={"path": str(ctx.resolve(c.path))}), LocalFileSystem()),
        description="the delivered files of a local folder, keys from names or JSON (reconcile)",
    ),
)
