"""SOAP adapter for the legacy ERP: change-feed polling, one-call sink, read-back, ``soap inspect``.

The parts live in ``soap_*`` modules (hardened client, poll source, call sink, inspect CLI, XML helpers);
this module re-exports them and declares the plugins registered under the ``esb_bridge.plugins`` entry
point ``soap``. The kind ``soap`` exists as a source, a sink, a read-back and a listing (reconciliation).
"""

from __future__ import annotations

from typing import Any

from adapters.legacy.soap_call import SoapCallConfig, SoapCallSink, SoapReadBack, SoapReadBackConfig
from adapters.legacy.soap_client import (
    BasicAuthConfig,
    SoapConnection,
    SoapEndpointConfig,
    SoapExchange,
    WsseConfig,
    classify_fault,
)
from adapters.legacy.soap_inspect import inspect_wsdl, soap_group
from adapters.legacy.soap_listing import SoapListing, SoapListingConfig
from adapters.legacy.soap_poll import PollCursor, SoapPollConfig, SoapPollSource
from adapters.legacy.soap_transport import LimitedTransport
from adapters.legacy.soap_xml import SoapFault, parse_xml
from bridge.ports import Plugin, PluginContext
from bridge.ports.plugins import LISTING, READBACK, SINK, SOURCE, plugin

__all__ = [
    "PLUGINS",
    "BasicAuthConfig",
    "LimitedTransport",
    "PollCursor",
    "SoapCallConfig",
    "SoapCallSink",
    "SoapConnection",
    "SoapEndpointConfig",
    "SoapExchange",
    "SoapFault",
    "SoapListing",
    "SoapListingConfig",
    "SoapPollConfig",
    "SoapPollSource",
    "SoapReadBack",
    "SoapReadBackConfig",
    "WsseConfig",
    "classify_fault",
    "inspect_wsdl",
    "parse_xml",
    "soap_group",
]


def _source(config: SoapPollConfig, context: PluginContext) -> SoapPollSource:
    return SoapPollSource(config, base_dir=context.base_dir, interface=context.interface)


def _sink(config: SoapCallConfig, context: PluginContext) -> SoapCallSink:
    return SoapCallSink(config, base_dir=context.base_dir, clock=context.clock, target=context.target)


def _listing(config: SoapListingConfig, context: PluginContext) -> SoapListing:
    return SoapListing(config, base_dir=context.base_dir, clock=context.clock)


def _readback(config: SoapReadBackConfig, context: PluginContext) -> SoapReadBack:
    return SoapReadBack(config, base_dir=context.base_dir, clock=context.clock)


PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        SOURCE,
        "soap",
        SoapPollConfig,
        _source,
        cli=soap_group,
        description="poll a SOAP change-feed operation by watermark and page token",
    ),
    plugin(
        SINK,
        "soap",
        SoapCallConfig,
        _sink,
        description="call one SOAP operation per delivery with the encoded body element",
    ),
    plugin(
        READBACK,
        "soap",
        SoapReadBackConfig,
        _readback,
        description="query a SOAP operation by business key after delivery",
    ),
    plugin(
        LISTING,
        "soap",
        SoapListingConfig,
        _listing,
        description="list what the target holds through a SOAP read operation, page by page (reconcile)",
    ),
)
