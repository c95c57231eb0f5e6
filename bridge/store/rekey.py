"""``ledger rekey``: every stored blob moved to the current data key, and clear blobs of sealed interfaces sealed.

Why: rotating a key means adding the new one in front of ``ESB_BRIDGE_DATA_KEY`` (new blobs are sealed with
it at once, old ones still open with the old key), running this, then dropping the old key. The same pass
seals what an interface stored before it declared sensitive fields or before a key was set, so turning
protection on covers the ledger's history too. Only the outer seal is redone: a sealed blob is opened and
sealed again, a clear blob gets a seal around what it holds (zlib or plain), so packings keep their meaning
with ``SEALED`` added and no payload is decompressed.

The chunks of forward blobs are covered the same way, a few chunks per transaction. One transaction per
chunk of rows, in id order: a rekey stopped half-way leaves every row readable with the
ring (old and new keys) and is simply run again.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select, update

from bridge.store import schema as t
from bridge.store.blobs import GROUP
from bridge.store.ledger import Ledger
from bridge.store.packing import SEALED, PayloadPacking
from bridge.store.sealing import TEXT_PREFIX, KeyRing, Protection, SealedDataUnavailable, is_sealed, key_id_of

__all__ = ["RekeyStats", "rekey"]

_CHUNK = 500


@dataclass
class RekeyStats:
    """Blobs changed per table: re-sealed with the current key, and sealed for the first time."""

    resealed: dict[str, int] = field(default_factory=dict)
    sealed: dict[str, int] = field(default_factory=dict)

    def count(self, table: str, *, first: bool) -> None:
        into = self.sealed if first else self.resealed
        into[table] = into.get(table, 0) + 1


class _Rekeyer:
    """The new value of one stored blob (None: it stays as it is)."""

    def __init__(self, protection: Protection, ring: KeyRing, stats: RekeyStats) -> None:
        self.p = protection
        self.ring = ring
        self.stats = stats

    def blob(self, table: str, interface: str, data: bytes | None) -> bytes | None:
        if not data:
            return None
        if is_sealed(data):
            if key_id_of(data) == self.ring.current:
                return None
            self.stats.count(table, first=False)
            return self.ring.seal(self.ring.open(data))
        if not self.p.seals(interface):
            return None
        self.stats.count(table, first=True)
        return self.ring.seal(data)

    def text(self, table: str, interface: str, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith(TEXT_PREFIX):
            new = self.blob(table, interface, base64.b64decode(value[len(TEXT_PREFIX) :]))
        elif self.p.seals(interface):
            new = self.blob(table, interface, value.encode())
        else:
            return None
        return None if new is None else TEXT_PREFIX + base64.b64encode(new).decode("ascii")


Changes = Callable[[_Rekeyer, Any], dict[str, Any]]


def _message(r: _Rekeyer, row: Any) -> dict[str, Any]:
    if row.packing is None or row.packing == PayloadPacking.PRUNED:
        return {}
    if row.packing & SEALED or row.packing in (PayloadPacking.ZLIB, PayloadPacking.ZSTD_D1):
        new = r.blob("messages", row.interface, row.payload_z)
        return {} if new is None else {"payload_z": new, "packing": row.packing | SEALED}
    new = r.blob("messages", row.interface, row.payload.encode() if row.payload else None)
    return {} if new is None else {"payload": "", "payload_z": new, "packing": PayloadPacking.TEXT | SEALED}


def _delivery(r: _Rekeyer, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sent = r.blob("deliveries", row.interface, row.sent)
    if sent is not None:
        out.update(sent=sent, sent_packing=row.sent_packing | SEALED)
    response = r.blob("deliveries", row.interface, row.response)
    if response is not None:
        out["response"] = response
    return out


def _dead_letter(r: _Rekeyer, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fragment = r.text("dead_letters", row.interface, row.fragment)
    if fragment is not None:
        out["fragment"] = fragment
    response = r.blob("dead_letters", row.interface, row.response)
    if response is not None:
        out["response"] = response
    return out


def _observation(r: _Rekeyer, row: Any) -> dict[str, Any]:
    body = r.blob("observations", row.interface, row.body)
    return {} if body is None else {"body": body}


_TABLES: Sequence[tuple[Table, tuple[str, ...], Changes]] = (
    (t.messages, ("payload", "payload_z", "packing"), _message),
    (t.deliveries, ("sent", "sent_packing", "response"), _delivery),
    (t.dead_letters, ("fragment", "response"), _dead_letter),
    (t.observations, ("body",), _observation),
)


def rekey(ledger: Ledger) -> RekeyStats:
    """Re-seal every sealed blob not sealed with the current key; seal clear blobs of sealed interfaces."""
    ring = ledger.protection.ring
    if ring is None:
        raise SealedDataUnavailable("ledger rekey needs ESB_BRIDGE_DATA_KEY (the new current key first)")
    stats = RekeyStats()
    r = _Rekeyer(ledger.protection, ring, stats)
    for table, columns, changes in _TABLES:
        key = table.c.id
        last: Any = None
        while True:
            q = select(key, table.c.interface, *(table.c[c] for c in columns)).order_by(key).limit(_CHUNK)
            if last is not None:
                q = q.where(key > last)
            with ledger.engine.begin() as conn:
                rows = conn.execute(q).all()
                if not rows:
                    break
                last = rows[-1].id
                for row in rows:
                    new = changes(r, row)
                    if new:
                        conn.execute(update(table).where(key == row.id).values(**new))
    _blob_chunks(ledger, r)
    return stats


def _blob_chunks(ledger: Ledger, r: _Rekeyer) -> None:
    """The chunks of forward blobs (:mod:`bridge.store.blobs`): a few per transaction (each is up to 1 MiB)."""
    b, c = t.blobs, t.blob_chunks
    with ledger.engine.connect() as conn:
        blobs = conn.execute(select(b.c.id, b.c.interface).order_by(b.c.id)).all()
    for blob_id, interface in blobs:
        last = -1
        while True:
            with ledger.engine.begin() as conn:
                rows = conn.execute(
                    select(c.c.seq, c.c.packing, c.c.data)
                    .where(c.c.blob_id == blob_id, c.c.seq > last)
                    .order_by(c.c.seq)
                    .limit(GROUP)
                ).all()
                if not rows:
                    break
                last = rows[-1].seq
                for row in rows:
                    new = r.blob("blob_chunks", interface, bytes(row.data))
                    if new is not None:
                        conn.execute(
                            update(c)
                            .where(c.c.blob_id == blob_id, c.c.seq == row.seq)
                            .values(data=new, packing=row.packing | SEALED)
                        )
