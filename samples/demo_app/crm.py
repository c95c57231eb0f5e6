"""The demo's cloud CRM users and the old ESB's ERP->CRM sync, for ``customers-from-crm``. All seeded:

* each day users create customers in the cloud CRM (the cloud simulator), which signs and sends a webhook per
  change to the bridge's webhook source; a quarter have names longer than the legacy ERP's 35 characters;
* after the bridge wrote them to the legacy ERP, the old ESB's ERP->CRM sync writes each one back to the CRM
  unchanged: a ``customer.updated`` webhook whose content equals the bridge's own write (an echo).

Webhooks arrive in real time; :meth:`Crm.pump` polls the interface until the CRM has had an answer for
every event it sent, so each simulated day ingests the same events on every run.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bridge.runtime.runner import Runner
from samples.cloud_sim.server import SimServer
from samples.cloud_sim.webhooks import WebhookSender

__all__ = ["Crm", "pump"]

INTERFACE = "customers-from-crm"
_NAMES = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adventure Works", "Proseware", "Lucerne"]
_LONG = " Distribution and Field Services Europe"
_CITIES = [("Hamburg", "DE", "20095"), ("Lyon", "FR", "69001"), ("Porto", "PT", "4000"), ("Graz", "AT", "8010")]


class Crm:
    """Creates the day's CRM customers and replays the ERP's echo of them through the cloud simulator."""

    def __init__(self, cloud: SimServer, seed: int) -> None:
        self.cloud = cloud  # samples.cloud_sim.server.SimServer
        self.rng = random.Random(f"{seed}:crm")
        self.number = 0
        self.today: list[str] = []

    def subscribe(self, runner: Runner, secret: str) -> None:
        """Send the CRM's webhooks to the bridge, signed with timestamps of the demo's simulated time."""
        url = runner.interfaces[INTERFACE].source.url  # type: ignore[attr-defined]
        self.cloud.sender.now = lambda: runner.clock.now().timestamp()
        self.cloud.sender.subscribe(url, secret, ("customer.created", "customer.updated"))

    def create_day(self) -> int:
        """Users create today's customers in the CRM; returns how many."""
        self.today = []
        for _ in range(self.rng.randint(8, 14)):
            self.number += 1
            city, country, postal = self.rng.choice(_CITIES)
            name = f"{self.rng.choice(_NAMES)} {self.number}"
            if self.rng.random() < 0.25:
                name += _LONG
            body: dict[str, Any] = {
                "external_id": f"CRM-{self.number:05d}",
                "name": name,
                "address": {
                    "line1": f"Harbour Road {self.rng.randint(1, 99)}",
                    "city": city,
                    "postal_code": postal,
                    "country": country,
                },
            }
            if self.rng.random() < 0.5:
                body["tax_id"] = f"{country}{self.rng.randint(10**8, 10**9 - 1)}"
            status, _, _ = self.cloud.state.create("customers", body, None)
            if status != 201:
                raise RuntimeError(f"cloud CRM refused customer {body['external_id']}: {status}")
            self.today.append(body["external_id"])
        return len(self.today)

    def echo_day(self) -> None:
        """The old ESB's ERP->CRM sync writes today's customers back to the CRM unchanged."""
        for key in self.today:
            self.cloud.state.touch("customers", key)

    def pump(self, runner: Runner, timeout: float = 60.0) -> None:
        """Poll the webhook source until every customer event sent so far has been answered 2xx."""
        pump(runner, INTERFACE, self.cloud.sender, "customer.", timeout)


def pump(runner: Runner, interface: str, sender: WebhookSender, prefix: str, timeout: float = 60.0) -> None:
    """Poll ``interface``'s webhook source until every event of ``sender`` whose type starts with ``prefix`` has
    been answered 2xx: webhooks arrive in real time, so a simulated day ingests the same events on every run."""
    deadline = time.monotonic() + timeout
    while True:
        wanted = {i for i, e in list(sender.events.items()) if e["type"].startswith(prefix)}
        answered = {a.event_id for a in list(sender.attempts) if a.status is not None and a.status < 300}
        if wanted <= answered:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(wanted - answered)} {prefix}* webhook(s) not answered within {timeout}s")
        runner.poll(interface)
