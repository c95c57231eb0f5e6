"""The dashboard in a real headless Chromium (the system's ``chromium``, driven by Playwright; no browser download).

One browser for the module over one served world (``customers`` with a legacy and a cloud path): the overview
with the world's data, a promotion the gate blocks (and why), a forced promotion and a rollback with a reason
that changes the mode and shows in the history, a trace opened from a search by transaction id, a dead
letter assigned and replayed, a viewer without write controls, forged posts without the CSRF token refused,
and no console error on any page. Screenshots go to ``$ESB_BRIDGE_ARTIFACTS`` (else the test's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.ports import SimulatedClock
from tests.conftest import require_peer
from tests.integration.web.conftest import World, served_world

CLOUD = "    cloud: {encoder: {kind: json}, sink: {kind: scripted, name: dash-cloud}}"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("ESB_BRIDGE_ARTIFACTS")
    folder = Path(base) / "dashboard" if base else tmp_path_factory.mktemp("dashboard-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system's Chromium, headless, once per module."""
    exe = shutil.which("chromium")
    require_peer("Chromium (the Debian chromium package)", exe is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_peer("the playwright package (dev extra)", False)
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("dash")
    with served_world(tmp, f"sqlite:///{tmp / 'ledger.db'}", SimulatedClock(), extra=CLOUD) as w:
        yield w


class Session:
    """A logged-in browser context: its page, and every console error or page error seen."""

    def __init__(self, browser: Any, world: World, role: str, artifacts: Path) -> None:
        self.context = browser.new_context(base_url=world.server.url)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.artifacts, self.role = artifacts, role
        self.page.goto("/ui")  # redirected to the login form
        assert "/ui/login" in self.page.url
        self.page.fill("input[name=token]", world.tokens[role])
        self.page.click("form[name=login] button")
        self.page.wait_for_url("**/ui")

    def shot(self, name: str) -> None:
        path = self.artifacts / f"{self.role}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def lead(browser: Any, dash: World, artifacts: Path) -> Iterator[Session]:
    s = Session(browser, dash, "migration_lead", artifacts)
    yield s
    s.close()


def test_overview_loads_with_the_ledgers_data(lead: Session) -> None:
    """The overview shows a card per interface with mode, throughput, lag, errors, DLQ and gate."""
    page = lead.page
    page.goto("/ui")
    card = page.locator("section.card[data-interface=customers]")
    for _ in range(20):  # the first gate evaluation runs in the background: a view waits for it a little only
        if "being evaluated" not in card.inner_text():
            break
        page.wait_for_timeout(250)
        page.reload()
    text = card.inner_text()
    for label in ("mode", "throughput", "end-to-end lag", "DLQ depth", "match rate", "gate"):
        assert label in text
    assert "legacy_only" in text and "gate closed" in text
    assert card.locator("dt:text-is('DLQ depth') + dd").inner_text() == "3"
    assert card.locator("dt:text-is('messages') + dd").inner_text() == "5"
    lead.shot("overview")
    page.goto("/ui/flow")
    assert "Customers" in page.locator("section.stage").first.inner_text()
    lead.shot("flow")


def _set_mode(page: Any, mode: str, reason: str, force: bool = False) -> None:
    page.select_option("form[name=flag] select[name=mode]", mode)
    page.fill("form[name=flag] input[name=reason]", reason)
    if force:
        page.check("form[name=flag] input[name=force]")
    page.click("form[name=flag] button")


def test_a_promotion_blocked_by_the_gate_shows_why(lead: Session, dash: World) -> None:
    """The interface page charts messages per day; asking for cloud_primary with a closed gate leaves the mode
    and shows the gate's reasons and figures."""
    page = lead.page
    page.goto("/ui/interfaces/customers")
    chart = page.locator("figure.chart").first
    assert "messages per day (max 5)" in chart.inner_text() and chart.locator("svg rect").count() == 14
    _set_mode(page, "legacy_primary", "shadow the cloud ERP")
    assert "now legacy_primary" in page.inner_text("#result")
    _set_mode(page, "cloud_primary", "go live")
    assert "blocked by the readiness gate" in page.inner_text("#result")
    reasons = page.inner_text("#gate ul.reasons")
    assert "compared 0 <" in reasons
    assert page.inner_text("#mode") == "legacy_primary"
    lead.shot("gate-blocked")


def test_a_rollback_with_a_reason_changes_the_mode_and_shows_in_the_history(lead: Session, dash: World) -> None:
    """A forced promotion, then a rollback with a reason: the mode is back and the history names both."""
    page = lead.page
    page.goto("/ui/interfaces/customers")
    _set_mode(page, "cloud_primary", "CAB-7 approved", force=True)
    assert page.inner_text("#mode") == "cloud_primary"
    page.fill("form[name=rollback] input[name=reason]", "cloud ERP rejects tax ids")
    page.click("form[name=rollback] button")
    assert page.inner_text("#mode") == "legacy_primary"
    first = page.locator("table.history tbody tr").first.inner_text()
    assert "rollback" in first and "cloud ERP rejects tax ids" in first and "token:t-migration_lead" in first
    assert "force-promote" in page.inner_text("table.history")
    with dash.client("viewer") as api:
        assert api.get("/api/v1/interfaces/customers").json()["mode"] == "legacy_primary"
    lead.shot("rollback")


def test_a_trace_opens_from_a_search_by_transaction_id(lead: Session, dash: World) -> None:
    """Search by transaction id lists the message; its link opens the trace with deliveries and attempts."""
    with dash.client("viewer") as api:
        m = api.get("/api/v1/messages", params={"state": "delivered", "limit": 1}).json()[0]
    page = lead.page
    page.goto("/ui/messages")
    page.fill("form[name=search] input[name=transaction_id]", m["transaction_id"])
    page.click("form[name=search] button")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1 and m["transaction_id"] in rows.first.inner_text()
    page.click(f"a[href='/ui/messages/{m['id']}']")
    assert page.inner_text("h1") == f"Message {m['id']}"
    assert "Deliveries" in page.inner_text("main") and "delivered" in page.inner_text("table.attempts")
    assert "***masked***" in page.inner_text("pre")
    lead.shot("trace")


def test_a_dead_letter_is_assigned_and_replayed(lead: Session, dash: World) -> None:
    """In the remediation queue a delivery dead letter gets an owner, then is replayed and leaves the queue."""
    with dash.client("viewer") as api:
        dl = next(d for d in api.get("/api/v1/dead-letters").json() if d["kind"] == "delivery")
    page = lead.page
    page.goto("/ui/remediation")
    assert page.locator("h2[data-group]").count() >= 2  # grouped by interface and error class
    base = f"/ui/dead-letters/{dl['id']}"
    page.fill(f"form[action='{base}/assign'] input[name=owner]", "ar-team")
    page.click(f"form[action='{base}/assign'] button")
    row = page.locator("tr", has=page.locator(f"form[action='{base}/assign']"))
    assert row.locator(".owner").inner_text() == "ar-team"
    lead.shot("assigned")
    page.click(f"form[action='{base}/replay'] button")
    assert f"dead letter {dl['id']} replayed" in page.inner_text("#result")
    with dash.client("viewer") as api:
        assert dl["id"] not in {d["id"] for d in api.get("/api/v1/dead-letters").json()}
    actions = [e["action"] for e in dash.runner.ledger.audit_entries() if e["actor"] == "token:t-migration_lead"]
    assert actions[-2:] == ["dlq.assign", "dlq.replay"]


def test_a_viewer_sees_no_write_control_and_forged_posts_are_refused(
    browser: Any, lead: Session, dash: World, artifacts: Path
) -> None:
    """A viewer's pages have no mode, rollback, assign or replay form; a post without the CSRF token is 403,
    for the viewer and for the lead whose cookie the browser would send, and changes nothing."""
    viewer = Session(browser, dash, "viewer", artifacts)
    try:
        page = viewer.page
        page.goto("/ui/interfaces/customers")
        assert page.locator("form[name=flag], form[name=rollback]").count() == 0
        page.goto("/ui/remediation")
        assert page.locator("form[name=assign], form[name=replay]").count() == 0
        assert page.locator("table.dlq tbody tr").count() >= 1
        viewer.shot("remediation")
        forged = page.request.post("/ui/interfaces/customers/rollback", form={"reason": "forged"})
        assert forged.status == 403
        assert viewer.errors == []
    finally:
        viewer.close()
    with dash.client("viewer") as api:
        mode = api.get("/api/v1/interfaces/customers").json()["mode"]
    r = lead.page.request.post("/ui/interfaces/customers/flag", form={"mode": "cloud_only", "reason": "forged"})
    assert r.status == 403 and "CSRF" in r.text()
    with dash.client("viewer") as api:
        assert api.get("/api/v1/interfaces/customers").json()["mode"] == mode


def test_no_console_errors_on_any_page(lead: Session) -> None:
    """Every page of the dashboard, visited in the browser, logs no console or page error."""
    for path in ("/ui", "/ui/flow", "/ui/interfaces/customers", "/ui/messages", "/ui/remediation", "/ui/alerts"):
        lead.page.goto(path)
    lead.shot("alerts")
    assert lead.errors == []
