"""Optional Schematron validation: the project's compiler, Saxon runs, failed assertions as errors or notes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bridge.ports import ConfigError, RecordInvalid
from tests.unit.translators.support import MAPPINGS, SAMPLES, envelope, split
from translators.mapping.loader import load_mapping
from translators.schematron import SchematronChecker, SchematronError, compile_schematron
from translators.xml_decoder import XmlDecoder

RULES = Path(__file__).parents[2] / "fixtures" / "schematron" / "totals.sch"
INVOICE = (SAMPLES / "ubl" / "invoice-default-ns.xml").read_bytes()
NO_BUYER_REFERENCE = INVOICE.replace(b"<cbc:BuyerReference>", b"<cbc:AccountingCost>").replace(
    b"</cbc:BuyerReference>", b"</cbc:AccountingCost>"
)


@pytest.fixture(scope="module")
def stylesheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sch") / "totals.xsl"
    path.write_bytes(compile_schematron(RULES.read_bytes()))
    return path


def _mapping(tmp_path: Path, stylesheet: Path, severity: str) -> Path:
    """The shipped UBL Invoice mapping, copied with its code tables and hook, naming the Schematron."""
    for name in ("ubl-invoice.yaml", "ubl_document_kind.py"):
        shutil.copy(MAPPINGS / name, tmp_path / name)
    shutil.copytree(MAPPINGS / "codes", tmp_path / "codes")
    shutil.copy(stylesheet, tmp_path / "rules.xsl")
    mapping = tmp_path / "ubl-invoice.yaml"
    text = mapping.read_text(encoding="utf-8").replace(
        "fields:\n", f"schematron: {{files: [rules.xsl], severity: {severity}}}\nfields:\n", 1
    )
    mapping.write_text(text, encoding="utf-8")
    return mapping


def test_sample_passes_and_each_broken_rule_is_reported(stylesheet: Path) -> None:
    """The shipped sample meets the house rules; without its buyer reference HOUSE-01 fails, with its id, flag,
    location and text."""
    assert INVOICE.count(b"<cbc:BuyerReference>") == 1
    checker = SchematronChecker([stylesheet])
    assert checker.check(INVOICE) == []
    [failed] = checker.check(NO_BUYER_REFERENCE)
    assert (failed.rule, failed.flag, failed.kind) == ("HOUSE-01", "fatal", "failed-assert")
    assert failed.text == "[HOUSE-01] An invoice names the buyer reference (BT-10)."
    assert failed.location is not None and failed.location.endswith("Invoice[1]")


def test_value_of_and_report_in_the_message(stylesheet: Path) -> None:
    """``sch:value-of`` is evaluated in the text, and a ``sch:report`` whose test holds is reported."""
    big = INVOICE.replace(b">1194.05<", b">12000.00<")
    unnamed = INVOICE.replace(b"<cbc:Name>", b"<cbc:Nom>").replace(b"</cbc:Name>", b"</cbc:Nom>")
    checker = SchematronChecker([stylesheet])
    assert [a.text for a in checker.check(big)] == ["[HOUSE-02] Payable 12000.00 needs a second approval."]
    assert {(a.rule, a.kind) for a in checker.check(unnamed)} == {("HOUSE-03", "successful-report")}


def test_failed_assertion_fails_the_record_with_severity_error(tmp_path: Path, stylesheet: Path) -> None:
    """With ``severity: error`` a fatal failed assertion fails its record, naming the rule in text and detail."""
    decoder = XmlDecoder(load_mapping(_mapping(tmp_path, stylesheet, "error")))
    ok, [failure] = split(decoder.decode(envelope(NO_BUYER_REFERENCE)))
    assert ok == []
    assert isinstance(failure.error, RecordInvalid)
    assert "record fails Schematron: HOUSE-01: [HOUSE-01] An invoice names" in str(failure.error)
    assert failure.error.detail["rules"] == ["HOUSE-01"]
    [good], _ = split(decoder.decode(envelope(INVOICE)))
    assert good.record.notes == ()


def test_warning_and_severity_note_become_notes(tmp_path: Path, stylesheet: Path) -> None:
    """A warning never fails a record; with ``severity: note`` a fatal assertion is a note of the record too."""
    big = NO_BUYER_REFERENCE.replace(b">1194.05<", b">12000.00<")
    decoder = XmlDecoder(load_mapping(_mapping(tmp_path, stylesheet, "note")))
    # the totals no longer add up with 12000.00 payable: observed mode keeps the record with its notes
    [record], [] = split(XmlDecoder(decoder.mapping, mode={"mode": "observed"}).decode(envelope(big)))
    rules = [note.split(":", 1)[0] for note in record.record.notes]
    assert rules == ["BR-CO-16", "HOUSE-01", "HOUSE-02"]


def test_missing_stylesheet_is_a_mapping_problem(tmp_path: Path, stylesheet: Path) -> None:
    """A mapping naming a Schematron file that does not exist is refused when it loads."""
    mapping = _mapping(tmp_path, stylesheet, "error")
    (tmp_path / "rules.xsl").unlink()
    with pytest.raises(ConfigError) as info:
        load_mapping(mapping)
    assert any("rules.xsl does not exist" in str(problem) for problem in info.value.problems)


def test_compiler_refuses_what_is_not_schematron() -> None:
    """Compiling a document that is not a Schematron schema is an error, not an empty stylesheet."""
    with pytest.raises(SchematronError, match="not a Schematron schema"):
        compile_schematron(b"<schema/>")
