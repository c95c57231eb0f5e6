"""The drop poller: listing, readiness, streaming download with identity, ledger states, after-processing.

One engine for every drop transport. It talks to a :class:`DropFileSystem` (SFTP or local folder), so the
SFTP and folder sources behave identically and one contract suite tests both. What it guarantees:

- a file is yielded only when ready under the drop's rule, and only if it did not change while it was read;
- the file is streamed to a spool file in chunks while its SHA-256 is computed (never held in memory);
- identity = path + size + mtime + SHA-256 (the ``batch_id``); the ledger records ``spooled`` when the
  verified copy exists, ``acknowledged`` / ``failed`` at the end; an acknowledged or failed batch is never
  yielded again, even after a restart and even when its move failed (the move is then retried);
- after-processing (move / delete / leave, error folder with a sidecar) is verified by ``stat`` and a
  failure raises a :class:`~bridge.ports.RetryableError` (and is retried on the next poll), never ignored.

The poller never decodes, never calls a sink and never sleeps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from adapters.legacy.drop import DropEntry, DropSourceConfig, ReadinessTracker, dated_folder, safe_name
from bridge.ports import (
    BridgeError,
    Envelope,
    IdentityRule,
    Location,
    RetryableError,
    SourceContext,
    TargetUnavailable,
)
from bridge.ports.failpoints import failpoint

__all__ = ["CHUNK_SIZE", "Candidate", "DropFileSystem", "DropPoller", "Readable"]

log = logging.getLogger("esb_bridge.legacy.drop")

#: Bytes read per call while streaming a file to the spool folder.
CHUNK_SIZE = 1 << 20

SPOOLED, ACKNOWLEDGED, FAILED = "spooled", "acknowledged", "failed"


class Readable(Protocol):
    def read(self, size: int) -> bytes: ...


class DropFileSystem(Protocol):
    """The few file operations a drop needs. Paths are absolute POSIX strings on that file system.

    File-level problems raise :class:`OSError` (``FileNotFoundError``, ``FileExistsError``,
    ``PermissionError``); connection-level problems raise :class:`~bridge.ports.RetryableError`.
    """

    def list_folder(self, folder: str) -> list[tuple[str, bool, int, float]]:
        """``(name, is_dir, size, mtime)`` for each entry of ``folder``."""
        ...

    def stat(self, path: str) -> DropEntry | None: ...

    def open_read(self, path: str, size: int) -> AbstractContextManager[Readable]: ...

    def rename(self, src: str, dst: str) -> None:
        """Rename without replacing an existing ``dst`` (``FileExistsError`` then)."""
        ...

    def remove(self, path: str) -> None: ...

    def makedirs(self, path: str) -> None: ...

    def write_bytes(self, path: str, data: bytes) -> None: ...

    def origin(self, path: str) -> str:
        """A URL naming the file for people and the ledger (``sftp://user@host:port/path``)."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A listed file and the poller's verdict on it (``esb-bridge sftp doctor`` prints these)."""

    entry: DropEntry
    ready: bool
    reason: str
    trigger: str | None = None


class DropPoller:
    """Drop logic over any :class:`DropFileSystem`; sources wrap it with their transport."""

    def __init__(self, config: DropSourceConfig, filesystem: Callable[[], DropFileSystem], *, scheme: str) -> None:
        self.config = config
        self._filesystem = filesystem
        self._scheme = scheme
        self._tracker = ReadinessTracker(config.readiness)
        self._context: SourceContext | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    def open(self, context: SourceContext) -> None:
        context.spool_dir.mkdir(parents=True, exist_ok=True)
        self._context = context

    @property
    def context(self) -> SourceContext:
        if self._context is None:
            raise RuntimeError("the source is not open: call open(context) first")
        return self._context

    # ------------------------------------------------------------------------------------------ listing

    def _skipped_folders(self) -> set[str]:
        after = self.config.after
        return {self.config.folder(after.move_to).rstrip("/"), self.config.folder(after.error_to).rstrip("/")}

    def _walk(self, fs: DropFileSystem) -> Iterator[tuple[str, list[tuple[str, bool, int, float]]]]:
        skipped = self._skipped_folders()
        pending = [self.config.path.rstrip("/") or "/"]
        while pending:
            folder = pending.pop()
            try:
                entries = fs.list_folder(folder)
            except OSError as exc:  # missing or unreadable drop folder (an unmounted share, a typo): retry later
                where = Location(file=folder)
                raise TargetUnavailable(f"cannot list drop folder {folder}: {exc}", location=where) from exc
            yield folder, entries
            if self.config.recursive:
                for name, is_dir, _size, _mtime in entries:
                    child = posixpath.join(folder, name)
                    if is_dir and child not in skipped and not name.startswith("."):
                        pending.append(child)

    def scan(self, fs: DropFileSystem | None = None) -> list[Candidate]:
        """Every selected file of the drop with whether it is ready and why (oldest first)."""
        fs = fs or self._filesystem()
        now = self.context.clock.now()
        base = self.config.path.rstrip("/")
        found: list[Candidate] = []
        listed: set[str] = set()
        skipped = self._skipped_folders()
        for folder, entries in self._walk(fs):
            names = {name for name, is_dir, _s, _m in entries if not is_dir}
            for name, is_dir, size, mtime in entries:
                if is_dir or self._tracker.is_trigger(name):
                    continue
                entry = DropEntry(posixpath.join(folder, name), size, mtime)
                if entry.path in skipped:
                    continue
                relative = entry.path[len(base) :].lstrip("/")
                if not self.config.selects(relative):
                    continue
                listed.add(entry.path)
                try:
                    safe_name(name, where=entry.path)
                except BridgeError as exc:
                    found.append(Candidate(entry, False, str(exc)))
                    continue
                resolution = getattr(fs, "mtime_resolution", 0.0)
                ready, reason, trigger = self._tracker.decide(entry, names, now, mtime_resolution=resolution)
                found.append(Candidate(entry, ready, reason, trigger))
        self._tracker.retain(listed)
        found.sort(key=lambda c: (c.entry.mtime, c.entry.path))
        return found

    # ------------------------------------------------------------------------------------------ polling

    def _seen_key(self, entry: DropEntry) -> str:
        return f"seen:{entry.listing_key}"

    def poll(self) -> Iterator[Envelope]:
        """Yield ready files, oldest first, at most ``max_files_per_poll``, one download at a time."""
        ctx = self.context
        fs = self._filesystem()
        yielded = 0
        for candidate in self.scan(fs):
            if yielded >= self.config.max_files_per_poll:
                return
            if not candidate.ready:
                continue
            if self.config.after.effective_action == "leave":
                # A left file stays listed forever: skip re-reading it by its listing (path, size, mtime).
                # Moved/deleted files are gone after acknowledge, so one still listed is re-read and matched
                # by content too (a new file with the same name, size and mtime second is not lost).
                known = ctx.ledger.get_cursor(ctx.interface, self._seen_key(candidate.entry))
                if known is not None and self._settle_quietly(fs, known, candidate):
                    continue
            try:
                envelope = self._download(fs, candidate)
            except OSError as exc:  # this file cannot be read (permissions): report it, go on with the others
                log.error("drop file %s cannot be read: %s; skipped this poll", candidate.entry.path, exc)
                continue
            if envelope is None:
                continue
            state = ctx.ledger.batch_state(ctx.interface, envelope.batch_id)
            if state in (ACKNOWLEDGED, FAILED):
                ctx.ledger.set_cursor(ctx.interface, self._seen_key(candidate.entry), envelope.batch_id)
                self._discard_spool(envelope)
                self._settle_quietly(fs, envelope.batch_id, candidate)
                continue
            ctx.ledger.mark_batch(ctx.interface, envelope.batch_id, SPOOLED, origin=envelope.origin)
            yielded += 1
            yield envelope

    def _settle_quietly(self, fs: DropFileSystem, batch_id: str, candidate: Candidate) -> bool:
        """Like ``_settle_known``, but a still-failing after-processing (already logged as an ERROR) does not
        stop the poll: one stuck file must not block every new file behind it."""
        try:
            return self._settle_known(fs, batch_id, candidate)
        except RetryableError:
            return True

    def _settle_known(self, fs: DropFileSystem, batch_id: str, candidate: Candidate) -> bool:
        """A file whose identity the ledger already finished: finish its after-processing; True = skip it."""
        ctx = self.context
        state = ctx.ledger.batch_state(ctx.interface, batch_id)
        if state == ACKNOWLEDGED:
            self._after_success(fs, candidate.entry, candidate.trigger, batch_id, retrying=True)
            return True
        if state == FAILED:
            sidecar = ctx.ledger.get_cursor(ctx.interface, f"error:{batch_id}") or "{}"
            self._after_failure(fs, candidate.entry, candidate.trigger, sidecar, batch_id, retrying=True)
            return True
        return False

    def _download(self, fs: DropFileSystem, candidate: Candidate) -> Envelope | None:
        """Stream one file to the spool folder, hashing as it goes; ``None`` if it changed meanwhile."""
        ctx = self.context
        entry = candidate.entry
        part = ctx.spool_dir / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        try:
            with fs.open_read(entry.path, entry.size) as remote, part.open("wb") as local:
                copied = _copy(remote, local, digest)
            failpoint("spooled")  # copied to the spool, not yet an envelope
            after = fs.stat(entry.path)
        except FileNotFoundError:
            part.unlink(missing_ok=True)
            self._tracker.forget(entry.path)
            log.info("drop file %s vanished before it was read; skipped", entry.path)
            return None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        if after is None or (after.size, after.mtime) != (entry.size, entry.mtime) or copied != entry.size:
            part.unlink(missing_ok=True)
            self._tracker.forget(entry.path)
            log.warning("drop file %s changed while it was read; it will be read when ready again", entry.path)
            return None
        sha = digest.hexdigest()
        spool = ctx.spool_dir / f"{sha}.{uuid.uuid4().hex[:8]}.spool"
        part.rename(spool)
        batch_id = f"{entry.listing_key}|{sha}"
        metadata = {
            "path": entry.path,
            "name": entry.name,
            "size": str(entry.size),
            "mtime": f"{entry.mtime:.6f}",
            "sha256": sha,
            "listing_key": entry.listing_key,
        }
        if candidate.trigger:
            metadata["trigger"] = candidate.trigger
        return Envelope(
            interface=ctx.interface,
            batch_id=batch_id,
            origin=fs.origin(entry.path),
            identity_rule=IdentityRule.FILE,
            identity=sha,
            received_at=ctx.clock.now(),
            transaction_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.interface}\x1f{batch_id}")),
            spool_path=spool,
            media_type=self.config.media_type or _guess_media_type(entry.name),
            size=entry.size,
            metadata=metadata,
        )

    # ------------------------------------------------------------------------------------------ afterwards

    def acknowledge(self, envelope: Envelope) -> None:
        """Record ``acknowledged`` first, then move/delete/leave the file; idempotent."""
        ctx = self.context
        entry = _entry_of(envelope)
        ctx.ledger.mark_batch(ctx.interface, envelope.batch_id, ACKNOWLEDGED, origin=envelope.origin)
        ctx.ledger.set_cursor(ctx.interface, self._seen_key(entry), envelope.batch_id)
        self._discard_spool(envelope)
        self._after_success(self._filesystem(), entry, envelope.metadata.get("trigger"), envelope.batch_id)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        """Record ``failed`` with the reason, then put the file into the error folder with a sidecar."""
        ctx = self.context
        entry = _entry_of(envelope)
        sidecar = json.dumps(
            {
                "file": entry.name,
                "origin": envelope.origin,
                "batch_id": envelope.batch_id,
                "sha256": envelope.identity,
                "failed_at": ctx.clock.now().isoformat(),
                "error": error.to_dict(),
            },
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        ctx.ledger.mark_batch(ctx.interface, envelope.batch_id, FAILED, origin=envelope.origin, detail=str(error))
        ctx.ledger.set_cursor(ctx.interface, f"error:{envelope.batch_id}", sidecar)
        ctx.ledger.set_cursor(ctx.interface, self._seen_key(entry), envelope.batch_id)
        self._discard_spool(envelope)
        self._after_failure(self._filesystem(), entry, envelope.metadata.get("trigger"), sidecar, envelope.batch_id)

    def _after_success(
        self, fs: DropFileSystem, entry: DropEntry, trigger: str | None, batch_id: str, *, retrying: bool = False
    ) -> None:
        action = self.config.after.effective_action
        if action == "leave":
            return
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                if action == "delete":
                    self._remove_verified(fs, entry.path)
                else:
                    target = self.config.folder(self.config.after.move_to)
                    if self.config.after.dated:
                        target = dated_folder(target, self.context.clock.now())
                    moved = self._move_verified(fs, entry, target, batch_id.rsplit("|", 1)[-1][:12])
                    self._relocated(fs, batch_id, entry, moved)
                if trigger:
                    self._remove_verified(fs, trigger)
                break
            except (OSError, RetryableError) as exc:
                if attempt == _ATTEMPTS:
                    self._report_after_failure(action, entry, exc, retrying)
                log.warning("after-processing (%s) of %s failed (attempt %d): %s", action, entry.path, attempt, exc)
        if retrying:
            log.info("after-processing of %s (%s) completed on retry", entry.path, action)

    def _after_failure(
        self,
        fs: DropFileSystem,
        entry: DropEntry,
        trigger: str | None,
        sidecar: str,
        batch_id: str,
        *,
        retrying: bool = False,
    ) -> None:
        folder = self.config.folder(self.config.after.error_to)
        sidecar_path = posixpath.join(folder, entry.name + ".error.json")
        try:
            if not retrying or fs.stat(sidecar_path) is None:
                fs.makedirs(folder)
                fs.write_bytes(sidecar_path, sidecar.encode())
            if self.config.after.effective_action != "leave":
                moved = self._move_verified(fs, entry, folder, hashlib.sha256(sidecar.encode()).hexdigest()[:12])
                self._relocated(fs, batch_id, entry, moved)
                if trigger:
                    self._remove_verified(fs, trigger)
        except (OSError, RetryableError) as exc:
            self._report_after_failure("move to error folder", entry, exc, retrying)

    def _report_after_failure(self, action: str, entry: DropEntry, exc: Exception, retrying: bool) -> None:
        log.error("after-processing (%s) of %s failed: %s; it is retried on the next poll", action, entry.path, exc)
        raise TargetUnavailable(
            f"after-processing ({action}) of {entry.path} failed{' again' if retrying else ''}: {exc}; "
            "the batch is recorded and the action is retried on the next poll",
            location=Location(file=entry.path),
        ) from exc

    def _relocated(self, fs: DropFileSystem, batch_id: str, entry: DropEntry, moved: str | None) -> None:
        """Dead letters of the batch name the file where it is now, not where it was read."""
        if moved is not None:
            self.context.ledger.relocate_batch(
                self.context.interface, batch_id, fs.origin(entry.path), fs.origin(moved)
            )

    def _move_verified(self, fs: DropFileSystem, entry: DropEntry, folder: str, tag: str) -> str | None:
        """Move the file into ``folder`` (a new name if one is taken); returns where it is now (None: it was
        already moved by an earlier attempt)."""
        current = fs.stat(entry.path)
        if current is None:
            return None  # already moved by an earlier attempt
        fs.makedirs(folder)
        target = posixpath.join(folder, entry.name)
        try:
            fs.rename(entry.path, target)
        except FileExistsError:
            target = posixpath.join(folder, f"{entry.name}.{tag}")
            if fs.stat(target) is not None:
                target = posixpath.join(folder, f"{entry.name}.{tag}.{uuid.uuid4().hex[:8]}")
            fs.rename(entry.path, target)
        moved = fs.stat(target)
        if moved is None or moved.size != current.size or fs.stat(entry.path) is not None:
            raise OSError(f"move of {entry.path} to {target} could not be verified")
        return target

    def _remove_verified(self, fs: DropFileSystem, path: str) -> None:
        try:
            fs.remove(path)
        except FileNotFoundError:
            return
        if fs.stat(path) is not None:
            raise OSError(f"{path} still exists after delete")

    def _discard_spool(self, envelope: Envelope) -> None:
        if envelope.spool_path is not None:
            Path(envelope.spool_path).unlink(missing_ok=True)


def _copy(remote: Readable, local: BinaryIO, digest: Any) -> int:
    """Copy ``remote`` to ``local`` while hashing; hashing and writing run on a helper thread so they overlap
    the network reads (both release the GIL). At most ``_QUEUE`` chunks wait in memory."""
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE)
    failure: list[BaseException] = []

    def sink() -> None:
        while (chunk := chunks.get()) is not None:
            if not failure:
                try:
                    digest.update(chunk)
                    local.write(chunk)
                except BaseException as exc:  # re-raised in the reading thread
                    failure.append(exc)

    writer = threading.Thread(target=sink, name="drop-spool-writer", daemon=True)
    writer.start()
    copied = 0
    try:
        while not failure and (chunk := remote.read(CHUNK_SIZE)):
            chunks.put(chunk)
            copied += len(chunk)
    finally:
        chunks.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return copied


_QUEUE = 4

#: Immediate attempts of an after-processing action before it is reported (and retried on the next poll).
_ATTEMPTS = 2


def _entry_of(envelope: Envelope) -> DropEntry:
    meta = envelope.metadata
    return DropEntry(meta["path"], int(meta["size"]), float(meta["mtime"]))


_MEDIA_TYPES = {
    ".xml": "application/xml",
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".txt": "text/plain",
    ".dat": "application/octet-stream",
}


def _guess_media_type(name: str) -> str:
    return _MEDIA_TYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")
