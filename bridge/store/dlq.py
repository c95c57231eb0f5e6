"""Dead-letter operations: replay and discard, both audited.

Replaying a delivery dead letter puts the delivery back to ``pending`` with a fresh attempt budget; the
delivery is encoded again with the *current* config and mapping when a worker claims it. Replaying a record
dead letter (a record that failed decoding) is done by the runtime, which re-decodes the stored fragment.
Discarding needs a reason. Both write an audit event (who, what, why).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from bridge.ports import ConfigError
from bridge.store import schema as t
from bridge.store.ledger import Ledger
from bridge.store.packing import PayloadPruned
from bridge.store.records import DeadLetterKind, DeadLetterStatus, DeliveryStatus, MessageState

__all__ = ["DeadLetterNotFound", "discard", "load_open", "mark_replayed", "replay_delivery"]


class DeadLetterNotFound(ConfigError):
    """No open dead letter with that id."""


def load_open(ledger: Ledger, dl_id: int) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        row = conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == dl_id)).first()
    if row is None:
        raise DeadLetterNotFound(f"dead letter {dl_id} does not exist")
    if row.status != DeadLetterStatus.OPEN:
        raise DeadLetterNotFound(f"dead letter {dl_id} is already {row.status}")
    return dict(row._mapping)


def mark_replayed(ledger: Ledger, dl_id: int, actor: str, detail: dict[str, Any] | None = None) -> None:
    now = ledger.clock.now()
    with ledger.engine.begin() as conn:
        conn.execute(
            update(t.dead_letters)
            .where(t.dead_letters.c.id == dl_id)
            .values(status=DeadLetterStatus.REPLAYED, resolved_at=now, resolved_by=actor, resolution="replayed")
        )
    ledger.audit(actor, "dlq.replay", f"dead_letter:{dl_id}", "", detail)


def replay_delivery(ledger: Ledger, dl_id: int, actor: str) -> dict[str, Any]:
    """Put the dead delivery back in the queue; it is encoded and sent again by the workers."""
    dl = load_open(ledger, dl_id)
    if dl["kind"] != DeadLetterKind.DELIVERY:
        raise DeadLetterNotFound(f"dead letter {dl_id} is a {dl['kind']} dead letter, not a delivery")
    if ledger.is_pruned(dl["message_id"]):
        raise PayloadPruned(
            f"dead letter {dl_id}: message {dl['message_id']} was pruned (ledger prune dropped its payload), "
            "so it cannot be sent again; re-drop the input to deliver it as a new message"
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
    mark_replayed(ledger, dl_id, actor, {"delivery_id": dl["delivery_id"], "message_id": dl["message_id"]})
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
