"""The demo's shadow report: fixed seed -> the same counts on every run, with a real mismatch, an accepted
difference, an orphan, a late arrival and one interface ready for promotion. The invoices run through the
real simulators (SFTP drop, legacy billing SOAP, cloud billing REST): the cloud rounds tax per invoice, legacy
billing keeps the ERP's per-line rounding, so the read-back level disagrees on a third of the invoices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.demo import run_demo

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
    """Two runs give identical counts; the report holds each case the demo promises."""
    a = run_demo(tmp_path / "a", seed=42, days=3, progress=False)
    b = run_demo(tmp_path / "b", seed=42, days=3, progress=False)
    first, second = _counts(a["reports"]["json"]), _counts(b["reports"]["json"])
    assert first == second
    assert Path(a["reports"]["html"]).read_text().count('data-interface="') == 3
    erp, inv = first["customers-to-erp"], first["invoices-to-billing"]
    assert (erp["compared"], erp["matched"], erp["mismatched"]) == (81, 60, 21)
    assert (erp["accepted_total"], erp["orphan_count"], erp["late_count"]) == (24, 2, 1)
    assert erp["top_fields"] == [{"path": "addresses.billing.city", "count": 21, "critical": False}]
    assert erp["accepted"][0]["owner"] == "erp-team" and not erp["ready"]
    assert (inv["compared"], inv["matched"], inv["mismatched"], inv["accepted_total"]) == (202, 129, 73, 404)
    assert inv["levels"]["readback"] == {"accepted": 129, "mismatch": 73}
    assert {f["path"] for f in inv["top_fields"]} == {"payable_amount", "tax_inclusive_amount", "tax_total"}
    assert inv["accepted"][0]["path"] == "due_date" and not inv["ready"]
    assert first["customers-to-crm"]["ready"]
