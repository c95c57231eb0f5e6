"""The SFTP upload sink: :class:`SftpUploadSink` writes one file per delivery into a remote drop.

Upload under a temporary name, verify the size, then rename (atomic for the reader); name from the message
id so a redelivery is a no-op; optional done file; conflict policy and permissions (``drop_sink.py``).
One attempt per call; errors are returned as an :class:`~bridge.ports.Outcome`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

from adapters.legacy.drop_sink import DropSinkConfig, DropWriter
from adapters.legacy.sftp_conn import SftpConnection, SftpConnectionConfig
from adapters.legacy.sftp_fs import SftpFileSystem
from bridge.ports import Delivery, Outcome, PeerCheck, PermanentError, Resource, RetryableError

__all__ = ["SftpSinkConfig", "SftpUploadSink"]


class SftpSinkConfig(DropSinkConfig, SftpConnectionConfig):
    """An SFTP drop written by the bridge."""

    kind: Literal["sftp"] = "sftp"
    """Selects this plugin: ``sftp``."""


class SftpUploadSink(Resource):
    """Uploads deliveries over one shared SFTP session (deliveries are serialised on it)."""

    def __init__(self, config: SftpSinkConfig, *, base_dir: Path | None = None, target: str = "") -> None:
        self.config = config
        self.target = target or f"sftp:{config.user}@{config.host}:{config.port}{config.path}"
        self.connection = SftpConnection(config, base_dir=base_dir)
        self._fs = SftpFileSystem(self.connection)
        self._writer = DropWriter(config)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.connection.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: host key, login and the drop folder (nothing read or written)."""
        return self.connection.connect_checks(self.config.path)

    def deliver(self, delivery: Delivery) -> Outcome:
        with self._lock:
            try:
                return self._writer.deliver(self._fs, delivery)
            except RetryableError as exc:  # raised while connecting
                return Outcome.failed(exc)
            except PermanentError as exc:  # host key or authentication refused
                return Outcome.rejected(exc)
