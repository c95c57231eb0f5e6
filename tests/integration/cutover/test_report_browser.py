"""The demo's HTML shadow report in real headless Chromium (DevTools protocol): no console error, the summary
table first with one row per interface, one section per interface, the counts, summary cells and next steps
shown equal the JSON report's; a screenshot is saved."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from samples.demo_app import run_demo
from tests.conftest import require_peer

COUNTS = ("volume", "compared", "matched", "mismatched", "accepted_total", "orphan_count", "late_count")


class Page:
    """A minimal DevTools-protocol client for one page target."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 20) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(e["method"] == method for e in self.events):
                return
            self.ws.settimeout(max(0.1, end - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        raise AssertionError(f"no {method} within {timeout}s")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:300])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:300])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[int]:
    """Headless Chromium with a free DevTools port and a throw-away profile; stopped afterwards."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    require_peer("chromium (scripts/peers/chromium.sh)", exe is not None)
    assert exe is not None
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            "--window-size=1280,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > end or proc.poll() is not None:
                raise AssertionError("chromium did not open its DevTools port")
            time.sleep(0.1)
        yield int(port_file.read_text().split()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_demo_html_report_renders_without_errors_and_matches_json(tmp_path: Path, chromium: int) -> None:
    """Every interface has its section; each count shown equals the JSON report; no console errors."""
    summary = run_demo(tmp_path / "demo", seed=42, days=3, progress=False)
    report = json.loads(Path(summary["reports"]["json"]).read_text())
    with urllib.request.urlopen(f"http://127.0.0.1:{chromium}/json/list", timeout=10) as r:
        target = next(t for t in json.load(r) if t["type"] == "page")
    page = Page(target["webSocketDebuggerUrl"])
    try:
        page.call("Runtime.enable")
        page.call("Log.enable")
        page.call("Page.enable")
        page.call("Page.navigate", url=Path(summary["reports"]["html"]).resolve().as_uri())
        page.wait_for("Page.loadEventFired")
        js = """JSON.stringify(Array.from(document.querySelectorAll('section[data-interface]')).map(s => ({
            name: s.dataset.interface,
            gate: (s.querySelector('[data-gate]') || {dataset: {}}).dataset.gate || null,
            svg: !!s.querySelector('svg'),
            steps: Array.from(s.querySelectorAll('li[data-next-step]')).map(e => e.textContent.trim()),
            counts: Object.fromEntries(Array.from(s.querySelectorAll('[data-count]'))
                                         .map(e => [e.dataset.count, e.textContent.trim()]))})))"""
        shown = json.loads(page.call("Runtime.evaluate", expression=js, returnByValue=True)["result"]["value"])
        js = """JSON.stringify({
            first: document.querySelector('main').firstElementChild.id,
            rows: Array.from(document.querySelectorAll('tr[data-summary]')).map(r => Object.fromEntries(
                Array.from(r.querySelectorAll('td[data-col]')).map(c => [c.dataset.col, JSON.parse(c.dataset.value)])))
        })"""
        summary_shown = json.loads(page.call("Runtime.evaluate", expression=js, returnByValue=True)["result"]["value"])
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        time.sleep(0.2)
        page.call("Runtime.evaluate", expression="1")  # drain late console events
        errors = page.errors()
    finally:
        page.ws.close()
    out = Path(os.environ.get("ESB_BRIDGE_ARTIFACTS", tmp_path)) / "shadow-report.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    assert out.stat().st_size > 10_000
    assert errors == []
    assert [s["name"] for s in shown] == sorted(report["interfaces"])
    assert summary_shown["first"] == "summary"  # the decision table comes before any interface's section
    assert summary_shown["rows"] == report["summary"]
    assert any(
        r["next_step"].startswith("about ") and " more comparisons at the current match rate" in r["next_step"]
        for r in summary_shown["rows"]
    )
    for s in shown:
        it = report["interfaces"][s["name"]]
        assert s["counts"] == {k: str(it[k]) for k in COUNTS}, s["name"]
        assert s["gate"] == ("ready" if it["gate"]["ready"] else "not-ready")
        assert bool(s["svg"]) == bool(it["daily"]), s["name"]  # a chart wherever there are comparisons
        assert s["steps"] == [step.replace("`", "") for step in it["next_steps"]] and s["steps"], s["name"]
