"""`esb-bridge validate --connect` against the real peers the integration tests use: sshd, the SOAP ERP
simulator, the REST cloud simulator (OAuth2) and RabbitMQ. Every check is reported; nothing is sent."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from bridge.cli.main import cli
from samples.cloud_sim import SimServer
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from tests.conftest import require_peer
from tests.integration.sftp_drops.conftest import Sshd, free_port

AMQP = ("127.0.0.1", 5672)


def _config(tmp_path: Path, sshd: Sshd, erp: str, rest: str, *, secret: str, drop: Path, amqp_port: int) -> Path:
    s = sshd.connection_fields()
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
interfaces:
  invoices:
    canonical: Customer
    source: {{kind: sftp, host: 127.0.0.1, port: {s["port"]}, user: {s["user"]}, key_file: "{s["key_file"]}",
              known_hosts: "{s["known_hosts"]}", connect_timeout: 5, path: "{drop}"}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{erp}", operation: PostInvoice}}
    cloud:
      encoder: {{kind: json}}
      sink:
        kind: rest
        url: "{rest}/api/customers"
        auth: {{oauth2: {{token_url: "{rest}/oauth/token", client_id: bridge, client_secret: {secret}}}}}
    cutover: {{mode: legacy_primary}}
  events:
    canonical: Customer
    source: {{kind: folder, path: in}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: cloudevents, type: com.example.customer, source: /t,
              amqp: {{url: "amqp://guest:guest@127.0.0.1:{amqp_port}/%2F", socket_timeout: 3}}}}
""",
        encoding="utf-8",
    )
    (tmp_path / "in").mkdir(exist_ok=True)
    return cfg


def test_validate_connect_reaches_each_peer_and_reports_each_failure(sshd: Sshd, tmp_path: Path) -> None:
    """All peers up: every check passes (exit 0), no SOAP call and no REST document was sent. Then a wrong
    client secret, a missing remote folder and a closed AMQP port: each its own failed check, exit 4."""
    try:
        socket.create_connection(AMQP, timeout=2).close()
        reachable = True
    except OSError:
        reachable = False
    require_peer("RabbitMQ at 127.0.0.1:5672", reachable)
    drop = sshd.workdir / "validate-drop"
    drop.mkdir(exist_ok=True)
    erp = ErpSimulator()
    with erp, SimServer() as rest:
        good = _config(tmp_path, sshd, erp.url, rest.url, secret="s3cret", drop=drop, amqp_port=AMQP[1])
        res = CliRunner().invoke(cli, ["--config", str(good), "validate", "--connect", "--json"])
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout)
        checks = {(c["block"], c["check"]): c for c in report["connect"]}
        assert report["ok"] and all(c["ok"] for c in checks.values()), report["connect"]
        assert set(checks) == {
            ("interfaces.invoices.source", "sftp connect"),
            ("interfaces.invoices.source", "sftp host key"),
            ("interfaces.invoices.source", "sftp login"),
            ("interfaces.invoices.source", "sftp folder"),
            ("interfaces.invoices.legacy.sink", "soap wsdl"),
            ("interfaces.invoices.legacy.sink", "soap endpoint"),
            ("interfaces.invoices.cloud.sink", "rest token"),
            ("interfaces.invoices.cloud.sink", "rest endpoint"),
            ("interfaces.events.legacy.sink", "amqp connection"),
            ("interfaces.events.legacy.sink", "amqp exchange"),
        }
        assert "known_hosts" in checks[("interfaces.invoices.source", "sftp host key")]["detail"]
        assert erp.stats.requests == 0  # no SOAP call was made
        assert [r.path for r in rest.state.requests if r.method not in ("HEAD", "GET")] in ([], ["/oauth/token"])

        bad = _config(tmp_path, sshd, erp.url, rest.url, secret="wrong", drop=drop / "missing", amqp_port=free_port())
        res = CliRunner().invoke(cli, ["--config", str(bad), "validate", "--connect"])
    assert res.exit_code == 4, res.output
    failed = [line for line in res.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 3, res.stdout
    assert any("sftp folder" in f and "missing" in f for f in failed)
    assert any("rest token" in f and "client credentials refused" in f for f in failed)
    assert any("amqp connection" in f for f in failed)
    assert "connect: 5 of 8 check(s) passed" in res.stdout  # a failed step ends its peer's list
