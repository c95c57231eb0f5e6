"""JUnit XML: one test suite per interface, so CI dashboards show cutover readiness like test results.

Test cases: the readiness gate (fails with the gate's reasons) and one per comparison level (fails when
that level has mismatches); for a backtest's report one more suite, whose cases are its verdict and each
mismatch class it found. Built with the standard library's ElementTree (escaping is its job).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["render_junit"]


def _suite(parent: ET.Element, name: str, classname: str, cases: list[tuple[str, str | None]]) -> None:
    suite = ET.SubElement(
        parent, "testsuite", name=name, tests=str(len(cases)), failures=str(sum(1 for _, f in cases if f))
    )
    for case, failure in cases:
        tc = ET.SubElement(suite, "testcase", classname=classname, name=case)
        if failure:
            ET.SubElement(tc, "failure", message=failure).text = failure


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
        _suite(suites, name, f"cutover.{name}", cases)
    bt = report.get("backtest")
    if bt:
        cases = [("would be ready", None if bt["ready"] else bt["verdict"])]
        cases += [(f"mismatch class {c['path']}", f"{c['count']} difference(s)") for c in bt["mismatch_classes"]]
        _suite(suites, f"backtest {bt['id']}", f"backtest.{bt['interface']}", cases)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
