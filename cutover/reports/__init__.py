"""Shadow reports: one data model (:func:`build_report`) rendered as JSON, self-contained HTML, CSV, JUnit.

Every value in a report comes from stored (already masked) comparison rows, never from payloads, so a
sensitive value cannot reach a report.
"""

from cutover.reports.csvout import render_csv
from cutover.reports.data import build_report
from cutover.reports.html import render_html
from cutover.reports.junit import render_junit

__all__ = ["build_report", "render_csv", "render_html", "render_junit"]
