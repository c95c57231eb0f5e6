"""The demo's shadow report: fixed seed -> the same counts on every run, with a real mismatch, an accepted
difference, an orphan, a late arrival and one interface ready for promotion."""

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
    assert (inv["compared"], inv["matched"], inv["ready"]) == (202, 202, True)
    assert first["customers-to-crm"]["reasons"] == ["match rate lower bound 0.9653 < 0.99 (107/107 matched)"]
