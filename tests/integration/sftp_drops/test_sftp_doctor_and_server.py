"""``esb-bridge sftp doctor`` against real sshd, and the embedded SFTP server used by the demo."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import paramiko
import pytest
import yaml
from click.testing import CliRunner

from adapters.legacy.sftp import SftpDropSource, SftpSinkConfig, SftpSourceConfig, SftpUploadSink
from adapters.legacy.sftp_cli import doctor_report, sftp_group
from adapters.legacy.sftp_server import EmbeddedSftpServer
from bridge.ports import Delivery, Encoded, OutcomeStatus, PathName, Role, SourceContext, SystemClock
from bridge.testing import MemorySourceLedger


def _write_config(tmp_path: Path, source: dict) -> Path:
    config = tmp_path / "bridge.yaml"
    config.write_text(yaml.safe_dump({"interfaces": {"invoices": {"source": source}}}))
    return config


def _aged(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    then = time.time() - 60
    os.utime(path, (then, then))


def test_doctor_reports_algorithms_host_key_and_next_poll(sshd, tmp_path: Path, monkeypatch) -> None:
    """doctor prints the cipher, the matched host key and which files are ready or skipped, and why."""
    drop = tmp_path / "in"
    drop.mkdir()
    _aged(drop / "ready.xml", b"<a/>")
    _aged(drop / "waiting.xml", b"<b/>")
    _aged(drop / "ready.xml.ok", b"")
    monkeypatch.setenv("DOCTOR_KEY", str(sshd.key_file))
    fields = json.loads(sshd.source_config(path=str(drop)).model_dump_json())
    fields.update(key_file="${DOCTOR_KEY}", readiness={"rule": "done_file"}, key_passphrase=None)
    config = _write_config(tmp_path, fields)
    result = CliRunner().invoke(sftp_group, ["doctor", "invoices", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "matched by:     known_hosts" in result.output
    assert "cipher:         aes128-gcm@openssh.com" in result.output
    assert f"READY {drop}/ready.xml" in result.output
    assert f"skip  {drop}/waiting.xml" in result.output and "no done file" in result.output
    report = doctor_report(SftpSourceConfig.model_validate({**fields, "key_file": str(sshd.key_file)}))
    assert report["next_poll"] == [f"{drop}/ready.xml"]


def test_doctor_explains_a_host_key_mismatch(sshd, tmp_path: Path) -> None:
    """doctor exits 1 and shows the presented fingerprint when the host key does not match."""
    known = tmp_path / "known_hosts"
    key = paramiko.ECDSAKey.generate()
    known.write_text(f"[127.0.0.1]:{sshd.port} {key.get_name()} {key.get_base64()}\n")
    fields = json.loads(sshd.source_config(path=str(tmp_path), known_hosts=str(known)).model_dump_json())
    fields["key_passphrase"] = None
    result = CliRunner().invoke(sftp_group, ["doctor", "invoices", "--config", str(_write_config(tmp_path, fields))])
    assert result.exit_code == 1
    assert "host key mismatch" in result.output and "ssh-ed25519 SHA256:" in result.output


@pytest.fixture
def embedded(tmp_path: Path):
    with EmbeddedSftpServer(tmp_path / "served", users={"demo": "demo-pass"}) as server:
        yield server


def test_embedded_server_serves_source_and_sink(embedded: EmbeddedSftpServer, tmp_path: Path) -> None:
    """The source polls and archives through the embedded server, and the sink uploads into it."""
    known = tmp_path / "known_hosts"
    known.write_text(embedded.known_hosts_line())
    (embedded.root / "in").mkdir()
    _aged(embedded.root / "in" / "order 1 ü.csv", b"id\n1\n")
    common = {
        "host": "127.0.0.1",
        "port": embedded.port,
        "user": "demo",
        "password": "demo-pass",
        "known_hosts": str(known),
    }
    source = SftpDropSource(
        SftpSourceConfig.model_validate({**common, "kind": "sftp", "path": "/in", "readiness": {"rule": "rename"}})
    )
    source.open(SourceContext("demo", SystemClock(), tmp_path / "spool", MemorySourceLedger()))
    [envelope] = list(source.poll())
    assert envelope.origin == f"sftp://demo@127.0.0.1:{embedded.port}/in/order 1 ü.csv"
    source.acknowledge(envelope)
    source.close()
    assert (embedded.root / "in" / "archive" / "order 1 ü.csv").read_bytes() == b"id\n1\n"

    sink = SftpUploadSink(
        SftpSinkConfig.model_validate({**common, "kind": "sftp", "path": "/out", "done_suffix": ".done"})
    )
    (embedded.root / "out").mkdir()
    mid = uuid.uuid4()
    delivery = Delivery(
        mid, "demo", PathName.LEGACY, Role.AUTHORITATIVE, "K1", 1, Encoded(b"<x/>", "application/xml"), "tx"
    )
    with sink:
        assert sink.deliver(delivery).status is OutcomeStatus.DELIVERED
        assert sink.deliver(delivery).status is OutcomeStatus.DELIVERED
    assert sorted(p.name for p in (embedded.root / "out").iterdir()) == [f"{mid}.xml", f"{mid}.xml.done"]


def test_embedded_server_confines_paths_and_checks_passwords(embedded: EmbeddedSftpServer, tmp_path: Path) -> None:
    """Paths cannot leave the served folder (``..``, symlinks) and a wrong password is refused."""
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (embedded.root / "link").symlink_to(outside)
    transport = paramiko.Transport(("127.0.0.1", embedded.port))
    try:
        transport.connect(hostkey=embedded.host_key, username="demo", password="demo-pass")
        client = paramiko.SFTPClient.from_transport(transport)
        assert client is not None
        with pytest.raises(FileNotFoundError):
            client.stat("/../../../" + str(outside))
        with pytest.raises(PermissionError):
            client.open("/link").read()
        assert client.normalize("/../..") == "/"
    finally:
        transport.close()
    bad = paramiko.Transport(("127.0.0.1", embedded.port))
    try:
        with pytest.raises(paramiko.AuthenticationException):
            bad.connect(hostkey=embedded.host_key, username="demo", password="wrong")
    finally:
        bad.close()


def _bridge_config(tmp_path: Path, source: dict) -> Path:
    config = tmp_path / "bridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": f"sqlite:///{tmp_path / 'ledger.db'}",
                "interfaces": {
                    "invoices": {
                        "canonical": "Customer",
                        "source": source,
                        "decoder": {"kind": "jsonl"},
                        "legacy": {"encoder": {"kind": "json"}, "sink": {"kind": "file", "path": "out"}},
                    }
                },
            }
        )
    )
    return config


def test_doctor_through_esb_bridge_cli(sshd, tmp_path: Path) -> None:
    """``esb-bridge --config FILE sftp doctor INTERFACE`` uses the bridge's loaded config."""
    from bridge.cli.main import _mount_plugin_groups, cli

    _mount_plugin_groups()
    drop = tmp_path / "in"
    drop.mkdir()
    _aged(drop / "a.jsonl", b"{}\n")
    fields = json.loads(sshd.source_config(path=str(drop), readiness={"rule": "rename"}).model_dump_json())
    fields["key_passphrase"] = None
    config = _bridge_config(tmp_path, fields)
    result = CliRunner().invoke(cli, ["--config", str(config), "sftp", "doctor", "invoices", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["host_key_match"] == "known_hosts" and report["next_poll"] == [f"{drop}/a.jsonl"]


def test_validate_rejects_a_shared_drop_that_moves(sshd, tmp_path: Path) -> None:
    """``esb-bridge validate`` refuses ``shared: true`` with move, naming the source block."""
    from bridge.cli.main import cli

    fields = json.loads(sshd.source_config(path=str(tmp_path)).model_dump_json())
    fields.update(key_passphrase=None, shared=True)
    result = CliRunner().invoke(cli, ["--config", str(_bridge_config(tmp_path, fields)), "validate"])
    assert result.exit_code != 0
    assert "interfaces.invoices.source" in result.output and "shared drop" in result.output


def test_sftp_serve_on_a_busy_port_says_so_without_a_traceback(tmp_path: Path) -> None:
    """`esb-bridge sftp serve --port P` with P taken: exit 1, one clear sentence naming the port, no traceback."""
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = subprocess.run(
            [sys.executable, "-m", "bridge", "sftp", "serve", str(tmp_path / "d"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ESB_BRIDGE_SFTP_PASSWORD": "pw"},
        )
    assert res.returncode == 1, res.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr and "--port" in res.stderr
    assert "Traceback" not in res.stderr
