"""The demo's old ESB for ``customers-to-erp``: it reads the same customer drop and writes its own output
folder, which the bridge observes (legacy path ``observe``). Realistic differences, all seeded:

* names longer than 35 characters are truncated (an accepted difference in the interface's rules);
* ``updated_at`` is written in local time (+01:00): equal after the ``timezone`` normaliser;
* the city ``Milan`` is written ``Milano`` (its own code mapping: a real mismatch);
* one record a day is dropped (an orphan); day 1's dropped record is written on day 3 (a late arrival).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from samples.demo_app.generate import customer

__all__ = ["LegacyEsb"]

_CET = timezone(timedelta(hours=1))
_SUFFIX = " International Trading and Logistics Holding"


class LegacyEsb:
    """Generates the day's customer drop for the bridge and the old ESB's output for the same customers."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.drop = workdir / "drops" / "customers-erp"
        self.out = workdir / "legacy-esb" / "out" / "customers"
        self.rng = random.Random(f"{seed}:legacy-esb")
        self.number = 50000
        self.held_back: list[dict[str, Any]] = []

    def day(self, day: int, now: datetime) -> int:
        """Write today's drop and the old ESB's output; returns how many customers were dropped."""
        rows = []
        for _ in range(self.rng.randint(25, 35)):
            self.number += 1
            c = customer(self.rng, self.number, now)
            if self.rng.random() < 0.25:
                c["name"] = c["name"] + _SUFFIX
            rows.append(c)
        skip = self.rng.randrange(len(rows))
        self.drop.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(parents=True, exist_ok=True)
        name = f"customers-{now.date()}.jsonl"
        (self.drop / f".{name}.tmp").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
        (self.drop / f".{name}.tmp").rename(self.drop / name)
        for i, c in enumerate(rows):
            if i == skip:
                if day == 1:
                    self.held_back.append(c)
                continue
            self._emit(c, day)
        if day == 3:
            for c in self.held_back:
                self._emit(c, day)
            self.held_back.clear()
        return len(rows)

    def _emit(self, c: dict[str, Any], day: int) -> None:
        doc = json.loads(json.dumps(c))
        doc["name"] = doc["name"][:35].rstrip()
        doc["updated_at"] = datetime.fromisoformat(doc["updated_at"]).astimezone(_CET).isoformat()
        for a in doc.get("addresses", []):
            if a.get("city") == "Milan":
                a["city"] = "Milano"
        target = self.out / f"{doc['customer_number']}-d{day}.json"
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        tmp.rename(target)
