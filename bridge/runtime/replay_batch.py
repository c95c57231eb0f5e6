"""Replaying a batch dead letter from the input it kept: a failed feed page or webhook body, decoded again.

Why: a change feed's cursor has moved past a failed page, and a webhook sender stopped retrying, so "re-drop
the input" is impossible for them; the pipeline therefore keeps their bytes with the dead letter
(:mod:`bridge.store.kept`). The replay rebuilds the envelope (same identity rule and identity, so the records
get the ids they would have had), decodes it with the interface's *current* config and records it as a new
batch through the poll side's own code (routing, hashing, echo suppression, record dead letters). Nothing is
recorded while the whole input still fails: it is decoded once to check, then recorded. An observation dead
letter (the old ESB's output that could not be projected) is projected again and handed to the pairing.
"""

from __future__ import annotations

from typing import Any

from bridge.ports import DecodeError, RecordInvalid
from bridge.runtime.pipeline import Ingestor, IngestStats
from bridge.runtime.runner import Runner
from bridge.store.dlq import drop_cancelled, mark_replayed
from bridge.store.kept import kept_envelope
from bridge.store.records import BatchState, DeadLetterKind

__all__ = ["replay_batch", "replay_observation"]


def replay_batch(runner: Runner, dl: dict[str, Any], actor: str) -> dict[str, Any]:
    """Record the kept input of batch dead letter ``dl`` again; returns what was done (for the CLI)."""
    dl_id, iface = int(dl["id"]), str(dl["interface"])
    rt = runner.interfaces.get(iface)
    if rt is None:
        raise RecordInvalid(f"interface {iface} of dead letter {dl_id} is not configured any more")
    envelope = kept_envelope(dl, batch_id=f"replay:{dl_id}", received_at=runner.clock.now())
    if envelope is None:
        raise RecordInvalid(
            f"dead letter {dl_id} is a batch dead letter of a spooled file, whose bytes stay at the source "
            "(its error folder): re-drop the input to process it"
        )
    try:
        for _ in rt.decoder.decode(envelope):
            pass
    except DecodeError as exc:
        raise RecordInvalid(
            f"dead letter {dl_id} still does not decode with the current config: {exc.message}"
        ) from exc
    if dl.get("batch") is not None:
        drop_cancelled(runner.ledger, int(dl["batch"]))
    ingestor = Ingestor(rt, runner.ledger, runner.router)
    stats = IngestStats()
    batch = runner.ledger.open_batch(iface, envelope.batch_id, envelope.origin)
    ingestor._ingest(envelope, batch, stats)  # the poll side's own recording, chunk by chunk
    runner.ledger.release_batch(iface, batch)
    runner.ledger.mark_batch(iface, envelope.batch_id, BatchState.ACKNOWLEDGED, origin=envelope.origin)
    mark_replayed(runner.ledger, dl_id, actor, {"batch_id": envelope.batch_id, "records": stats.records})
    return {
        "id": dl_id,
        "kind": DeadLetterKind.BATCH.value,
        "message_id": dl["message_id"],
        "result": f"recorded {stats.new_messages} new of {stats.records} record(s)",
    }


def replay_observation(runner: Runner, dl: dict[str, Any], actor: str) -> dict[str, Any]:
    """Project the kept observation of dead letter ``dl`` again and record it for pairing (for the CLI)."""
    dl_id = int(dl["id"])
    envelope = kept_envelope(dl, received_at=runner.clock.now())
    if envelope is None:
        raise RecordInvalid(f"dead letter {dl_id} kept no observation bytes")
    key = runner.comparator.replay_observation(str(dl["interface"]), envelope)
    mark_replayed(runner.ledger, dl_id, actor, {"observation": envelope.batch_id, "business_key": key})
    return {"id": dl_id, "kind": DeadLetterKind.OBSERVATION.value, "message_id": dl["message_id"], "result": "paired"}
