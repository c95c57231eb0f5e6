"""The ``forward`` legacy path kind: the original input, byte for byte, handed to the old ESB's inbox.

The old ESB reads whole files (or pages, or events), not canonical records, so forwarding is per batch, not
per record: once a batch is fully decoded, its bytes are stored in the ledger's blob store
(:mod:`bridge.store.blobs`, chunked, compressed, sealed like every stored byte) and ONE delivery is recorded
for it (a ``forward`` message whose id derives from the batch id, and is the blob's id, so re-reading the
input after a crash records nothing twice). The blob is committed before the message, so the source is
acknowledged only once its bytes are as durable as the ledger: any node sharing the ledger can deliver them,
and losing a node's disk loses nothing. The delivery worker streams the blob to the legacy sink
(:class:`~bridge.ports.StreamedEncoded`: flat memory for a file of any size); the blob is dropped in the
transaction that records the delivery delivered (a dead-lettered forward keeps it, so ``dlq replay`` can
send it again). Which role the forward plays follows the routing of the batch's records: authoritative if
any record went to the legacy path authoritatively, shadow otherwise, none when no record was routed to
legacy (``cloud_only``).

Upgrade: forwards recorded before the blob store kept their bytes in a spool file named by the message's
payload (``spool``). At start the runner loads every such file still there into the blob store
(:func:`adopt_spooled_forwards`); a delivery whose blob is missing still reads its old spool file as a
fall-back (a forward spooled on another node's disk, or by a process that has not restarted since).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from bridge.ports import Encoded, Envelope, PathName, Role, StreamedEncoded, message_id
from bridge.store.blobs import BlobMissing
from bridge.store.ledger import Ledger
from bridge.store.records import MessageKind, NewMessage, NewRoute

__all__ = ["ForwardPlan", "adopt_spooled_forwards", "forward_message", "forwarded_bytes"]

log = logging.getLogger("esb_bridge.runtime.forward")


@dataclass
class ForwardPlan:
    """The legacy routing seen across one batch's records."""

    authoritative: bool = False
    shadow: bool = False
    dry_run: bool = True
    sandbox: bool = True

    def see(self, role: Role, dry_run: bool, sandbox: bool) -> None:
        if role is Role.AUTHORITATIVE:
            self.authoritative = True
        else:
            self.shadow = True
        self.dry_run = self.dry_run and dry_run
        self.sandbox = self.sandbox and sandbox

    @property
    def routed(self) -> bool:
        return self.authoritative or self.shadow


def forward_message(
    ledger: Ledger, interface: str, envelope: Envelope, plan: ForwardPlan, target: str, mode: str
) -> NewMessage:
    """Store the batch's bytes in the ledger's blob store (committed on return) and describe the one delivery
    that hands them on. A forward already recorded whose bytes are stored or no longer needed (delivered) is
    not stored again: re-recording it is a no-op."""
    mid = str(message_id(interface, f"forward:{envelope.batch_id}"))
    digest = ""
    if ledger.blob_needed(mid):
        with envelope.open() as src:
            digest = ledger.store_blob(interface, mid, src).sha256
    name = envelope.metadata.get("name") or Path(envelope.origin.rstrip("/")).name or f"{mid}.dat"
    payload = {"blob": mid, "name": name, "media_type": envelope.media_type, "origin": envelope.origin}
    role = Role.AUTHORITATIVE if plan.authoritative else Role.SHADOW
    return NewMessage(
        id=mid,
        ordinal=-1,
        identity=f"forward:{envelope.batch_id}",
        canonical=MessageKind.FORWARD.value,  # shown in listings as before; ``kind`` is what code tests
        business_key=f"forward:{interface}",
        content_hash=digest,  # SHA-256 of the bytes (kept from the first recording when not stored again)
        payload=orjson.dumps(payload).decode(),
        transaction_id=envelope.transaction_id,
        mode=mode,
        routes=(NewRoute(PathName.LEGACY, role, target, plan.dry_run and not plan.authoritative),),
        kind=MessageKind.FORWARD,
    )


def forwarded_bytes(ledger: Ledger, message: str, payload: str) -> Encoded:
    """The original bytes of forward message ``message`` as the sink receives them: a stream of its blob, or
    (a forward spooled before the blob store) of its old spool file; raises :class:`BlobMissing` when neither
    is there."""
    meta = orjson.loads(payload)
    media_type = meta.get("media_type") or "application/octet-stream"
    info = ledger.blob_info(message)
    if info is not None and info.complete:
        return StreamedEncoded(lambda: ledger.open_blob(message), info.size, media_type, meta["name"])
    spooled = meta.get("spool")
    if spooled and Path(spooled).is_file():  # recorded before the blob store, not loaded into it yet
        path = Path(spooled)
        opener: Callable[[], BinaryIO] = lambda: path.open("rb")  # noqa: E731
        return StreamedEncoded(opener, path.stat().st_size, media_type, meta["name"])
    where = f" nor in its old spool file {spooled}" if spooled else ""
    raise BlobMissing(f"the bytes of forward {message} are not in the ledger{where}")


def adopt_spooled_forwards(ledger: Ledger, interface: str) -> int:
    """Load the old spool files of ``interface``'s undelivered forwards into the blob store (the upgrade path:
    see the module docstring); each file is removed once its blob is committed. Returns how many were loaded."""
    loaded = 0
    for mid, payload in ledger.spooled_forwards(interface):
        spooled = orjson.loads(payload).get("spool")
        path = Path(spooled) if spooled else None
        if path is None or not path.is_file():
            continue
        with path.open("rb") as src:
            ledger.store_blob(interface, mid, src)
        path.unlink(missing_ok=True)
        loaded += 1
    if loaded:
        log.info("%s: %d forward spool file(s) loaded into the ledger's blob store", interface, loaded)
    return loaded
