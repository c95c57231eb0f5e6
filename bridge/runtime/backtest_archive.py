"""What a backtest reads and where its cloud path writes: archived files as sources, and a sink that sends nothing.

* :func:`archived_files` lists a folder's files with their original time (the file's mtime), oldest first.
* :class:`ArchiveSource` hands the archived inputs of the current slice on, one at a time, and sets the
  backtest's :class:`~bridge.ports.SimulatedClock` to each file's original time before it does: every
  record is ingested, routed, delivered and compared "at" the time it came in last month.
* :class:`ArchiveObservations` hands on the archived legacy outputs whose time has come (by that same Clock),
  for pairing as a live shadow's observations are.
* :class:`NoSendSink` stands in for a live sink: dry-run deliveries are recorded as "not sent", and a call to
  ``deliver`` (which the runtime never makes for a dry run) is refused, so a backtest cannot reach a live target.

Both sources leave the archive as it is: ``acknowledge`` moves nothing (the archive is evidence, not a drop).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from bridge.ports import (
    BridgeError,
    Delivery,
    Envelope,
    IdentityRule,
    Outcome,
    OutcomeStatus,
    PermanentError,
    Resource,
    SimulatedClock,
    SourceContext,
)
from bridge.store.records import BatchState

__all__ = ["ArchiveObservations", "ArchiveSource", "ArchivedFile", "NoSendSink", "archived_files"]

log = logging.getLogger("esb_bridge.runtime.backtest")

DONE = BatchState.ACKNOWLEDGED
_MEDIA = {".xml": "application/xml", ".json": "application/json", ".jsonl": "application/x-ndjson", ".csv": "text/csv"}


@dataclass(frozen=True)
class ArchivedFile:
    path: Path
    time: datetime
    size: int

    @property
    def day(self) -> date:
        return self.time.date()


def archived_files(
    folder: Path, include: Sequence[str] = (), since: date | None = None, until: date | None = None
) -> list[ArchivedFile]:
    """The files of ``folder`` (and below) matching ``include`` (all when empty), with their mtime as UTC, in
    the order they came (time, then name); hidden and temporary files are skipped. ``since``/``until``
    (inclusive) keep the days of that period only."""
    out = []
    for p in folder.rglob("*"):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if include and not any(fnmatch.fnmatch(p.name, pat) for pat in include):
            continue
        st = p.stat()
        f = ArchivedFile(p, datetime.fromtimestamp(st.st_mtime, UTC), st.st_size)
        if (since is not None and f.day < since) or (until is not None and f.day > until):
            continue
        out.append(f)
    return sorted(out, key=lambda f: (f.time, str(f.path)))


def _envelope(interface: str, f: ArchivedFile, received: datetime) -> Envelope:
    sha = hashlib.sha256(f.path.read_bytes()).hexdigest()
    batch_id = f"archive:{f.path.name}:{f.size}:{f.time.timestamp():.6f}:{sha}"
    return Envelope(
        interface=interface,
        batch_id=batch_id,
        origin=str(f.path),
        identity_rule=IdentityRule.FILE,
        identity=sha,
        received_at=received,
        transaction_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{interface}\x1f{batch_id}")),
        spool_path=f.path,
        media_type=_MEDIA.get(f.path.suffix.lower(), "application/octet-stream"),
        size=f.size,
    )


class ArchiveSource(Resource):
    """The archived inputs of one slice (set ``slice`` before each poll), at their original times."""

    def __init__(self, interface: str, clock: SimulatedClock) -> None:
        self.interface = interface
        self.clock = clock
        self.slice: list[ArchivedFile] = []
        self._ctx: SourceContext | None = None

    def open(self, context: SourceContext) -> None:
        self._ctx = context

    def poll(self) -> Iterator[Envelope]:
        for f in self.slice:
            if f.time > self.clock.now():
                self.clock.set(f.time)
            env = _envelope(self.interface, f, self.clock.now())
            # A file whose batch is already in (a backtest resumed after a kill) is not read again.
            if self._ctx is not None and self._ctx.ledger.batch_state(self.interface, env.batch_id) == DONE:
                continue
            yield env

    def acknowledge(self, envelope: Envelope) -> None:
        """The archive stays as it is."""

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        log.warning("backtest: archived input %s failed as a whole: %s", envelope.origin, error)


class ArchiveObservations(Resource):
    """The old system's archived outputs, each handed on once the backtest's Clock has reached its time."""

    def __init__(self, interface: str, files: list[ArchivedFile], clock: SimulatedClock) -> None:
        self.interface = interface
        self.files = files
        self.clock = clock
        self._next = 0

    def open(self, context: SourceContext) -> None:
        self._next = 0

    def poll(self) -> Iterator[Envelope]:
        now = self.clock.now()
        while self._next < len(self.files) and self.files[self._next].time <= now:
            f = self.files[self._next]
            self._next += 1
            yield _envelope(f"{self.interface}.observe", f, now)

    def acknowledge(self, envelope: Envelope) -> None:
        """The archive stays as it is (an observation is recorded once per identity anyway)."""

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        log.warning("backtest: archived legacy output %s not readable: %s", envelope.origin, error)


class NoSendSink(Resource):
    """In place of a path's live sink during a backtest: nothing it is given leaves the process."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.refused = 0

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        return Outcome(
            OutcomeStatus.DELIVERED,
            detail="backtest dry run: not sent",
            metadata={"dry_run": "true", "backtest": "true"},
        )

    def deliver(self, delivery: Delivery) -> Outcome:
        self.refused += 1
        raise PermanentError(f"a backtest never delivers to the live target {self.target}")
