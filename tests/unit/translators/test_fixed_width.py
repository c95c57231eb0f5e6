"""Fixed-width bank payment file: golden, control totals checked before any record, per-record failures."""

from __future__ import annotations

import json

import pytest

from bridge.ports import DecodeError
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split
from translators.fixed_width import FixedWidthDecoder
from translators.mapping.loader import load_mapping

FILE = SAMPLES / "fixed" / "bank-payments.txt"


def _decoder() -> FixedWidthDecoder:
    return FixedWidthDecoder(load_mapping(MAPPINGS / "bank-payments-fixed.yaml"))


def _lines() -> list[bytes]:
    return FILE.read_bytes().splitlines(keepends=True)


def test_bank_payments_match_golden() -> None:
    """The bank file decodes to the golden payments: implied decimals, header currency, code tables, ALPHA ids."""
    ok, failed = split(_decoder().decode(envelope(FILE)))
    assert failed == []
    assert [r.record.model_dump(mode="json") for r in ok] == json.loads((EXPECTED / "bank-payments.json").read_text())
    assert [r.location.line for r in ok] == [2, 3, 4]


def test_missing_detail_fails_count_before_any_record() -> None:
    """A file missing one detail line fails on the trailer count without yielding a single payment."""
    lines = _lines()
    data = b"".join(lines[:2] + lines[3:])
    seen = []
    with pytest.raises(DecodeError, match="trailer says 3 detail records, the file has 2") as info:
        seen.extend(_decoder().decode(envelope(data)))
    assert seen == [] and info.value.location.line == 4


def test_tampered_amount_fails_the_sum() -> None:
    """A detail amount changed after the trailer was written fails the control sum."""
    data = FILE.read_bytes().replace(b"000000000119405C", b"000000000119406C")
    with pytest.raises(DecodeError, match="sum of amount"):
        list(_decoder().decode(envelope(data)))


def test_truncated_file_without_trailer_fails() -> None:
    """A file cut before its trailer fails as truncated."""
    with pytest.raises(DecodeError, match="no trailer"):
        list(_decoder().decode(envelope(b"".join(_lines()[:3]))))


def test_unknown_record_type_fails_with_line() -> None:
    """A line whose discriminator matches no record type fails the batch naming its line."""
    lines = _lines()
    with pytest.raises(DecodeError, match="unknown record type '07'") as info:
        list(_decoder().decode(envelope(b"".join([*lines[:2], b"07garbage\r\n", *lines[2:]]))))
    assert info.value.location.line == 3


def test_bad_date_is_a_record_failure() -> None:
    """A detail with an impossible value date fails alone, with its line and the original line as fragment."""
    data = FILE.read_bytes().replace(b"PAY-240315-0002 20240315", b"PAY-240315-0002 20241315")
    ok, [failure] = split(_decoder().decode(envelope(data)))
    assert [r.record.payment_id for r in ok] == ["PAY-240315-0001", "PAY-240315-0003"]
    assert failure.error.location.line == 3 and failure.error.location.field == "value_date"
    assert failure.fragment.startswith("02PAY-240315-0002")
