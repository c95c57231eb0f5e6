"""Blobs: bytes too big for a column, kept in the ledger in chunks (the bytes of forwarded batches).

Why: a ``forward`` legacy path acknowledges its source once the batch is recorded, so its bytes must be as
durable as the ledger before that acknowledge, and readable by any node that shares the ledger (or by this
one after losing its disk). A local spool file is neither. So the bytes go into ``blob_chunks``: one row per
chunk of :data:`CHUNK` bytes (1 MiB), each compressed on its own (zstd level 1; stored as it is when that
does not make it smaller, as for already compressed input) and, for an interface with sensitive fields,
sealed after compression (AES-GCM, :mod:`bridge.store.sealing`), as every other stored byte is.

Memory is flat whatever the size: :meth:`BlobLedger.store_blob` reads its stream a chunk at a time and
commits every :data:`GROUP` chunks (short write transactions: a 1 GB file does not hold SQLite's writer lock
for its whole length), and :class:`BlobReader` fetches one chunk per query as the reader asks for bytes.

Rules that keep "nothing lost, nothing twice":

* a blob's id is its forward message's id (UUIDv5 of the batch id), so a re-read batch finds its blob;
* ``blobs.complete`` turns true in the transaction of the last chunk, and the forward message is recorded
  after that: a delivery never reads a partial blob. A blob left incomplete by a crash is written again from
  the start when its batch is re-read; one whose batch never comes back is an orphan ``ledger prune`` drops;
* the blob is deleted in the transaction that records its forward delivered (:mod:`bridge.store.deliveries`);
  (a dry run's too: nothing would ever send it); a dead-lettered forward keeps it, so ``dlq replay`` sends it
  again; ``prune`` drops orphans and what pruned messages left.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Final

import zstandard
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from bridge.ports import ConnectionFailed, PermanentError
from bridge.store import schema as t
from bridge.store._core import LedgerCore
from bridge.store.packing import SEALED, unpack_payload
from bridge.store.records import OPEN_DELIVERY, DeliveryStatus, MessageKind
from bridge.store.sealing import Protection

__all__ = ["CHUNK", "GROUP", "BlobInfo", "BlobLedger", "BlobMissing", "BlobReader", "ChunkPacking", "discard_blob_rows"]

#: Bytes per chunk row.
CHUNK: Final = 1 << 20
#: Chunks written per transaction.
GROUP: Final = 8
_LEVEL = 1


class ChunkPacking:
    """Values of ``blob_chunks.packing`` (``+ SEALED`` when sealed after packing)."""

    RAW: Final = 0
    ZSTD: Final = 1


class BlobMissing(PermanentError):
    """A blob that should be in the ledger is not (never stored, deleted, pruned) or is damaged."""

    code = "blob_missing"


@dataclass(frozen=True)
class BlobInfo:
    """What the ``blobs`` row says of a blob."""

    id: str
    interface: str
    size: int
    chunks: int
    sha256: str
    complete: bool


def _pack(
    chunk: bytes, compressor: zstandard.ZstdCompressor, protection: Protection, interface: str
) -> tuple[int, bytes]:
    packed = compressor.compress(chunk)
    packing, data = (ChunkPacking.ZSTD, packed) if len(packed) < len(chunk) else (ChunkPacking.RAW, chunk)
    seal = protection.sealer(interface)
    if seal is not None:
        return packing | SEALED, seal(data)
    return packing, data


def _unpack(packing: int, data: bytes, protection: Protection, decompressor: zstandard.ZstdDecompressor) -> bytes:
    if packing & SEALED:
        data, packing = protection.open_blob(data), packing & ~SEALED
    if packing == ChunkPacking.ZSTD:
        return decompressor.decompress(data)
    return data


class BlobReader(io.RawIOBase):
    """A blob's bytes as a binary stream: one chunk fetched (one short query) at a time, checked at the end.

    Raises :class:`BlobMissing` when a chunk is missing or the bytes read do not match the blob's recorded
    size and SHA-256 (a damaged blob is never passed off as the original).
    """

    def __init__(self, engine: Engine, info: BlobInfo, protection: Protection) -> None:
        super().__init__()
        self._engine = engine
        self._info = info
        self._protection = protection
        self._seq = 0
        self._buf = memoryview(b"")
        self._digest = hashlib.sha256()
        self._read = 0
        self._decompressor = zstandard.ZstdDecompressor()

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            if self._seq >= self._info.chunks:
                self._check_end()
                return 0
            self._buf = memoryview(self._fetch(self._seq))
            self._seq += 1
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def _fetch(self, seq: int) -> bytes:
        c = t.blob_chunks.c
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(c.packing, c.data).where(c.blob_id == self._info.id, c.seq == seq)).first()
                shrink(conn)
        except DBAPIError as exc:  # the ledger's connection failed mid-stream: the attempt is retried
            raise ConnectionFailed(f"reading chunk {seq} of blob {self._info.id}: {exc.orig}") from exc
        if row is None:
            raise BlobMissing(f"blob {self._info.id}: chunk {seq} of {self._info.chunks} is missing")
        chunk = _unpack(int(row[0]), bytes(row[1]), self._protection, self._decompressor)
        self._digest.update(chunk)
        self._read += len(chunk)
        return chunk

    def _check_end(self) -> None:
        if self._read != self._info.size or self._digest.hexdigest() != self._info.sha256:
            raise BlobMissing(
                f"blob {self._info.id} is damaged: read {self._read} bytes of {self._info.size} "
                "or their SHA-256 differs from the one recorded"
            )


def shrink(conn: Connection) -> None:
    """On SQLite, hand back the page cache ``conn`` filled with chunk pages: the ledger's pooled connections
    keep a 16 MB cache each (:mod:`bridge.store.engine`), and chunk pages passing through several of them
    would keep tens of MB resident for nothing (measured: peak RSS growth 44 MB -> see the issue 17 report)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA shrink_memory")


def discard_blob_rows(conn: Connection, blob_ids: Sequence[str]) -> int:
    """Drop blobs in ``conn``'s transaction (the one that records their forward delivered)."""
    ids = list(blob_ids)
    conn.execute(delete(t.blob_chunks).where(t.blob_chunks.c.blob_id.in_(ids)))
    gone = int(conn.execute(delete(t.blobs).where(t.blobs.c.id.in_(ids))).rowcount or 0)
    shrink(conn)
    return gone


class BlobLedger(LedgerCore):
    """Storing, reading and dropping blobs (see the module docstring)."""

    def store_blob(self, interface: str, blob_id: str, stream: BinaryIO) -> BlobInfo:
        """Store ``stream`` (read to its end) as blob ``blob_id``; a complete blob of that id is kept as it is
        (same id, same batch, same bytes) and ``stream`` is not read."""
        existing = self.blob_info(blob_id)
        if existing is not None and existing.complete:
            return existing
        b, c = t.blobs, t.blob_chunks
        now = self._now()
        with self.engine.begin() as conn:  # an incomplete blob a crash left is written again from the start
            conn.execute(delete(c).where(c.c.blob_id == blob_id))
            conn.execute(delete(b).where(b.c.id == blob_id))
            conn.execute(
                b.insert().values(
                    id=blob_id, interface=interface, size=0, chunks=0, sha256="", complete=False, created_at=now
                )
            )
        compressor = zstandard.ZstdCompressor(level=_LEVEL, write_checksum=False)
        digest, size, seq = hashlib.sha256(), 0, 0
        group: list[dict[str, object]] = []
        while True:
            chunk = stream.read(CHUNK)
            last = not chunk
            if chunk:
                digest.update(chunk)
                size += len(chunk)
                packing, data = _pack(chunk, compressor, self.protection, interface)
                group.append({"blob_id": blob_id, "seq": seq, "packing": packing, "data": data})
                seq += 1
                del chunk, data
            if len(group) < GROUP and not last:
                continue
            with self.engine.begin() as conn:
                if group:
                    conn.execute(c.insert(), group)
                    shrink(conn)
                if last:
                    conn.execute(
                        update(b)
                        .where(b.c.id == blob_id)
                        .values(size=size, chunks=seq, sha256=digest.hexdigest(), complete=True)
                    )
            group = []
            if last:
                break
        return BlobInfo(blob_id, interface, size, seq, digest.hexdigest(), True)

    def blob_info(self, blob_id: str) -> BlobInfo | None:
        """The ``blobs`` row of ``blob_id``, or None."""
        b = t.blobs.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(b.id, b.interface, b.size, b.chunks, b.sha256, b.complete).where(b.id == blob_id)
            ).first()
        if row is None:
            return None
        return BlobInfo(str(row[0]), str(row[1]), int(row[2]), int(row[3]), str(row[4]), bool(row[5]))

    def open_blob(self, blob_id: str) -> BinaryIO:
        """A stream of the complete blob ``blob_id`` (a :class:`BlobReader`, buffered); raises
        :class:`BlobMissing` when there is none."""
        info = self.blob_info(blob_id)
        if info is None or not info.complete:
            raise BlobMissing(f"blob {blob_id} is not in the ledger (never stored, delivered and dropped, or pruned)")
        return io.BufferedReader(BlobReader(self.engine, info, self.protection), buffer_size=CHUNK)

    def discard_blobs(self, blob_ids: Sequence[str]) -> int:
        """Drop blobs (their chunks first); returns how many ``blobs`` rows went."""
        if not blob_ids:
            return 0
        with self.engine.begin() as conn:
            return discard_blob_rows(conn, blob_ids)

    def blob_needed(self, message_id: str) -> bool:
        """Whether the bytes of forward ``message_id`` must be stored: not when it is recorded and its blob is
        complete, or when none of its deliveries is open or dead any more (delivered: its blob was dropped)."""
        b, m, d = t.blobs.c, t.messages.c, t.deliveries.c
        with self.engine.connect() as conn:
            if conn.scalar(select(m.id).where(m.id == message_id)) is None:
                return True
            if conn.scalar(select(b.complete).where(b.id == message_id)):
                return False
            waiting = (*OPEN_DELIVERY, DeliveryStatus.DEAD)
            return (
                conn.scalar(
                    select(d.id).where(d.message_id == message_id, d.status.in_([s.value for s in waiting])).limit(1)
                )
                is not None
            )

    def spooled_forwards(self, interface: str) -> list[tuple[str, str]]:
        """(message id, payload) of ``interface``'s forwards with an open or dead delivery and no complete blob:
        those recorded before the blob store, whose bytes may still be in an old spool file."""
        b, m, d = t.blobs.c, t.messages.c, t.deliveries.c
        waiting = [s.value for s in (*OPEN_DELIVERY, DeliveryStatus.DEAD)]
        has_blob = select(b.id).where(b.id == m.id, b.complete.is_(True)).exists()
        with self.engine.connect() as conn:  # from the open and dead deliveries (indexed by status), not messages
            rows = conn.execute(
                select(m.id, m.payload, m.payload_z, m.packing)
                .distinct()
                .join(t.deliveries, d.message_id == m.id)
                .where(d.status.in_(waiting), d.interface == interface, m.kind == MessageKind.FORWARD.value, ~has_blob)
            ).all()
        out = []
        for mid, payload, payload_z, packing in rows:
            text = unpack_payload(str(mid), payload, payload_z, packing, self.protection.open_blob)
            if '"spool"' in text:
                out.append((str(mid), text))
        return out

    def blob_bytes(self) -> int:
        """Bytes the blob chunks hold as stored (compressed, sealed)."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(func.length(t.blob_chunks.c.data)), 0))) or 0)

    def blobs_before(self, before: datetime) -> list[str]:
        """Ids of blobs created before ``before`` (for prune's orphan check)."""
        with self.engine.connect() as conn:
            return list(conn.scalars(select(t.blobs.c.id).where(t.blobs.c.created_at < before)))
