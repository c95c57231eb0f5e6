"""The demo's subscription leg on its real simulators: a closed-won deal for a customer the CRM has not created
yet is parked (DependencyPending) until the customer reached the legacy ERP, then becomes a subscription in the
subscription billing under the customer's ERP id; its first invoice is posted to the cloud ERP as an order
with its revenue."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.queries import status_counts
from samples.demo_app import _copy_scenario, find_scenario
from samples.demo_app.crm import Crm
from samples.demo_app.deals import INVOICES, SUBSCRIPTIONS, Deals
from samples.demo_app.landscape import Landscape

LEG = ("customers-from-crm", SUBSCRIPTIONS, INVOICES)


def _attempts(runner: Runner) -> list[tuple[str, str, Any]]:
    d, a = t.deliveries, t.attempts
    q = select(d.c.business_key, a.c.status, a.c.error).join(d, d.c.id == a.c.delivery_id)
    with runner.ledger.engine.connect() as conn:
        rows = conn.execute(q.where(d.c.interface == SUBSCRIPTIONS).order_by(a.c.id)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_a_deal_waits_for_its_customer_then_is_billed_and_posted(tmp_path: Path, clock: SimulatedClock) -> None:
    """Deals for accounts not created yet stay parked through a run; once the CRM created the customers and the
    bridge wrote them to the ERP, each deal is a subscription naming the ERP's customer id, and its invoice an
    order with revenue in the cloud ERP."""
    work = tmp_path / "demo"
    _copy_scenario(find_scenario(), work)
    for other in set((work / "interfaces").glob("*.yaml")) - {work / "interfaces" / f"{n}.yaml" for n in LEG}:
        other.unlink()  # the leg alone: the other interfaces' peers are not needed here
    with Landscape(work, customers=5) as landscape:
        landscape.render(work)
        loaded = load_config(work / "bridge.yaml", env={**os.environ, **landscape.secrets()})
        assert landscape.cloud is not None and landscape.subscription_billing is not None
        assert landscape.legacy_erp is not None
        billing = landscape.subscription_billing.state
        with Runner(loaded, clock, seed=7) as runner:
            crm, deals = Crm(landscape.cloud, 7), Deals(landscape.cloud, landscape.subscription_billing, 7)
            crm.subscribe(runner, landscape.webhook_secret)
            deals.subscribe(runner, landscape.webhook_secret, landscape.billing_webhook_secret)
            won = deals.close_day(clock.now().date(), 0)  # no customer yet: every deal is for a new account
            deals.pump(runner)
            runner.deliver_round()
            runner.drain(max_wait=60)  # retried on the clock for a minute: still no customer
            parked = _attempts(runner)
            assert {k for k, _, _ in parked} == set(won) and len(won) >= 2
            assert all(s == "failed" and e["code"] == "dependency_pending" for _, s, e in parked)
            assert status_counts(runner.ledger.engine)[SUBSCRIPTIONS]["messages"] == {"accepted": len(won)}
            assert billing.records["subscriptions"] == {}

            crm.create_day()  # the accounts are converted: at least 8 customers, CRM-00001..
            crm.pump(runner)
            runner.drain()  # the customers reach the ERP (their xrefs), then the parked deals go
            deals.pump_invoices(runner)
            runner.deliver_round()
            counts = status_counts(runner.ledger.engine)
            erp_id = {
                s["external_id"]: runner.ledger.lookup_xref("customer", "legacy-erp", _customer_of(landscape, s))
                for s in billing.records["subscriptions"].values()
            }
            subs = {s["external_id"]: s for s in billing.records["subscriptions"].values()}
            posted = {k.split("/", 1)[1]: v[-1]["body"] for k, v in landscape.cloud.state.ingested.items()
                      if k.startswith("erp-revenue/")}  # fmt: skip
            erp_customers = {c.customer_id for c in landscape.legacy_erp.store.customers.values()}
    assert counts[SUBSCRIPTIONS]["deliveries"] == {"cloud/authoritative": {"delivered": len(won)}}
    assert set(subs) == set(won)
    for key, sub in subs.items():
        assert sub["customer"] == erp_id[key] and sub["customer"] in erp_customers  # the ERP's id, not CRM-...
    assert _attempts(runner)[-1][1] == "delivered"
    assert set(posted) == {f"{k}-001" for k in won}
    one = posted[f"{won[0]}-001"]
    assert one["customer"] == subs[won[0]]["customer"] and one["subscription"] == subs[won[0]]["id"]
    invoice = billing.find("invoices", f"{won[0]}-001")
    assert invoice is not None and one["status"] == "invoiced" and one["revenue"]["net"] == invoice["subtotal"]
    assert counts[INVOICES]["messages"] == {"delivered": len(won)}


def _customer_of(landscape: Landscape, subscription: dict[str, Any]) -> str:
    """The CRM customer number of a billed subscription, read from the deal it came from."""
    assert landscape.cloud is not None
    deal = landscape.cloud.state.find("opportunities", subscription["external_id"])
    assert deal is not None
    return str(deal["customer"])
