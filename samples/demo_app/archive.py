"""The month before the demo's day 1, as the old landscape archived it, and the backtest the story starts with.

* :func:`write_invoice_archive`: the ERP's UBL files of ``invoices-to-billing`` for the 30 days before day 1
  (the drop's ``archive/``, file time = when each came in) and the old ESB's output for each of them: the
  legacy billing SOAP request its stylesheet made (the interface's own ``legacy.encoder``), a minute later.
* :func:`backtest_config`: the config the migration team backtests with, next to the live one: the same
  interface, its cloud path pointed at the cloud billing *sandbox* (``shadow_sink`` and read-back), so the
  backtest sees the cloud billing's own tax rounding without touching the live cloud billing. Both files sit
  in the demo's folder and so share the default ``backtest_dir``: ``cutover readiness`` and
  ``shadow report --backtest`` on the live config find the backtest.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bridge.canonical import model_for
from bridge.config.loaded import LoadedConfig
from bridge.ports import EncodeContext, PathName, PluginContext, SimulatedClock
from samples.demo_app.generate import invoice

__all__ = ["INTERFACE", "backtest_config", "run_backtest", "story_lines", "write_invoice_archive"]

INTERFACE = "invoices-to-billing"
DAYS = 30


def _stamp(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def write_invoice_archive(
    loaded: LoadedConfig, folder: Path, day1: datetime, seed: int, per_day: int, customers: int, ubl: Any
) -> tuple[Path, Path]:
    """The archive in ``folder`` (``inputs/``, ``legacy-out/``); returns both folders."""
    inputs, outputs = folder / "inputs", folder / "legacy-out"
    inputs.mkdir(parents=True, exist_ok=True)
    outputs.mkdir(parents=True, exist_ok=True)
    iface = loaded.config.interfaces[INTERFACE]
    ctx = PluginContext(loaded.base_dir, INTERFACE, iface.canonical, SimulatedClock(day1))
    legacy = loaded.build(INTERFACE, ("legacy", "encoder"), ctx)
    model = model_for(iface.canonical)
    rng = random.Random(f"{seed}:archive")
    number = 800000
    for d in range(DAYS, 0, -1):
        day = (day1 - timedelta(days=d)).replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=UTC)
        for i in range(per_day):
            number += 1
            row = invoice(rng, number, day.date(), rng.randint(1, customers))
            record = model.model_validate(row)
            came = day + timedelta(minutes=7 * i)
            (inputs / f"{row['invoice_number']}.xml").write_bytes(ubl.render(record))
            _stamp(inputs / f"{row['invoice_number']}.xml", came)
            key = row["invoice_number"]
            context = EncodeContext(INTERFACE, uuid.uuid5(uuid.NAMESPACE_URL, key), key, PathName.LEGACY)
            out = outputs / f"{key}.soap.xml"
            out.write_bytes(legacy.encode(record, context).body)
            _stamp(out, came + timedelta(minutes=1))
    return inputs, outputs


def backtest_config(workdir: Path, sandbox_url: str, cloud_url: str) -> Path:
    """``workdir/bridge-backtest.yaml``: the interface with its cloud path on the sandbox (see the module). Next
    to the live ``bridge.yaml``, so both name the same folders and the same default ``backtest_dir``."""
    source = yaml.safe_load((workdir / "interfaces" / f"{INTERFACE}.yaml").read_text(encoding="utf-8"))
    iface = source[INTERFACE]
    cloud = iface["cloud"]
    cloud["shadow_sink"] = {**cloud["sink"], "url": cloud["sink"]["url"].replace(cloud_url, sandbox_url)}
    text = yaml.safe_dump(cloud["readback"]).replace(cloud_url, sandbox_url)
    cloud["readback"] = yaml.safe_load(text)
    config = {"store": "sqlite:///unused-live.db", "spool_dir": "spool", "interfaces": {INTERFACE: iface}}
    path = workdir / "bridge-backtest.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_backtest(
    workdir: Path, live: LoadedConfig, env: dict[str, str], urls: tuple[str, str], day1: datetime, seed: int, ubl: Any
) -> dict[str, Any]:
    """Write the archive, backtest it against the sandbox (``urls``: sandbox, live cloud), write its report;
    returns the story's summary of it."""
    from bridge.config import load_config
    from bridge.runtime.backtest import Backtest
    from cutover.reports import render_html
    from cutover.reports.backtest import build_backtest_report

    per_day = 3
    inputs, outputs = write_invoice_archive(live, workdir / "archive" / INTERFACE, day1, seed, per_day, 400, ubl)
    loaded = load_config(backtest_config(workdir, *urls), env=env)
    state = Backtest(loaded, INTERFACE, inputs, outputs).run()
    report = build_backtest_report(loaded, state.id)
    (workdir / "reports").mkdir(exist_ok=True)
    html = workdir / "reports" / f"backtest-{state.id}.html"
    html.write_text(render_html(report), encoding="utf-8")
    bt = report["backtest"]
    return {
        "id": state.id,
        "interface": INTERFACE,
        "period": bt["period"],
        "invoices": state.files,
        "ready": bt["ready"],
        "verdict": bt["verdict"],
        "reasons": (state.verdict or {}).get("reasons", []),
        "classes": {c["path"]: c["count"] for c in bt["mismatch_classes"]},
        "report": str(html),
    }


def story_lines(bt: dict[str, Any]) -> list[str]:
    """The two lines the demo's story starts with."""
    classes = ", ".join(f"{p} ({n})" for p, n in bt["classes"].items()) or "none"
    said = "ready" if bt["ready"] else f"not ready ({bt['reasons'][0]})" if bt["reasons"] else "not ready"
    return [
        f"backtest {bt['id']} of {bt['interface']}: {bt['invoices']} archived invoices "
        f"({bt['period']['from']} to {bt['period']['to']}) against the cloud billing sandbox",
        f"  mismatch classes: {classes}; the gate would have said: {said}",
    ]
