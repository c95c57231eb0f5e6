"""Each document in tests/fixtures/invalid breaks one EN 16931 business rule and is refused naming it.

The documents were written for this project from the rules' text in EN 16931-1 (one file per rule, named
after it); decoded with the shipped UBL 2.1 mapping, each must fail with exactly its file's rule id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ports import RecordInvalid
from tests.unit.translators.support import MAPPINGS, envelope, split
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

INVALID = Path(__file__).parents[2] / "fixtures" / "invalid"
DOCUMENTS = sorted(INVALID.glob("*.xml"))

#: The rules each family must have a document for (the issue's minimum).
REQUIRED = {f"BR-CO-{n}" for n in range(10, 17)} | {f"BR-{c}-" for c in ("S", "Z", "E", "AE", "K", "G", "O")}


def test_every_required_rule_has_a_document() -> None:
    """BR-CO-10..16 each and every VAT category family (S, Z, E, AE, K, G, O) have an invalid document."""
    names = {path.stem for path in DOCUMENTS}
    missing = {rule for rule in REQUIRED if not any(name == rule or name.startswith(rule) for name in names)}
    assert not missing


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_invalid_document_is_refused_with_its_rule(path: Path) -> None:
    """The document fails strict validation with exactly the rule its name says, in text and in the detail."""
    decoder = XmlDecoder(load_mapping(MAPPINGS / "ubl-invoice.yaml"))
    ok, [failure] = split(decoder.decode(envelope(path)))
    assert ok == []
    assert isinstance(failure.error, RecordInvalid)
    assert failure.error.detail["rules"] == [path.stem], str(failure.error)
    assert f"{path.stem}: " in str(failure.error)
