"""``esb-bridge reconcile`` against the real simulators: invoices delivered by ``run --once`` to the legacy ERP
(SOAP PostInvoice) and the cloud billing API (REST), then counted and summed per business date from the
ledger and from each target's own listing (SOAP GetChangedInvoices, REST GET /v1/invoices)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.ports import SimulatedClock, SystemClock
from bridge.runtime.exitcodes import ReconcileProblem
from bridge.runtime.reconcile import ReconcileSchedule
from bridge.store.ledger import open_ledger
from samples.cloud_sim.server import SimServer
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from samples.legacy_erp.store import Customer

ROOT = Path(__file__).resolve().parents[3]
MAPS = ROOT / "samples" / "demo" / "maps"
DAYS = (date(2026, 1, 5), date(2026, 1, 6))


@pytest.fixture
def erp() -> Iterator[ErpSimulator]:
    """The legacy billing system: a SOAP simulator that knows the invoices' customers."""
    with ErpSimulator() as sim:
        for n in (1, 2, 3):
            cid = f"C-{n:05d}"
            sim.store.customers[cid] = Customer(
                cid, f"Customer {n}", "DE", modified_at=datetime(2026, 1, 1, tzinfo=UTC)
            )
        yield sim


@pytest.fixture
def cloud() -> Iterator[SimServer]:
    with SimServer() as sim:
        sim.state.config.check_references = False  # it knows customers by the ERP's number, as in the demo
        yield sim


def _project(tmp_path: Path, erp: ErpSimulator, cloud: SimServer, *, cloud_listing: bool = True) -> Path:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = [_invoice(n, DAYS[n % 2]) for n in range(1, 7)]
    (drop / "inv.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    rest_listing = (
        f"""
      listing: {{kind: rest, url: "{cloud.url}/v1/invoices", params: {{limit: "2"}},
                key_field: external_id, date_field: issue_date, amount_field: total}}"""
        if cloud_listing
        else ""
    )
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: sqlite:///ledger.db
spool_dir: spool
retry: {{initial: 1s, max_attempts: 2}}
interfaces:
  invoices:
    canonical: Invoice
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: xslt, stylesheet: "{MAPS / "legacy-billing-soap.xsl"}"}}
      sink: {{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{erp.url}", operation: PostInvoice,
             target_id_path: invoiceId}}
      listing: {{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{erp.url}", operation: GetChangedInvoices,
                page_size: 4, records_path: invoices/invoice, key_field: invoiceNumber,
                date_field: issueDate, amount_field: grossTotal}}
    cloud:
      encoder: {{kind: json-mapped, mapping: "{MAPS / "cloud-billing-invoice.yaml"}"}}
      sink: {{kind: rest, url: "{cloud.url}/v1/invoices"}}{rest_listing}
    cutover: {{mode: dual_write}}
    reconcile: {{date: issue_date, amount: payable_amount}}
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--once", "--max-wait", "20"])
    assert result.exit_code == 0, result.output
    assert len(erp.store.invoices) == 6 and len(cloud.state.records["invoices"]) == 6
    return cfg


def _invoice(n: int, issue: date) -> dict[str, Any]:
    """A consistent invoice whose tax is whole cents per line, so per-line and per-invoice rounding agree (the
    cloud billing rounds once per invoice: other amounts would differ there for real, as in the demo)."""
    lines = [(1 + n % 3, Decimal(10 * n)), (2, Decimal("25.00"))]
    net = [q * p for q, p in lines]
    tax = sum((x * Decimal("0.19") for x in net), Decimal(0)).quantize(Decimal("0.01"))
    total = sum(net, Decimal(0))
    return {
        "invoice_number": f"INV-{n:04d}",
        "issue_date": issue.isoformat(),
        "customer_id": f"C-{1 + n % 3:05d}",
        "currency": "EUR",
        "lines": [
            {
                "line_id": str(i),
                "product_id": f"SKU-{i}",
                "description": f"Article {i}",
                "quantity": str(q),
                "unit_price": str(p),
                "line_extension_amount": str(q * p),
                "tax_category": "S",
                "tax_rate": "19",
            }
            for i, (q, p) in enumerate(lines, 1)
        ],
        "tax_lines": [{"tax_category": "S", "tax_rate": "19", "taxable_amount": str(total), "tax_amount": str(tax)}],
        "line_extension_total": str(total),
        "tax_exclusive_amount": str(total),
        "tax_total": str(tax),
        "tax_inclusive_amount": str(total + tax),
        "payable_amount": str(total + tax),
    }


def _reconcile(cfg: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "reconcile", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, json.loads(result.stdout)


def _rows(data: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    return {r["business_date"]: r for rep in data["reports"] for r in rep["rows"] if r["path"] == path}


def test_matched_targets_exit_zero_with_counts_and_sums_per_date(
    tmp_path: Path, erp: ErpSimulator, cloud: SimServer
) -> None:
    """Right after delivery every path matches its target: per date the same counts and sums on both sides."""
    cfg = _project(tmp_path, erp, cloud)
    result, data = _reconcile(cfg)
    assert result.exit_code == 0, result.output
    legacy = _rows(data, "legacy")
    assert set(legacy) == {d.isoformat() for d in DAYS}
    for row in legacy.values():
        assert row["status"] == "matched" and row["ledger_count"] == row["target_count"] == 3
        assert Decimal(row["ledger_amount"]) == Decimal(row["target_amount"]) > 0
    gross = sum((i.gross_total or Decimal(0) for i in erp.store.invoices.values()), Decimal(0))
    assert sum(Decimal(r["target_amount"]) for r in legacy.values()) == gross
    assert {r["status"] for r in _rows(data, "cloud").values()} == {"matched"}


def test_deleted_record_and_changed_sum_are_found_through_the_targets_listing(
    tmp_path: Path, erp: ErpSimulator, cloud: SimServer
) -> None:
    """A record deleted from the SOAP simulator's store is missing at target, another's changed amount makes its
    date's sum differ; both named per key, stored in the ledger, and the exit code says differences (8)."""
    cfg = _project(tmp_path, erp, cloud)
    by_day = sorted(erp.store.invoices.values(), key=lambda i: (i.issue_date, i.invoice_number))
    deleted, changed = by_day[0], by_day[-1]
    with erp.store._lock:
        del erp.store.invoices[deleted.invoice_number]
        assert changed.gross_total is not None
        erp.store.invoices[changed.invoice_number] = replace(changed, gross_total=changed.gross_total + 1)
    result, data = _reconcile(cfg)
    assert result.exit_code == ReconcileProblem.DIFFERENCES == 8
    assert data["problems"] == ["differences"]
    legacy = _rows(data, "legacy")
    first, last = legacy[deleted.issue_date.isoformat()], legacy[changed.issue_date.isoformat()]
    assert (first["status"], first["ledger_count"], first["target_count"]) == ("differs", 3, 2)
    assert first["detail"]["keys"] == [
        {
            "key": deleted.invoice_number,
            "issue": "missing_at_target",
            "ledger_date": deleted.issue_date.isoformat(),
            "ledger_amount": str(deleted.gross_total),
            "message_id": first["detail"]["keys"][0]["message_id"],
        }
    ]
    assert Decimal(last["target_amount"]) - Decimal(last["ledger_amount"]) == 1
    assert [(k["key"], k["issue"]) for k in last["detail"]["keys"]] == [(changed.invoice_number, "amount_differs")]
    assert {r["status"] for r in _rows(data, "cloud").values()} == {"matched"}  # the other target is untouched
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", SystemClock()) as ledger:
        stored = ledger.latest_reconciliations("invoices")
    assert sum(r.differences for r in stored) == 2 and {r.run_id for r in stored} == {data["reports"][0]["run_id"]}
    status = CliRunner().invoke(cli, ["--config", str(cfg), "status", "--json"])
    assert json.loads(status.stdout)["invoices"]["reconciliation"]["differences"] == 2
    report = CliRunner().invoke(cli, ["--config", str(cfg), "shadow", "report", "--format", "json"])
    shown = json.loads(report.stdout)["interfaces"]["invoices"]["reconciliation"]
    assert sum(r["differences"] for r in shown) == 2
    html = CliRunner().invoke(cli, ["--config", str(cfg), "shadow", "report", "--format", "html"]).stdout
    assert "<h3>Reconciliation</h3>" in html and deleted.invoice_number in html and "missing_at_target" in html
    human = CliRunner().invoke(cli, ["--config", str(cfg), "reconcile"])
    assert f"{deleted.invoice_number}: missing at target" in human.stdout
    assert f"{changed.invoice_number}: amount differs: ledger" in human.stdout


def test_one_business_date_and_an_unreachable_target(tmp_path: Path, erp: ErpSimulator, cloud: SimServer) -> None:
    """--date limits the rows to that date; a target whose listing fails is incomplete (exit 4), not "all missing";
    a path without a listing is counted from the ledger alone."""
    cfg = _project(tmp_path, erp, cloud, cloud_listing=False)
    erp.set_knobs(fail_500=1)
    result, data = _reconcile(cfg, "--date", DAYS[1].isoformat())
    assert result.exit_code == ReconcileProblem.TARGET_UNREADABLE == 4, result.output
    legacy, cloud_rows = _rows(data, "legacy"), _rows(data, "cloud")
    assert set(legacy) == set(cloud_rows) == {DAYS[1].isoformat()}
    row = legacy[DAYS[1].isoformat()]
    assert row["status"] == "incomplete" and row["target_count"] is None and row["differences"] == 0
    assert "TargetUnavailable" in row["detail"]["error"]
    only = cloud_rows[DAYS[1].isoformat()]
    assert (only["status"], only["ledger_count"], only["target_count"]) == ("ledger_only", 3, None)


def test_scheduled_reconciliation_runs_every_interval(tmp_path: Path, erp: ErpSimulator, cloud: SimServer) -> None:
    """``reconcile: {every: 1h}``: nothing at start, one run once the hour is over, the next an hour later."""
    cfg = _project(tmp_path, erp, cloud)
    cfg.write_text(cfg.read_text().replace("amount: payable_amount}", "amount: payable_amount, every: 1h}"))
    loaded = load_config(cfg)
    clock = SimulatedClock()
    with open_ledger(loaded.store_url(), clock) as ledger:
        schedule = ReconcileSchedule(loaded, ledger, clock)
        assert schedule.active and schedule.run_due() == []
        clock.advance(3600)
        (report,) = schedule.run_due()
        assert report.differences == 0 and len(report.rows) == 4
        assert schedule.run_due() == []
        assert {r.run_id for r in ledger.latest_reconciliations()} == {report.run_id}
