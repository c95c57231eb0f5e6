"""Fixtures of the SOAP integration tests: the legacy ERP simulator on a free 127.0.0.1 port, ledgers, TLS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.testing import MemorySourceLedger
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator

HERE = Path(__file__).parent

INVOICES = 1234


@pytest.fixture
def sim() -> Iterator[ErpSimulator]:
    """A running simulator seeded with 20 customers and 1,234 invoices; stopped after the test."""
    simulator = ErpSimulator()
    simulator.store.seed(customers=20, invoices=INVOICES, orders=50)
    with simulator:
        yield simulator


@pytest.fixture
def wsdl() -> Path:
    return WSDL_PATH


@pytest.fixture
def ledger() -> MemorySourceLedger:
    return MemorySourceLedger()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (PEM) and its key, made with ``cryptography``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "legacy-erp-simulator")])
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
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
