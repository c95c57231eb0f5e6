"""Read-only views of the ledger for people: status counts, message listings, dead letters.

Every function returns plain JSON-able data; the CLI renders it as a table or as ``--json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from bridge.store import schema as t
from bridge.store.batches import MOVED_PREFIX
from bridge.store.counts import count_rows, fold_deltas
from bridge.store.packing import PayloadPacking, unpack_payload, unpack_sent
from bridge.store.records import DeadLetterStatus
from bridge.store.sealing import OFF, Protection

__all__ = [
    "MessageQuery",
    "add_circuit",
    "dead_letter",
    "dead_letters",
    "message_comparisons",
    "message_detail",
    "message_source",
    "metric_counts",
    "search_messages",
    "status_counts",
]


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def status_counts(engine: Engine, interface: str | None = None) -> dict[str, dict[str, Any]]:
    """Per interface (or only ``interface``): messages by state, deliveries by (path, role, status), open dead
    letters, batches. Read from the counts the database keeps (:mod:`bridge.store.counts`): a few rows."""
    fold_deltas(engine)
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        rows = count_rows(conn, interface)
    for iface, metric, a, b, n in rows:
        slot = out.setdefault(iface, _empty_slot())
        if metric == "messages":
            slot["messages"][a] = n
        elif metric == "deliveries":
            slot["deliveries"].setdefault(a, {})[b] = n
        elif metric == "dead_letters" and a == DeadLetterStatus.OPEN:
            slot["dead_letters_open"] = n
        elif metric == "batches":
            slot["batches"][a] = n
    c = t.circuit_states
    q = select(c).order_by(c.c.target)
    if interface is not None:
        q = q.where(c.c.interface == interface)
    with engine.connect() as conn:
        for r in conn.execute(q).all():
            slot = out.setdefault(r.interface, _empty_slot())
            add_circuit(slot, r.target, r.state, r.failures, r.since, r.retry_at)
    return out


def _empty_slot() -> dict[str, Any]:
    return {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}}


def add_circuit(
    slot: dict[str, Any], target: str, state: str, failures: int, since: Any, retry_at: Any
) -> None:
    """The ``circuits`` entry of one target in a status slot (the breaker as last written, bridge.store.circuits)."""
    slot.setdefault("circuits", {})[target] = {
        "state": state,
        "failures": failures,
        "since": _iso(since),
        "retry_at": _iso(retry_at),
    }


@dataclass(frozen=True)
class MessageQuery:
    """A message search: every given filter must hold; newest first, at most ``limit`` rows.

    The one search behind ``esb-bridge messages list`` and the API's ``GET /messages``. Each filter is served by
    an index (interface+state, business key+time, transaction id, interface+time), so a search stays fast
    on a ledger of millions of messages.
    """

    interface: str | None = None
    state: str | None = None
    business_key: str | None = None
    transaction_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50


def search_messages(engine: Engine, query: MessageQuery) -> list[dict[str, Any]]:
    """The messages matching ``query`` (see :class:`MessageQuery`), newest first."""
    m = t.messages
    q = select(
        m.c.id, m.c.interface, m.c.business_key, m.c.canonical, m.c.state, m.c.mode, m.c.transaction_id, m.c.created_at
    )
    if query.interface:
        q = q.where(m.c.interface == query.interface)
    if query.state:
        q = q.where(m.c.state == query.state)
    if query.business_key is not None:
        q = q.where(m.c.business_key == query.business_key)
    if query.transaction_id is not None:
        q = q.where(m.c.transaction_id == query.transaction_id)
    if query.since is not None:
        q = q.where(m.c.created_at >= query.since)
    if query.until is not None:
        q = q.where(m.c.created_at < query.until)
    q = q.order_by(m.c.created_at.desc(), m.c.id).limit(query.limit)
    with engine.connect() as conn:
        return [{k: _iso(v) for k, v in row._mapping.items()} for row in conn.execute(q)]


def message_detail(engine: Engine, message_id: str, protection: Protection = OFF) -> dict[str, Any] | None:
    """One message with its deliveries and every attempt: the trace of what happened to it.

    Sealed bytes are opened with ``protection``'s keys (without them: ``SealedDataUnavailable``); masking for
    people is the caller's (the CLI and the API mask by the interface's sensitive fields)."""
    with engine.connect() as conn:
        row = conn.execute(select(t.messages).where(t.messages.c.id == message_id)).first()
        if row is None:
            return None
        msg = {k: _iso(v) for k, v in row._mapping.items() if k not in ("payload_z", "packing")}
        pruned = row.packing == PayloadPacking.PRUNED
        opened = protection.open_blob
        payload = None if pruned else unpack_payload(message_id, row.payload, row.payload_z, row.packing, opened)
        msg["payload"] = payload
        msg["pruned"] = pruned
        dels = []
        for d in conn.execute(
            select(t.deliveries).where(t.deliveries.c.message_id == message_id).order_by(t.deliveries.c.id)
        ):
            dd = {k: _iso(v) for k, v in d._mapping.items() if k not in ("response", "sent", "sent_packing")}
            dd["response"] = _text(protection.open(d.response))
            dd["sent"] = _text(unpack_sent(d.sent, d.sent_packing, payload, opened))
            dd["attempts_log"] = [
                {k: _iso(v) for k, v in a._mapping.items()}
                for a in conn.execute(
                    select(t.attempts).where(t.attempts.c.delivery_id == d.id).order_by(t.attempts.c.number)
                )
            ]
            dels.append(dd)
        msg["deliveries"] = dels
        return msg


def message_source(engine: Engine, message_id: str) -> dict[str, Any] | None:
    """Where a message came from: its batch (id, origin such as the file or page, state) and record location."""
    m, b = t.messages, t.batches
    with engine.connect() as conn:
        row = conn.execute(
            select(m.c.location, m.c.ordinal, b.c.batch_id, b.c.origin, b.c.state, b.c.created_at)
            .select_from(m.outerjoin(b, b.c.id == m.c.batch))
            .where(m.c.id == message_id)
        ).first()
    if row is None:
        return None
    return {
        "batch_id": row.batch_id,
        "origin": row.origin,
        "batch_state": row.state,
        "received_at": _iso(row.created_at),
        "ordinal": row.ordinal,
        "location": row.location,
    }


def message_comparisons(engine: Engine, message_id: str) -> list[dict[str, Any]]:
    """The shadow comparisons of one message, one per level (diffs are masked when they are written)."""
    c = t.comparisons
    q = select(c.c.level, c.c.status, c.c.critical, c.c.diff, c.c.created_at).where(c.c.message_id == message_id)
    with engine.connect() as conn:
        return [{k: _iso(v) for k, v in r._mapping.items()} for r in conn.execute(q.order_by(c.c.id))]


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
        dl.c.assigned_to,
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


def dead_letter(engine: Engine, dl_id: int, protection: Protection = OFF) -> dict[str, Any] | None:
    """One dead letter, its fragment and response opened with ``protection``'s keys (caller masks)."""
    with engine.connect() as conn:
        row = conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == dl_id)).first()
        if row is None:
            return None
        out = _moved(conn, [{k: _iso(v) for k, v in row._mapping.items() if k != "response"}])[0]
    out["response"] = _text(protection.open(row.response))
    out["fragment"] = protection.open_text(row.fragment)
    return out


def metric_counts(engine: Engine) -> list[dict[str, Any]]:
    """The ledger's figures for ``/metrics``: rows of (metric, interface, a, b, n, oldest).

    ``messages`` (a = state), ``deliveries`` (a = path/role, b = status), ``dlq`` (open dead letters, oldest =
    the oldest one's time), ``comparisons`` (a = status, b = level), ``batches`` (a = state), ``circuit`` (a =
    target, b = breaker state, n = failures in a row, oldest = since). Counts come from
    the database's own (:mod:`bridge.store.counts`); only the oldest open dead letter is read from its table.
    """
    fold_deltas(engine)
    dl = t.dead_letters
    with engine.connect() as conn:
        counted = count_rows(conn)
        oldest = dict(
            conn.execute(
                select(dl.c.interface, func.min(dl.c.created_at))
                .where(dl.c.status == DeadLetterStatus.OPEN)
                .group_by(dl.c.interface)
            ).all()
        )
    rows: list[dict[str, Any]] = []
    for iface, metric, a, b, n in counted:
        if metric == "dead_letters":
            if a != DeadLetterStatus.OPEN:
                continue
            metric, a, first = "dlq", "", oldest.get(iface)
            if isinstance(first, str):  # SQLite hands MIN() of a UTC column back as text
                first = datetime.fromisoformat(first).replace(tzinfo=UTC)
        else:
            first = None
        rows.append({"metric": metric, "interface": iface, "a": a, "b": b, "n": n, "oldest": first})
    with engine.connect() as conn:
        circuits = conn.execute(select(t.circuit_states)).all()
    for c in circuits:  # a = target, b = state, n = failures in a row, oldest = (not) closed since
        rows.append(
            {"metric": "circuit", "interface": c.interface, "a": c.target, "b": c.state, "n": c.failures,
             "oldest": c.since, "retry_at": c.retry_at}
        )  # fmt: skip
    return rows
