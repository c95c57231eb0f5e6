"""Optional rule validation with Schematron, compiled to XSLT 2.0 and run through Saxon (``saxonche``).

A mapping may name Schematron artefacts compiled to XSLT 2.0 (the official EN 16931 or XRechnung ones are files
the user supplies): each decoded document is then also transformed by them, and the SVRL report's failed
assertions and successful reports become :class:`Assertion` objects that the decoder records with the record,
as errors or as notes (``schematron: {files: [...], severity: error | note}`` in the mapping).

The document handed to Saxon is the record element as lxml serialised it after the bridge's safe parse (no
DTD, no entities): Saxon never sees the raw bytes. Stylesheets compile once per checker, lazily, so building a
decoder does no I/O.

:func:`compile_schematron` is the project's own small compiler for the Schematron subset its tests and simple
in-house rule files use (``ns``, ``pattern``, ``rule``, ``assert``, ``report``, ``value-of``, ``name``; the
first matching rule of a pattern fires, as ISO Schematron says). It is not a replacement for the ISO skeleton
or SchXslt, which compile the official artefacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from bridge.safexml import parse_bytes

__all__ = ["Assertion", "SchematronChecker", "SchematronError", "compile_schematron"]

SCH = "http://purl.oclc.org/dsdl/schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"
XSL = "http://www.w3.org/1999/XSL/Transform"


class SchematronError(Exception):
    """A Schematron artefact that cannot be read, compiled or run (a configuration problem, not a record's)."""


@dataclass(frozen=True, slots=True)
class Assertion:
    """One failed assertion (or successful report) of an SVRL report."""

    rule: str | None
    """The assertion's ``id`` (``BR-CO-10``, ``XR-01``...)."""
    flag: str | None
    """``fatal``, ``warning``... as the artefact says."""
    location: str | None
    """XPath of the node that failed."""
    text: str
    kind: Literal["failed-assert", "successful-report"] = "failed-assert"

    def message(self) -> str:
        """``"BR-CO-10: text [location]"``: how the assertion reads in a record error or note."""
        where = f" [{self.location}]" if self.location else ""
        return f"{self.rule or 'schematron'}: {self.text}{where}"


class SchematronChecker:
    """Runs XSLT 2.0 Schematron artefacts over documents; one Saxon processor, stylesheets compiled once."""

    def __init__(self, stylesheets: Sequence[Path]) -> None:
        self.stylesheets = tuple(stylesheets)
        self._processor: Any = None
        self._executables: list[Any] = []

    def _compiled(self) -> list[Any]:
        if self._processor is None:
            from saxonche import PySaxonProcessor

            processor = PySaxonProcessor(license=False)
            xslt = processor.new_xslt30_processor()
            executables = []
            for path in self.stylesheets:
                try:
                    executables.append(xslt.compile_stylesheet(stylesheet_file=str(path)))
                except Exception as exc:  # saxonche raises PySaxonApiError, a plain Exception subclass
                    raise SchematronError(f"cannot compile Schematron XSLT {path}: {exc}") from exc
            self._processor, self._executables = processor, executables
        return self._executables

    def check(self, document: bytes) -> list[Assertion]:
        """Every failed assertion and successful report of every artefact, in report order."""
        executables = self._compiled()
        try:
            node = self._processor.parse_xml(xml_text=document.decode("utf-8"))
        except Exception as exc:
            raise SchematronError(f"Saxon cannot read the document: {exc}") from exc
        found: list[Assertion] = []
        for path, executable in zip(self.stylesheets, executables, strict=True):
            try:
                report = executable.transform_to_string(xdm_node=node)
            except Exception as exc:
                raise SchematronError(f"Schematron XSLT {path.name} failed: {exc}") from exc
            found += parse_svrl(report.encode("utf-8") if report else b"")
        return found


def parse_svrl(report: bytes) -> list[Assertion]:
    """The failed assertions and successful reports of an SVRL document."""
    if not report.strip():
        raise SchematronError("the Schematron XSLT produced no SVRL report")
    root = parse_bytes(report)
    out: list[Assertion] = []
    for element in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(str(t) for t in element.itertext()).split())
        kind: Literal["failed-assert", "successful-report"] = (
            "failed-assert" if element.tag == f"{{{SVRL}}}failed-assert" else "successful-report"
        )
        out.append(Assertion(element.get("id"), element.get("flag"), element.get("location"), text, kind))
    return out


def _avt(text: str) -> str:
    """An attribute value written literally into a literal result element (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def compile_schematron(schema: bytes) -> bytes:
    """Compile a Schematron schema of the subset described above into an XSLT 2.0 stylesheet emitting SVRL."""
    sch = parse_bytes(schema)
    if sch.tag != f"{{{SCH}}}schema":
        raise SchematronError(f"not a Schematron schema: root element {sch.tag}")
    nsmap: dict[str, str] = {"xsl": XSL, "svrl": SVRL, "xs": "http://www.w3.org/2001/XMLSchema"}
    for ns in sch.iterfind(f"{{{SCH}}}ns"):
        prefix, uri = ns.get("prefix"), ns.get("uri")
        if not prefix or not uri:
            raise SchematronError("an sch:ns needs both prefix and uri")
        nsmap[prefix] = uri
    xsl = etree.Element(f"{{{XSL}}}stylesheet", nsmap=nsmap, version="2.0")
    etree.SubElement(xsl, f"{{{XSL}}}output", method="xml", indent="no")
    top = etree.SubElement(etree.SubElement(xsl, f"{{{XSL}}}template", match="/"), f"{{{SVRL}}}schematron-output")
    for p, pattern in enumerate(sch.iterfind(f"{{{SCH}}}pattern"), start=1):
        mode = f"M{p}"
        etree.SubElement(top, f"{{{SVRL}}}active-pattern", id=pattern.get("id") or mode)
        etree.SubElement(top, f"{{{XSL}}}apply-templates", select="/", mode=mode)
        rules = list(pattern.iterfind(f"{{{SCH}}}rule"))
        for r, rule in enumerate(rules):
            context = rule.get("context")
            if not context:
                raise SchematronError(f"pattern {pattern.get('id') or p}: a rule without context")
            template = etree.SubElement(
                xsl, f"{{{XSL}}}template", match=context, mode=mode, priority=str(1000 + len(rules) - r)
            )
            etree.SubElement(template, f"{{{SVRL}}}fired-rule", context=_avt(context))
            for check in rule:
                if check.tag not in (f"{{{SCH}}}assert", f"{{{SCH}}}report"):
                    continue
                is_assert = check.tag == f"{{{SCH}}}assert"
                test = check.get("test") or "true()"
                cond = etree.SubElement(template, f"{{{XSL}}}if", test=f"not({test})" if is_assert else test)
                out = etree.SubElement(
                    cond, f"{{{SVRL}}}{'failed-assert' if is_assert else 'successful-report'}", test=_avt(test)
                )
                for attribute in ("id", "flag", "role"):
                    if check.get(attribute):
                        out.set(attribute, _avt(check.get(attribute) or ""))
                out.set("location", "{path()}")
                _copy_text(check, etree.SubElement(out, f"{{{SVRL}}}text"))
            etree.SubElement(template, f"{{{XSL}}}apply-templates", select="*", mode=mode)
        fallback = etree.SubElement(xsl, f"{{{XSL}}}template", match="*", mode=mode, priority="-1")
        etree.SubElement(fallback, f"{{{XSL}}}apply-templates", select="*", mode=mode)
    return bytes(etree.tostring(xsl, xml_declaration=True, encoding="UTF-8"))


def _copy_text(check: Any, target: Any) -> None:
    """The assertion's text, with ``sch:value-of`` and ``sch:name`` turned into their XSLT equivalents."""
    target.text = check.text
    for child in check:
        if child.tag == f"{{{SCH}}}value-of":
            made = etree.SubElement(target, f"{{{XSL}}}value-of", select=child.get("select") or ".")
        elif child.tag == f"{{{SCH}}}name":
            made = etree.SubElement(target, f"{{{XSL}}}value-of", select=f"name({child.get('path') or '.'})")
        else:
            continue
        made.tail = child.tail
