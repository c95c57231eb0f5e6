"""The esb-bridge command line, run as a real process where it matters (exit codes, --json)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from bridge.cli.main import cli


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_and_unknown_config() -> None:
    """`python -m bridge --help` works; a missing config file is a clear non-zero error."""
    assert _cli("--help").returncode == 0
    res = _cli("--config", "/nonexistent/bridge.yaml", "status")
    assert res.returncode == 2 and "not found" in res.stderr


def test_schema_export_writes_every_model(tmp_path: Path) -> None:
    """`schema export DIR` writes one JSON Schema per canonical model."""
    res = CliRunner().invoke(cli, ["schema", "export", str(tmp_path)])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in tmp_path.glob("*.schema.json"))
    assert names == [
        f"{n}.schema.json" for n in ("Customer", "Invoice", "Payment", "Product", "SalesOrder", "Subscription")
    ]
    assert json.loads((tmp_path / "Invoice.schema.json").read_text())["title"] == "Invoice"


def test_demo_is_deterministic_and_status_dlq_commands_read_its_ledger(tmp_path: Path) -> None:
    """The demo exits 0 with the same summary on every run; status/messages/dlq read its ledger as JSON."""
    first = _cli("demo", "--dir", str(tmp_path / "a"), "--json", "--days", "2")
    second = _cli("demo", "--dir", str(tmp_path / "b"), "--json", "--days", "2")
    assert first.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    strip = [{k: v for k, v in d.items() if k != "location"} for d in a["dead_letters"]]
    assert strip == [{k: v for k, v in d.items() if k != "location"} for d in b["dead_letters"]]
    assert a["status"] == b["status"] and a["outputs"] == b["outputs"]
    assert a["systems"] == b["systems"] and a["shadow"] == b["shadow"]
    assert [d["ingest"] for d in a["days"]] == [d["ingest"] for d in b["days"]]
    # The story starts with a backtest of last month's archive: it finds the tax-rounding class before day 1.
    same = {k: v for k, v in a["backtest"].items() if k != "report"}
    assert same == {k: v for k, v in b["backtest"].items() if k != "report"}
    assert a["backtest"]["classes"]["tax_total"] > 0 and not a["backtest"]["ready"]
    inv = a["status"]["invoices-to-billing"]
    delivered = inv["messages"]["delivered"]
    assert inv["dead_letters_open"] == 2 and delivered == a["systems"]["legacy-billing.invoices"]
    assert a["systems"]["cloud.invoices"] == delivered
    # the subscription leg: every closed-won deal billed once and its invoice posted to the cloud ERP
    subs = a["systems"]["subscription-billing.subscriptions"]
    assert subs > 0 and a["systems"]["subscription-billing.invoices"] == a["systems"]["cloud.erp-revenue"] == subs
    assert a["status"]["subscriptions-from-crm"]["messages"] == {"delivered": subs}
    cfg = str(tmp_path / "a" / "bridge.yaml")
    status = json.loads(_cli("--config", cfg, "status", "--json").stdout)
    assert status == a["status"]
    dlq = json.loads(_cli("--config", cfg, "dlq", "list", "--json").stdout)
    assert len(dlq) == 2 and all(d["location"]["line"] > 0 for d in dlq)
    msgs = json.loads(_cli("--config", cfg, "messages", "list", "--json", "--limit", "3").stdout)
    assert len(msgs) == 3
    # the newest messages are the ERP's echoes (suppressed: no deliveries); a delivered one has its attempts
    msgs = json.loads(
        _cli("--config", cfg, "messages", "list", "--json", "--state", "delivered", "--limit", "3").stdout
    )
    shown = json.loads(_cli("--config", cfg, "messages", "show", msgs[0]["id"], "--json").stdout)
    assert shown["deliveries"] and shown["deliveries"][0]["attempts_log"]
    res = _cli("--config", cfg, "dlq", "discard", str(dlq[0]["id"]), "--reason", "")
    assert res.returncode != 0
    res = _cli("--config", cfg, "dlq", "discard", str(dlq[0]["id"]), "--reason", "duplicate of INV-1")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(_cli("--config", cfg, "dlq", "list", "--json").stdout)) == 1


def test_demo_tells_its_story_in_lines_and_a_table_and_json_only_with_json(tmp_path: Path) -> None:
    """Without --json: the backtest of last month's archive in two lines, then a few lines per day on stderr, a
    table of interfaces with readiness, the next steps and the report path on stdout, no JSON anywhere and no
    log warnings."""
    res = _cli("demo", "--dir", str(tmp_path / "d"), "--days", "1")
    assert res.returncode == 0, res.stderr
    first, classes, day1 = res.stderr.splitlines()[:3]
    assert first.startswith("backtest bt1 of invoices-to-billing: 90 archived invoices (2025-12-06 to 2026-01-04)")
    assert classes.startswith("  mismatch classes: ") and "tax_total (" in classes and "not ready" in classes
    assert day1.startswith("day 1 (2026-01-05): ") and "records in" in res.stderr
    assert "shadow: ready for promotion: " in res.stderr and "WARNING" not in res.stderr
    assert len(res.stderr.splitlines()) <= 6
    assert "{" not in res.stdout
    rows = [line for line in res.stdout.splitlines() if "invoices-to-billing" in line]
    assert "legacy_primary" in rows[0] and "not ready" in rows[0]
    assert any(" more comparisons at the current match rate" in line for line in res.stdout.splitlines())
    assert f"shadow report (html): {tmp_path / 'd' / 'reports' / 'shadow-report.html'}" in res.stdout
    _serves_the_dashboard(res.stdout, tmp_path / "d")


def _serves_the_dashboard(stdout: str, workdir: Path) -> None:
    """The demo's last line is the command that serves the dashboard on its ledger at a loopback URL, and the
    token printed above it logs in: run it (on a free port) and read the overview."""
    lines = stdout.strip().splitlines()
    command = lines[-1].split()
    assert command[:3] == ["esb-bridge", "--config", str(workdir / "bridge.yaml")], lines[-1]
    assert command[3:5] == ["serve", "--listen"] and command[5].startswith("127.0.0.1:")
    token = re.search(r"API token (esbb_\S+)", lines[-2])
    assert token, lines[-2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = [sys.executable, "-m", "bridge", *command[1:5], f"127.0.0.1:{port}"]
    with subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, "serve did not come up"
                    time.sleep(0.2)
            page = httpx.get(f"{url}/ui", headers={"Authorization": f"Bearer {token.group(1)}"}, timeout=60)
            assert page.status_code == 200 and 'data-interface="invoices-to-billing"' in page.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def test_validate_names_the_file_and_line_of_a_wrong_compare_block(tmp_path: Path) -> None:
    """`validate` fails (exit 2) on a wrong ``compare:`` value, naming the YAML path with file:line."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        "interfaces:\n"
        "  customers:\n"
        "    canonical: Customer\n"
        "    source: {kind: folder, path: in}\n"
        "    decoder: {kind: jsonl}\n"
        "    legacy: {encoder: {kind: json}, sink: {kind: file, path: out}}\n"
        "    compare:\n"
        "      settle: soon\n"
    )
    res = CliRunner().invoke(cli, ["--config", str(cfg), "validate"])
    assert res.exit_code == 2
    assert f"{cfg}:8: interfaces.customers.compare.settle" in res.output
    cfg.write_text(cfg.read_text().replace("settle: soon", "settle: 10m"))
    ok = CliRunner().invoke(cli, ["--config", str(cfg), "validate"])
    assert ok.exit_code == 0, ok.output
