"""``esb-bridge demo``: the quote-to-cash scenario, end to end, on SQLite, with simulated time and a fixed seed.

The demo is not part of the bridge: it is the separate distribution ``esb-bridge-demo`` (``samples/``), a plugin
that adds the ``demo`` command (:mod:`samples.demo_app.cli`). The scenario lives in ``samples/demo`` (``bridge.yaml``
plus one file per interface in ``interfaces/``, so new interfaces are added without editing a shared file) and
ships as package data with the simulators it drives. The demo starts the simulated systems on free
127.0.0.1 ports (:mod:`samples.demo_app.landscape`: the ERP's SFTP drop, legacy ERP and legacy billing over SOAP,
the cloud CRM/billing/ERP, the subscription billing), writes their addresses into its copy of the scenario, and
stops them at the end, also on error. Each simulated business day the ERP, the bank, the CRM users, the sales
team and the old ESB produce that day's input (:mod:`~samples.demo_app.generate`, :mod:`~samples.demo_app.crm`,
:mod:`~samples.demo_app.deals`, :mod:`~samples.demo_app.orders`, :mod:`~samples.demo_app.payments`,
:mod:`~samples.demo_app.observed`), the bridge runs one pass (poll, deliver, retry
on the Clock) and the Clock moves to the next morning. The runtime runs on the simulated Clock, the simulators
in real time. The summary and the shadow report's counts are the same on every run with the same seed.
"""

from __future__ import annotations

import os
import random
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from bridge.canonical import model_for
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store.queries import dead_letters, status_counts
from samples.demo_app.archive import run_backtest, story_lines
from samples.demo_app.crm import Crm
from samples.demo_app.deals import Deals
from samples.demo_app.generate import invoice
from samples.demo_app.landscape import Landscape
from samples.demo_app.observed import LegacyEsb
from samples.demo_app.orders import PROMOTE_ON_DAY, ErpOrders, OldEsbOrders
from samples.demo_app.payments import BankDrop
from samples.demo_app.story import day_lines

__all__ = ["find_scenario", "run_demo"]

CUSTOMERS = 400
"""Customers the ERP's invoices refer to (migrated to legacy billing before the demo starts)."""

DASHBOARD_LISTEN = "127.0.0.1:8089"
"""Where the printed ``esb-bridge serve`` command serves the dashboard on the demo's ledger (loopback only)."""

SAMPLES = Path(__file__).resolve().parents[1]
"""The ``samples`` package: the scenario, the shared mappings and the legacy WSDL are its package data."""


def find_scenario() -> Path:
    """``samples/demo``: the scenario ships inside the ``samples`` package (checkout, editable or wheel install)."""
    candidate = SAMPLES / "demo"
    if not (candidate / "bridge.yaml").exists():
        raise click.ClickException(f"the demo scenario is missing from {candidate}: reinstall esb-bridge-demo")
    return candidate


def _copy_scenario(scenario: Path, workdir: Path) -> None:
    """The scenario plus the shared mappings and the legacy WSDL it names, so the copy is self-contained."""
    shutil.copytree(scenario, workdir)
    shutil.copytree(scenario.parent / "mappings", workdir / "mappings")
    shutil.copytree(scenario.parent / "legacy_erp" / "wsdl", workdir / "wsdl")


def _drop_ubl(folder: Path, invoices: list[dict[str, Any]], broken: dict[str, Any], encoder: Any) -> None:
    """One UBL file per invoice, written under a temporary name and renamed (the drop's readiness rule).
    The broken invoice is written as the ERP would: a valid UBL document whose totals do not add up."""
    folder.mkdir(parents=True, exist_ok=True)
    model = model_for("Invoice")
    for row in invoices:
        _atomic(folder / f"{row['invoice_number']}.xml", encoder.render(model.model_validate(row)))
    body = encoder.render(model.model_validate(broken)).replace(
        f">{broken['tax_total']}</cbc:TaxAmount>".encode(), b">0.01</cbc:TaxAmount>", 1
    )
    _atomic(folder / f"{broken['invoice_number']}.xml", body)


def _atomic(target: Path, body: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(body)
    tmp.rename(target)


def run_demo(
    workdir: Path, *, seed: int = 42, days: int = 10, progress: bool = True, amqp: str | None = None
) -> dict[str, Any]:
    """Run ``days`` simulated business days of the scenario in ``workdir`` (replaced); returns the summary.
    ``amqp``: publish the payment events to this RabbitMQ URL instead of the cloud simulator's HTTP endpoint."""
    from translators.mapping.loader import load_mapping
    from translators.xml_encoder import XmlEncoder

    scenario = find_scenario()
    if workdir.exists():
        shutil.rmtree(workdir)
    _copy_scenario(scenario, workdir)
    ubl = XmlEncoder(load_mapping(workdir / "mappings" / "ubl-invoice.yaml"))
    rng = random.Random(seed)
    clock = SimulatedClock()
    per_day: list[dict[str, Any]] = []
    invoice_no = 0
    legacy_esb = LegacyEsb(workdir, seed)
    bank = BankDrop(workdir, seed, CUSTOMERS)
    old_esb_orders = OldEsbOrders(workdir)
    for folder in (legacy_esb.drop, legacy_esb.out, bank.drop, bank.out, old_esb_orders.inbox, old_esb_orders.out):
        folder.mkdir(parents=True, exist_ok=True)  # watched from the first poll on
    with Landscape(workdir, customers=CUSTOMERS, amqp=amqp) as landscape:
        landscape.render(workdir)
        env = {**os.environ, **landscape.secrets()}
        loaded = load_config(workdir / "bridge.yaml", env=env)
        assert landscape.cloud is not None and landscape.cloud_sandbox is not None
        # Before day 1: last month's archive of invoices-to-billing, backtested against the cloud sandbox.
        urls = (landscape.cloud_sandbox.url, landscape.cloud.url)
        backtest = run_backtest(workdir, loaded, env, urls, clock.now(), seed, ubl)
        if progress:
            for line in story_lines(backtest):
                click.echo(line, err=True)
        with Runner(loaded, clock, seed=seed) as runner:
            assert landscape.cloud is not None and landscape.legacy_erp is not None  # started by the with block
            assert landscape.subscription_billing is not None
            crm = Crm(landscape.cloud, seed)
            deals = Deals(landscape.cloud, landscape.subscription_billing, seed)
            erp_orders = ErpOrders(landscape.legacy_erp, seed, CUSTOMERS)
            crm.subscribe(runner, landscape.webhook_secret)
            deals.subscribe(runner, landscape.webhook_secret, landscape.billing_webhook_secret)
            for day in range(1, days + 1):
                today = clock.now().date()
                day_start = clock.now()
                legacy_esb.day(day, clock.now())
                bank.day(day, today)
                if day == PROMOTE_ON_DAY:
                    ErpOrders.promote(runner)
                erp_orders.day(clock.now())
                # Deals closed first: one for an account the CRM creates only below is parked in this round.
                deals.close_day(today, crm.number)
                deals.pump(runner)
                runner.deliver_round()
                crm.create_day()
                crm.pump(runner)
                invoices = []
                for _ in range(rng.randint(50, 80)):
                    invoice_no += 1
                    invoices.append(invoice(rng, invoice_no, today, rng.randint(1, CUSTOMERS)))
                # One broken invoice a day: totals that do not add up -> dead letter with its line, rest goes on.
                broken = invoice(rng, 900000 + day, today, 1)
                _drop_ubl(landscape.sftp_root / "out" / "invoices", invoices, broken, ubl)
                summary = runner.run_once(max_wait=3600)
                old_esb_orders.process(clock.now())  # the old ESB works through what was forwarded to it
                crm.echo_day()  # after the ERP writes: the old ESB's ERP->CRM sync sends them back
                crm.pump(runner)
                deals.pump_invoices(runner)  # the billing invoiced today's new subscriptions
                runner.deliver_round()  # their order and revenue postings
                per_day.append(
                    {
                        "day": day,
                        "date": today.isoformat(),
                        "ingest": summary.ingest,
                        "delivery_attempts": summary.drain.attempts,
                    }
                )
                if progress:
                    for line in day_lines(runner, day, today.isoformat(), summary, day_start):
                        click.echo(line, err=True)
                clock.set(clock.now().replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1))
            runner.compare_round()  # the last day's settle windows have passed: its orphans are known
            counts = status_counts(runner.ledger.engine)
            dlq = dead_letters(runner.ledger.engine)
            shadow, reports = write_reports(runner, workdir / "reports")
            # A login for the dashboard on this ledger (`esb-bridge serve`, printed at the end); shown once.
            token = runner.ledger.create_token("demo", "migration_lead", created_by="esb-bridge demo")
        systems = landscape.holdings()
    return {
        "seed": seed,
        "days": per_day,
        "status": counts,
        "dead_letters": [
            {"interface": d["interface"], "kind": d["kind"], "error": d["error"]["message"], "location": d["location"]}
            for d in dlq
        ],
        "outputs": {p.name: len(list(p.glob("*.json"))) for p in sorted((workdir / "out").glob("*")) if p.is_dir()},
        "systems": systems,
        "shadow": shadow,
        "reports": reports,
        "backtest": backtest,
        "dashboard": {
            "command": f"esb-bridge --config {workdir / 'bridge.yaml'} serve --listen {DASHBOARD_LISTEN}",
            "url": f"http://{DASHBOARD_LISTEN}/ui",
            "token": token,
        },
    }


def write_reports(runner: Runner, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The shadow report as HTML and JSON in ``folder``; returns its summary rows (with a few more counts) per
    interface, and the paths."""
    import orjson

    from cutover.reports import build_report, render_html

    data = build_report(runner.ledger, runner.loaded)
    folder.mkdir(parents=True, exist_ok=True)
    html, js = folder / "shadow-report.html", folder / "shadow-report.json"
    html.write_text(render_html(data), encoding="utf-8")
    js.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    counts = {
        row["interface"]: {
            **{k: v for k, v in row.items() if k != "interface"},
            "matched": data["interfaces"][row["interface"]]["matched"],
            "mismatched": data["interfaces"][row["interface"]]["mismatched"],
            "accepted": data["interfaces"][row["interface"]]["accepted_total"],
            "late": data["interfaces"][row["interface"]]["late_count"],
        }
        for row in data["summary"]
    }
    return counts, {"html": str(html), "json": str(js)}
