"""The ``forward`` legacy path kind: the original input, byte for byte, handed to the old ESB's inbox.

The old ESB reads whole files (or pages, or events), not canonical records, so forwarding is per batch, not
per record: once a batch is fully decoded, its bytes are copied into the interface's forward spool and ONE
delivery is recorded for it (a ``forward`` message whose id derives from the batch id, so re-reading the
input after a crash records nothing twice). The delivery worker hands those bytes to the legacy sink
unchanged; the spool copy is removed once the delivery is recorded as delivered (a dead-lettered forward keeps
its bytes, so ``dlq replay`` can send them again). Which role the forward plays
follows the routing of the batch's records: authoritative if any record went to the legacy path
authoritatively, shadow otherwise, none when no record was routed to legacy (``cloud_only``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from bridge.ports import Encoded, Envelope, PathName, Role, message_id
from bridge.store.records import MessageKind, NewMessage, NewRoute

__all__ = ["ForwardPlan", "forward_message", "forwarded_bytes"]


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
    interface: str, envelope: Envelope, plan: ForwardPlan, spool_dir: Path, target: str, mode: str
) -> NewMessage:
    """Copy the batch's bytes into the forward spool and describe the one delivery that hands them on."""
    mid = str(message_id(interface, f"forward:{envelope.batch_id}"))
    spool_dir.mkdir(parents=True, exist_ok=True)
    spooled = spool_dir / mid
    digest = hashlib.sha256()
    tmp = spooled.with_suffix(".tmp")
    with envelope.open() as src, tmp.open("wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
    tmp.replace(spooled)
    name = envelope.metadata.get("name") or Path(envelope.origin.rstrip("/")).name or f"{mid}.dat"
    payload = {"spool": str(spooled), "name": name, "media_type": envelope.media_type, "origin": envelope.origin}
    role = Role.AUTHORITATIVE if plan.authoritative else Role.SHADOW
    return NewMessage(
        id=mid,
        ordinal=-1,
        identity=f"forward:{envelope.batch_id}",
        canonical=MessageKind.FORWARD.value,  # shown in listings as before; ``kind`` is what code tests
        business_key=f"forward:{interface}",
        content_hash=digest.hexdigest(),
        payload=orjson.dumps(payload).decode(),
        transaction_id=envelope.transaction_id,
        mode=mode,
        routes=(NewRoute(PathName.LEGACY, role, target, plan.dry_run and not plan.authoritative),),
        kind=MessageKind.FORWARD,
    )


def forwarded_bytes(payload: str) -> tuple[Encoded, Path]:
    """The spooled original bytes of a forward message, as the sink receives them, and their spool file."""
    meta = orjson.loads(payload)
    path = Path(meta["spool"])
    return Encoded(
        body=path.read_bytes(), media_type=meta.get("media_type") or "application/octet-stream", name=meta["name"]
    ), path


def forwarded_bytes_path(payload: str) -> Path:
    """Where a forward message's bytes are spooled."""
    return Path(orjson.loads(payload)["spool"])


def discard_spool(path: Path) -> None:
    """Remove a forward spool copy once its delivery is recorded as delivered."""
    path.unlink(missing_ok=True)


__all__ += ["discard_spool", "forwarded_bytes_path"]
