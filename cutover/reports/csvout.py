"""CSV of every difference in a report's examples plus one summary row per interface.

Safe against formula injection: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
prefixed with ``'`` so a spreadsheet shows it as text instead of evaluating it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

__all__ = ["render_csv", "safe_cell"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = [
    "interface",
    "kind",
    "message_id",
    "business_key",
    "level",
    "status",
    "path",
    "category",
    "legacy",
    "cloud",
    "rule",
    "critical",
    "accepted_by",
]


def safe_cell(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "'" + text if text.startswith(_DANGEROUS) else text


def render_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for name, it in report["interfaces"].items():
        w.writerow(
            [
                safe_cell(x)
                for x in (
                    name,
                    "summary",
                    "",
                    "",
                    "",
                    it["mode"],
                    "",
                    "",
                    "",
                    "",
                    "",
                    it["compared"],
                    f"matched={it['matched']}",
                )
            ]
        )
        for ex in it["examples"]:
            for e in ex["entries"] or [{}]:
                acc = e.get("accepted")
                row = [
                    name,
                    "difference",
                    ex["message_id"],
                    ex["business_key"],
                    ex["level"],
                    ex["status"],
                    e.get("path"),
                    e.get("category"),
                    e.get("legacy"),
                    e.get("cloud"),
                    e.get("rule"),
                    e.get("critical"),
                    acc["owner"] if acc else "",
                ]
                w.writerow([safe_cell(x) for x in row])
        for o in it["orphans"]:
            w.writerow(
                [
                    safe_cell(x)
                    for x in (
                        name,
                        "orphan",
                        o["message_id"],
                        o["business_key"],
                        "pairing",
                        "orphan",
                        "",
                        "missing",
                        "",
                        "",
                        o["missing"],
                        "",
                        "",
                    )
                ]
            )
    bt = report.get("backtest")
    if bt:
        name = bt["interface"]
        w.writerow(
            [
                safe_cell(x)
                for x in (name, "backtest", bt["id"], "", "", bt["ready"], "", "", "", "", bt["verdict"], "", "")
            ]
        )
        for c in bt["mismatch_classes"]:
            ex = c["example"]
            cls = (
                name,
                "mismatch-class",
                bt["id"],
                ex["business_key"],
                c["level"],
                c["count"],
                c["path"],
                "",
                ex["legacy"],
                ex["cloud"],
                "",
                c["critical"],
                "",
            )
            w.writerow([safe_cell(x) for x in cls])
    return buf.getvalue()
