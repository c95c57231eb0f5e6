"""The one hardened XML parser of esb-bridge: every untrusted XML in the project goes through here.

No DTD is loaded, no entity is resolved, nothing is fetched from the network, libxml2's size limits stay on
(no ``huge_tree``: a text node over 10 MB fails fast), and a document carrying any DOCTYPE is refused with
:class:`~bridge.ports.HostileInput` before a single record is handed on, because XXE, billion-laughs and
external-DTD attacks all need one. lxml's errors are translated into the bridge error tree here, so callers
never see an ``lxml`` exception. This module must not read files by name: callers hand it bytes or streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from bridge.ports import DecodeError, HostileInput, Location

__all__ = ["parse_bytes", "safe_iterparse", "safe_parser", "translate_syntax_error"]

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_pis": False,
}

#: libxml2 messages that mean "someone tried to exhaust us", not "the file is broken".
_HOSTILE_MARKERS = ("huge", "too long", "resource limit", "amplification", "entity", "excessive depth")


def safe_parser(*, remove_blank_text: bool = False) -> etree.XMLParser:
    """A fresh hardened ``XMLParser`` (parsers are not thread-safe: take one per use)."""
    return etree.XMLParser(remove_blank_text=remove_blank_text, **_PARSER_OPTIONS)


def _refuse_doctype(tree: etree._ElementTree, origin: str | None) -> None:
    docinfo: Any = tree.docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise HostileInput(
            "XML document declares a DOCTYPE; DTDs and entities are refused (XXE / entity expansion protection)",
            location=Location(file=origin, line=1),
            detail={"doctype": docinfo.doctype},
        )


def translate_syntax_error(exc: etree.XMLSyntaxError, origin: str | None) -> DecodeError:
    """Turn an lxml syntax error into a DecodeError (or HostileInput for resource-limit hits) with its location."""
    line, column = getattr(exc, "position", (None, None)) or (None, None)
    message = str(exc.msg if getattr(exc, "msg", None) else exc)
    location = Location(file=origin, line=line or getattr(exc, "lineno", None), column=column)
    lowered = message.lower()
    cls = HostileInput if any(marker in lowered for marker in _HOSTILE_MARKERS) else DecodeError
    return cls(f"XML is not well-formed or exceeds parser limits: {message}", location=location)


def parse_bytes(data: bytes, *, origin: str | None = None, resolver: etree.Resolver | None = None) -> etree._Element:
    """Parse a whole (small) document, e.g. a SOAP body, a stylesheet or a projected response.

    ``resolver`` (for a stylesheet whose ``xsl:include`` it confines) stays attached to the document's parser;
    ``origin`` is then also the base URL that relative references resolve against.
    """
    parser = safe_parser()
    if resolver is not None:
        parser.resolvers.add(resolver)
    try:
        if resolver is not None and origin is not None:
            root = etree.fromstring(data, parser=parser, base_url=origin)
        else:
            root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise translate_syntax_error(exc, origin) from exc
    if root is None:
        raise DecodeError("empty XML document", location=Location(file=origin))
    _refuse_doctype(root.getroottree(), origin)
    return root


def safe_iterparse(
    stream: IO[bytes],
    *,
    tag: str | list[str] | None = None,
    origin: str | None = None,
    root_tags: list[str] | None = None,
) -> Iterator[etree._Element]:
    """Stream the ``end`` events of ``tag`` elements; refuse DOCTYPEs before yielding anything.

    The caller clears what it has processed (see :class:`translators.xml_decoder.XmlDecoder`); this function
    keeps no reference to yielded elements. ``root_tags``, when given, receives the document element's tag once
    the whole document is parsed (a caller that found no record says which root it got).
    """
    context = etree.iterparse(stream, events=("end",), tag=tag, **_PARSER_OPTIONS)
    checked = False
    try:
        for _event, element in context:
            if not checked:
                _refuse_doctype(element.getroottree(), origin)
                checked = True
            yield element
        root = context.root
        if not checked and root is not None:
            _refuse_doctype(root.getroottree(), origin)
        if root_tags is not None and root is not None:
            root_tags.append(str(root.tag))
    except etree.XMLSyntaxError as exc:
        raise translate_syntax_error(exc, origin) from exc
