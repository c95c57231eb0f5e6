"""Legacy-side adapters: SFTP and local-folder file drops (sources and sinks), with their plugins.

Registered kinds (entry points ``sftp`` and ``folder_drop`` in the ``esb_bridge.plugins`` group):
source ``sftp``, sink ``sftp``, source ``folder_drop``, sink ``folder_drop``. The ``sftp`` source plugin also
carries the ``esb-bridge sftp`` CLI group (``sftp doctor``).
"""

from __future__ import annotations

from typing import Any

from adapters.legacy.drop import AfterConfig, DropSourceConfig, ReadinessConfig, validate_shared_drop
from adapters.legacy.drop_sink import DropSinkConfig, render_name
from adapters.legacy.folder import FolderDropSource, FolderSink, FolderSinkConfig, FolderSourceConfig
from adapters.legacy.sftp import SftpDropSource, SftpSourceConfig
from adapters.legacy.sftp_sink import SftpSinkConfig, SftpUploadSink
from bridge.plugins import Plugin, PluginContext, PluginRole

__all__ = [
    "FOLDER_PLUGINS",
    "SFTP_PLUGINS",
    "AfterConfig",
    "DropSinkConfig",
    "DropSourceConfig",
    "FolderDropSource",
    "FolderSink",
    "FolderSinkConfig",
    "FolderSourceConfig",
    "ReadinessConfig",
    "SftpDropSource",
    "SftpSinkConfig",
    "SftpSourceConfig",
    "SftpUploadSink",
    "render_name",
    "validate_shared_drop",
]


def _sftp_source(config: SftpSourceConfig, ctx: PluginContext) -> SftpDropSource:
    return SftpDropSource(config, base_dir=ctx.base_dir)


def _sftp_sink(config: SftpSinkConfig, ctx: PluginContext) -> SftpUploadSink:
    return SftpUploadSink(config, base_dir=ctx.base_dir, target=ctx.target)


def _absolute(config: Any, ctx: PluginContext) -> Any:
    return config.model_copy(update={"path": str(ctx.resolve(config.path))})


def _folder_source(config: FolderSourceConfig, ctx: PluginContext) -> FolderDropSource:
    return FolderDropSource(_absolute(config, ctx))


def _folder_sink(config: FolderSinkConfig, ctx: PluginContext) -> FolderSink:
    return FolderSink(_absolute(config, ctx), target=ctx.target)


def _sftp_cli() -> Any:
    from adapters.legacy.sftp_cli import sftp_group

    return sftp_group


SFTP_PLUGINS = (
    Plugin(PluginRole.SOURCE, "sftp", SftpSourceConfig, _sftp_source, cli=_sftp_cli(),
           description="poll a remote SFTP drop (readiness, identity, after-processing)"),
    Plugin(PluginRole.SINK, "sftp", SftpSinkConfig, _sftp_sink,
           description="upload one file per message into a remote SFTP drop (temp name, rename)"),
)
FOLDER_PLUGINS = (
    Plugin(PluginRole.SOURCE, "folder_drop", FolderSourceConfig, _folder_source,
           description="poll a local drop folder (watchdog wake-up, same rules as sftp)"),
    Plugin(PluginRole.SINK, "folder_drop", FolderSinkConfig, _folder_sink,
           description="write one file per message into a local folder (temp name, rename)"),
)
