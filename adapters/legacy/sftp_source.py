"""The SFTP drop source: :class:`SftpDropSource` polls a remote folder over paramiko (see ``sftp.py``).

Listing, readiness, identity, ledger states and after-processing are the shared drop rules
(``drop_poller.py``); this module adds the connection (host key checked, timeouts, cipher preference,
prefetching download) and reconnects on the next poll after a dropped connection. Nothing here decodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from adapters.legacy.drop import DropSourceConfig
from adapters.legacy.drop_poller import Candidate, DropPoller
from adapters.legacy.sftp_conn import SftpConnection, SftpConnectionConfig
from adapters.legacy.sftp_fs import SftpFileSystem
from bridge.ports import BridgeError, Envelope, PeerCheck, Resource, SourceContext

__all__ = ["SftpDropSource", "SftpSourceConfig"]


class SftpSourceConfig(DropSourceConfig, SftpConnectionConfig):
    """An SFTP drop: connection settings plus the shared drop settings."""

    kind: Literal["sftp"] = "sftp"
    """Selects this plugin: ``sftp``."""


class SftpDropSource(Resource):
    """A remote SFTP folder as a :class:`~bridge.ports.Source`.

    The connection opens lazily on the first poll and is reused; a dropped connection surfaces as
    :class:`~bridge.ports.ConnectionFailed` from ``poll`` (nothing half-recorded) and the next poll reconnects.
    """

    def __init__(self, config: SftpSourceConfig, *, base_dir: Path | None = None) -> None:
        self.config = config
        self.connection = SftpConnection(config, base_dir=base_dir)
        self._fs = SftpFileSystem(self.connection)
        self._poller = DropPoller(config, lambda: self._fs, scheme="sftp")

    def open(self, context: SourceContext) -> None:
        self._poller.open(context)

    def close(self) -> None:
        self.connection.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: host key, login and the drop folder (nothing read or written)."""
        return self.connection.connect_checks(self.config.path)

    def scan(self) -> list[Candidate]:
        """What the next poll would consider, with reasons (does not download or record anything)."""
        return self._poller.scan()

    def poll(self) -> Iterator[Envelope]:
        return self._poller.poll()

    def acknowledge(self, envelope: Envelope) -> None:
        self._poller.acknowledge(envelope)

    def fail(self, envelope: Envelope, error: BridgeError) -> None:
        self._poller.fail(envelope, error)
