"""XSLT encoder: legacy stylesheet output, sandboxing (no file/network access), hardened stylesheet parsing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bridge.ports import ConfigError, EncodeContext, EncodeError, HostileInput, PathName
from bridge.safexml import parse_bytes
from tests.unit.translators.support import MAPPINGS, SAMPLES, envelope, split
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.xml_decoder import XmlDecoder
from translators.xslt import XsltEncoder


def _invoice():  # type: ignore[no-untyped-def]
    mapping = load_mapping(MAPPINGS / "ubl-invoice.yaml")
    [item], _ = split(XmlDecoder(mapping).decode(envelope(SAMPLES / "ubl" / "invoice-default-ns.xml")))
    return item.record


def test_legacy_stylesheet_renders_billdoc() -> None:
    """The shipped legacy stylesheet turns the canonical invoice into the billing system's BILLDOC."""
    encoder = XsltEncoder(MAPPINGS / "legacy-billing.xsl", generic_mapping("Invoice"))
    context = EncodeContext("billing", uuid.UUID(int=1), "INV-2024-0001", PathName.LEGACY)
    doc = parse_bytes(encoder.encode(_invoice(), context).body)
    assert doc.tag == "BILLDOC"
    assert doc.findtext("HEAD/DOCNO") == "INV-2024-0001" and doc.findtext("HEAD/DOCTYPE") == "F2"
    assert doc.findtext("HEAD/FKDAT") == "20240315" and doc.findtext("HEAD/ZAHLB") == "1194.05"
    assert doc.findtext("HEAD/REFID") == str(uuid.UUID(int=1))
    assert [i.findtext("POSNR") for i in doc.findall("ITEM")] == ["000001", "000002", "000003"]
    assert [i.findtext("MWSKZ") for i in doc.findall("ITEM")] == ["S19", "S19", "S7"]


def _stylesheet(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.xsl"
    path.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:template match="/">{body}</xsl:template></xsl:stylesheet>',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://127.0.0.1:9/x.xml"])
def test_document_function_cannot_read_files_or_network(tmp_path: Path, target: str) -> None:
    """document() on a local file or a network URL is denied and fails the encoding."""
    path = _stylesheet(tmp_path, f"<out><xsl:copy-of select=\"document('{target}')\"/></out>")
    with pytest.raises(EncodeError):
        XsltEncoder(path, generic_mapping("Invoice")).render(_invoice())


def test_terminating_message_is_an_encode_error(tmp_path: Path) -> None:
    """xsl:message terminate='yes' (a stylesheet's business refusal) becomes EncodeError with its text."""
    path = _stylesheet(tmp_path, '<xsl:message terminate="yes">no billing for this customer</xsl:message>')
    with pytest.raises(EncodeError, match="no billing"):
        XsltEncoder(path, generic_mapping("Invoice")).render(_invoice())


def test_stylesheet_with_doctype_is_refused(tmp_path: Path) -> None:
    """A stylesheet carrying a DOCTYPE (entity tricks) is refused by the hardened parser."""
    path = tmp_path / "evil.xsl"
    path.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    with pytest.raises(HostileInput):
        XsltEncoder(path, generic_mapping("Invoice")).render(_invoice())


def test_broken_stylesheet_is_a_config_error(tmp_path: Path) -> None:
    """A stylesheet that does not compile is a ConfigError naming it."""
    path = _stylesheet(tmp_path, '<xsl:value-of select="(("/>')
    with pytest.raises(ConfigError, match="does not compile"):
        XsltEncoder(path, generic_mapping("Invoice")).render(_invoice())
