"""The demo's bank drop and the old ESB's payment feed, for ``payments``. All seeded:

* each day the bank drops a CSV of incoming payments into a local folder that the bridge and the old ESB
  both read (the bridge leaves the files where they are: a shared drop);
* the old ESB still books every payment itself and writes one canonical JSON document per payment into its
  output folder, which the bridge observes (legacy path ``observe``), except one payment on day 2 that it
  loses (an orphan on the legacy side).
"""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

__all__ = ["BankDrop"]

_METHODS = {"UEB": "bank_transfer", "LS": "direct_debit", "KK": "card"}
_HEADER = "Zahlungs-ID;Kunde;Betrag;Währung;Valuta;Art;Verwendungszweck"


class BankDrop:
    """Writes the day's bank CSV and the old ESB's output for the same payments."""

    def __init__(self, workdir: Path, seed: int, customers: int) -> None:
        self.drop = workdir / "drops" / "payments"
        self.out = workdir / "legacy-esb" / "out" / "payments"
        self.rng = random.Random(f"{seed}:bank")
        self.customers = customers
        self.number = 0

    def day(self, day: int, today: date) -> int:
        """Write today's drop and the old ESB's documents; returns how many payments the bank sent."""
        rows, docs = [_HEADER], []
        for _ in range(self.rng.randint(15, 25)):
            self.number += 1
            amount = Decimal(self.rng.randint(1000, 500000)) / 100
            code = self.rng.choice(sorted(_METHODS))
            pid, customer = f"PAY-{self.number:06d}", f"C-{self.rng.randint(1, self.customers):05d}"
            reference = f"INV-2026-{self.rng.randint(1, 700):06d}"
            rows.append(f"{pid};{customer};{str(amount).replace('.', ',')};EUR;{today:%d.%m.%Y};{code};{reference}")
            docs.append(
                {
                    "payment_id": pid,
                    "customer_id": customer,
                    "amount": str(amount),
                    "currency": "EUR",
                    "value_date": today.isoformat(),
                    "method": _METHODS[code],
                    "reference": reference,
                }
            )
        lost = self.rng.randrange(len(docs)) if day == 2 else None
        self.drop.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(parents=True, exist_ok=True)
        _atomic(self.drop / f"payments-{today}.csv", ("\n".join(rows) + "\n").encode("utf-8"))
        for i, doc in enumerate(docs):
            if i != lost:
                _atomic(self.out / f"{doc['payment_id']}.json", json.dumps(doc).encode("utf-8"))
        return len(docs)


def _atomic(target: Path, body: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(body)
    tmp.rename(target)
