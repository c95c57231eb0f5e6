"""An embedded SFTP server (paramiko) serving one local folder on 127.0.0.1: for the demo and for trying
esb-bridge without infrastructure. Not a production server.

The served folder is the root ``/`` of the SFTP session; every path is resolved inside it (``..`` and
symlinks cannot leave it). Authentication: passwords and/or authorized public keys given by the caller. The
host key is generated per start unless one is given; ``known_hosts_line()`` and ``fingerprint`` let a client
pin it, so even the demo checks host keys.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.sftp import SFTP_FAILURE, SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

from bridge.ports import Resource

__all__ = ["EmbeddedSftpServer"]

log = logging.getLogger("esb_bridge.legacy.sftp_server")


def _status(exc: OSError) -> int:
    return paramiko.SFTPServer.convert_errno(exc.errno) if exc.errno else SFTP_FAILURE


class _Handle(paramiko.SFTPHandle):
    """An open file; paramiko's base class reads and writes through ``readfile`` / ``writefile``."""

    def __init__(self, path: Path, flags: int, file: Any) -> None:
        super().__init__(flags)
        self.filename = str(path)
        self.readfile = file
        self.writefile = file

    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return _status(exc)

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        try:
            if attr.st_mode is not None:
                os.chmod(self.filename, attr.st_mode & 0o7777)
            return SFTP_OK
        except OSError as exc:
            return _status(exc)


class _RootedSftp(paramiko.SFTPServerInterface):
    """SFTP operations confined to one folder."""

    def __init__(self, server: Any, *args: Any, root: Path, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self._root = root.resolve()

    def _local(self, path: str) -> Path:
        relative = self.canonicalize(path).lstrip("/")
        local = (self._root / relative).resolve()
        if local != self._root and self._root not in local.parents:
            raise PermissionError(13, "outside the served folder", path)
        return local

    def canonicalize(self, path: str) -> str:
        return os.path.normpath("/" + path.lstrip("/"))

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        try:
            folder = self._local(path)
            found = []
            for name in os.listdir(folder):
                attr = paramiko.SFTPAttributes.from_stat(os.lstat(folder / name))
                attr.filename = name
                found.append(attr)
            return found
        except OSError as exc:
            return _status(exc)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as exc:
            return _status(exc)

    def lstat(self, path: str) -> paramiko.SFTPAttributes | int:
        return self.stat(path)

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> paramiko.SFTPHandle | int:
        try:
            local = self._local(path)
            mode = attr.st_mode & 0o7777 if attr is not None and attr.st_mode is not None else 0o644
            fd = os.open(local, flags | getattr(os, "O_BINARY", 0), mode)
            if flags & os.O_WRONLY:
                fmode = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                fmode = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                fmode = "rb"
            return _Handle(local, flags, os.fdopen(fd, fmode))
        except OSError as exc:
            return _status(exc)

    def remove(self, path: str) -> int:
        try:
            os.remove(self._local(path))
            return SFTP_OK
        except OSError as exc:
            return _status(exc)

    def rename(self, oldpath: str, newpath: str) -> int:
        try:
            src, dst = self._local(oldpath), self._local(newpath)
            os.link(src, dst)  # like OpenSSH: refuse to replace an existing file
            os.unlink(src)
            return SFTP_OK
        except FileExistsError:
            return SFTP_FAILURE
        except OSError as exc:
            return _status(exc)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        try:
            os.replace(self._local(oldpath), self._local(newpath))
            return SFTP_OK
        except OSError as exc:
            return _status(exc)

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        try:
            os.mkdir(self._local(path))
            return SFTP_OK
        except OSError as exc:
            return _status(exc)

    def rmdir(self, path: str) -> int:
        try:
            os.rmdir(self._local(path))
            return SFTP_OK
        except OSError as exc:
            return _status(exc)

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        try:
            local = self._local(path)
            if attr.st_mode is not None:
                os.chmod(local, attr.st_mode & 0o7777)
            if attr.st_atime is not None and attr.st_mtime is not None:
                os.utime(local, (attr.st_atime, attr.st_mtime))
            return SFTP_OK
        except OSError as exc:
            return _status(exc)

    def symlink(self, target_path: str, path: str) -> int:
        return SFTP_PERMISSION_DENIED

    def readlink(self, path: str) -> str | int:
        return SFTP_NO_SUCH_FILE


class _Gatekeeper(paramiko.ServerInterface):
    """Authentication and channel policy: session channels with the sftp subsystem only."""

    def __init__(self, users: Mapping[str, str], keys: Sequence[paramiko.PKey]) -> None:
        self._users = users
        self._keys = {(k.get_name(), k.asbytes()) for k in keys}

    def get_allowed_auths(self, username: str) -> str:
        methods = (["publickey"] if self._keys else []) + (["password"] if self._users else [])
        return ",".join(methods) or "none"

    def check_auth_password(self, username: str, password: str) -> int:
        expected = self._users.get(username)
        if expected is not None and paramiko.util.constant_time_bytes_eq(expected.encode(), password.encode()):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return AUTH_SUCCESSFUL if (key.get_name(), key.asbytes()) in self._keys else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class EmbeddedSftpServer(Resource):
    """Serve ``root`` over SFTP on ``host:port`` (port 0 picks a free one) until the context exits."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        authorized_keys: Sequence[paramiko.PKey] = (),
        host_key: paramiko.PKey | None = None,
    ) -> None:
        if not users and not authorized_keys:
            raise ValueError("an embedded SFTP server needs at least one user password or authorized key")
        self.root = root
        self.host = host
        self._port = port
        self._users = dict(users or {})
        self._keys = list(authorized_keys)
        self.host_key = host_key
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the server is not started")
        return int(self._listener.getsockname()[1])

    @property
    def fingerprint(self) -> str:
        assert self.host_key is not None
        return str(self.host_key.fingerprint)

    def known_hosts_line(self) -> str:
        """The line a client's ``known_hosts`` needs to trust this server."""
        assert self.host_key is not None
        host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{host} {self.host_key.get_name()} {self.host_key.get_base64()}\n"

    def on_enter(self) -> None:
        if self.host_key is None:
            self.host_key = paramiko.ECDSAKey.generate()
        self.root.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self._port))
        except OSError:
            listener.close()  # a busy port: nothing was entered, nothing stays open
            raise
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        acceptor = threading.Thread(target=self._accept_loop, name="embedded-sftp-accept", daemon=True)
        acceptor.start()
        self._threads.append(acceptor)
        log.info(
            "embedded SFTP server on %s:%d serving %s (host key %s)", self.host, self.port, self.root, self.fingerprint
        )

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="embedded-sftp-conn", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        with self._lock:
            self._transports.append(transport)
        try:
            assert self.host_key is not None
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _RootedSftp, root=self.root)
            transport.start_server(server=_Gatekeeper(self._users, self._keys))
            while transport.is_active() and not self._stop.is_set():
                self._stop.wait(0.2)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("embedded SFTP connection ended: %s", exc)
        finally:
            transport.close()
            with self._lock:
                self._transports.remove(transport)
