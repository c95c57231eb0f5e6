"""Real, published SAP IDocs through the shipped IDoc mappings: the decode count.

The documents are others' files (IDocs found in public repositories: test fixtures and training material of SAP
integrations); they are not part of this repository and are never committed. ``ESB_BRIDGE_REAL_IDOC`` points to
a folder holding them (any layout): every ``*.xml`` whose ``EDI_DC40/IDOCTYP`` is INVOIC02 or ORDERS05 (the IDoc
XML port format, whatever the root element: an extension such as ``ZINV_ARDO`` names the root after itself), and
every other file whose first record is an ``EDI_DC40`` control record (SAP's flat-file format), is taken. It lives
in ``benchmarks/`` (not collected by ``make test``) and runs on demand:
``ESB_BRIDGE_REAL_IDOC=/tmp/real-idoc .venv/bin/pytest benchmarks/real_idoc_test.py -q -s``.

Every decoded IDoc must carry the facts the document states, read here independently of the mappings (XPath on
the XML; for a flat file, from the decoded tree the flat reader builds, which is the flat format's own layout):
the document number (``E1EDK01/BELNR``), the currency (``E1EDK01/CURCY``), the line count (``E1EDP01``) and, for
an invoice, the gross total (summary ``SUMID`` 011) as payable and tax-inclusive amount. All must decode
(``ESB_BRIDGE_REAL_IDOC_MIN``, default 1.0), and each refusal is printed with its reason.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.ports import BridgeError, DecodedRecord
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, envelope
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder

CORPUS = Path(os.environ["ESB_BRIDGE_REAL_IDOC"]) if os.environ.get("ESB_BRIDGE_REAL_IDOC") else None
MAPPING_OF = {"INVOIC02": "idoc-invoic02.yaml", "ORDERS05": "idoc-orders05.yaml"}


def _flat_decoder(mapping: Any) -> Any:
    """The flat-file IDoc decoder over the same mapping (None before the flat reader existed)."""
    try:
        from translators.idoc_flat import IdocFlatDecoder
    except ImportError:
        return None
    return IdocFlatDecoder(XmlDecoder(mapping))


def _tree(path: Path) -> tuple[Any, str] | None:
    """The IDoc's element tree and its format (``xml`` / ``flat``), or None when it is no IDoc this counts."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"<"):
        try:
            return parse_bytes(data, origin=str(path)), "xml"
        except BridgeError:
            return None
    if not data.startswith(b"EDI_DC40"):
        return None
    try:
        from translators.idoc_flat import flat_tree
    except ImportError:
        return None
    return flat_tree(data.decode("latin-1").splitlines(), str(path)), "flat"


def _stated(idoc: Any) -> dict[str, object]:
    """What one IDoc says about itself, read without the mapping."""

    def text(path: str) -> str | None:
        found = idoc.xpath(f"{path}/text()")
        return str(found[0]).strip() if found else None

    gross = text("E1EDS01[normalize-space(SUMID)='011']/SUMME")
    return {
        "number": text("E1EDK01/BELNR"),
        "currency": text("E1EDK01/CURCY"),
        "lines": len(idoc.xpath("E1EDP01")),
        "gross": Decimal(gross.replace("-", "")) * (-1 if gross.endswith("-") else 1) if gross else None,
    }


def _got(record: Any) -> dict[str, object]:
    if hasattr(record, "invoice_number"):
        return {
            "number": record.invoice_number,
            "currency": record.currency,
            "lines": len(record.lines),
            "gross": record.tax_inclusive_amount,
            "payable": record.payable_amount,
        }
    return {
        "number": record.order_number,
        "currency": record.currency,
        "lines": len(record.lines),
        "gross": record.total_amount,
    }


def test_real_idocs_decode_with_their_stated_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Every real INVOIC02 / ORDERS05 IDoc (XML port or flat file) decodes with the figures it states."""
    assert CORPUS is not None, "set ESB_BRIDGE_REAL_IDOC to a folder of real SAP IDocs"
    assert CORPUS.is_dir(), f"{CORPUS} is not a folder"
    refused: list[str] = []
    counts: dict[str, list[int]] = {}
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        parsed = _tree(path)
        if parsed is None:
            continue
        root, fmt = parsed
        idocs = root.xpath("//IDOC[EDI_DC40]")
        kinds = {str(i.findtext("EDI_DC40/IDOCTYP") or "").strip() for i in idocs}
        if len(kinds) != 1 or (kind := kinds.pop()) not in MAPPING_OF:
            continue
        message = str(idocs[0].findtext("EDI_DC40/MESTYP") or "").strip()
        bucket = counts.setdefault(f"{kind} {message} ({fmt})", [0, 0])
        bucket[1] += len(idocs)
        name = path.relative_to(CORPUS)
        mapping = load_mapping(MAPPINGS / MAPPING_OF[kind])
        decoder = XmlDecoder(mapping) if fmt == "xml" else _flat_decoder(mapping)
        if decoder is None:
            refused.append(f"{name}: no flat-file IDoc decoder")
            continue
        try:
            items = list(decoder.decode(envelope(path)))
        except BridgeError as exc:
            refused.append(f"{name}: file failed: {exc}")
            continue
        for idoc, item in zip(idocs, items, strict=True):
            if not isinstance(item, DecodedRecord):
                refused.append(f"{name}: {item.error}")
                continue
            stated, got = _stated(idoc), _got(item.record)
            expected = {k: v for k, v in stated.items() if v is not None}
            if "payable" in got and stated["gross"] is not None:
                expected["payable"] = stated["gross"]
            assert {k: got[k] for k in expected} == expected, name
            bucket[0] += 1
    decoded = sum(ok for ok, _ in counts.values())
    total = sum(n for _, n in counts.values())
    with capsys.disabled():
        print(f"\nreal SAP IDocs decoded: {decoded} of {total}")
        for kind, (ok, n) in sorted(counts.items()):
            print(f"  {kind}: {ok} of {n}")
        for line in refused:
            print(f"  refused {line[:400]}")
    assert total > 0
    minimum = float(os.environ.get("ESB_BRIDGE_REAL_IDOC_MIN", "1.0"))
    assert decoded >= minimum * total, f"{decoded} of {total} decoded, below {minimum:.0%}"
