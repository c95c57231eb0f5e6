"""The demo's shadow report: fixed seed -> the same counts on every run (pinned here for `make demo`'s 10
days; the CLI test compares two runs), with a real mismatch, an accepted difference, an orphan, a late arrival
and one interface ready for promotion. Invoices and CRM customers run through the real simulators: the cloud
billing rounds tax per invoice while legacy billing keeps the ERP's per-line rounding (read-back mismatches);
the legacy ERP's 35-character names are an accepted difference; the ERP's echoes are suppressed; the old ESB
loses one bank payment (an orphan) while 25 % of the payments already go cloud-first as CloudEvents; orders
move from legacy_only to legacy_primary on day 3 through the cutover API (an audited flag change); closed-won
deals become subscriptions (parked until their customer reached the ERP) whose invoices are posted to the cloud
ERP (the subscription leg, cloud_only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import distinct, func, select

from bridge.cli.main import cli
from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.ledger import open_ledger
from samples.demo_app import run_demo

KEYS = (
    "volume",
    "compared",
    "matched",
    "mismatched",
    "accepted_total",
    "orphan_count",
    "late_count",
    "levels",
    "top_fields",
    "accepted",
    "mode",
    "flag_version",
)


def _counts(path: str) -> dict[str, Any]:
    report = json.loads(Path(path).read_text())
    return {
        name: {**{k: it[k] for k in KEYS}, "ready": it["gate"]["ready"], "reasons": it["gate"]["reasons"]}
        for name, it in report["interfaces"].items()
    }


def test_demo_report_counts_are_fixed_and_show_every_case(tmp_path: Path) -> None:
    """`make demo`'s 10 days give these counts (fixed seed); the report holds each case the demo promises."""
    a = run_demo(tmp_path / "a", seed=42, days=10, progress=False)
    first = _counts(a["reports"]["json"])
    assert Path(a["reports"]["html"]).read_text().count('data-interface="') == 7
    erp, inv, crm = first["customers-to-erp"], first["invoices-to-billing"], first["customers-from-crm"]
    assert (erp["compared"], erp["matched"], erp["mismatched"]) == (270, 201, 69)
    assert (erp["accepted_total"], erp["orphan_count"], erp["late_count"]) == (67, 9, 1)
    assert erp["top_fields"] == [{"path": "addresses.billing.city", "count": 69, "critical": False}]
    assert erp["accepted"][0]["owner"] == "erp-team" and not erp["ready"]
    assert (inv["compared"], inv["matched"], inv["mismatched"], inv["accepted_total"]) == (636, 425, 211, 1272)
    assert inv["levels"]["readback"] == {"accepted": 425, "mismatch": 211}
    assert {f["path"] for f in inv["top_fields"]} == {"payable_amount", "tax_inclusive_amount", "tax_total"}
    assert inv["accepted"][0]["path"] == "due_date" and not inv["ready"]
    assert (crm["compared"], crm["matched"], crm["accepted_total"], crm["mode"]) == (107, 107, 23, "dual_write")
    assert crm["accepted"][0]["path"] == "name" and crm["ready"]
    pay = first["payments"]
    assert (pay["mode"], pay["compared"], pay["matched"], pay["orphan_count"], pay["ready"]) == (
        "cloud_primary",
        207,
        207,
        1,
        True,
    )
    assert a["status"]["payments"]["deliveries"] == {
        "cloud/authoritative": {"delivered": 51},  # the 25 % rollout
        "cloud/shadow": {"delivered": 157},
    }
    assert a["systems"] == {
        "legacy-billing.invoices": 636,
        "cloud.invoices": 636,
        "legacy-erp.customers": 107,
        "cloud.erp-customers": 107,
        "cloud.events": 208,
        "legacy-erp.orders": 159,
        "cloud.erp-orders": 122,  # shadowed from day 3 on
        "subscription-billing.subscriptions": 32,
        "subscription-billing.invoices": 32,  # each subscription's first period
        "cloud.erp-revenue": 32,
    }
    orders = first["orders"]
    assert (orders["mode"], orders["flag_version"], orders["compared"], orders["matched"]) == (
        "legacy_primary",
        2,
        122,
        122,
    )
    cfg = str(tmp_path / "a" / "bridge.yaml")
    res = CliRunner().invoke(cli, ["--config", cfg, "cutover", "history", "orders", "--json"])
    assert res.exit_code == 0, res.output
    (event,) = [e for e in json.loads(res.stdout) if e["action"] == "change"]
    assert (event["from_mode"], event["to_mode"], event["ticket"]) == ("legacy_only", "legacy_primary", "MIG-42")
    for leg in ("subscriptions-from-crm", "subscription-invoices"):
        assert a["status"][leg]["deliveries"] == {"cloud/authoritative": {"delivered": 32}}
        assert first[leg]["mode"] == "cloud_only" and first[leg]["compared"] == 0
    with open_ledger(f"sqlite:///{tmp_path / 'a' / 'ledger.db'}", SimulatedClock(), migrate=False) as ledger:
        d, at = t.deliveries, t.attempts
        parked = select(func.count(distinct(d.c.business_key))).join(at, at.c.delivery_id == d.c.id)
        parked = parked.where(
            d.c.interface == "subscriptions-from-crm", at.c.error["code"].as_string() == "dependency_pending"
        )
        with ledger.engine.connect() as conn:
            assert conn.scalar(parked) == 18  # deals closed before their account existed waited for it
    crm_status = a["status"]["customers-from-crm"]
    assert crm_status["messages"] == {"delivered": 107, "suppressed": 107}  # the ERP's echoes were dropped
