"""SFTP file operations for drops: listing, stat, rename, write, and a pipelined, memory-bounded download.

:class:`SftpFileSystem` implements the drop file-system protocols (``drop_poller.DropFileSystem`` and
``drop_sink.WriteFileSystem``) over one :class:`~adapters.legacy.sftp_conn.SftpConnection`. File-level
problems stay ``OSError``s (not found, exists, permission); connection problems become bridge errors.
"""

from __future__ import annotations

import errno
import io
import logging
import posixpath
import stat as stat_mod
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import paramiko
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS
from paramiko.sftp_client import int64  # type: ignore[attr-defined]

from adapters.legacy.drop import DropEntry
from adapters.legacy.drop_poller import Readable
from adapters.legacy.sftp_conn import SftpConnection, translate_error
from bridge.ports import BridgeError, ConnectionFailed

__all__ = ["SftpFileSystem"]

log = logging.getLogger("esb_bridge.legacy.sftp")


class _PipelinedReader:
    """Reads a remote file with a bounded pipeline of large read requests, in the caller's thread.

    paramiko's ``prefetch()`` buffers as much of the file as the network delivers (unbounded memory when the
    consumer is slower) and its ``max_concurrent_requests`` mode stalls into one request at a time. This
    keeps ``depth`` requests of ``request_size`` bytes in flight (like OpenSSH's ``sftp -R``), so memory is
    bounded by ``depth * request_size`` and the link stays busy. It uses paramiko's request/response
    plumbing (``_async_request`` / ``_read_response``), stable since paramiko 1.x; paramiko is pinned < 6.
    Short reads are completed synchronously; errors become bridge errors (a dropped connection is retryable).
    """

    def __init__(
        self, client: paramiko.SFTPClient, handle: paramiko.SFTPFile, path: str, size: int, conn: SftpConnection
    ) -> None:
        self._client: Any = client  # its request plumbing is not in the type stubs
        self._handle, self._path, self._size, self._conn = handle, path, size, conn
        self._depth = conn.config.pipeline_depth
        self._request = conn.config.request_size
        self._next = 0
        self._pending: deque[tuple[int, int, int]] = deque()
        self._early: dict[int, tuple[int | None, Any]] = {}
        self._eof = False

    def _async_response(self, t: int, msg: Any, num: int) -> None:
        """paramiko calls this for a response that arrived while another one was awaited."""
        self._early[num] = (t, msg)

    def _send(self, offset: int, length: int) -> int:
        return int(self._client._async_request(self, CMD_READ, self._handle.handle, int64(offset), int(length)))

    def _receive(self, num: int) -> bytes:
        try:
            t, msg = self._early.pop(num) if num in self._early else self._client._read_response(num)
            if t == CMD_STATUS:
                self._client._convert_status(msg)
        except EOFError:
            return b""
        if t != CMD_DATA:
            raise ConnectionFailed(f"SFTP read of {self._path}: unexpected response type {t}")
        return bytes(msg.get_string())

    def _piece(self) -> bytes:
        while not self._eof and len(self._pending) < self._depth and self._next < self._size:
            length = min(self._request, self._size - self._next)
            self._pending.append((self._send(self._next, length), self._next, length))
            self._next += length
        if not self._pending:
            if self._eof:
                return b""
            # past the listed size: the file may have grown; read on plainly (the re-stat then rejects it)
            data = self._receive(self._send(self._next, self._request))
            self._next += len(data)
            self._eof = not data
            return data
        num, offset, length = self._pending.popleft()
        data = self._receive(num)
        while data and len(data) < length:  # a short read: fetch the rest of this piece now
            more = self._receive(self._send(offset + len(data), length - len(data)))
            if not more:
                break
            data += more
        if len(data) < length:
            self._eof = True  # the file shrank; the re-stat after download rejects it
        return data

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        try:
            while got < size:
                piece = self._piece()
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
        except (BridgeError, FileNotFoundError, PermissionError):
            raise
        except Exception as exc:
            self._conn.close()  # the next poll reconnects
            raise translate_error(exc, "SFTP read", path=self._path) from exc
        return b"".join(parts)


class SftpFileSystem:
    """The drop operations over one :class:`SftpConnection` (both source and sink protocols)."""

    #: SFTP v3 carries mtimes in whole seconds.
    mtime_resolution = 1.0

    def __init__(self, connection: SftpConnection) -> None:
        self._conn = connection

    @contextmanager
    def _guard(self, what: str, path: str) -> Iterator[paramiko.SFTPClient]:
        client = self._conn.client()
        try:
            yield client
        except (FileNotFoundError, FileExistsError, PermissionError):
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EEXIST, errno.EACCES, errno.EPERM):
                raise
            self._conn.close()
            raise translate_error(exc, f"SFTP {what}", path=path) from exc
        except (paramiko.SSHException, EOFError) as exc:
            self._conn.close()
            raise translate_error(exc, f"SFTP {what}", path=path) from exc

    def list_folder(self, folder: str) -> list[tuple[str, bool, int, float]]:
        with self._guard("list", folder) as c:
            return [
                (a.filename, stat_mod.S_ISDIR(a.st_mode or 0), a.st_size or 0, float(a.st_mtime or 0))
                for a in c.listdir_attr(folder)
                if not stat_mod.S_ISLNK(a.st_mode or 0)
            ]

    def stat(self, path: str) -> DropEntry | None:
        with self._guard("stat", path) as c:
            try:
                a = c.stat(path)
            except FileNotFoundError:
                return None
            return DropEntry(path, a.st_size or 0, float(a.st_mtime or 0))

    @contextmanager
    def _reader(self, path: str, size: int) -> Iterator[_PipelinedReader]:
        with self._guard("open", path) as c:
            handle = c.open(path, "rb")
        try:
            yield _PipelinedReader(c, handle, path, size, self._conn)
        finally:
            try:
                handle.close()
            except Exception as exc:  # the connection may be gone already; the read error is what matters
                log.debug("closing %s: %s", path, exc)

    def open_read(self, path: str, size: int) -> AbstractContextManager[_PipelinedReader]:
        return self._reader(path, size)

    def rename(self, src: str, dst: str) -> None:
        with self._guard("rename", src) as c:
            if self.stat(dst) is not None:
                raise FileExistsError(errno.EEXIST, "target exists", dst)
            try:
                c.rename(src, dst)
            except OSError as exc:
                if self.stat(dst) is not None and self.stat(src) is not None:
                    raise FileExistsError(errno.EEXIST, "target exists", dst) from exc
                raise

    def replace(self, src: str, dst: str) -> None:
        with self._guard("rename", src) as c:
            c.posix_rename(src, dst)

    def remove(self, path: str) -> None:
        with self._guard("remove", path) as c:
            c.remove(path)

    def makedirs(self, path: str) -> None:
        with self._guard("mkdir", path) as c:
            missing: list[str] = []
            current = path.rstrip("/")
            while current and current != "/":
                try:
                    c.stat(current)
                    break
                except FileNotFoundError:
                    missing.append(current)
                    current = posixpath.dirname(current)
            for folder in reversed(missing):
                try:
                    c.mkdir(folder)
                except OSError:
                    if self.stat(folder) is None:
                        raise

    def write_bytes(self, path: str, data: bytes) -> None:
        self.write_file(path, data, None)

    def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        self.write_stream(path, io.BytesIO(data), mode)

    def write_stream(self, path: str, data: Readable, mode: int | None) -> None:
        with self._guard("write", path) as c, c.open(path, "wb") as f:
            f.set_pipelined(True)
            for piece in iter(lambda: data.read(1 << 20), b""):
                f.write(piece)
            if mode is not None:
                f.chmod(mode)

    def read_bytes(self, path: str, limit: int) -> bytes:
        with self._guard("read", path) as c, c.open(path, "rb") as f:
            return f.read(limit)

    def origin(self, path: str) -> str:
        return f"sftp://{self._conn.label}{path}"
