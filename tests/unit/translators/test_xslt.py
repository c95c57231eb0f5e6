"""XSLT encoder: legacy stylesheet output, sandboxing (files beside the stylesheet only), hardened parsing."""

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


_XSL = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">{}</xsl:stylesheet>'


def _write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_XSL.format(body), encoding="utf-8")
    return path


def test_includes_imports_and_lookup_documents_beside_the_stylesheet_work(tmp_path: Path) -> None:
    """An old ESB stylesheet split into an import, an include and a lookup document() runs unchanged."""
    folder = tmp_path / "esb"
    _write(folder / "lib" / "base.xsl", '<xsl:template name="who"><base/></xsl:template>')
    _write(folder / "common.xsl", '<xsl:include href="lib/base.xsl"/><xsl:template name="common"><c/></xsl:template>')
    (folder / "codes.xml").write_text("<codes><code k='S'>VAT</code></codes>", encoding="utf-8")
    main = _write(
        folder / "main.xsl",
        '<xsl:import href="lib/base.xsl"/><xsl:include href="common.xsl"/>'
        '<xsl:template match="/"><out><xsl:call-template name="who"/><xsl:call-template name="common"/>'
        "<xsl:value-of select=\"document('codes.xml')/codes/code[@k='S']\"/></out></xsl:template>",
    )
    body = XsltEncoder(main, generic_mapping("Invoice")).render(_invoice())
    out = parse_bytes(body)
    assert [child.tag for child in out] == ["base", "c"] and out.xpath("string()") == "VAT"


@pytest.mark.parametrize(
    "href",
    ["../outside.xsl", "/etc/passwd", "file:///etc/passwd", "http://127.0.0.1:9/x.xsl", "link/outside.xsl"],
)
def test_includes_outside_the_stylesheet_folder_are_refused(tmp_path: Path, href: str) -> None:
    """`..`, absolute paths, other URL schemes and a symbolic link out of the folder are refused."""
    _write(tmp_path / "outside.xsl", '<xsl:template name="x"><x/></xsl:template>')
    folder = tmp_path / "esb"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path)
    main = _write(folder / "main.xsl", f'<xsl:include href="{href}"/><xsl:template match="/"><out/></xsl:template>')
    with pytest.raises(HostileInput, match="refused"):
        XsltEncoder(main, generic_mapping("Invoice")).render(_invoice())


def test_missing_include_is_a_config_error_naming_it(tmp_path: Path) -> None:
    """An include that is not there is a configuration error that names the file."""
    main = _write(tmp_path / "main.xsl", '<xsl:include href="gone.xsl"/><xsl:template match="/"><out/></xsl:template>')
    with pytest.raises(ConfigError, match=r"gone\.xsl"):
        XsltEncoder(main, generic_mapping("Invoice")).render(_invoice())


def test_included_stylesheet_with_doctype_is_refused(tmp_path: Path) -> None:
    """An included file gets the same hardened parsing as the stylesheet: a DOCTYPE is refused."""
    folder = tmp_path / "esb"
    folder.mkdir()
    (folder / "evil.xsl").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + _XSL.format("&e;")
    )
    main = _write(folder / "main.xsl", '<xsl:include href="evil.xsl"/><xsl:template match="/"><out/></xsl:template>')
    with pytest.raises(HostileInput, match="DOCTYPE"):
        XsltEncoder(main, generic_mapping("Invoice")).render(_invoice())
