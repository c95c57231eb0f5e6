"""Replaying dead letters with the current config: deliveries go back to the queue, records are re-decoded.

A record dead letter keeps the original fragment (a JSON line, a CSV row, an XML element); replaying it runs
the interface's *current* decoder over that fragment and records the message under the id the record had
from the start (UUIDv5 of its original identity), so a replay can never create a second copy. A batch dead
letter that kept its input (a feed page, a webhook body) is replayed whole (:mod:`bridge.runtime.replay_batch`).
"""

from __future__ import annotations

import uuid
from typing import Any

from bridge.ports import DecodedRecord, Envelope, FragmentBytes, IdentityRule, RecordInvalid
from bridge.runtime.pipeline import Ingestor
from bridge.runtime.replay_batch import replay_batch, replay_observation
from bridge.runtime.runner import Runner
from bridge.store.dlq import load_open, mark_replayed, replay_delivery
from bridge.store.records import BatchState, DeadLetterKind

__all__ = ["replay"]


def replay(runner: Runner, dl_id: int, actor: str, *, force: bool = False, reason: str = "") -> dict[str, Any]:
    """Replay one dead letter; returns what was done (for the CLI's table/JSON).

    A delivery dead letter whose key has a newer version delivered to its target since is refused unless
    ``force`` with a ``reason`` (:func:`bridge.store.dlq.replay_delivery`).
    """
    dl = load_open(runner.ledger, dl_id)
    if dl["kind"] == DeadLetterKind.DELIVERY:
        replay_delivery(runner.ledger, dl_id, actor, force=force, reason=reason)
        return {"id": dl_id, "kind": DeadLetterKind.DELIVERY.value, "message_id": dl["message_id"], "result": "queued"}
    if dl["kind"] == DeadLetterKind.BATCH:
        return replay_batch(runner, dl, actor)
    if dl["kind"] == DeadLetterKind.OBSERVATION:
        return replay_observation(runner, dl, actor)
    if dl["kind"] != DeadLetterKind.RECORD:
        raise RecordInvalid(f"dead letter {dl_id} is a {dl['kind']} dead letter: re-drop the input to process it")
    iface = dl["interface"]
    rt = runner.interfaces.get(iface)
    if rt is None:
        raise RecordInvalid(f"interface {iface} of dead letter {dl_id} is not configured any more")
    fragment = dl["fragment"] or ""
    body = rt.decoder.fragment_bytes(fragment) if isinstance(rt.decoder, FragmentBytes) else fragment.encode()
    envelope = Envelope(
        interface=iface,
        batch_id=f"replay:{dl_id}",
        origin=f"dead-letter:{dl_id}",
        identity_rule=IdentityRule.EVENT,
        identity=f"replay:{dl_id}",
        received_at=runner.clock.now(),
        transaction_id=str(uuid.uuid4()),
        body=body,
    )
    items = list(rt.decoder.decode(envelope))
    if len(items) != 1 or not isinstance(items[0], DecodedRecord):
        problem = (
            items[0].error.message if items and not isinstance(items[0], DecodedRecord) else f"{len(items)} records"
        )
        raise RecordInvalid(f"dead letter {dl_id} still does not decode with the current config: {problem}")
    ingestor = Ingestor(rt, runner.ledger, runner.router)
    msg = ingestor._message(envelope, items[0])  # routing and hashing exactly as on the poll side
    msg = type(msg)(**{**msg.__dict__, "id": dl["message_id"], "identity": f"replay-of:{msg.identity}"})
    batch = runner.ledger.open_batch(iface, envelope.batch_id, envelope.origin)
    runner.ledger.record_chunk(iface, batch, [msg], [])
    runner.ledger.release_batch(iface, batch)
    runner.ledger.mark_batch(iface, envelope.batch_id, BatchState.ACKNOWLEDGED, origin=envelope.origin)
    mark_replayed(runner.ledger, dl_id, actor, {"message_id": dl["message_id"]})
    return {"id": dl_id, "kind": DeadLetterKind.RECORD.value, "message_id": dl["message_id"], "result": "recorded"}
