"""SAP flat-file IDocs -> the IDoc XML tree, decoded with the same XML mappings (decoder kind ``idoc_flat``).

SAP's file port writes an IDoc as fixed-width records: one ``EDI_DC40`` control record (524 characters) starting
each IDoc, then one data record per segment: the segment name in the first 30 characters, the client, IDoc
number, segment number, parent segment number and hierarchy level (63 characters in all), then the segment's
fields as one fixed-width ``SDATA`` string laid out by the segment definition (:mod:`translators.idoc_segments`).
:func:`flat_xml` turns such a file into the tree the XML port writes (``<IDOC BEGIN="1">``, ``EDI_DC40``, each
segment an element inside the segment its parent segment number names, or inside ``IDOC`` for parent 0, each
non-blank field a child element). The nesting follows the parent number, not the hierarchy level: SAP writes
``E1EDK01`` at level 01 and its sibling ``E1EDK02`` at level 02, both with parent 0. So the XML mappings
(``idoc-invoic02.yaml``, ``idoc-orders05.yaml``) read both formats: there is one mapping per message type, not
one per format. External segment names with a version (``E2EDKA1003``) are read as their segment type
(``E1EDKA1``); SAP's ``/NAMESPACE/`` names are written ``_-NAMESPACE_-`` as in the XML port.

Line numbers are kept: the XML holds each flat record on the line of the same number, so a record's location
(and a dead letter's) names the line of its ``EDI_DC40`` in the flat file. A file that does not start with
``EDI_DC40`` (the XML port format, or a dead letter's XML fragment replayed) goes to the inner decoder as it
is, so one interface takes both formats. Pure: the flat file is read from the envelope's stream and the XML
held in memory once (about the size of the file); nothing is written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from bridge.ports import DecodedRecord, DecodeError, Envelope, Location, RecordFailure
from bridge.safexml import parse_bytes
from translators.csv_decoder import decoded_lines
from translators.facturx import FacturxDecoder
from translators.idoc_segments import CONTROL_FIELDS, SEGMENTS
from translators.xml_decoder import XmlDecoder

__all__ = ["IdocFlatDecoder", "Layouts", "flat_tree", "flat_xml", "load_segments", "segment_type"]

Layouts = Mapping[str, tuple[tuple[str, int], ...]]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_VERSIONED = re.compile(r"^([EZ])2(\w+?)(\d{3})$")
_SDATA = 63  # where a data record's SDATA starts (after SEGNAM, MANDT, DOCNUM, SEGNUM, PSGNUM, HLEVEL)


def segment_type(raw: str) -> str:
    """The segment type of a flat record's segment name: ``E2EDKA1003`` -> ``E1EDKA1``, ``/X/Y`` -> ``_-X_-Y``.

    The external name of a segment definition is ``E2`` (or ``Z2``) + the type's name + a three-digit version;
    a name of seven characters or fewer (``E2EDP26``) carries no version.
    """
    name = raw.strip().replace("/", "_-")
    match = _VERSIONED.match(name)
    if match is not None and len(name) > 7:
        return f"{match.group(1)}1{match.group(2)}"
    if len(name) > 1 and name[1] == "2" and name[0] in "EZ":
        return f"{name[0]}1{name[2:]}"
    return name


def load_segments(path: Path) -> dict[str, tuple[tuple[str, int], ...]]:
    """Segment layouts from a CSV of ``segment,field,length`` rows (``#`` comments), in field order."""
    fields: dict[str, list[tuple[str, int]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for number, row in enumerate(csv.reader(fh), start=1):
            if not row or row[0].startswith("#") or not "".join(row).strip():
                continue
            try:
                segment, name, length = (cell.strip() for cell in row)
                fields.setdefault(segment, []).append((name, int(length)))
            except ValueError:
                raise ValueError(f"{path}:{number}: expected 'segment,field,length', got {row!r}") from None
    return {segment: tuple(f) for segment, f in fields.items()}


def _elements(data: str, layout: Iterable[tuple[str, int]], where: Location) -> str:
    out: list[str] = []
    start = 0
    for name, length in layout:
        value = data[start : start + length].strip()
        if value:
            bad = _BAD_CHAR.search(value)
            if bad is not None:
                at = (where.column or 0) + start + bad.start() + 1
                raise DecodeError(
                    f"field {name} holds control character {bad.group()!r}, which XML cannot carry",
                    location=replace(where, column=at, field=name),
                )
            out.append(f"<{name}>{escape(value)}</{name}>")
        start += length
    return "".join(out)


def flat_xml(lines: Iterable[str], origin: str | None, layouts: Layouts = SEGMENTS) -> bytes:
    """The IDoc XML of a flat IDoc file, each record on the line of its number; DecodeError says where."""
    out: list[str] = []
    open_segments: list[tuple[int, str]] = []  # (segment number, name), outermost first
    root: str | None = None
    docnum = ""  # the current IDoc's number: its data records must carry it (or none)
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            out.append("")
            continue
        where = Location(file=origin, line=number)
        closers = "".join(f"</{name}>" for _, name in reversed(open_segments))
        if line.startswith("EDI_DC40"):
            control = _elements(line, CONTROL_FIELDS, replace(where, column=0))
            if root is None:
                # the extension (CIMTYP), else the basic type (IDOCTYP), names the root, as in the XML port
                root = (line[69:99].strip() or line[39:69].strip() or "IDOC_FLAT").replace("/", "_-")
                if not _NAME.match(root):
                    raise DecodeError(f"IDoc type {root!r} is not a name", location=where)
                closers = ""
            else:
                closers += "</IDOC>"
            open_segments, docnum = [], line[13:29].strip()
            out.append(f'{closers}<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">{control}</EDI_DC40>')
            continue
        if root is None:
            raise DecodeError(
                "not a flat IDoc: a data record before any EDI_DC40 control record",
                location=where,
            )
        name, number_text, parent_text = segment_type(line[:30]), line[49:55], line[55:61]
        if not _NAME.match(name) or not number_text.isdigit() or not parent_text.isdigit():
            raise DecodeError(
                f"not an IDoc data record: segment name {line[:30].strip()!r}, segment number {number_text!r}, "
                f"parent segment number {parent_text!r} (columns 1-30, 50-55, 56-61)",
                location=where,
            )
        own = line[33:49].strip()
        if own and docnum and own != docnum:
            raise DecodeError(
                f"data record of IDoc {own} inside IDoc {docnum} (columns 34-49): records of two IDocs interleaved",
                location=where,
            )
        parent = int(parent_text)
        closing: list[tuple[int, str]] = []
        while open_segments and open_segments[-1][0] != parent:
            closing.append(open_segments.pop())
        if parent and not open_segments:
            raise DecodeError(
                f"segment {name} names parent segment {parent}, which is not an open segment before it",
                location=where,
            )
        fields = _elements(line[_SDATA:], layouts.get(name, ()), replace(where, column=_SDATA))
        open_segments.append((int(number_text), name))
        out.append("".join(f"</{n}>" for _, n in closing) + f'<{name} SEGMENT="1">{fields}')
    if root is None:
        raise DecodeError("not a flat IDoc: no EDI_DC40 control record", location=Location(file=origin))
    out[-1] += "".join(f"</{name}>" for _, name in reversed(open_segments)) + f"</IDOC></{root}>"
    out[0] = f'<?xml version="1.0" encoding="UTF-8"?><{root}>' + out[0]
    return "\n".join(out).encode("utf-8")


def flat_tree(lines: Iterable[str], origin: str | None, layouts: Layouts = SEGMENTS) -> etree._Element:
    """The IDoc element tree of a flat IDoc file (what :func:`flat_xml` writes, parsed)."""
    return parse_bytes(flat_xml(lines, origin, layouts), origin=origin)


def _is_flat(envelope: Envelope) -> bool:
    with envelope.open() as stream:
        head = stream.read(256)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"EDI_DC40")


class IdocFlatDecoder:
    """Decoder kind ``idoc_flat``: flat-file IDocs (or the XML port format) through an IDoc XML mapping
    (implements ``bridge.ports.Decoder``)."""

    def __init__(
        self, inner: XmlDecoder | FacturxDecoder, *, encoding: str = "utf-8", layouts: Layouts | None = None
    ) -> None:
        self.inner = inner
        self.mapping = inner.mapping
        self.encoding = encoding
        self.layouts: Layouts = {**SEGMENTS, **(layouts or {})}

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        """Yield one record per IDoc; raise DecodeError for a file that is no IDoc (with its line)."""
        if not _is_flat(envelope):
            yield from self.inner.decode(envelope)  # the XML port format (or a dead letter's XML fragment)
            return
        with envelope.open() as stream:
            xml = flat_xml(decoded_lines(stream, self.encoding, envelope.origin), envelope.origin, self.layouts)
        inner = replace(envelope, body=xml, spool_path=None, size=len(xml), media_type="application/xml")
        yield from self.inner.decode(inner)
