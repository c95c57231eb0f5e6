"""Fixtures for the drop integration tests: a real OpenSSH sshd per session and drop harnesses (with the test
kit's in-memory ledger).

sshd runs as a subprocess on a free 127.0.0.1 port with a temporary host key, authorized key and config,
and is stopped at the end of the session. Under ``CI=true`` a missing sshd fails the tests instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.legacy.folder import FolderDropSource, FolderSourceConfig
from adapters.legacy.sftp import SftpDropSource, SftpSourceConfig
from bridge.ports import SourceContext, SourceLedger, SystemClock
from bridge.testing import MemorySourceLedger
from tests.conftest import require_peer

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class Sshd:
    """A running sshd: where it listens and how a client authenticates and trusts it."""

    port: int
    user: str
    key_file: Path
    known_hosts: Path
    host_pub: str
    process: subprocess.Popen[bytes]
    workdir: Path

    def source_config(self, **fields: Any) -> SftpSourceConfig:
        base: dict[str, Any] = {
            "kind": "sftp",
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "key_file": str(self.key_file),
            "known_hosts": str(self.known_hosts),
            "connect_timeout": 5,
            "read_timeout": 10,
        }
        return SftpSourceConfig.model_validate({**base, **fields})

    def connection_fields(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "key_file": str(self.key_file),
            "known_hosts": str(self.known_hosts),
            "connect_timeout": 5,
            "read_timeout": 10,
        }

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (children of our sshd), to cut connections."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH sshd on 127.0.0.1, key auth only, stopped after the session."""
    installed = os.path.exists(SSHD) and shutil.which("ssh-keygen") is not None
    require_peer("OpenSSH sshd (/usr/sbin/sshd; scripts/peers/sshd.sh installs it)", installed)
    work = tmp_path_factory.mktemp("sshd")
    _keygen(work / "host_key")
    _keygen(work / "client_key")
    (work / "authorized_keys").write_text((work / "client_key.pub").read_text())
    # sshd's privilege-separation directory; when not root, scripts/peers/sshd.sh (run as root) created it
    with contextlib.suppress(PermissionError):
        os.makedirs("/run/sshd", exist_ok=True)
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {work / 'host_key'}",
                f"PidFile {work / 'sshd.pid'}",
                f"AuthorizedKeysFile {work / 'authorized_keys'}",
                "PermitRootLogin yes",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "MaxStartups 200",
                "MaxSessions 200",
                "LogLevel ERROR",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    host_pub = (work / "host_key.pub").read_text().split()
    known = work / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    log = (work / "sshd.log").open("wb")
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start: {(work / 'sshd.log').read_text()}") from None
                time.sleep(0.05)
        user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        yield Sshd(port, user, work / "client_key", known, f"{host_pub[0]} {host_pub[1]}", process, work)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Drop:
    """One drop under test: a local folder, reached either directly or through sshd."""

    kind: str
    folder: Path
    make: Callable[..., Any]
    ledger: MemorySourceLedger
    spool: Path

    def put(self, name: str, data: bytes, *, age: float = 60.0) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        then = time.time() - age
        os.utime(path, (then, then))
        return path

    def source(self, ledger: SourceLedger | None = None, **fields: Any) -> Any:
        """A new, opened source (a fresh instance: as after a restart) sharing the drop's ledger."""
        src = self.make(**fields)
        src.open(SourceContext("drop-test", SystemClock(), self.spool, ledger or self.ledger))
        return src


@pytest.fixture(params=["folder", "sftp"])
def drop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Drop]:
    """The same drop contract over a local folder and over real sshd."""
    folder = tmp_path / "in"
    folder.mkdir()
    opened: list[Any] = []

    if request.param == "sftp":
        server: Sshd = request.getfixturevalue("sshd")

        def make(**fields: Any) -> Any:
            src = SftpDropSource(server.source_config(**{"path": str(folder), **fields}))
            opened.append(src)
            return src
    else:

        def make(**fields: Any) -> Any:
            config = FolderSourceConfig.model_validate({"kind": "folder", "path": str(folder), **fields})
            src = FolderDropSource(config)
            opened.append(src)
            return src

    yield Drop(request.param, folder, make, MemorySourceLedger(), tmp_path / "spool")
    for src in opened:
        src.close()


@dataclass
class SinkDrop:
    """A drop folder written by a sink, either directly or through sshd."""

    kind: str
    folder: Path
    make: Callable[..., Any]


@pytest.fixture(params=["folder", "sftp"])
def sink_drop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkDrop]:
    """The same sink contract over a local folder and over real sshd."""
    from adapters.legacy.folder import FolderSink, FolderSinkConfig
    from adapters.legacy.sftp import SftpSinkConfig, SftpUploadSink

    folder = tmp_path / "out"
    folder.mkdir()
    opened: list[Any] = []
    if request.param == "sftp":
        server: Sshd = request.getfixturevalue("sshd")

        def make(**fields: Any) -> Any:
            config = SftpSinkConfig.model_validate({**server.connection_fields(), "path": str(folder), **fields})
            sink = SftpUploadSink(config).__enter__()
            opened.append(sink)
            return sink
    else:

        def make(**fields: Any) -> Any:
            config = FolderSinkConfig.model_validate({"kind": "folder", "path": str(folder), **fields})
            sink = FolderSink(config).__enter__()
            opened.append(sink)
            return sink

    yield SinkDrop(request.param, folder, make)
    for sink in opened:
        sink.__exit__(None, None, None)
