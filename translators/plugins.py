"""Plugin registration of the translators: decoder, encoder and projector kinds plus the CLI groups.

Kinds: decoders ``xml``, ``facturx`` (a PDF's embedded invoice, or the XML), ``csv``, ``fixed_width``,
``json``, ``jsonl``; encoders ``xml``, ``cii`` (canonical Invoice -> CII), ``csv``, ``json-mapped``,
``xslt``, ``json``; projectors ``xml``, ``json``, ``csv``. Every config but ``jsonl``'s and the ``json`` encoder's
(canonical JSON, no mapping: ``translators.canonical_json``) names a ``mapping`` file relative to the config
file; the mapping is loaded (and fully checked) when the object is built, and must map the interface's
canonical type. Registered through the entry point ``translators`` (one ``PLUGINS`` list).
Decoder ``idoc_flat`` reads SAP flat-file IDocs with an IDoc XML mapping (``translators.idoc_flat``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import Field

from bridge.ports import ConfigError, KindConfig, Plugin, PluginContext, Projector
from bridge.ports.plugins import DECODER, ENCODER, PROJECTOR, plugin
from translators.canonical_json import JsonEncoder, JsonEncoderConfig, JsonLinesConfig, JsonLinesDecoder
from translators.cii_encoder import CiiInvoiceEncoder
from translators.cli import mapping_group, translate_command
from translators.csv_decoder import CsvDecoder
from translators.csv_encoder import CsvEncoder
from translators.facturx import FacturxDecoder
from translators.fixed_width import FixedWidthDecoder
from translators.idoc_flat import IdocFlatDecoder, load_segments
from translators.json_decoder import JsonDecoder
from translators.json_encoder import JsonMappedEncoder
from translators.mapping.compiled import CompiledMapping
from translators.mapping.generic import generic_mapping
from translators.mapping.loader import load_mapping
from translators.projection import MappingProjector
from translators.xml_decoder import XmlDecoder
from translators.xml_encoder import XmlEncoder
from translators.xslt import XsltEncoder

__all__ = ["PLUGINS"]


def _mapping(path: str, context: PluginContext, fmt: str) -> CompiledMapping:
    mapping = load_mapping(context.resolve(path))
    if mapping.spec.canonical != context.canonical:
        raise ConfigError(
            f"mapping {path} maps {mapping.spec.canonical}, "
            f"but interface {context.interface} carries {context.canonical}"
        )
    if mapping.spec.format != fmt:
        raise ConfigError(f"mapping {path} is a {mapping.spec.format} mapping; this kind needs a {fmt} mapping")
    return mapping


class XmlDecoderConfig(KindConfig):
    kind: Literal["xml"]
    """Selects this plugin: ``xml``."""
    mapping: str
    """XML mapping file (relative to the config file), see `esb-bridge mapping`."""


class FacturxDecoderConfig(KindConfig):
    kind: Literal["facturx"]
    """Selects this plugin: ``facturx`` (a Factur-X / ZUGFeRD PDF, or the plain CII XML)."""
    mapping: str
    """The XML mapping of the embedded invoice (``cii-invoice.yaml`` for Factur-X / ZUGFeRD 2.x / XRechnung CII)."""


class IdocFlatDecoderConfig(KindConfig):
    kind: Literal["idoc_flat"]
    """Selects this plugin: ``idoc_flat`` (SAP flat-file IDocs, or the IDoc XML port format)."""
    mapping: str
    """The IDoc XML mapping (``idoc-invoic02.yaml``, ``idoc-orders05.yaml``), relative to the config file."""
    encoding: Literal["utf-8", "cp1252", "latin-1"] = "utf-8"
    """The flat file's encoding: ``utf-8`` from a Unicode SAP system, else the system's code page."""
    segments: str | None = None
    """CSV of ``segment,field,length`` rows (relative to the config file) adding or replacing segment layouts:
    extension segments (``Z1...``) or fields the shipped layouts leave out."""


def _idoc_flat(config: IdocFlatDecoderConfig, context: PluginContext) -> IdocFlatDecoder:
    layouts = load_segments(context.resolve(config.segments)) if config.segments else None
    inner = XmlDecoder(_mapping(config.mapping, context, "xml"))
    return IdocFlatDecoder(inner, encoding=config.encoding, layouts=layouts)


class CsvDecoderConfig(KindConfig):
    kind: Literal["csv"]
    """Selects this plugin: ``csv``."""
    mapping: str
    """CSV mapping file (relative to the config file)."""


class FixedWidthDecoderConfig(KindConfig):
    kind: Literal["fixed_width"]
    """Selects this plugin: ``fixed_width``."""
    mapping: str
    """Fixed-width mapping file (relative to the config file)."""


class JsonDecoderConfig(KindConfig):
    kind: Literal["json"]
    """Selects this plugin: ``json``."""
    mapping: str
    """JSON mapping file (relative to the config file)."""


class XmlEncoderConfig(KindConfig):
    kind: Literal["xml"]
    """Selects this plugin: ``xml``."""
    mapping: str
    """XML mapping file (relative to the config file)."""
    pretty: bool = False
    """Indent the XML output."""


class CiiEncoderConfig(KindConfig):
    kind: Literal["cii"]
    """Selects this plugin: ``cii`` (UN/CEFACT CII D16B CrossIndustryInvoice)."""
    profile: Literal["en16931", "extended"] = "en16931"
    """The Factur-X / ZUGFeRD 2.x profile written (``extended`` for invoices with sub-lines)."""
    pretty: bool = False
    """Indent the XML output."""


class CsvEncoderConfig(KindConfig):
    kind: Literal["csv"]
    """Selects this plugin: ``csv``."""
    mapping: str
    """CSV mapping file (relative to the config file)."""
    header: bool | None = None
    """Write a header line (the mapping decides when unset)."""


class JsonMappedEncoderConfig(KindConfig):
    kind: Literal["json-mapped"]
    """Selects this plugin: ``json-mapped``."""
    mapping: str
    """JSON mapping file (relative to the config file)."""
    decimals: Literal["string", "number"] = "string"
    """Decimals written as JSON strings or numbers."""


class XsltEncoderConfig(KindConfig):
    kind: Literal["xslt"]
    """Selects this plugin: ``xslt``."""
    stylesheet: str
    """XSLT stylesheet file (relative to the config file)."""
    mapping: str | None = None
    """XML mapping producing the stylesheet's input; the generic canonical XML when absent."""
    params: dict[str, str] = Field(default_factory=dict)
    """Stylesheet parameters."""
    media_type: str = "application/xml"
    """Media type of the output."""


class XmlProjectorConfig(KindConfig):
    kind: Literal["xml"]
    """Selects this plugin: ``xml``."""
    mapping: str
    """XML mapping file reading the delivered bytes back into a canonical record."""


class JsonProjectorConfig(KindConfig):
    kind: Literal["json"]
    """Selects this plugin: ``json``."""
    mapping: str
    """JSON mapping file reading the delivered bytes back into a canonical record."""


class CsvProjectorConfig(KindConfig):
    kind: Literal["csv"]
    """Selects this plugin: ``csv``."""
    mapping: str
    """CSV mapping file reading the delivered bytes back into a canonical record."""


def _xslt(config: XsltEncoderConfig, context: PluginContext) -> XsltEncoder:
    mapping = _mapping(config.mapping, context, "xml") if config.mapping else generic_mapping(context.canonical)
    return XsltEncoder(context.resolve(config.stylesheet), mapping, params=config.params, media_type=config.media_type)


def _cii(config: CiiEncoderConfig, context: PluginContext) -> CiiInvoiceEncoder:
    if context.canonical != "Invoice":
        raise ConfigError(f"encoder cii writes invoices, but interface {context.interface} carries {context.canonical}")
    return CiiInvoiceEncoder(profile=config.profile, pretty=config.pretty)


class _MappedConfig(Protocol):
    @property
    def mapping(self) -> str: ...


def _projector(fmt: str) -> Callable[[_MappedConfig, PluginContext], Projector]:
    def build(config: _MappedConfig, context: PluginContext) -> MappingProjector:
        return MappingProjector(_mapping(config.mapping, context, fmt), origin=f"{context.interface} projection")

    return build


PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        DECODER,
        "xml",
        XmlDecoderConfig,
        lambda c, ctx: XmlDecoder(_mapping(c.mapping, ctx, "xml")),
        cli=mapping_group,
        description="streaming XML via a declarative mapping",
    ),
    plugin(
        DECODER,
        "facturx",
        FacturxDecoderConfig,
        lambda c, ctx: FacturxDecoder(XmlDecoder(_mapping(c.mapping, ctx, "xml"))),
        description="Factur-X / ZUGFeRD / XRechnung PDF (the embedded invoice) or the XML itself, via an XML mapping",
    ),
    plugin(
        DECODER,
        "idoc_flat",
        IdocFlatDecoderConfig,
        _idoc_flat,
        description="SAP flat-file IDocs (or the IDoc XML port format) via an IDoc XML mapping",
    ),
    plugin(
        DECODER,
        "csv",
        CsvDecoderConfig,
        lambda c, ctx: CsvDecoder(_mapping(c.mapping, ctx, "csv")),
        cli=translate_command,
        description="CSV (dialects, encodings, multi-row grouping) via a mapping",
    ),
    plugin(
        DECODER,
        "fixed_width",
        FixedWidthDecoderConfig,
        lambda c, ctx: FixedWidthDecoder(_mapping(c.mapping, ctx, "fixed_width")),
        description="fixed-width records with trailer control totals",
    ),
    plugin(
        DECODER,
        "json",
        JsonDecoderConfig,
        lambda c, ctx: JsonDecoder(_mapping(c.mapping, ctx, "json")),
        description="one JSON document (webhook event, API body) via a mapping",
    ),
    plugin(
        ENCODER,
        "xml",
        XmlEncoderConfig,
        lambda c, ctx: XmlEncoder(_mapping(c.mapping, ctx, "xml"), pretty=c.pretty),
        description="canonical -> XML through a mapping in reverse",
    ),
    plugin(
        ENCODER,
        "cii",
        CiiEncoderConfig,
        _cii,
        description="canonical Invoice -> UN/CEFACT CII D16B (Factur-X / ZUGFeRD 2.x EN 16931 or EXTENDED)",
    ),
    plugin(
        ENCODER,
        "csv",
        CsvEncoderConfig,
        lambda c, ctx: CsvEncoder(_mapping(c.mapping, ctx, "csv"), header=c.header),
        description="canonical -> CSV through a mapping in reverse",
    ),
    plugin(
        ENCODER,
        "json-mapped",
        JsonMappedEncoderConfig,
        lambda c, ctx: JsonMappedEncoder(_mapping(c.mapping, ctx, "json"), decimals=c.decimals),
        description="canonical -> JSON shaped by a mapping (orjson)",
    ),
    plugin(ENCODER, "xslt", XsltEncoderConfig, _xslt, description="legacy XSLT 1.0 stylesheet, sandboxed"),
    plugin(PROJECTOR, "xml", XmlProjectorConfig, _projector("xml"), description="XML body -> canonical"),
    plugin(PROJECTOR, "json", JsonProjectorConfig, _projector("json"), description="JSON body -> canonical"),
    plugin(PROJECTOR, "csv", CsvProjectorConfig, _projector("csv"), description="CSV body -> canonical"),
    plugin(DECODER, "jsonl", JsonLinesConfig, JsonLinesDecoder, description="canonical JSON lines"),
    plugin(ENCODER, "json", JsonEncoderConfig, JsonEncoder, description="canonical JSON"),
)
