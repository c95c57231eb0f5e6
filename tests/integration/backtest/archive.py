"""A generated month of archive for backtest tests: the ERP's input files and the old ESB's output documents,
with differences planted where the test says (a rounding rule, a truncated name, dropped records)."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from samples.demo_app.generate import invoice

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass
class Planted:
    """Which invoice numbers got which difference in the legacy outputs."""

    rounded: set[str] = field(default_factory=set)
    truncated: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    total: int = 0


def _stamp(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def _cent(v: str) -> str:
    return str(Decimal(v) + Decimal("0.01"))


def write_archive(
    root: Path,
    *,
    days: int = 10,
    files_per_day: int = 2,
    per_file: int = 3,
    round_every: int = 7,
    truncate_every: int = 11,
    drop: tuple[int, ...] = (17,),
) -> Planted:
    """``root/inputs`` (JSON lines of invoices, file time = when it came in) and ``root/legacy-out`` (one
    canonical JSON document per invoice, written a minute later, as the old ESB did)."""
    rng = random.Random(7)
    inputs, outputs = root / "inputs", root / "legacy-out"
    inputs.mkdir(parents=True)
    outputs.mkdir(parents=True)
    planted = Planted()
    n = 0
    for day in range(days):
        for f in range(files_per_day):
            when = START + timedelta(days=day, hours=2 * f)
            rows: list[dict[str, Any]] = []
            for _ in range(per_file):
                n += 1
                rows.append(invoice(rng, n, when.date(), rng.randint(1, 50)))
            path = inputs / f"invoices-{day:02d}-{f}.jsonl"
            path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
            _stamp(path, when)
            for row in rows:
                no = int(row["invoice_number"].rsplit("-", 1)[1])
                if no in drop:
                    planted.dropped.add(row["invoice_number"])
                    continue
                doc = json.loads(json.dumps(row))
                if round_every and no % round_every == 3:  # the old billing rounded tax up by a cent
                    for k in ("tax_total", "tax_inclusive_amount", "payable_amount"):
                        doc[k] = _cent(doc[k])
                    planted.rounded.add(row["invoice_number"])
                if truncate_every and no % truncate_every == 5:  # the old ESB cut article names to 8 characters
                    doc["lines"][0]["description"] = doc["lines"][0]["description"][:8]
                    planted.truncated.add(row["invoice_number"])
                out = outputs / f"{row['invoice_number']}.json"
                out.write_text(json.dumps(doc), encoding="utf-8")
                _stamp(out, when + timedelta(minutes=1))
    planted.total = n
    return planted


def write_config(
    root: Path,
    *,
    sandbox: bool = False,
    cloud_kind: str = "run",
    min_match: float = 0.9,
    accept: bool = False,
    files: bool = False,
) -> Path:
    """The live config of interface `invoices`: its live sinks are recording test sinks (``files``: file sinks
    in ``root/live-out``, for a child process that has no test plugin)."""
    legacy_sink = (
        f"{{kind: file, path: '{root / 'live-out' / 'legacy'}'}}" if files else "{kind: recording-live, name: legacy}"
    )
    cloud_sink = (
        f"{{kind: file, path: '{root / 'live-out' / 'cloud'}'}}" if files else "{kind: recording-live, name: cloud}"
    )
    shadow = "\n      shadow_sink: {kind: recording-live, name: sandbox}" if sandbox else ""
    cloud = (
        f"""
      encoder: {{kind: json}}
      sink: {cloud_sink}{shadow}
      project: {{kind: canonical-json}}"""
        if cloud_kind == "run"
        else """
      kind: observe
      project: {kind: canonical-json}"""
    )
    cfg = root / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{root / "live.db"}"
spool_dir: spool
backtest_dir: backtests
interfaces:
  invoices:
    canonical: Invoice
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {legacy_sink}
      project: {{kind: canonical-json}}
    cloud:{cloud}
    cutover:
      mode: legacy_only
      gate: {{min_compared: 20, min_days: 3, min_match: {min_match}, max_orphan_rate: 0.01,
              critical: [payable_amount], backtest: {"accept" if accept else "ignore"}}}
    compare: {{ignore: [tax_rounding], keyed_lists: {{lines: line_id}}, settle: 10m}}
""",
        encoding="utf-8",
    )
    return cfg
