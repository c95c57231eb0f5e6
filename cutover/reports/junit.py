"""JUnit XML: one test suite per interface, so CI dashboards show cutover readiness like test results.

Test cases: the readiness gate (fails with the gate's reasons) and one per comparison level (fails when
that level has mismatches). Built with the standard library's ElementTree (escaping is its job).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["render_junit"]


def render_junit(report: dict[str, Any]) -> str:
    suites = ET.Element("testsuites", name="esb-bridge shadow report", timestamp=report["generated_at"])
    for name, it in report["interfaces"].items():
        cases: list[tuple[str, str | None]] = []
        gate = it.get("gate")
        if gate is not None:
            cases.append(("readiness", None if gate["ready"] else "; ".join(gate["reasons"])))
        for level, counts in it["levels"].items():
            bad = counts.get("mismatch", 0) + counts.get("error", 0) + counts.get("orphan", 0)
            cases.append((f"{level} level", f"{bad} of {sum(counts.values())} not matching" if bad else None))
        suite = ET.SubElement(
            suites, "testsuite", name=name, tests=str(len(cases)), failures=str(sum(1 for _, f in cases if f))
        )
        for case, failure in cases:
            tc = ET.SubElement(suite, "testcase", classname=f"cutover.{name}", name=case)
            if failure:
                ET.SubElement(tc, "failure", message=failure).text = failure
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
