"""Plugin registration of the translators: decoder, encoder and projector kinds plus the CLI groups.

Kinds: decoders ``xml``, ``csv``, ``fixed_width``, ``json``; encoders ``xml``, ``csv``, ``json-mapped``, ``xslt``;
projectors ``xml``, ``json``, ``csv``. Every config names a ``mapping`` file relative to the config file; the
mapping is loaded (and fully checked) when the object is built, and must map the interface's canonical type.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bridge.plugins import KindConfig, Plugin, PluginContext, PluginRole
from bridge.ports import ConfigError
from translators.cli import mapping_group, translate_command
from translators.csv_decoder import CsvDecoder
from translators.csv_encoder import CsvEncoder
from translators.fixed_width import FixedWidthDecoder
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
    mapping: str


class CsvDecoderConfig(KindConfig):
    kind: Literal["csv"]
    mapping: str


class FixedWidthDecoderConfig(KindConfig):
    kind: Literal["fixed_width"]
    mapping: str


class JsonDecoderConfig(KindConfig):
    kind: Literal["json"]
    mapping: str


class XmlEncoderConfig(KindConfig):
    kind: Literal["xml"]
    mapping: str
    pretty: bool = False


class CsvEncoderConfig(KindConfig):
    kind: Literal["csv"]
    mapping: str
    header: bool | None = None


class JsonMappedEncoderConfig(KindConfig):
    kind: Literal["json-mapped"]
    mapping: str
    decimals: Literal["string", "number"] = "string"


class XsltEncoderConfig(KindConfig):
    kind: Literal["xslt"]
    stylesheet: str
    mapping: str | None = None
    """XML mapping producing the stylesheet's input; the generic canonical XML when absent."""
    params: dict[str, str] = Field(default_factory=dict)
    media_type: str = "application/xml"


class XmlProjectorConfig(KindConfig):
    kind: Literal["xml"]
    mapping: str


class JsonProjectorConfig(KindConfig):
    kind: Literal["json"]
    mapping: str


class CsvProjectorConfig(KindConfig):
    kind: Literal["csv"]
    mapping: str


def _xslt(config: XsltEncoderConfig, context: PluginContext) -> XsltEncoder:
    mapping = _mapping(config.mapping, context, "xml") if config.mapping else generic_mapping(context.canonical)
    return XsltEncoder(context.resolve(config.stylesheet), mapping, params=config.params, media_type=config.media_type)


def _projector(fmt: str) -> Any:
    def build(config: Any, context: PluginContext) -> MappingProjector:
        return MappingProjector(_mapping(config.mapping, context, fmt), origin=f"{context.interface} projection")

    return build


PLUGINS: tuple[Plugin, ...] = (
    Plugin(
        PluginRole.DECODER,
        "xml",
        XmlDecoderConfig,
        lambda c, ctx: XmlDecoder(_mapping(c.mapping, ctx, "xml")),
        cli=mapping_group,
        description="streaming XML via a declarative mapping",
    ),
    Plugin(
        PluginRole.DECODER,
        "csv",
        CsvDecoderConfig,
        lambda c, ctx: CsvDecoder(_mapping(c.mapping, ctx, "csv")),
        cli=translate_command,
        description="CSV (dialects, encodings, multi-row grouping) via a mapping",
    ),
    Plugin(
        PluginRole.DECODER,
        "fixed_width",
        FixedWidthDecoderConfig,
        lambda c, ctx: FixedWidthDecoder(_mapping(c.mapping, ctx, "fixed_width")),
        description="fixed-width records with trailer control totals",
    ),
    Plugin(
        PluginRole.DECODER,
        "json",
        JsonDecoderConfig,
        lambda c, ctx: JsonDecoder(_mapping(c.mapping, ctx, "json")),
        description="one JSON document (webhook event, API body) via a mapping",
    ),
    Plugin(
        PluginRole.ENCODER,
        "xml",
        XmlEncoderConfig,
        lambda c, ctx: XmlEncoder(_mapping(c.mapping, ctx, "xml"), pretty=c.pretty),
        description="canonical -> XML through a mapping in reverse",
    ),
    Plugin(
        PluginRole.ENCODER,
        "csv",
        CsvEncoderConfig,
        lambda c, ctx: CsvEncoder(_mapping(c.mapping, ctx, "csv"), header=c.header),
        description="canonical -> CSV through a mapping in reverse",
    ),
    Plugin(
        PluginRole.ENCODER,
        "json-mapped",
        JsonMappedEncoderConfig,
        lambda c, ctx: JsonMappedEncoder(_mapping(c.mapping, ctx, "json"), decimals=c.decimals),
        description="canonical -> JSON shaped by a mapping (orjson)",
    ),
    Plugin(PluginRole.ENCODER, "xslt", XsltEncoderConfig, _xslt, description="legacy XSLT 1.0 stylesheet, sandboxed"),
    Plugin(PluginRole.PROJECTOR, "xml", XmlProjectorConfig, _projector("xml"), description="XML body -> canonical"),
    Plugin(PluginRole.PROJECTOR, "json", JsonProjectorConfig, _projector("json"), description="JSON body -> canonical"),
    Plugin(PluginRole.PROJECTOR, "csv", CsvProjectorConfig, _projector("csv"), description="CSV body -> canonical"),
)
