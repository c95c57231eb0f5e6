"""XSLT 1.0 encoder (kind ``xslt``): run an old ESB's stylesheet unchanged on the bridge's XML of a record.

The stylesheet is parsed with the hardened parser. Old ESB stylesheets share templates and lookup documents
through ``xsl:include``, ``xsl:import`` and ``document()``, so those may read files, but only inside the
stylesheet's own folder (after resolving ``..`` and symbolic links), each parsed with the same hardened parser
(a DOCTYPE refused); any other file, any URL scheme but ``file``, and any write or network access are refused.
Its input is the record rendered through an XML mapping (the legacy format the stylesheet was written for)
or, without one, the generic canonical XML (``urn:esb-bridge:canonical:1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from bridge.ports import ConfigError, EncodeContext, Encoded, EncodeError, HostileInput
from bridge.safexml import parse_bytes
from translators.mapping.compiled import CompiledMapping
from translators.xml_encoder import render_element

__all__ = ["XsltEncoder", "compile_stylesheet"]

_ACCESS: Any = etree.XSLTAccessControl  # lxml-stubs lack its keyword arguments
_DENY_ALL = _ACCESS(read_file=False, write_file=False, create_dir=False, read_network=False, write_network=False)
#: File reads pass libxslt's check and are then confined by :class:`_FolderResolver`.
_READ_CONFINED = _ACCESS(read_file=True, write_file=False, create_dir=False, read_network=False, write_network=False)


class _FolderResolver(etree.Resolver):
    """Resolves ``xsl:include``, ``xsl:import`` and ``document()`` to files inside one folder, or refuses."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder.resolve()

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]  # stubs lack context
        parsed = urlsplit(system_url)
        if parsed.scheme not in ("", "file") or parsed.netloc:
            raise HostileInput(f"stylesheet reference {system_url!r} refused: only files beside the stylesheet")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.folder):
            raise HostileInput(
                f"stylesheet reference {system_url!r} refused: outside the stylesheet's folder {self.folder}"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"stylesheet reference {system_url!r}: cannot read {path}: {exc}") from exc
        parse_bytes(data, origin=str(path))  # the hardened checks (DOCTYPE, limits) before libxml2 sees it
        return self.resolve_string(data, context, base_url=str(path))


def compile_stylesheet(data: bytes, *, origin: str | None = None, folder: Path | None = None) -> etree.XSLT:
    """Parse (hardened) and compile an XSLT 1.0 stylesheet.

    Without ``folder`` every file and network access is denied; with it, includes, imports and ``document()``
    may read files inside ``folder`` and nothing else (``origin`` is the stylesheet's path there).
    """
    if folder is None:
        root, access = parse_bytes(data, origin=origin), _DENY_ALL
    else:
        root, access = parse_bytes(data, origin=origin, resolver=_FolderResolver(folder)), _READ_CONFINED
    try:
        return etree.XSLT(root, access_control=access)
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
            path = self.stylesheet.resolve()
            self._transform = compile_stylesheet(data, origin=str(path), folder=path.parent)
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
        except (HostileInput, ConfigError) as exc:  # a document() the resolver refused or could not read
            raise EncodeError(f"stylesheet {self.stylesheet.name} failed: {exc}") from exc
        return bytes(result)

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Transform ``record``; the stylesheet gets ``message_id`` and ``business_key`` as parameters."""
        body = self.render(record, {"message_id": str(context.message_id), "business_key": context.business_key})
        return Encoded(body, self.media_type, name=f"{context.message_id}.xml")
