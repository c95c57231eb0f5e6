"""The demo's sales team and subscription billing, for the subscription leg of quote-to-cash. All seeded:

* each morning sales close a few deals in the cloud CRM (``opportunity.closed_won`` webhooks to
  ``subscriptions-from-crm``). Most are for accounts the CRM creates later that morning (a prospect converted
  after the deal was won), so their subscription is parked by the bridge until the customer has reached the
  legacy ERP; the others are for customers of earlier days and go straight through;
* the subscription-billing simulator invoices each new subscription's first period at once
  (``invoice.created`` webhooks to ``subscription-invoices``), which the bridge posts to the cloud ERP
  as an order with its revenue.

The morning runs in this order: :meth:`Deals.close_day` and :meth:`Deals.pump` (the deals are in the ledger),
one delivery round (a deal for a customer not created yet is parked: the customer is not even in the CRM),
then the CRM's customers; the parked subscriptions go once the day's run has written those customers.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from bridge.runtime.runner import Runner
from samples.cloud_sim.server import SimServer
from samples.demo_app.crm import pump

__all__ = ["INVOICES", "SUBSCRIPTIONS", "Deals"]

SUBSCRIPTIONS = "subscriptions-from-crm"
INVOICES = "subscription-invoices"
_PLANS = [("starter", "PLAN-STARTER", "19.00"), ("team", "PLAN-TEAM", "49.00"), ("business", "PLAN-BUSINESS", "99.00")]
NEW_ACCOUNTS = 8
"""The CRM creates at least this many customers a day (:meth:`samples.demo_app.crm.Crm.create_day`): a deal
for an account not created yet names one of the next ``NEW_ACCOUNTS`` customer numbers."""


class Deals:
    """Closes the day's deals in the CRM (the cloud simulator) and routes the billing's invoice events."""

    def __init__(self, crm: SimServer, billing: SimServer, seed: int) -> None:
        self.crm = crm
        self.billing = billing
        self.rng = random.Random(f"{seed}:deals")
        self.number = 0

    def subscribe(self, runner: Runner, crm_secret: str, billing_secret: str) -> None:
        """The CRM's closed-won deals and the billing's invoices go to the bridge's two webhook sources, signed
        with timestamps of the demo's simulated time."""
        deals = runner.interfaces[SUBSCRIPTIONS].source.url  # type: ignore[attr-defined]
        invoices = runner.interfaces[INVOICES].source.url  # type: ignore[attr-defined]
        self.crm.sender.subscribe(deals, crm_secret, ("opportunity.closed_won",))
        self.billing.sender.now = lambda: runner.clock.now().timestamp()
        self.billing.sender.subscribe(invoices, billing_secret, ("invoice.created",))

    def close_day(self, today: date, customers_so_far: int) -> list[str]:
        """Sales close today's deals; ``customers_so_far``: how many customers the CRM has created before
        today. Returns the deal ids."""
        closed = []
        for _ in range(self.rng.randint(2, 4)):
            self.number += 1
            if customers_so_far and self.rng.random() < 0.35:
                customer = self.rng.randint(1, customers_so_far)  # an existing customer buys a plan
            else:
                customer = customers_so_far + self.rng.randint(1, NEW_ACCOUNTS)  # created later this morning
            plan, sku, price = self.rng.choice(_PLANS)
            body: dict[str, Any] = {
                "external_id": f"OPP-{self.number:05d}",
                "customer": f"CRM-{customer:05d}",
                "plan": plan,
                "currency": "EUR",
                "interval": "month",
                "close_date": today.isoformat(),
                "stage": "negotiation",
                "lines": [{"pos": 1, "product": sku, "quantity": self.rng.randint(1, 25), "unit_price": price,
                           "tax_rate": "19"}],
            }  # fmt: skip
            status, _, _ = self.crm.state.create("opportunities", body, None)
            if status != 201:
                raise RuntimeError(f"cloud CRM refused deal {body['external_id']}: {status}")
            self.crm.state.close_won(body["external_id"])
            closed.append(body["external_id"])
        return closed

    def pump(self, runner: Runner) -> None:
        """Every closed-won deal sent so far is in the ledger (its webhook answered)."""
        pump(runner, SUBSCRIPTIONS, self.crm.sender, "opportunity.closed_won")

    def pump_invoices(self, runner: Runner) -> None:
        """Every invoice the billing raised so far is in the ledger (its webhook answered)."""
        pump(runner, INVOICES, self.billing.sender, "invoice.created")
