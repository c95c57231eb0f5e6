"""Dead-letter operations: replay and discard, both audited.

Replaying a delivery dead letter puts the delivery back to ``pending`` with a fresh attempt budget; the
delivery is encoded again with the *current* config and mapping when a worker claims it. Replaying a record
dead letter (a record that failed decoding) is done by the runtime, which re-decodes the stored fragment; so
is a batch dead letter that kept its input (a feed page, a webhook body: :mod:`bridge.store.kept`).
Discarding needs a reason. Both write an audit event (who, what, why).

A delivery dead letter is not replayed when a newer version of its business key was delivered to the same
target since, or is being delivered now (same lane: interface, target, key): it would put the old version
back over the new one. A
person who means it says ``force`` with a reason, and the audit event keeps both and the newer delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, select, update

from bridge.ports import ConfigError
from bridge.ports.failpoints import failpoint
from bridge.store import schema as t
from bridge.store.ledger import Ledger
from bridge.store.packing import PayloadPruned
from bridge.store.records import DeadLetterKind, DeadLetterStatus, DeliveryStatus, MessageState

__all__ = [
    "DeadLetterNotFound",
    "StaleReplay",
    "discard",
    "drop_cancelled",
    "load_open",
    "mark_replayed",
    "newer_in_lane",
    "replay_delivery",
]


class DeadLetterNotFound(ConfigError):
    """No open dead letter with that id."""


class StaleReplay(ConfigError):
    """A newer version of the dead delivery's key was delivered to its target since; replaying needs force."""


def load_open(ledger: Ledger, dl_id: int) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        row = conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == dl_id)).first()
    if row is None:
        raise DeadLetterNotFound(f"dead letter {dl_id} does not exist")
    if row.status != DeadLetterStatus.OPEN:
        raise DeadLetterNotFound(f"dead letter {dl_id} is already {row.status}")
    p = ledger.protection  # a replay needs the fragment (or kept page) and response in clear
    return {**row._mapping, "fragment": p.open_text(row.fragment), "response": p.open(row.response)}


def mark_replayed(
    ledger: Ledger, dl_id: int, actor: str, detail: dict[str, Any] | None = None, reason: str = ""
) -> None:
    with ledger.engine.begin() as conn:
        _close_replayed(conn, dl_id, actor, ledger.clock.now())
    ledger.audit(actor, "dlq.replay", f"dead_letter:{dl_id}", reason, detail)


def _close_replayed(conn: Connection, dl_id: int, actor: str, now: datetime) -> None:
    conn.execute(
        update(t.dead_letters)
        .where(t.dead_letters.c.id == dl_id)
        .values(status=DeadLetterStatus.REPLAYED, resolved_at=now, resolved_by=actor, resolution="replayed")
    )


def newer_in_lane(ledger: Ledger, delivery_id: int) -> dict[str, Any] | None:
    """The latest later delivery of the same lane (interface, target, business key) that was delivered or is
    being delivered now, if any: replaying this one would land after it. Later ones still waiting are not
    counted: a replayed older delivery goes before them (lane order)."""
    d, e = t.deliveries, t.deliveries.alias("e")
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(e.c.id, e.c.message_id, e.c.target, e.c.business_key, e.c.status)
            .select_from(d.join(e, (e.c.interface == d.c.interface) & (e.c.target == d.c.target)))
            .where(
                d.c.id == delivery_id,
                e.c.business_key == d.c.business_key,
                e.c.id > d.c.id,
                e.c.status.in_([DeliveryStatus.DELIVERED.value, DeliveryStatus.IN_PROGRESS.value]),
            )
            .order_by(e.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else dict(row._mapping)


def replay_delivery(ledger: Ledger, dl_id: int, actor: str, *, force: bool = False, reason: str = "") -> dict[str, Any]:
    """Put the dead delivery back in the queue; it is encoded and sent again by the workers.

    Refused (:class:`StaleReplay`) when a newer version of the key was (or is being) delivered to the target, unless
    ``force`` with a ``reason`` (both audited).
    """
    dl = load_open(ledger, dl_id)
    if dl["kind"] != DeadLetterKind.DELIVERY:
        raise DeadLetterNotFound(f"dead letter {dl_id} is a {dl['kind']} dead letter, not a delivery")
    if ledger.is_pruned(dl["message_id"]):
        raise PayloadPruned(
            f"dead letter {dl_id}: message {dl['message_id']} was pruned (ledger prune dropped its payload), "
            "so it cannot be sent again; re-drop the input to deliver it as a new message"
        )
    if force and not reason.strip():
        raise ConfigError("a forced replay needs a reason (--reason)")
    newer = newer_in_lane(ledger, dl["delivery_id"])
    if newer is not None and not force:
        done = "was delivered" if newer["status"] == DeliveryStatus.DELIVERED else "is being delivered"
        raise StaleReplay(
            f"dead letter {dl_id}: a newer version of {newer['business_key']!r} {done} to {newer['target']} "
            f"(delivery {newer['id']}, message {newer['message_id']}); replaying would put the old version "
            "back over it. Replay anyway with --force --reason TEXT"
        )
    now = ledger.clock.now()
    with ledger.engine.begin() as conn:
        conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id == dl["delivery_id"])
            .values(
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                first_attempt_at=None,
                next_attempt_at=now,
                finished_at=None,
                updated_at=now,
            )
        )
        conn.execute(update(t.messages).where(t.messages.c.id == dl["message_id"]).values(state=MessageState.ACCEPTED))
        # Closed in the same transaction: a crash must not leave the delivery queued (and then delivered) while
        # its dead letter stays open, inviting a second replay of something already applied.
        _close_replayed(conn, dl_id, actor, now)
        failpoint("mid_replay_delivery")  # queued again and closed, not committed
    failpoint("mid_replay_delivery_audit")  # committed, the audit entry not written
    detail: dict[str, Any] = {"delivery_id": dl["delivery_id"], "message_id": dl["message_id"]}
    if force:
        detail["forced"] = True
        detail["newer_delivery_id"] = None if newer is None else newer["id"]
    ledger.audit(actor, "dlq.replay", f"dead_letter:{dl_id}", reason if force else "", detail)
    return dl


def discard(ledger: Ledger, dl_id: int, actor: str, reason: str) -> None:
    if not reason.strip():
        raise ConfigError("discarding a dead letter needs a reason (--reason)")
    load_open(ledger, dl_id)
    now = ledger.clock.now()
    with ledger.engine.begin() as conn:
        conn.execute(
            update(t.dead_letters)
            .where(t.dead_letters.c.id == dl_id)
            .values(status=DeadLetterStatus.DISCARDED, resolved_at=now, resolved_by=actor, resolution=reason)
        )
    ledger.audit(actor, "dlq.discard", f"dead_letter:{dl_id}", reason)


def drop_cancelled(ledger: Ledger, batch: int) -> int:
    """Remove the messages a failed batch recorded before it failed (cancelled, never attempted); returns how many.

    Why: a batch that fails after some chunks were recorded leaves those messages ``cancelled`` under the ids
    its records always have; a replay of the kept input would find them "already recorded" and deliver
    nothing. They never reached a target (no attempt), so the replay records them afresh under the same ids.
    """
    m, d, a = t.messages, t.deliveries, t.attempts
    cancelled = select(m.c.id).where(m.c.batch == batch, m.c.state == MessageState.CANCELLED.value)
    with ledger.engine.begin() as conn:
        conn.execute(
            delete(d).where(
                d.c.message_id.in_(cancelled.scalar_subquery()),
                d.c.status == DeliveryStatus.CANCELLED.value,
                ~exists().where(a.c.delivery_id == d.c.id),
            )
        )
        res = conn.execute(
            delete(m).where(
                m.c.batch == batch,
                m.c.state == MessageState.CANCELLED.value,
                ~exists().where(d.c.message_id == m.c.id),
            )
        )
    return int(res.rowcount or 0)
