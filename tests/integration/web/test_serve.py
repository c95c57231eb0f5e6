"""`esb-bridge serve` as a process: HTTPS with the configured certificate on an ephemeral 127.0.0.1 port,
stopped by SIGTERM."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.web.conftest import write_config


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    c, k = tmp / "api.crt", tmp / "api.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return c, k


def test_serve_answers_over_tls_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The served API speaks HTTPS with the configured certificate; /readyz is ready; the dashboard's session
    cookie is Secure there; SIGTERM ends it."""
    cert, key = _self_signed(tmp_path)
    cfg = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'ledger.db'}",
        extra=f"api: {{tls_cert: {cert.name}, tls_key: {key.name}}}\n",
        sink="{kind: file, path: out}",
    )
    exe = [str(Path(sys.executable).parent / "esb-bridge")]
    proc = subprocess.Popen(
        [*exe, "--config", str(cfg), "serve", "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ESB_BRIDGE_ACTOR": "test"},
    )
    try:
        assert proc.stderr is not None
        line = ""
        for line in proc.stderr:
            if "admin API on" in line:
                break
        m = re.search(r"(https://127\.0\.0\.1:\d+)", line)
        assert m, line
        with httpx.Client(base_url=m.group(1), verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as c:
            assert c.get("/readyz").json() == {"ready": True, "checks": {"ledger": True, "migrations": True}}
            assert c.get("/api/v1/interfaces").status_code == 401
            cookie = c.get("/ui/login").headers["set-cookie"].lower()  # the dashboard's session over HTTPS
            assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
