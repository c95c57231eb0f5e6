"""Observed legacy paths: pairing by business key within the settle window, orphans on both sides, late."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from cutover.reports import build_report
from samples.demo_app.generate import customer
from tests.integration.cutover.conftest import write_customers

OBSERVED = """
      kind: observe
      observe: {kind: folder, path: observed, include: ["*.json"], readiness: {rule: rename}}
      project: {kind: canonical-json}"""


def _observe(tmp_path: Path, n: int, **overrides: object) -> None:
    """The old ESB's output for customer n (same seed as the drop), as it would write it."""
    rng = random.Random(11)
    rows = {}
    for i in [1, 2, 3, 4]:
        rows[i] = customer(rng, i)
    doc = rows.get(n) or customer(random.Random(n), n)
    d = tmp_path / "observed"
    d.mkdir(exist_ok=True)
    (d / f".{n}.tmp").write_text(json.dumps({**doc, **overrides}))
    (d / f".{n}.tmp").rename(d / f"cust-{n}.json")


def _pairing(runner: Runner) -> dict[str, tuple[str, dict[str, object]]]:
    c = t.comparisons
    with runner.ledger.engine.connect() as conn:
        rows = conn.execute(select(c.c.business_key, c.c.status, c.c.diff).where(c.c.level == "pairing")).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_pairing_orphans_and_late_arrivals(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """Observations pair by key; after the window the lonely sides are orphans; a late match is `late`."""
    cfg = two_path_config(legacy=OBSERVED, compare="{settle: 10m}")
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2, 3, 4])
    _observe(tmp_path, 1)
    _observe(tmp_path, 2, name="Renamed By Old ESB")
    _observe(tmp_path, 99)  # the old ESB produced something the bridge never saw
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        first = _pairing(runner)
        assert {k: s for k, (s, _) in first.items()} == {"C-00001": "paired", "C-00002": "paired"}
        clock.advance(601)
        runner.compare_round()
        after = _pairing(runner)
        assert after["C-00003"] == ("orphan", {"missing": "legacy"})
        assert after["C-00004"][0] == "orphan"
        assert after["C-00099"][0] == "orphan" and after["C-00099"][1]["missing"] == "cloud"
        _observe(tmp_path, 3)
        runner.compare_round()
        late = _pairing(runner)
        report = build_report(runner.ledger, runner.loaded)["interfaces"]["customers"]
        with runner.ledger.engine.connect() as conn:
            payload = dict(
                conn.execute(
                    select(t.comparisons.c.business_key, t.comparisons.c.status).where(
                        t.comparisons.c.level == "payload"
                    )
                ).all()
            )
    assert late["C-00003"][0] == "late" and late["C-00004"][0] == "orphan"
    assert payload == {"C-00001": "match", "C-00002": "mismatch", "C-00003": "match"}
    assert (report["orphan_count"], report["late_count"]) == (2, 1)
    assert report["gate"]["orphans"] == 2 and not report["gate"]["ready"]


def test_forwarded_batches_pair_by_key_and_are_not_compared_themselves(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """forward: the file reaches the old ESB's inbox; its observed output pairs per key; the forward is no orphan."""
    forwarded = f"""
      kind: forward
      sink: {{kind: folder, path: '{tmp_path / "inbox"}', name_template: '{{name}}'}}
      observe: {{kind: folder, path: observed, include: ["*.json"], readiness: {{rule: rename}}}}
      project: {{kind: canonical-json}}"""
    cfg = two_path_config(legacy=forwarded, compare="{settle: 10m}")
    drop = write_customers(tmp_path / "drop" / "a.jsonl", [1, 2])
    original = drop.read_bytes()
    _observe(tmp_path, 1)
    _observe(tmp_path, 2)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        clock.advance(601)
        runner.compare_round()
        pairs = _pairing(runner)
        report = build_report(runner.ledger, runner.loaded)["interfaces"]["customers"]
    assert (tmp_path / "inbox" / "a.jsonl").read_bytes() == original
    assert {k: s for k, (s, _) in pairs.items()} == {"C-00001": "paired", "C-00002": "paired"}
    assert report["orphan_count"] == 0 and report["volume"] == 2
