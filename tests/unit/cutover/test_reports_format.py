"""Report renderers: CSV formula-injection safety, JUnit structure, HTML escaping and self-containment."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree as ET

from cutover.reports import render_csv, render_html, render_junit
from cutover.reports.csvout import safe_cell


def _report() -> dict[str, Any]:
    entry = {
        "path": "name",
        "legacy": '=HYPERLINK("http://x")',
        "cloud": "+1+2",
        "category": "value",
        "rule": None,
        "critical": False,
        "accepted": None,
    }
    return {
        "generated_at": "2026-01-05T08:00:00+00:00",
        "since": None,
        "summary": [],
        "interfaces": {
            "inv<script>": {
                "mode": "legacy_primary",
                "flag_version": 1,
                "rollout": None,
                "volume": 3,
                "routed_modes": {},
                "compared": 2,
                "matched": 1,
                "mismatched": 1,
                "match_rate": 0.5,
                "match_rate_lower_bound": 0.09,
                "levels": {"payload": {"match": 1, "mismatch": 1}},
                "accepted_total": 0,
                "accepted_pairs": 0,
                "reevaluated": 0,
                "checks": [],
                "next_steps": ["fix the top differing field `name<b>` (1 difference(s))"],
                "dead_letter_count": 0,
                "dead_letters_open": 0,
                "dead_letters": [],
                "orphan_count": 1,
                "late_count": 0,
                "daily": [{"date": "2026-01-05", "compared": 2, "matched": 1, "rate": 0.5}],
                "top_fields": [{"path": "name", "count": 1, "critical": False}],
                "accepted": [],
                "noise": [],
                "orphans": [{"message_id": "m", "business_key": "@SUM(A1)", "missing": "legacy", "at": "t"}],
                "late": [],
                "gate": {"ready": False, "reasons": ["compared 2 < 100"]},
                "examples": [
                    {
                        "message_id": "m1",
                        "business_key": "-2",
                        "level": "payload",
                        "status": "mismatch",
                        "critical": False,
                        "entries": [entry],
                        "reason": None,
                    }
                ],
            }
        },
    }


def test_csv_cells_cannot_start_a_formula() -> None:
    """Every cell starting with = + - @ tab or CR is prefixed with a quote."""
    rows = list(csv.reader(io.StringIO(render_csv(_report()))))
    cells = [c for r in rows[1:] for c in r]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert '\'=HYPERLINK("http://x")' in cells and "'@SUM(A1)" in cells and "'-2" in cells
    assert safe_cell("\tx") == "'\tx" and safe_cell("plain") == "plain"


def test_junit_has_a_suite_per_interface_with_failures() -> None:
    """The gate and each level with mismatches are failing test cases."""
    root = ET.fromstring(render_junit(_report()))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "inv<script>" and suite.get("failures") == "2"


def test_html_escapes_values_and_loads_nothing_external() -> None:
    """Names and values are escaped; no script, no external URL besides the SVG namespace."""
    html = render_html(_report())
    assert "<script>" not in html and "inv&lt;script&gt;" in html
    assert "<code>name&lt;b&gt;</code>" in html
    assert "<svg" in html and "src=" not in html and "<script" not in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "").replace("&quot;http://x&quot;", "")
