"""XSLT 1.0 encoder (kind ``xslt``): run an old ESB's stylesheet unchanged on the bridge's XML of a record.

The stylesheet is parsed with the hardened parser and runs under an ``XSLTAccessControl`` that denies every
file and network access, so ``document()``, ``xsl:include`` of remote files and extension writes all fail. Its
input is the record rendered through an XML mapping (the legacy format the stylesheet was written for) or,
without one, the generic canonical XML (``urn:esb-bridge:canonical:1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.ports import ConfigError, EncodeContext, Encoded, EncodeError
from bridge.safexml import parse_bytes
from translators.mapping.compiled import CompiledMapping
from translators.xml_encoder import render_element

__all__ = ["XsltEncoder", "compile_stylesheet"]

_ACCESS: Any = etree.XSLTAccessControl  # lxml-stubs lack its keyword arguments
_DENY_ALL = _ACCESS(read_file=False, write_file=False, create_dir=False, read_network=False, write_network=False)


def compile_stylesheet(data: bytes, *, origin: str | None = None) -> etree.XSLT:
    """Parse (hardened) and compile an XSLT 1.0 stylesheet with all file and network access denied."""
    root = parse_bytes(data, origin=origin)
    try:
        return etree.XSLT(root, access_control=_DENY_ALL)
    except etree.XSLTParseError as exc:
        raise ConfigError(f"stylesheet {origin or ''} does not compile: {exc}") from exc


class XsltEncoder:
    """Encoder kind ``xslt`` (implements ``bridge.ports.Encoder``)."""

    def __init__(
        self,
        stylesheet: Path,
        mapping: CompiledMapping,
        *,
        params: Mapping[str, str] | None = None,
        media_type: str = "application/xml",
    ) -> None:
        self.stylesheet = stylesheet
        self.mapping = mapping
        self.params = dict(params or {})
        self.media_type = media_type
        self._transform: etree.XSLT | None = None

    def _load(self) -> etree.XSLT:
        if self._transform is None:
            try:
                data = self.stylesheet.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read stylesheet {self.stylesheet}: {exc}") from exc
            self._transform = compile_stylesheet(data, origin=str(self.stylesheet))
        return self._transform

    def render(self, record: Any, extra_params: Mapping[str, str] | None = None) -> bytes:
        """Transform the record's XML; an XSLT runtime error or ``xsl:message terminate`` is EncodeError."""
        transform: Any = self._load()  # lxml-stubs type neither keyword params nor error_log
        document = etree.ElementTree(render_element(self.mapping, record))
        params = {k: etree.XSLT.strparam(v) for k, v in {**self.params, **(extra_params or {})}.items()}
        try:
            result = transform(document, **params)
        except etree.XSLTApplyError as exc:
            log: Any = transform.error_log
            raise EncodeError(f"stylesheet {self.stylesheet.name} failed: {exc} {log}".strip()) from exc
        return bytes(result)

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Transform ``record``; the stylesheet gets ``message_id`` and ``business_key`` as parameters."""
        body = self.render(record, {"message_id": str(context.message_id), "business_key": context.business_key})
        return Encoded(body, self.media_type, name=f"{context.message_id}.xml")
