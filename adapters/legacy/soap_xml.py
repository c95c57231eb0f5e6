"""The one hardened XML parser of the SOAP adapter, plus SOAP envelope and fault reading.

Every byte a SOAP peer sends (responses, and requests in the simulator) is parsed here and nowhere else:
no DTD, no entities, no network, no huge trees; a DOCTYPE is refused outright as :class:`HostileInput`.
When ``translators.xml.safe`` lands this module delegates to it. It must not do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from bridge.ports import DecodeError, HostileInput, Location

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "SoapFault",
    "body_child",
    "elements",
    "local_path",
    "parse_envelope",
    "parse_xml",
    "read_fault",
    "redact",
]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe and sinks run on several threads.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
    )


def parse_xml(data: bytes, *, origin: str = "") -> etree._Element:
    """Parse untrusted XML; a DTD or entity declaration is :class:`HostileInput`, bad XML :class:`DecodeError`."""
    match = _DOCTYPE.search(data)
    if match is not None:
        where = Location(file=origin or None, offset=match.start())
        raise HostileInput("XML with a DOCTYPE or entity declaration refused", location=where)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise DecodeError(f"not well-formed XML: {exc.msg}", location=Location(file=origin or None, line=line)) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise HostileInput("XML with a DOCTYPE refused", location=Location(file=origin or None))
    return root


def parse_envelope(data: bytes, *, origin: str = "") -> tuple[etree._Element, str]:
    """The SOAP envelope element and its SOAP namespace (1.1 or 1.2); anything else is a :class:`DecodeError`."""
    root = parse_xml(data, origin=origin)
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Envelope" or ns not in (SOAP11_NS, SOAP12_NS):
        raise DecodeError(f"not a SOAP envelope: root is {root.tag}", location=Location(file=origin or None, xpath="/"))
    return root, ns


def body_child(envelope: etree._Element, soap_ns: str) -> etree._Element | None:
    """The first element inside ``soap:Body`` (the operation's body element or a Fault), if any."""
    body = envelope.find(f"{{{soap_ns}}}Body")
    if body is None:
        return None
    for child in body:
        if isinstance(child.tag, str):
            return child
    return None


@dataclass(frozen=True)
class SoapFault:
    """A SOAP fault, version-neutral: the code's QName local part and prefix form, its string and detail."""

    code: str
    code_local: str
    subcodes: tuple[str, ...]
    string: str
    detail: str

    def matches(self, codes: Iterable[str], strings: Iterable[str]) -> bool:
        """True when a configured code or a fault-string fragment applies.

        A code matches the fault code or a sub-code by local name, or one segment of SOAP 1.1's dotted form:
        ``Client`` and ``DuplicateInvoice`` both match ``soap:Client.DuplicateInvoice``.
        """
        locals_ = [self.code_local, *(s.split(":")[-1] for s in self.subcodes)]
        names = set(locals_)
        for name in locals_:
            parts = name.split(".")
            names.update(parts)
            names.update(".".join(parts[:i]) for i in range(1, len(parts)))
        if any(c.split(":")[-1] in names for c in codes if c):
            return True
        return any(s and s.lower() in self.string.lower() for s in strings)


def read_fault(element: etree._Element, soap_ns: str) -> SoapFault | None:
    """Read a ``soap:Fault`` element (1.1 faultcode/faultstring, 1.2 Code/Value/Subcode, Reason/Text)."""
    if element.tag != f"{{{soap_ns}}}Fault":
        return None
    if soap_ns == SOAP11_NS:
        code = (element.findtext("faultcode") or "").strip()
        string = (element.findtext("faultstring") or "").strip()
        detail_el = element.find("detail")
        subcodes: tuple[str, ...] = ()
    else:
        code = (element.findtext(f"{{{soap_ns}}}Code/{{{soap_ns}}}Value") or "").strip()
        subs: list[str] = []
        sub = element.find(f"{{{soap_ns}}}Code/{{{soap_ns}}}Subcode")
        while sub is not None:
            subs.append((sub.findtext(f"{{{soap_ns}}}Value") or "").strip())
            sub = sub.find(f"{{{soap_ns}}}Subcode")
        subcodes = tuple(subs)
        string = (element.findtext(f"{{{soap_ns}}}Reason/{{{soap_ns}}}Text") or "").strip()
        detail_el = element.find(f"{{{soap_ns}}}Detail")
    detail = etree.tostring(detail_el, encoding="unicode") if detail_el is not None else ""
    return SoapFault(code=code, code_local=code.split(":")[-1], subcodes=subcodes, string=string, detail=detail)


_SECRET_ELEMENTS = ("Password", "Nonce")


def redact(data: bytes, *, fields: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """A capture-safe text of a request or response: WS-Security secrets, configured fields and values masked.

    Works on text, not a parse tree, so even a hostile or broken document can be captured safely.
    """
    text = data.decode("utf-8", errors="replace")
    for name in (*_SECRET_ELEMENTS, *fields):
        pattern = re.compile(rf"(<(?:[\w.-]+:)?{re.escape(name)}\b[^>]*>)([^<]*)(</(?:[\w.-]+:)?{re.escape(name)}>)")
        text = pattern.sub(r"\1***\3", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def local_path(path: str) -> etree.XPath:
    """A compiled XPath for a namespace-agnostic path of local names (``invoices/invoice``; ``*`` = any)."""
    steps = [s for s in path.strip("/").split("/") if s]
    for step in steps:
        if step != "*" and not re.fullmatch(r"[A-Za-z_][\w.-]*", step):
            raise ValueError(f"{step!r} is not an element local name")
    expr = "/".join("*" if s == "*" else f"*[local-name()='{s}']" for s in steps)
    return etree.XPath(expr or ".")


def elements(result: Any) -> list[etree._Element]:
    """The elements of an XPath result (which may also hold strings or numbers)."""
    return [el for el in result if isinstance(el, etree._Element)] if isinstance(result, list) else []
