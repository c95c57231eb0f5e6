"""Helpers for translator tests: envelopes over bytes or files, decoding to plain JSON-able dicts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.ports import DecodedRecord, Envelope, IdentityRule, RecordFailure

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples" / "translators"
MAPPINGS = ROOT / "samples" / "mappings"
EXPECTED = SAMPLES / "expected"


def envelope(data: bytes | Path, origin: str = "input") -> Envelope:
    """An envelope over bytes or a file, as a source would hand it on."""
    common: dict[str, Any] = {
        "interface": "test",
        "batch_id": "batch-1",
        "identity_rule": IdentityRule.FILE,
        "identity": "sha",
        "received_at": datetime(2024, 1, 1, tzinfo=UTC),
        "transaction_id": "tx-1",
    }
    if isinstance(data, Path):
        return Envelope(origin=origin if origin != "input" else data.name, spool_path=data, **common)
    return Envelope(origin=origin, body=data, **common)


def split(items: Iterable[DecodedRecord | RecordFailure]) -> tuple[list[DecodedRecord], list[RecordFailure]]:
    """Decoded records and failures, each in input order."""
    ok: list[DecodedRecord] = []
    failed: list[RecordFailure] = []
    for item in items:
        (ok if isinstance(item, DecodedRecord) else failed).append(item)  # type: ignore[arg-type]
    return ok, failed
