"""Mapping files: every shipped mapping checks clean; problems are all reported with their YAML lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.ports import ConfigError
from tests.unit.translators.support import MAPPINGS
from translators.mapping.converters import forward, reverse
from translators.mapping.loader import load_mapping
from translators.mapping.spec import ConvertSpec


@pytest.mark.parametrize("path", sorted(p.name for p in MAPPINGS.glob("*.yaml")))
def test_shipped_mappings_check_clean(path: str) -> None:
    """Every mapping shipped in samples/mappings loads and compiles without a problem."""
    assert load_mapping(MAPPINGS / path).model is not None


def test_all_problems_reported_with_lines(tmp_path: Path) -> None:
    """Unknown field, unknown code table, bad prefix, bad hook and bad tz are all reported, each with its line."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        "canonical: Invoice\n"
        "format: xml\n"
        "record: /x:Invoice\n"
        "fields:\n"
        "  invoice_numbr: cbc:ID\n"
        "  currency: {path: cbc:Cur, code_table: nope}\n"
        "  issued_at: {path: IssueTime, convert: {type: datetime, tz: Mars/Olympus}}\n"
        "  note: {path: Note, function: 'no.such.module:fn'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    by_line: dict[int | None, str] = {}
    for problem in info.value.problems:
        by_line[problem.line] = by_line.get(problem.line, "") + problem.message + "\n"
    assert "namespace prefix 'x'" in by_line[3]
    assert "has no field 'invoice_numbr'" in by_line[5]
    assert "unknown code table 'nope'" in by_line[6]
    assert "Mars/Olympus" in by_line[7]
    assert "cannot import module" in by_line[8]


def test_schema_errors_carry_yaml_lines(tmp_path: Path) -> None:
    """A spec shape error (unknown key, wrong type) names its YAML path and line."""
    path = tmp_path / "bad.yaml"
    path.write_text("canonical: Invoice\nformat: xml\nrecord: /Invoice\nfields:\n  note: {pathh: Note}\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    [problem] = info.value.problems
    assert problem.line == 5 and problem.path.startswith("fields.note")


@pytest.mark.parametrize(
    ("options", "text", "expected"),
    [
        ({"type": "decimal", "decimal_sep": ",", "thousands": "."}, "1.234.567,89", "1234567.89"),
        ({"type": "decimal", "implied_decimals": 2}, "000000012345", "123.45"),
        ({"type": "decimal"}, "12.50-", "-12.50"),
        ({"type": "decimal", "negate": True}, "-3.10", "3.10"),
        ({"type": "bool"}, "X", True),
        ({"type": "date", "format": "%d.%m.%Y"}, "29.02.2024", "2024-02-29"),
        (
            {"type": "datetime", "format": "%Y%m%d%H%M%S", "tz": "Europe/Berlin"},
            "20240731120000",
            "2024-07-31T12:00:00+02:00",
        ),
    ],
)
def test_converters(options: dict, text: str, expected: object) -> None:  # type: ignore[type-arg]
    """Each converter reads its legacy spelling exactly (and its reverse writes a text that reads back the same)."""
    spec = ConvertSpec.model_validate(options)
    conv = forward(spec)
    assert conv is not None
    value = conv(text)
    shown = value.isoformat() if hasattr(value, "isoformat") else (value if isinstance(value, bool) else str(value))
    assert shown == expected
    assert str(conv(reverse(spec)(value))) == str(value)


def test_naive_datetime_without_source_tz_is_refused() -> None:
    """A local time with no declared source time zone is an error, never silently UTC."""
    conv = forward(ConvertSpec(type="datetime", format="%Y%m%d%H%M%S"))
    assert conv is not None
    with pytest.raises(ValueError, match="no source tz"):
        conv("20240731120000")
