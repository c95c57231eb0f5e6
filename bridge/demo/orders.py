"""The demo's ERP sales staff, for ``orders``: each day they enter orders in the legacy ERP (the simulator's
store), which the bridge reads from its SOAP change feed. On day 3 the migration team promotes the interface
from legacy_only to legacy_primary through the cutover API, as ``esb-bridge cutover set`` would. Seeded."""

from __future__ import annotations

import importlib
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bridge.runtime.runner import Runner
from cutover.audit import Cutover

__all__ = ["PROMOTE_ON_DAY", "ErpOrders"]

PROMOTE_ON_DAY = 3
INTERFACE = "orders"


class ErpOrders:
    """Enters the day's orders in the legacy ERP simulator."""

    def __init__(self, erp: Any, seed: int, customers: int) -> None:
        self.erp = erp  # samples.legacy_erp.simulator.ErpSimulator
        self.rng = random.Random(f"{seed}:orders")
        self.customers = customers
        self.number = 0

    def day(self, now: datetime) -> int:
        """Enter today's orders, changed one second apart from ``now`` (simulated time); returns how many."""
        store: Any = importlib.import_module("samples.legacy_erp.store")
        for i in range(self.rng.randint(10, 20)):
            self.number += 1
            lines = []
            for n in range(1, self.rng.randint(1, 4) + 1):
                qty, price = Decimal(self.rng.randint(1, 12)), Decimal(self.rng.randint(500, 20000)) / 100
                sku = f"SKU-{self.rng.randint(1, 500):04d}"
                lines.append(store.InvoiceLine(n, sku, qty, price, qty * price))
            number = f"SO-{self.number:06d}"
            self.erp.store.orders[number] = store.Order(
                number,
                f"C-{self.rng.randint(1, self.customers):05d}",
                now.date(),
                "EUR",
                sum((ln.amount for ln in lines), Decimal(0)),
                self.rng.choice(["OPEN", "CONFIRMED"]),
                1,
                now + timedelta(seconds=i),
                tuple(lines),
            )
        return self.number

    @staticmethod
    def promote(runner: Runner) -> None:
        """legacy_only -> legacy_primary: the legacy side stays authoritative, so no gate applies; the change
        is versioned and audited like any other and routes the next poll's orders."""
        Cutover(runner.ledger).set(
            INTERFACE,
            {"mode": "legacy_primary"},
            actor="demo migration team",
            reason="start shadowing the cloud ERP",
            ticket="MIG-42",
        )
