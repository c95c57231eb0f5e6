"""SFTP drops: the poll source, the upload sink, ``esb-bridge sftp`` (doctor, serve) and their plugins.

The parts live in ``sftp_*`` modules (connection and trust, file operations and pipelined download, source,
sink, CLI, embedded server) over the shared drop rules (``drop*.py``); this module re-exports them and
declares the plugins registered under the ``esb_bridge.plugins`` entry point ``sftp``: kind ``sftp`` as a
source and as a sink, with the ``sftp`` CLI group.
"""

from __future__ import annotations

from typing import Any

from adapters.legacy.drop import AfterConfig, ReadinessConfig, validate_shared_drop
from adapters.legacy.drop_listing import DropListing, SftpListingConfig
from adapters.legacy.sftp_cli import doctor_report, sftp_group
from adapters.legacy.sftp_conn import SftpConnection, SftpConnectionConfig
from adapters.legacy.sftp_fs import SftpFileSystem
from adapters.legacy.sftp_sink import SftpSinkConfig, SftpUploadSink
from adapters.legacy.sftp_source import SftpDropSource, SftpSourceConfig
from bridge.ports import Plugin, PluginContext
from bridge.ports.plugins import LISTING, SINK, SOURCE, plugin

__all__ = [
    "PLUGINS",
    "AfterConfig",
    "ReadinessConfig",
    "SftpConnection",
    "SftpConnectionConfig",
    "SftpDropSource",
    "SftpSinkConfig",
    "SftpSourceConfig",
    "SftpUploadSink",
    "doctor_report",
    "sftp_group",
    "validate_shared_drop",
]


def _source(config: SftpSourceConfig, ctx: PluginContext) -> SftpDropSource:
    return SftpDropSource(config, base_dir=ctx.base_dir)


def _listing(config: SftpListingConfig, ctx: PluginContext) -> DropListing:
    connection = SftpConnection(config, base_dir=ctx.base_dir)
    return DropListing(config, SftpFileSystem(connection), on_close=connection.close)


def _sink(config: SftpSinkConfig, ctx: PluginContext) -> SftpUploadSink:
    return SftpUploadSink(config, base_dir=ctx.base_dir, target=ctx.target)


PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        SOURCE,
        "sftp",
        SftpSourceConfig,
        _source,
        cli=sftp_group,
        description="poll a remote SFTP drop (readiness, identity, after-processing)",
    ),
    plugin(
        SINK,
        "sftp",
        SftpSinkConfig,
        _sink,
        description="upload one file per message into a remote SFTP drop (temp name, rename)",
    ),
    plugin(
        LISTING,
        "sftp",
        SftpListingConfig,
        _listing,
        description="the delivered files of a remote SFTP drop, keys from names or JSON (reconcile)",
    ),
)
