"""Read-only views of the ledger for people: status counts, message listings, dead letters.

Every function returns plain JSON-able data; the CLI renders it as a table or as ``--json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from bridge.store import schema as t
from bridge.store.batches import MOVED_PREFIX
from bridge.store.packing import PayloadPacking, unpack_payload, unpack_sent
from bridge.store.records import DeadLetterStatus

__all__ = ["dead_letter", "dead_letters", "message_detail", "messages", "status_counts"]


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def status_counts(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per interface: messages by state, deliveries by (path, role, status), open dead letters, batches."""
    out: dict[str, dict[str, Any]] = {}

    def slot(name: str) -> dict[str, Any]:
        return out.setdefault(name, {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}})

    with engine.connect() as conn:
        for iface, state, n in conn.execute(
            select(t.messages.c.interface, t.messages.c.state, func.count()).group_by(
                t.messages.c.interface, t.messages.c.state
            )
        ):
            slot(iface)["messages"][state] = n
        d = t.deliveries
        for iface, path, role, status, n in conn.execute(
            select(d.c.interface, d.c.path, d.c.role, d.c.status, func.count()).group_by(
                d.c.interface, d.c.path, d.c.role, d.c.status
            )
        ):
            slot(iface)["deliveries"].setdefault(f"{path}/{role}", {})[status] = n
        for iface, n in conn.execute(
            select(t.dead_letters.c.interface, func.count())
            .where(t.dead_letters.c.status == DeadLetterStatus.OPEN)
            .group_by(t.dead_letters.c.interface)
        ):
            slot(iface)["dead_letters_open"] = n
        for iface, state, n in conn.execute(
            select(t.batches.c.interface, t.batches.c.state, func.count()).group_by(
                t.batches.c.interface, t.batches.c.state
            )
        ):
            slot(iface)["batches"][state] = n
    return out


def messages(
    engine: Engine,
    interface: str | None = None,
    state: str | None = None,
    limit: int = 50,
    *,
    business_key: str | None = None,
    transaction_id: str | None = None,
) -> list[dict[str, Any]]:
    """The most recent messages, newest first, filtered by interface, state, business key, transaction id."""
    m = t.messages
    q = select(
        m.c.id, m.c.interface, m.c.business_key, m.c.canonical, m.c.state, m.c.mode, m.c.transaction_id, m.c.created_at
    )
    if interface:
        q = q.where(m.c.interface == interface)
    if state:
        q = q.where(m.c.state == state)
    if business_key is not None:
        q = q.where(m.c.business_key == business_key)
    if transaction_id is not None:
        q = q.where(m.c.transaction_id == transaction_id)
    q = q.order_by(m.c.created_at.desc(), m.c.id).limit(limit)
    with engine.connect() as conn:
        return [{k: _iso(v) for k, v in row._mapping.items()} for row in conn.execute(q)]


def message_detail(engine: Engine, message_id: str) -> dict[str, Any] | None:
    """One message with its deliveries and every attempt: the trace of what happened to it."""
    with engine.connect() as conn:
        row = conn.execute(select(t.messages).where(t.messages.c.id == message_id)).first()
        if row is None:
            return None
        msg = {k: _iso(v) for k, v in row._mapping.items() if k not in ("payload_z", "packing")}
        pruned = row.packing == PayloadPacking.PRUNED
        payload = None if pruned else unpack_payload(message_id, row.payload, row.payload_z, row.packing)
        msg["payload"] = payload
        msg["pruned"] = pruned
        dels = []
        for d in conn.execute(
            select(t.deliveries).where(t.deliveries.c.message_id == message_id).order_by(t.deliveries.c.id)
        ):
            dd = {k: _iso(v) for k, v in d._mapping.items() if k not in ("response", "sent", "sent_packing")}
            dd["response"] = _text(d.response)
            dd["sent"] = _text(unpack_sent(d.sent, d.sent_packing, payload))
            dd["attempts_log"] = [
                {k: _iso(v) for k, v in a._mapping.items()}
                for a in conn.execute(
                    select(t.attempts).where(t.attempts.c.delivery_id == d.id).order_by(t.attempts.c.number)
                )
            ]
            dels.append(dd)
        msg["deliveries"] = dels
        return msg


def _text(b: bytes | None, limit: int = 4000) -> str | None:
    if b is None:
        return None
    return b[:limit].decode("utf-8", errors="replace")


def dead_letters(
    engine: Engine,
    interface: str | None = None,
    status: str | None = DeadLetterStatus.OPEN,
    limit: int = 100,
    *,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Dead letters, oldest first (optionally of one interface, in one status, created at or after ``since``)."""
    dl = t.dead_letters
    q = select(
        dl.c.id,
        dl.c.interface,
        dl.c.kind,
        dl.c.message_id,
        dl.c.status,
        dl.c.error,
        dl.c.location,
        dl.c.created_at,
        dl.c.batch,
    )
    if interface:
        q = q.where(dl.c.interface == interface)
    if status:
        q = q.where(dl.c.status == status)
    if since is not None:
        q = q.where(dl.c.created_at >= since)
    q = q.order_by(dl.c.id).limit(limit)
    with engine.connect() as conn:
        rows = _moved(conn, [{k: _iso(v) for k, v in row._mapping.items()} for row in conn.execute(q)])
    for r in rows:
        del r["batch"]  # read only to find the batch's move
    return rows


def _moved(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dead letters whose input file was moved after processing (archive, error folder) name the file where it
    is now; where it was read stays as ``moved_from``. The move is recorded per batch (``relocate_batch``)."""
    m, b, ps = t.messages, t.batches, t.poll_state
    ids = [r["message_id"] for r in rows if r.get("message_id")]
    batch_of: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        batch_of.update(conn.execute(select(m.c.id, m.c.batch).where(m.c.id.in_(ids[i : i + 500]))).all())
    wanted = {r.get("batch") or batch_of.get(r.get("message_id") or "") for r in rows} - {None}
    if not wanted:
        return rows
    keys = {
        (iface, MOVED_PREFIX + bid): row_id
        for row_id, iface, bid in conn.execute(select(b.c.id, b.c.interface, b.c.batch_id).where(b.c.id.in_(wanted)))
    }
    moves: dict[Any, dict[str, str]] = {}
    for iface, key, value in conn.execute(
        select(ps.c.interface, ps.c.key, ps.c.value).where(ps.c.key.in_([k for _, k in keys]))
    ):
        if (iface, key) in keys:
            moves[keys[(iface, key)]] = json.loads(value)
    for r in rows:
        move = moves.get(r.get("batch") or batch_of.get(r.get("message_id") or ""))
        loc = r.get("location")
        if move and isinstance(loc, dict) and loc.get("file") == move["from"]:
            r["location"] = {**loc, "file": move["to"], "moved_from": move["from"]}
    return rows


def dead_letter(engine: Engine, dl_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == dl_id)).first()
        if row is None:
            return None
        out = _moved(conn, [{k: _iso(v) for k, v in row._mapping.items() if k != "response"}])[0]
    out["response"] = _text(row.response)
    return out
