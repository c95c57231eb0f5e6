"""Readiness gate criteria on recorded evidence, one at a time (SQLite + PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.engine import make_engine, upgrade
from bridge.store.ledger import Ledger
from cutover.gates import evaluate
from cutover.model import GateRule

BASE = {"min_compared": 100, "min_days": 2, "min_match": 0.97, "max_orphan_rate": 0.05}


@pytest.fixture
def ledger(store_url: str, clock: SimulatedClock) -> Iterator[Ledger]:
    engine = make_engine(store_url)
    upgrade(engine)
    led = Ledger(engine, clock)
    start = clock.now()
    rows: list[dict[str, Any]] = []
    for i in range(200):
        entries = [{"path": "name", "legacy": "a", "cloud": "b", "accepted": None}] if i == 7 else []
        rows.append(
            {
                "message_id": f"m{i}",
                "interface": "inv",
                "level": "payload",
                "status": "mismatch" if i == 7 else "match",
                "diff": {"entries": entries},
                "created_at": start + timedelta(hours=i * 0.4),
                "critical": False,
                "business_key": f"K{i}",
            }
        )
        rows.append(
            {
                "message_id": f"m{i}",
                "interface": "inv",
                "level": "outcome",
                "status": "match",
                "diff": {},
                "created_at": start + timedelta(hours=i * 0.4),
                "critical": False,
                "business_key": f"K{i}",
            }
        )
    try:
        with engine.begin() as conn:
            conn.execute(t.comparisons.insert(), rows)
        clock.advance(timedelta(days=4))
        yield led
    finally:
        engine.dispose()


def _deliveries(led: Ledger, path: str, dead: int, ok: int) -> None:
    now = led.clock.now()
    with led.engine.begin() as conn:
        for i in range(dead + ok):
            mid = f"{path}-{i}"
            conn.execute(
                t.messages.insert().values(
                    id=mid,
                    interface="inv",
                    ordinal=i,
                    identity=mid,
                    canonical="Invoice",
                    business_key=mid,
                    content_hash="x",
                    payload="{}",
                    state="delivered",
                    mode="dual_write",
                    transaction_id="t",
                    created_at=now,
                )
            )
            conn.execute(
                t.deliveries.insert().values(
                    message_id=mid,
                    interface="inv",
                    path=path,
                    role="authoritative",
                    dry_run=False,
                    target="x",
                    business_key=mid,
                    status="dead" if i < dead else "delivered",
                    attempts=1,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )


def test_good_evidence_is_ready_with_its_figures(ledger: Ledger) -> None:
    """199/200 matched over 3+ days clears a 0.97 lower bound; the figures are in the evidence."""
    _deliveries(ledger, "cloud", dead=0, ok=20)
    r = evaluate(ledger, "inv", GateRule(**BASE))
    assert r.ready, r.reasons
    assert (r.figures["compared"], r.figures["matched"]) == (200, 199)
    assert r.figures["match_rate_lower_bound"] == pytest.approx(0.9722, abs=1e-4)
    assert r.figures["span_days"] > 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"min_compared": 201}, "compared 200 < 201"),
        ({"min_days": 4}, "evidence spans 3.32 days < 4"),
        ({"min_match": 0.98}, "match rate lower bound 0.9722 < 0.98"),
        ({"critical": ["name"]}, "1 open mismatch(es) on critical fields"),
        ({"window": 3600}, "compared 0 < 100"),
    ],
)
def test_each_criterion_closes_the_gate(ledger: Ledger, change: dict[str, Any], reason: str) -> None:
    """Tightening any one criterion makes the gate say exactly why it is closed."""
    r = evaluate(ledger, "inv", GateRule(**{**BASE, **change}))
    assert not r.ready and reason in r.reasons[0]


def test_no_real_cloud_delivery_never_passes_the_error_rate_criterion(ledger: Ledger) -> None:
    """Issue 17: with the content evidence good but the cloud path run dry only (no real delivery finished),
    the error-rate criterion closes the gate; it passed before (0 errors of 0 deliveries)."""
    _deliveries(ledger, "cloud", dead=0, ok=50)
    with ledger.engine.begin() as conn:
        conn.execute(t.deliveries.update().where(t.deliveries.c.path == "cloud").values(dry_run=True))
    _deliveries(ledger, "legacy", dead=0, ok=50)
    r = evaluate(ledger, "inv", GateRule(**BASE))
    assert not r.ready
    assert r.reasons == ["no real cloud delivery finished in the window: a dry-run shadow proves no error rate"]
    assert r.figures["cloud_deliveries"] == 0


def test_cloud_error_rate_above_legacy_and_orphans_close_the_gate(ledger: Ledger) -> None:
    """Cloud dead letters above legacy's rate, and orphans above the bound, are reasons."""
    _deliveries(ledger, "legacy", dead=1, ok=99)
    _deliveries(ledger, "cloud", dead=5, ok=95)
    with ledger.engine.begin() as conn:
        conn.execute(
            t.comparisons.insert(),
            [
                {
                    "message_id": f"p{i}",
                    "interface": "inv",
                    "level": "pairing",
                    "status": "orphan" if i < 2 else "paired",
                    "diff": {},
                    "created_at": ledger.clock.now(),
                    "critical": False,
                }
                for i in range(20)
            ],
        )
    r = evaluate(ledger, "inv", GateRule(**BASE))
    assert "cloud error rate 0.0500 > legacy 0.0100" in r.reasons
    assert "orphan rate 0.1000 > 0.05" in r.reasons
    assert evaluate(ledger, "inv", GateRule(**{**BASE, "error_margin": 0.05, "max_orphan_rate": 0.1})).ready
