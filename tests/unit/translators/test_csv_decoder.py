"""CSV decoding: cp1252 customer master, header+lines and repeated-key orders, encodings, dialects, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.ports import DecodeError
from tests.unit.translators.support import EXPECTED, MAPPINGS, SAMPLES, envelope, split
from translators.csv_decoder import CsvDecoder
from translators.mapping.loader import load_mapping

CUSTOMERS = SAMPLES / "csv" / "customers-cp1252.csv"


def _decode(mapping: str | Path, data: bytes | Path) -> tuple[list, list]:  # type: ignore[type-arg]
    path = mapping if isinstance(mapping, Path) else MAPPINGS / mapping
    return split(CsvDecoder(load_mapping(path)).decode(envelope(data)))


def _dump(records: list) -> list:  # type: ignore[type-arg]
    return [r.record.model_dump(mode="json") for r in records]


def _golden(name: str) -> object:
    return json.loads((EXPECTED / name).read_text(encoding="utf-8"))


def test_customer_master_cp1252_matches_golden() -> None:
    """The cp1252 semicolon export with decimal commas, code tables and local times decodes to the golden."""
    ok, failed = _decode("customer-master-csv.yaml", CUSTOMERS)
    assert failed == []
    assert _dump(ok) == _golden("customers-cp1252.json")
    assert [r.location.line for r in ok] == [4, 5, 6, 7]


@pytest.mark.parametrize(
    ("mapping", "sample"),
    [
        ("orders-header-lines-csv.yaml", "orders-header-lines.csv"),
        ("orders-repeated-keys-csv.yaml", "orders-repeated-keys.csv"),
    ],
)
def test_orders_grouping_matches_golden(mapping: str, sample: str) -> None:
    """Header+line rows and repeated-key rows each group into the same two golden sales orders."""
    ok, failed = _decode(mapping, SAMPLES / "csv" / sample)
    assert failed == []
    assert _dump(ok) == _golden("orders.json")


def test_wrong_encoding_names_the_byte_offset(tmp_path: Path) -> None:
    """A cp1252 file read as UTF-8 fails the batch with the byte offset and line of the first bad byte."""
    data = CUSTOMERS.read_bytes()
    mapping = (MAPPINGS / "customer-master-csv.yaml").read_text(encoding="utf-8").replace("cp1252", "utf-8")
    path = tmp_path / "utf8.yaml"
    path.write_text(mapping, encoding="utf-8")
    with pytest.raises(DecodeError) as info:
        _decode(path, data)
    expected = data.index("ä".encode("cp1252"))
    assert info.value.location is not None
    assert info.value.location.offset == expected and info.value.location.line == 3
    assert f"byte {expected}" in str(info.value)


def test_byte_undefined_in_cp1252_is_an_error_not_a_replacement() -> None:
    """Byte 0x81 (undefined in cp1252) fails strictly instead of becoming a replacement character."""
    data = CUSTOMERS.read_bytes().replace("Zürich".encode("cp1252"), b"Z\x81rich", 1)
    with pytest.raises(DecodeError, match="not valid cp1252"):
        _decode("customer-master-csv.yaml", data)


def _customer_csv(tmp_path: Path, header: str, rows: list[str], *, delimiter: str = ";", extra: str = "") -> Path:
    (tmp_path / "m.yaml").write_text(
        f"canonical: Customer\nformat: csv\ncsv: {{delimiter: '{delimiter}', encoding: utf-8}}\n{extra}fields:\n"
        "  customer_number: {column: KdNr, aliases: [Kundennummer], required: true}\n"
        "  name: {column: Name, required: true}\n"
        "  credit_limit: {column: Limit, convert: {type: decimal, decimal_sep: ',', thousands: '.'}}\n"
        "  currency: WKZ\n",
        encoding="utf-8",
    )
    return tmp_path / "m.yaml"


def test_header_alias_is_accepted(tmp_path: Path) -> None:
    """A column named by one of its aliases (older export) maps like the main name."""
    mapping = _customer_csv(tmp_path, "", [])
    ok, failed = _decode(mapping, b"Kundennummer;Name;Limit;WKZ\n1;A;1.234,50;EUR\n")
    assert failed == [] and ok[0].record.customer_number == "1" and str(ok[0].record.credit_limit) == "1234.50"


def test_sniffed_delimiter(tmp_path: Path) -> None:
    """With delimiter: sniff, a tab-separated file is detected and decoded."""
    mapping = _customer_csv(tmp_path, "", [], delimiter="sniff")
    ok, failed = _decode(mapping, b"KdNr\tName\tLimit\tWKZ\n1\tA\t10,00\tEUR\n2\tB\t\t\n")
    assert failed == [] and [r.record.name for r in ok] == ["A", "B"]


def test_missing_required_column_fails_the_batch(tmp_path: Path) -> None:
    """A header without a required column (nor any alias) fails the whole batch naming the column."""
    mapping = _customer_csv(tmp_path, "", [])
    with pytest.raises(DecodeError, match=r"KdNr \(or Kundennummer\)"):
        _decode(mapping, b"Nr;Name\n1;A\n")


def test_bad_row_is_a_failure_with_line_and_fragment(tmp_path: Path) -> None:
    """A row whose decimal is malformed fails alone with its line, field and original text; others decode."""
    mapping = _customer_csv(tmp_path, "", [])
    data = b"KdNr;Name;Limit;WKZ\r\n1;A;10,00;EUR\n2;B;1,2,3;EUR\r\n3;C;;\n"
    ok, [failure] = _decode(mapping, data)
    assert [r.record.customer_number for r in ok] == ["1", "3"]
    assert failure.error.location.line == 3 and failure.error.location.field == "credit_limit"
    assert "'1,2,3'" in str(failure.error) and failure.fragment == "KdNr;Name;Limit;WKZ\n2;B;1,2,3;EUR\n"


def test_bom_and_mixed_line_endings(tmp_path: Path) -> None:
    """A UTF-8 BOM does not end up in the first header name, and CRLF/LF rows mix freely."""
    mapping = _customer_csv(tmp_path, "", [])
    ok, failed = _decode(mapping, b"\xef\xbb\xbfKdNr;Name;Limit;WKZ\r\n1;A;;\n2;B;;\r\n")
    assert failed == [] and [r.record.customer_number for r in ok] == ["1", "2"]


def test_unterminated_quote_fails_the_batch(tmp_path: Path) -> None:
    """A quote opened and never closed is a batch-level DecodeError, not a silent merge of rows."""
    mapping = _customer_csv(tmp_path, "", [])
    with pytest.raises(DecodeError):
        _decode(mapping, b'KdNr;Name;Limit;WKZ\n1;"A;;\n')


def test_line_row_before_header_row_fails(tmp_path: Path) -> None:
    """In header+lines files, a line row before any header row fails the batch with its line."""
    with pytest.raises(DecodeError, match="before any header") as info:
        _decode("orders-header-lines-csv.yaml", b"L;10;SKU-1;x;1;EA;1.00;0;1.00;S;19;\n")
    assert info.value.location.line == 1


def test_empty_required_cell_is_a_record_failure_naming_the_field(tmp_path: Path) -> None:
    """A row whose required cell is empty becomes a dead letter naming the field and line; the rest decode."""
    mapping = _customer_csv(tmp_path, "", [])
    ok, failed = _decode(mapping, b"KdNr;Name;Limit;WKZ\n1;A;10,00;EUR\n2; ;5,00;EUR\n3;C;1.012,50;EUR\n")
    assert [r.record.customer_number for r in ok] == ["1", "3"]
    assert str(ok[1].record.credit_limit) == "1012.50"
    [failure] = failed
    assert failure.error.location is not None
    assert failure.error.location.field == "name" and failure.error.location.line == 3
    assert "required field is missing" in str(failure.error)


def test_plain_decimal_with_sign_last_is_converted(tmp_path: Path) -> None:
    """A plain decimal column passes its text on, except one written with its sign last ("12.50+", "3-")."""
    (tmp_path / "m.yaml").write_text(
        "canonical: Customer\nformat: csv\ncsv: {delimiter: ';', encoding: utf-8}\nfields:\n"
        "  customer_number: {column: KdNr, required: true}\n  name: {column: Name, required: true}\n"
        "  credit_limit: {column: Limit, convert: decimal}\n  currency: WKZ\n",
        encoding="utf-8",
    )
    ok, failed = _decode(tmp_path / "m.yaml", b"KdNr;Name;Limit;WKZ\n1;A;12.50+;EUR\n2;B;7.25;EUR\n3;C;3-;EUR\n")
    assert [str(r.record.credit_limit) for r in ok] == ["12.50", "7.25"]
    [failure] = failed  # -3 is read exactly, then refused: a credit limit cannot be negative
    assert failure.error.location is not None and failure.error.location.line == 4
    assert "credit_limit" in str(failure.error)


def test_failed_row_fragment_replays_after_the_mapping_is_fixed(tmp_path: Path) -> None:
    """A failed row's fragment keeps the preamble slots and the header, in the file's encoding: the fixed
    mapping decodes it to the same record the whole file gives (a bare row failed on 'header lacks column')."""
    fixed = MAPPINGS / "customer-master-csv.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(fixed.read_text(encoding="utf-8").replace(", I: inactive", ""), encoding="utf-8")
    _, failed = _decode(broken, CUSTOMERS)
    assert [f.ordinal for f in failed] == [3]  # 4714 has status I, unknown to the broken code table
    decoder = CsvDecoder(load_mapping(fixed))
    ok, again = split(decoder.decode(envelope(decoder.fragment_bytes(failed[0].fragment))))
    assert again == [] and len(ok) == 1
    whole, _ = _decode(fixed, CUSTOMERS)
    assert ok[0].record.model_dump(mode="json") == whole[3].record.model_dump(mode="json")
