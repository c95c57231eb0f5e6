"""The demo's ERP sales staff, for ``orders``: each day they enter orders in the legacy ERP (the simulator's
store), which the bridge reads from its SOAP change feed. On day 3 the migration team promotes the interface
from legacy_only to legacy_primary through the cutover API, as ``esb-bridge cutover set`` would. Seeded."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bridge.ports import DecodedRecord, Envelope, IdentityRule
from bridge.runtime.runner import Runner
from cutover.audit import Cutover
from samples.legacy_erp.simulator import ErpSimulator
from samples.legacy_erp.store import InvoiceLine, Order

__all__ = ["PROMOTE_ON_DAY", "ErpOrders", "OldEsbOrders"]

PROMOTE_ON_DAY = 3
INTERFACE = "orders"


class ErpOrders:
    """Enters the day's orders in the legacy ERP simulator."""

    def __init__(self, erp: ErpSimulator, seed: int, customers: int) -> None:
        self.erp = erp
        self.rng = random.Random(f"{seed}:orders")
        self.customers = customers
        self.number = 0

    def day(self, now: datetime) -> int:
        """Enter today's orders, changed one second apart from ``now`` (simulated time); returns how many."""
        for i in range(self.rng.randint(10, 20)):
            self.number += 1
            lines = []
            for n in range(1, self.rng.randint(1, 4) + 1):
                qty, price = Decimal(self.rng.randint(1, 12)), Decimal(self.rng.randint(500, 20000)) / 100
                sku = f"SKU-{self.rng.randint(1, 500):04d}"
                lines.append(InvoiceLine(n, sku, qty, price, qty * price))
            number = f"SO-{self.number:06d}"
            self.erp.store.orders[number] = Order(
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


class OldEsbOrders:
    """The demo's old ESB for ``orders``: it reads what the bridge forwards into its inbox (the legacy ERP's
    change-feed pages, byte for byte) and writes one order document per order into its output folder, which
    the bridge observes (legacy path ``forward`` + ``observe``)."""

    def __init__(self, workdir: Path) -> None:
        from translators.mapping.loader import load_mapping
        from translators.xml_decoder import XmlDecoder
        from translators.xml_encoder import XmlEncoder

        mapping = load_mapping(workdir / "maps" / "erp-order.yaml")
        self.decoder = XmlDecoder(mapping)
        self.encoder = XmlEncoder(mapping)
        self.inbox = workdir / "legacy-esb" / "inbox" / "orders"
        self.out = workdir / "legacy-esb" / "out" / "orders"
        self.done = self.inbox / "processed"

    def process(self, now: datetime) -> int:
        """Turn every forwarded page in the inbox into order documents; returns how many orders."""
        count = 0
        self.out.mkdir(parents=True, exist_ok=True)
        self.done.mkdir(parents=True, exist_ok=True)
        for page in sorted(p for p in self.inbox.glob("*.xml") if p.is_file()):
            envelope = Envelope(
                interface="old-esb",
                batch_id=page.name,
                origin=str(page),
                identity_rule=IdentityRule.FILE,
                identity=page.name,
                received_at=now,
                transaction_id=page.stem,
                body=page.read_bytes(),
            )
            for item in self.decoder.decode(envelope):
                if isinstance(item, DecodedRecord):
                    key = item.record.business_key  # type: ignore[attr-defined]
                    tmp = self.out / f".{key}.tmp"
                    tmp.write_bytes(self.encoder.render(item.record))
                    tmp.rename(self.out / f"{key}.xml")
                    count += 1
            page.rename(self.done / page.name)
        return count
