"""Factur-X / ZUGFeRD / XRechnung PDFs as input: the embedded CII invoice, decoded with an XML mapping.

A Factur-X (ZUGFeRD 2.x) PDF is a PDF/A-3 carrying the invoice as an embedded file named ``factur-x.xml``
(``zugferd-invoice.xml`` in ZUGFeRD 2.0, ``xrechnung.xml`` for XRechnung in a PDF, ``ZUGFeRD-invoice.xml`` in
ZUGFeRD 1.0). :class:`FacturxDecoder` reads the envelope's stream with ``pypdf``, takes that attachment and
hands it, as a new envelope of the same batch, to :class:`~translators.xml_decoder.XmlDecoder` with the
interface's mapping; a plain XML file is passed straight on, so one interface takes both. A PDF without such
an attachment, or one ``pypdf`` cannot read, fails as a whole with a :class:`DecodeError` naming the file and
the attachments it does hold: a PDF is never taken for an empty batch.

Pure: the only input is the envelope's stream, nothing is written. The PDF is read from a seekable stream
(pypdf reads the cross-reference table and only the objects it needs); the embedded XML is held in memory
once, the size of the invoice, not of the PDF.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import IO

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from bridge.ports import DecodedRecord, DecodeError, Envelope, Location, RecordFailure
from translators.xml_decoder import XmlDecoder

__all__ = ["INVOICE_ATTACHMENTS", "FacturxDecoder", "embedded_invoice"]

_log = logging.getLogger("esb_bridge.translators.facturx")

#: The names an embedded invoice has, in the order they are looked for (case-insensitive).
INVOICE_ATTACHMENTS: tuple[str, ...] = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
_PDF_MAGIC = b"%PDF-"


def embedded_invoice(stream: IO[bytes], origin: str | None) -> tuple[str, bytes]:
    """The (name, bytes) of the invoice a PDF embeds; ``DecodeError`` when it has none or cannot be read."""
    where = Location(file=origin)
    try:
        reader = PdfReader(stream)
        attachments = reader.attachments
        names = list(attachments.keys())
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"cannot read PDF {origin}: {type(exc).__name__}: {exc}", location=where) from exc
    by_lower = {name.lower(): name for name in names}
    for wanted in INVOICE_ATTACHMENTS:
        name = by_lower.get(wanted)
        if name is None:
            continue
        contents = attachments[name]
        if len(contents) != 1:
            raise DecodeError(
                f"PDF {origin} embeds {len(contents)} files named {name!r}; expected one invoice", location=where
            )
        return name, contents[0]
    held = ", ".join(repr(n) for n in names) if names else "no embedded file"
    raise DecodeError(
        f"PDF {origin} carries no embedded invoice (looked for {', '.join(INVOICE_ATTACHMENTS)}; it holds {held}): "
        "not a Factur-X, ZUGFeRD or XRechnung PDF",
        location=where,
    )


def _is_pdf(envelope: Envelope) -> bool:
    with envelope.open() as stream:
        head = stream.read(1024)
    # ISO 32000 lets the header start within the first 1024 bytes; an XML document (which may mention
    # "%PDF-" in a comment) starts with its markup, after an optional byte order mark
    if head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<"):
        return False
    return _PDF_MAGIC in head


class FacturxDecoder:
    """Decoder kind ``facturx``: PDF with an embedded CII (or UBL) invoice, or the XML itself (implements
    ``bridge.ports.Decoder``)."""

    def __init__(self, inner: XmlDecoder) -> None:
        self.inner = inner
        self.mapping = inner.mapping

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        """Yield the embedded invoice's records; raise DecodeError for a PDF without one."""
        if not _is_pdf(envelope):
            yield from self.inner.decode(envelope)
            return
        with envelope.open() as stream:
            name, xml = embedded_invoice(stream, envelope.origin)
        _log.debug("%s: decoding embedded %s (%d bytes)", envelope.origin, name, len(xml))
        inner = replace(
            envelope,
            body=xml,
            spool_path=None,
            size=len(xml),
            media_type="application/xml",
            origin=f"{envelope.origin}#{name}",
        )
        yield from self.inner.decode(inner)
