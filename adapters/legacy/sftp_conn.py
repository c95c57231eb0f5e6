"""SFTP connections with safe defaults: host key checked, timeouts set, legacy algorithms off, errors mapped.

Used by the SFTP source, the SFTP sink and ``esb-bridge sftp doctor``. The host key must match the
configured ``known_hosts`` file or a pinned ``SHA256:`` fingerprint; accepting an unknown key needs
``accept_unknown_host_key: true`` and is logged as a warning on every connect. Legacy algorithms (CBC
ciphers, SHA-1/MD5 MACs) are disabled unless listed in ``allow_legacy_algorithms``. Fast AEAD/CTR ciphers
are preferred (they matter for throughput). paramiko and socket errors become bridge errors here.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path
from typing import Any

import paramiko
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.legacy.sftp_pipe import install
from bridge.ports import (
    BridgeError,
    ConnectionFailed,
    Location,
    PeerCheck,
    RetryableError,
    SecurityError,
    TimeoutExpired,
)

__all__ = [
    "LEGACY_ALGORITHMS",
    "PREFERRED_CIPHERS",
    "SftpConnection",
    "SftpConnectionConfig",
    "translate_error",
]

log = logging.getLogger("esb_bridge.legacy.sftp")

#: Algorithms paramiko still offers that we only enable by explicit per-interface allow-list.
LEGACY_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "ciphers": ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"),
    "macs": ("hmac-sha1", "hmac-md5", "hmac-sha1-96", "hmac-md5-96"),
    "kex": ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"),
    "keys": ("ssh-rsa", "ssh-dss"),
    "pubkeys": ("ssh-rsa", "ssh-dss"),
}

#: Cipher preference: AES-GCM then AES-CTR are the fastest paramiko ciphers on loopback and LAN.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes128-ctr", "aes256-gcm@openssh.com", "aes256-ctr", "aes192-ctr")


class SftpConnectionConfig(BaseModel):
    """How to reach and trust an SFTP server. Secrets come from ``${ENV}`` substitution, never logged.

    Throughput knobs (defaults measured on loopback against OpenSSH, see ``benchmarks/sftp_throughput.py``):
    ``request_size`` bytes per read request (lower to 32768 for servers that refuse large reads),
    ``pipeline_depth`` requests in flight (memory bound = depth x request size), and the SSH channel's
    ``window_size`` and ``max_packet_size`` (larger packets = less per-packet Python work in paramiko).
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    host: str
    """SFTP server host name or address."""
    port: int = Field(default=22, ge=1, le=65535)
    """SFTP server port."""
    user: str
    """Login user."""
    password: SecretStr | None = None
    """Login password (from the environment: ${VAR})."""
    key_file: str | None = None
    """Private key file for public-key login."""
    key_passphrase: SecretStr | None = None
    """Passphrase of key_file (from the environment)."""
    known_hosts: str | None = None
    """known_hosts file the server's host key is checked against."""
    host_key_fingerprint: str | None = None
    """Expected host key fingerprint (SHA256:...), instead of known_hosts."""
    accept_unknown_host_key: bool = False
    """Trust a host key not found in known_hosts (test systems only)."""
    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to establish the connection."""
    read_timeout: float = Field(default=30.0, gt=0)
    """Seconds one SFTP request may take."""
    idle_timeout: float = Field(default=300.0, gt=0)
    """Seconds after which an unused connection is reopened."""
    allow_legacy_algorithms: tuple[str, ...] = ()
    """Old SSH algorithms (e.g. ssh-rsa) explicitly allowed for an old server."""
    ciphers: tuple[str, ...] | None = None
    """Ciphers offered, in order; paramiko's defaults when unset."""
    request_size: int = Field(default=261120, ge=1024, le=1 << 20)
    """Bytes per read request (lower to 32768 for servers that refuse large reads)."""
    pipeline_depth: int = Field(default=32, ge=1, le=1024)
    """Read requests in flight."""
    window_size: int = Field(default=8 << 20, ge=1 << 16, le=1 << 30)
    """SSH channel window size in bytes."""
    max_packet_size: int = Field(default=1 << 18, ge=1 << 12, le=1 << 18)
    """SSH channel maximum packet size in bytes."""


def translate_error(exc: BaseException, what: str, *, path: str | None = None) -> Exception:
    """A paramiko/socket error as a bridge error (OSErrors with a file errno stay OSErrors)."""
    location = Location(file=path) if path else None
    if isinstance(exc, socket.timeout | TimeoutError):
        return TimeoutExpired(f"{what}: timed out", location=location)
    if isinstance(exc, paramiko.BadHostKeyException | paramiko.AuthenticationException):
        return SecurityError(f"{what}: {exc}", location=location)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.EEXIST, errno.EACCES, errno.EPERM):
        return exc
    return ConnectionFailed(f"{what}: {type(exc).__name__}: {exc}", location=location)


class SftpConnection:
    """One SSH transport and SFTP session; ``client()`` (re)connects when closed, dropped or idle too long."""

    def __init__(self, config: SftpConnectionConfig, *, base_dir: Path | None = None) -> None:
        self.config = config
        self._base = base_dir or Path.cwd()
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._last_used = 0.0
        self.host_key_fingerprint: str | None = None
        self.host_key_matched: str = ""

    def _path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self._base / p

    @property
    def label(self) -> str:
        return f"{self.config.user}@{self.config.host}:{self.config.port}"

    def client(self) -> paramiko.SFTPClient:
        import time

        now = time.monotonic()
        alive = self._transport is not None and self._transport.is_active() and self._sftp is not None
        if alive and now - self._last_used > self.config.idle_timeout:
            log.info("SFTP connection to %s idle for %.0fs; reconnecting", self.label, now - self._last_used)
            self.close()
            alive = False
        if not alive:
            self.close()
            self._connect()
        self._last_used = now
        assert self._sftp is not None
        return self._sftp

    @property
    def transport(self) -> paramiko.Transport | None:
        return self._transport

    def _disabled_algorithms(self) -> dict[str, list[str]]:
        allowed = set(self.config.allow_legacy_algorithms)
        return {kind: [a for a in names if a not in allowed] for kind, names in LEGACY_ALGORITHMS.items()}

    def _connect(self) -> None:
        cfg = self.config
        what = f"SFTP connect to {self.label}"
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout)
        except OSError as exc:
            raise translate_error(exc, what) from exc
        transport: paramiko.Transport | None = None
        try:
            disabled = self._disabled_algorithms()
            transport = paramiko.Transport(
                sock,
                disabled_algorithms=disabled,
                default_window_size=cfg.window_size,
                default_max_packet_size=cfg.max_packet_size,
            )
            transport.banner_timeout = cfg.connect_timeout
            transport.auth_timeout = cfg.connect_timeout
            options = transport.get_security_options()
            offered = tuple(c for c in options.ciphers if c not in disabled["ciphers"])
            preferred = cfg.ciphers or PREFERRED_CIPHERS
            first = tuple(c for c in preferred if c in offered)
            options.ciphers = first + tuple(c for c in offered if c not in first)
            transport.start_client(timeout=cfg.connect_timeout)
            self._verify_host_key(transport)
            self._authenticate(transport)
            sftp = self._open_sftp(transport, what)
            transport.set_keepalive(max(1, int(min(cfg.idle_timeout, 60) / 2)))
        except (SecurityError, RetryableError):
            if transport is not None:
                transport.close()
            raise
        except Exception as exc:
            if transport is not None:
                transport.close()
            sock.close()
            raise translate_error(exc, what) from exc
        self._transport, self._sftp = transport, sftp

    def _open_sftp(self, transport: paramiko.Transport, what: str) -> paramiko.SFTPClient:
        """``SFTPClient.from_transport``, with the channel's receive buffer swapped first (see sftp_pipe)."""
        cfg = self.config
        channel = transport.open_session(window_size=cfg.window_size, max_packet_size=cfg.max_packet_size)
        install(channel)
        channel.settimeout(cfg.read_timeout)
        try:
            channel.invoke_subsystem("sftp")
        except paramiko.SSHException as exc:
            raise ConnectionFailed(f"{what}: the server refused the sftp subsystem: {exc}") from exc
        return paramiko.SFTPClient(channel)

    def _verify_host_key(self, transport: paramiko.Transport) -> None:
        cfg = self.config
        key = transport.get_remote_server_key()
        fingerprint = key.fingerprint
        self.host_key_fingerprint = f"{key.get_name()} {fingerprint}"
        lookup = cfg.host if cfg.port == 22 else f"[{cfg.host}]:{cfg.port}"
        if cfg.host_key_fingerprint:
            if cfg.host_key_fingerprint.strip() != fingerprint:
                raise SecurityError(
                    f"host key mismatch for {lookup}: server presented {key.get_name()} {fingerprint}, "
                    f"pinned fingerprint is {cfg.host_key_fingerprint}; refusing to connect",
                    detail={"presented": fingerprint, "expected": cfg.host_key_fingerprint},
                )
            self.host_key_matched = "pinned fingerprint"
            return
        known = paramiko.HostKeys()
        if cfg.known_hosts:
            path = self._path(cfg.known_hosts)
            try:
                known.load(str(path))
            except OSError as exc:
                raise SecurityError(f"known_hosts file {path} cannot be read: {exc}") from exc
        entries: dict[str, paramiko.PKey] = dict(known.lookup(lookup) or {})
        if key.get_name() in entries:
            expected = entries[key.get_name()]
            if expected.asbytes() != key.asbytes():
                raise SecurityError(
                    f"host key mismatch for {lookup}: server presented {key.get_name()} {fingerprint}, "
                    f"known_hosts ({cfg.known_hosts}) expects {expected.fingerprint}; refusing to connect "
                    "(possible man-in-the-middle, or the server's key changed)",
                    detail={"presented": fingerprint, "expected": expected.fingerprint},
                )
            self.host_key_matched = "known_hosts"
            return
        if entries:
            other = ", ".join(f"{name} {k.fingerprint}" for name, k in entries.items())
            raise SecurityError(
                f"host key mismatch for {lookup}: server presented {key.get_name()} {fingerprint}, "
                f"known_hosts has only {other}; refusing to connect"
            )
        if cfg.accept_unknown_host_key:
            log.warning(
                "SECURITY: accepting UNKNOWN host key %s %s for %s because accept_unknown_host_key is set; "
                "pin it with host_key_fingerprint or known_hosts",
                key.get_name(),
                fingerprint,
                lookup,
            )
            self.host_key_matched = "UNVERIFIED (accept_unknown_host_key)"
            return
        raise SecurityError(
            f"unknown host key for {lookup}: server presented {key.get_name()} {fingerprint}, which is not in "
            f"known_hosts ({cfg.known_hosts or 'none configured'}) and no host_key_fingerprint is pinned; "
            "refusing to connect"
        )

    def _authenticate(self, transport: paramiko.Transport) -> None:
        cfg = self.config
        if cfg.key_file:
            passphrase = cfg.key_passphrase.get_secret_value().encode() if cfg.key_passphrase else None
            try:
                pkey = paramiko.PKey.from_path(self._path(cfg.key_file), passphrase)  # type: ignore[arg-type]
            except (OSError, ValueError, paramiko.SSHException) as exc:
                raise SecurityError(f"private key {cfg.key_file} cannot be loaded: {type(exc).__name__}") from exc
            transport.auth_publickey(cfg.user, pkey)
        elif cfg.password is not None:
            transport.auth_password(cfg.user, cfg.password.get_secret_value())
        else:
            raise SecurityError("no key_file and no password configured for SFTP")
        if not transport.is_authenticated():
            raise SecurityError(f"authentication as {cfg.user} refused")

    def connect_checks(self, folder: str) -> list[PeerCheck]:
        """``validate --connect``: reach the server, check its host key, log in, look at ``folder``; then close.
        Nothing is read, written or moved."""
        peer = self.label
        checks: list[PeerCheck] = []
        try:
            self.client()
        except (BridgeError, OSError) as exc:
            if self.host_key_fingerprint is None:
                return [PeerCheck("sftp connect", peer, False, str(exc))]
            checks.append(PeerCheck("sftp connect", peer, True))
            if not self.host_key_matched:
                return [*checks, PeerCheck("sftp host key", peer, False, str(exc))]
            checks.append(
                PeerCheck("sftp host key", peer, True, f"{self.host_key_fingerprint} ({self.host_key_matched})")
            )
            return [*checks, PeerCheck("sftp login", peer, False, str(exc))]
        try:
            checks += [
                PeerCheck("sftp connect", peer, True),
                PeerCheck("sftp host key", peer, True, f"{self.host_key_fingerprint} ({self.host_key_matched})"),
                PeerCheck("sftp login", peer, True, f"as {self.config.user}"),
            ]
            try:
                self.client().stat(folder)
                checks.append(PeerCheck("sftp folder", peer, True, folder))
            except OSError as exc:
                checks.append(PeerCheck("sftp folder", peer, False, f"{folder}: {exc.strerror or exc}"))
            return checks
        finally:
            self.close()

    def negotiated(self) -> dict[str, Any]:
        """The algorithms in use (for ``sftp doctor``)."""
        t = self._transport
        if t is None:
            return {}
        cipher = getattr(t, "local_cipher", None)
        return {
            "cipher": cipher,
            "mac": "(AEAD)" if cipher and "gcm" in cipher else getattr(t, "local_mac", None),
            "host_key_type": getattr(t, "host_key_type", None),
            "server_version": t.remote_version,
        }

    def close(self) -> None:
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception as exc:  # closing a dead session: nothing to save
                log.debug("closing SFTP session: %s", exc)
        if self._transport is not None:
            self._transport.close()
        self._sftp, self._transport = None, None
