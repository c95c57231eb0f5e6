"""The Source and Sink contract suites (``bridge.testing``) against the drop adapters' real peers.

Sources ``folder`` (a local folder) and ``sftp`` (real OpenSSH sshd); sinks ``folder``, ``sftp`` upload and
the core ``file`` sink (both modes). Effects are read in the folder itself: file names, bytes, inode and
mtime, so a rewrite of the same bytes would count as a second effect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from adapters.legacy.file_sink import FileSink, FileSinkConfig
from adapters.legacy.folder import FolderDropSource, FolderSink, FolderSinkConfig, FolderSourceConfig
from adapters.legacy.sftp import SftpDropSource, SftpSinkConfig, SftpUploadSink
from bridge.ports import Delivery, PathName, PluginContext, Sink, Source
from bridge.testing import (
    BatchSinkContract,
    BatchSinkPeer,
    DeadPeer,
    SinkContract,
    SinkPeer,
    SourceContract,
    SourcePeer,
    contract_delivery,
)
from tests.integration.sftp_drops.conftest import Sshd

SOURCE_FIELDS: dict[str, Any] = {"readiness": {"rule": "rename"}, "after": {"action": "leave"}}


class DropPeer(SourcePeer):
    """A drop folder: input is an aged file; sources leave files in place, so only the ledger stops a re-read."""

    metadata_keys: ClassVar[frozenset[str]] = frozenset({"path", "name", "size", "sha256"})

    def __init__(self, folder: Path, spool: Path, build: Callable[[], Source]) -> None:
        super().__init__(spool)
        self.folder = folder
        self._build = build

    def build(self) -> Source:
        return self._build()

    def put(self, n: int) -> None:
        path = self.folder / f"contract-{n}.xml"
        path.write_bytes(b"<doc>" + self.marker(n) + b"</doc>")
        then = time.time() - 60
        os.utime(path, (then, then))


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


class TestFolderSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, drop_folder: Path, tmp_path: Path) -> Iterator[SourcePeer]:
        def build() -> Source:
            config = FolderSourceConfig.model_validate({"kind": "folder", "path": str(drop_folder), **SOURCE_FIELDS})
            return FolderDropSource(config)

        with DropPeer(drop_folder, tmp_path / "spool", build) as peer:
            yield peer


class TestSftpSourceContract(SourceContract):
    @pytest.fixture
    def source_peer(self, sshd: Sshd, drop_folder: Path, tmp_path: Path) -> Iterator[SourcePeer]:
        def build() -> Source:
            return SftpDropSource(sshd.source_config(path=str(drop_folder), **SOURCE_FIELDS))

        with DropPeer(drop_folder, tmp_path / "spool", build) as peer:
            yield peer


# --------------------------------------------------------------------------------------------- sinks


def _file_effects(folder: Path, prefix: str) -> list[tuple[str, bytes, int, int]]:
    """Every visible file in ``folder`` whose name starts with ``prefix``: name, bytes, inode, mtime."""
    if not folder.is_dir():
        return []
    return [
        (p.name, p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.name.startswith(prefix) and p.is_file()
    ]


@contextlib.contextmanager
def _blocked(folder: Path) -> Iterator[None]:
    """The drop folder replaced by a plain file while the sink is open: every write fails (not retryable
    away inside one attempt); restored afterwards."""
    aside = folder.with_name(folder.name + ".aside")
    folder.rename(aside)
    folder.write_bytes(b"not a folder")
    try:
        yield
    finally:
        folder.unlink()
        aside.rename(folder)


class FolderPeer(SinkPeer):
    """A folder written by a sink, read back file by file."""

    def __init__(self, folder: Path, make: Callable[[bool], AbstractContextManager[Sink]]) -> None:
        self.folder = folder
        self._make = make

    def open_sink(self, *, broken: bool = False) -> AbstractContextManager[Sink]:
        return self._make(broken)

    def delivery(self, n: int) -> Delivery:
        body = f"<invoice><number>INV-{n}</number></invoice>".encode()
        return contract_delivery(body, "application/xml", business_key=f"INV-{n}", path=PathName.LEGACY)

    def effects(self, delivery: Delivery) -> Sequence[object]:
        return _file_effects(self.folder, str(delivery.message_id))


def _entered(sink: Sink, folder: Path, broken: bool) -> AbstractContextManager[Sink]:
    @contextlib.contextmanager
    def run() -> Iterator[Sink]:
        with sink:
            if broken:
                with _blocked(folder):
                    yield sink
            else:
                yield sink

    return run()


@pytest.fixture
def out_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


class TestFolderSinkContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, out_folder: Path) -> SinkPeer:
        def make(broken: bool) -> AbstractContextManager[Sink]:
            config = FolderSinkConfig.model_validate({"kind": "folder", "path": str(out_folder)})
            return _entered(FolderSink(config), out_folder, broken)

        return FolderPeer(out_folder, make)


class TestSftpUploadSinkContract(SinkContract):
    """The broken peer is a listener that accepts and closes: every attempt is one counted connection."""

    @pytest.fixture
    def sink_peer(self, sshd: Sshd, out_folder: Path) -> Iterator[SinkPeer]:
        with DeadPeer() as dead:

            class Peer(FolderPeer):
                def attempts(self) -> int | None:
                    return dead.accepted

            def make(broken: bool) -> AbstractContextManager[Sink]:
                fields = {**sshd.connection_fields(), "path": str(out_folder)}
                if broken:
                    fields.update(port=dead.port, connect_timeout=2)
                return SftpUploadSink(SftpSinkConfig.model_validate(fields))

            yield Peer(out_folder, make)


class FolderBatchPeer(FolderPeer, BatchSinkPeer):
    """A drop written in batches: the peer refuses a message whose file name is already taken by other bytes
    (``conflict: fail``, the drop's default)."""

    def failing_delivery(self, n: int) -> Delivery:
        delivery = self.delivery(100 + n)
        (self.folder / f"{delivery.message_id}.xml").write_bytes(b"<other/>")
        return delivery


class TestFolderSinkBatchContract(BatchSinkContract):
    @pytest.fixture
    def batch_peer(self, out_folder: Path) -> BatchSinkPeer:
        def make(broken: bool) -> AbstractContextManager[Sink]:
            config = FolderSinkConfig.model_validate({"kind": "folder", "path": str(out_folder)})
            return _entered(FolderSink(config), out_folder, broken)

        return FolderBatchPeer(out_folder, make)


class TestSftpUploadSinkBatchContract(BatchSinkContract):
    """One session per batch: against the broken peer a whole batch is ONE counted connection."""

    @pytest.fixture
    def batch_peer(self, sshd: Sshd, out_folder: Path) -> Iterator[BatchSinkPeer]:
        with DeadPeer() as dead:

            class Peer(FolderBatchPeer):
                def attempts(self) -> int | None:
                    return dead.accepted

            def make(broken: bool) -> AbstractContextManager[Sink]:
                fields = {**sshd.connection_fields(), "path": str(out_folder)}
                if broken:
                    fields.update(port=dead.port, connect_timeout=2)
                return SftpUploadSink(SftpSinkConfig.model_validate(fields))

            yield Peer(out_folder, make)


def test_sftp_batch_is_one_session(sshd: Sshd, out_folder: Path) -> None:
    """A batch of 20 uploads connects once; the next batch reuses that session; every file lands once."""
    peer = FolderBatchPeer(out_folder, lambda broken: contextlib.nullcontext())  # only its deliveries
    batch = [peer.delivery(n) for n in range(20)]
    sink = SftpUploadSink(SftpSinkConfig.model_validate({**sshd.connection_fields(), "path": str(out_folder)}))
    connects: list[object] = []
    connect = sink.connection._connect

    def counted() -> None:
        connects.append(None)
        connect()

    sink.connection._connect = counted  # type: ignore[method-assign]
    with sink:
        outcomes = sink.deliver_batch(batch)
        again = sink.deliver_batch(batch[:3])
    assert [o.status for o in outcomes + again] == ["delivered"] * 23
    assert len(connects) == 1, f"{len(connects)} SSH connections for two batches"
    assert sorted(p.name for p in out_folder.iterdir()) == sorted(f"{d.message_id}.xml" for d in batch)


def _file_sink(folder: Path, mode: str) -> FileSink:
    context = PluginContext(base_dir=folder.parent, interface="contract", canonical="Invoice")
    return FileSink(FileSinkConfig.model_validate({"kind": "file", "path": str(folder), "mode": mode}), context)


class TestFileSinkContract(SinkContract):
    """The core ``file`` sink, one file per message."""

    @pytest.fixture
    def sink_peer(self, out_folder: Path) -> SinkPeer:
        return FolderPeer(out_folder, lambda broken: _entered(_file_sink(out_folder, "file"), out_folder, broken))


class AppendPeer(FolderPeer):
    """The ``file`` sink in ``append`` mode: effects are the lines of the batch file carrying the message id."""

    def __init__(
        self, folder: Path, make: Callable[[bool], AbstractContextManager[Sink]], name: str = "deliveries.jsonl"
    ) -> None:
        super().__init__(folder, make)
        self.name = name

    def effects(self, delivery: Delivery) -> Sequence[object]:
        path = self.folder / self.name
        if not path.is_file():
            return []
        lines = path.read_bytes().splitlines()
        return [line for line in lines if json.loads(line)["message_id"] == str(delivery.message_id)]


class TestFileSinkAppendContract(SinkContract):
    @pytest.fixture
    def sink_peer(self, out_folder: Path) -> SinkPeer:
        return AppendPeer(out_folder, lambda broken: _entered(_file_sink(out_folder, "append"), out_folder, broken))


class AppendBatchPeer(AppendPeer, BatchSinkPeer):
    """Append mode, batches of 5 with fsync on; the file name comes from the interface, so a delivery whose
    interface is no plain file name is refused on its own."""

    def failing_delivery(self, n: int) -> Delivery:
        return dataclasses.replace(self.delivery(100 + n), interface="../outside")


class TestFileSinkAppendBatchContract(BatchSinkContract):
    @pytest.fixture
    def batch_peer(self, out_folder: Path) -> BatchSinkPeer:
        def make(broken: bool) -> AbstractContextManager[Sink]:
            context = PluginContext(base_dir=out_folder.parent, interface="contract", canonical="Invoice")
            fields = {"kind": "file", "path": str(out_folder), "mode": "append", "name": "{interface}.jsonl"}
            sink = FileSink(FileSinkConfig.model_validate(fields), context)
            return _entered(sink, out_folder, broken)

        return AppendBatchPeer(out_folder, make, "contract.jsonl")


def test_blocked_folder_is_restored(tmp_path: Path) -> None:
    """The broken-peer helper puts the folder back with its files."""
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a").write_bytes(b"1")
    with _blocked(folder):
        assert folder.is_file()
    assert (folder / "a").read_bytes() == b"1"
    shutil.rmtree(folder)
