"""SFTP host key checking, algorithm policy and authentication against real OpenSSH sshd."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import paramiko
import pytest

from adapters.legacy.sftp import SftpDropSource
from bridge.ports import SecurityError


def _connect(sshd, tmp_path: Path, **fields) -> SftpDropSource:
    source = SftpDropSource(sshd.source_config(path=str(tmp_path), **fields))
    try:
        source.connection.client()
    except BaseException:
        source.close()
        raise
    return source


def _other_key_line(sshd, tmp_path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    kind, blob = (tmp_path / "other.pub").read_text().split()[:2]
    return f"[127.0.0.1]:{sshd.port} {kind} {blob}\n"


def test_known_host_key_is_accepted(sshd, tmp_path: Path) -> None:
    """The server key listed in known_hosts is accepted and reported as matched by known_hosts."""
    source = _connect(sshd, tmp_path)
    assert source.connection.host_key_matched == "known_hosts"
    assert source.connection.host_key_fingerprint.startswith("ssh-ed25519 SHA256:")
    source.close()


def test_host_key_mismatch_is_refused_clearly(sshd, tmp_path: Path) -> None:
    """A different key for the host in known_hosts refuses the connection with both fingerprints named."""
    known = tmp_path / "known_hosts"
    known.write_text(_other_key_line(sshd, tmp_path))
    with pytest.raises(SecurityError, match=r"host key mismatch for \[127.0.0.1\]:\d+: server presented ssh-ed25519 "
                                            r"SHA256:\S+, known_hosts .* expects SHA256:"):
        _connect(sshd, tmp_path, known_hosts=str(known))


def test_unknown_host_key_is_refused_by_default(sshd, tmp_path: Path) -> None:
    """With an empty known_hosts and no pinned fingerprint the connection is refused."""
    known = tmp_path / "empty_known_hosts"
    known.write_text("")
    with pytest.raises(SecurityError, match="unknown host key"):
        _connect(sshd, tmp_path, known_hosts=str(known))


def test_pinned_fingerprint(sshd, tmp_path: Path) -> None:
    """A pinned SHA256 fingerprint accepts the right key and refuses any other."""
    kind, blob = sshd.host_pub.split()
    right = paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(blob)).fingerprint
    source = _connect(sshd, tmp_path, known_hosts=None, host_key_fingerprint=right)
    assert source.connection.host_key_matched == "pinned fingerprint"
    source.close()
    with pytest.raises(SecurityError, match="pinned fingerprint is SHA256:AAAA"):
        _connect(sshd, tmp_path, known_hosts=None, host_key_fingerprint="SHA256:AAAA")


def test_accepting_unknown_key_needs_opt_in_and_is_logged(sshd, tmp_path: Path, caplog) -> None:
    """accept_unknown_host_key connects but logs a SECURITY warning naming the key."""
    with caplog.at_level(logging.WARNING):
        source = _connect(sshd, tmp_path, known_hosts=None, accept_unknown_host_key=True)
    source.close()
    assert any("SECURITY: accepting UNKNOWN host key" in r.getMessage() for r in caplog.records)


def test_legacy_algorithms_off_and_fast_cipher_negotiated(sshd, tmp_path: Path) -> None:
    """CBC ciphers and SHA-1 MACs are not offered unless allow-listed; AES-GCM is negotiated by preference."""
    source = _connect(sshd, tmp_path)
    transport = source.connection.transport
    assert "aes128-cbc" not in transport.preferred_ciphers and "hmac-sha1" not in transport.preferred_macs
    assert source.connection.negotiated()["cipher"] == "aes128-gcm@openssh.com"
    source.close()
    allowed = _connect(sshd, tmp_path, allow_legacy_algorithms=["aes128-cbc"])
    assert "aes128-cbc" in allowed.connection.transport.preferred_ciphers
    allowed.close()


def test_wrong_client_key_is_refused(sshd, tmp_path: Path) -> None:
    """A key the server does not authorize is a SecurityError, not a retryable failure."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "stranger")], check=True)
    with pytest.raises(SecurityError):
        _connect(sshd, tmp_path, key_file=str(tmp_path / "stranger"))


def test_passphrase_protected_key(sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A passphrase-protected key loads with the passphrase (given as a secret)."""
    protected = tmp_path / "protected"
    subprocess.run(["cp", str(sshd.key_file), str(protected)], check=True)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "s3cret", "-P", "", "-f", str(protected)], check=True)
    source = _connect(sshd, tmp_path, key_file=str(protected), key_passphrase="s3cret")
    assert source.connection.host_key_matched == "known_hosts"
    source.close()
    with pytest.raises(SecurityError, match="cannot be loaded"):
        _connect(sshd, tmp_path, key_file=str(protected), key_passphrase="wrong")
