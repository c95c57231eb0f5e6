"""The SFTP upload sink: :class:`SftpUploadSink` writes one file per delivery into a remote drop.

Upload under a temporary name, verify the size, then rename (atomic for the reader); name from the message
id so a redelivery is a no-op; optional done file; conflict policy and permissions (``drop_sink.py``).
One attempt per call; errors are returned as an :class:`~bridge.ports.Outcome`. A
:class:`~bridge.ports.BatchSink` (``max_batch`` = ``batch_size``): a batch is written over one session,
connected once, so a dead host costs one connection attempt per batch, not one per message.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from adapters.legacy.drop_sink import DropSinkConfig, DropWriter
from adapters.legacy.sftp_conn import SftpConnection, SftpConnectionConfig
from adapters.legacy.sftp_fs import SftpFileSystem
from bridge.ports import ConnectionFailed, Delivery, Outcome, PeerCheck, PermanentError, Resource, RetryableError

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
        #: deliveries per ``deliver_batch`` call, all over one session
        self.max_batch = config.batch_size

    def close(self) -> None:
        self.connection.close()

    def connect_checks(self) -> list[PeerCheck]:
        """``validate --connect``: host key, login and the drop folder (nothing read or written)."""
        return self.connection.connect_checks(self.config.path)

    def deliver(self, delivery: Delivery) -> Outcome:
        return self.deliver_batch([delivery])[0]

    def check_dry_run(self, delivery: Delivery) -> Outcome:
        """``DryRunCheck``: the file name; no session is opened, nothing written."""
        return self._writer.check_dry_run(delivery)

    def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order, over ONE session: connected (or reused) before the first file
        that is really written; once that session fails, the rest of the batch fails with it and is not
        retried over a new one (one attempt per delivery; the runtime retries them)."""
        outcomes: list[Outcome] = []
        lost: Outcome | None = None
        connected = False
        with self._lock:
            for delivery in deliveries:
                if not delivery.dry_run and lost is None and not connected:
                    lost = self._connect()
                    connected = True
                if lost is not None and not delivery.dry_run:
                    outcomes.append(lost)
                    continue
                outcomes.append(self._writer.deliver(self._fs, delivery))
                if connected and self.connection.transport is None:  # the session broke on this file
                    lost = Outcome.failed(
                        ConnectionFailed(f"SFTP session to {self.connection.label} was lost earlier in this batch")
                    )
        return outcomes

    def _connect(self) -> Outcome | None:
        """Open (or reuse) the session; the outcome of every delivery of the batch when that fails."""
        try:
            self.connection.client()
        except RetryableError as exc:
            return Outcome.failed(exc)
        except PermanentError as exc:  # host key or authentication refused
            return Outcome.rejected(exc)
        return None
