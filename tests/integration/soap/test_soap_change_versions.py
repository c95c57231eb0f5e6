"""A revert A -> B -> A on the SOAP change feed, through the runtime against the real ERP simulator.

The feed's records declare their change version (``c:changeVersion``); the mapping's ``version`` path hands it
on, so the third state is a third message and a third delivery. Before versions were read the third state
had the first one's identity (business key + content hash) and was never delivered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from samples.legacy_erp.store import InvoiceLine, Order
from tests.integration.recorder import Recorders, drain_poll, feed_config

HERE = Path(__file__).parent
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
MAPPING = HERE / "erp-orders.yaml"


def write_config(tmp_path: Path, sim: ErpSimulator, mapping: Path = MAPPING, overlap: int = 0) -> Path:
    source = (
        f'{{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{sim.url}", operation: GetChangedOrders, '
        "records_path: orders/order, watermark_field: modifiedAt, operation_timeout: 10, "
        f"overlap_seconds: {overlap}}}"
    )
    decoder = f'{{kind: xml, mapping: "{mapping}"}}'
    return feed_config(tmp_path, "orders", "SalesOrder", source, decoder, "soap-orders")


def unversioned_mapping(tmp_path: Path) -> Path:
    """The orders mapping without its ``version:`` path (as before change versions were read)."""
    path = tmp_path / "erp-orders-unversioned.yaml"
    path.write_text(
        "".join(ln for ln in MAPPING.read_text().splitlines(True) if not ln.startswith("version:")), encoding="utf-8"
    )
    return path


def order(customer: str, version: int, at: datetime, number: str = "ORD-1") -> Order:
    line = InvoiceLine(1, "SKU-001", Decimal(2), Decimal("10.00"), Decimal("20.00"))
    return Order(number, customer, START.date(), "EUR", Decimal("20.00"), "OPEN", version, at, (line,))


def put(sim: ErpSimulator, *orders: Order) -> None:
    """Change orders in the ERP as its users would (the store has no update operation for orders)."""
    with sim.store._lock:
        for o in orders:
            sim.store.orders[o.order_number] = o


def test_a_b_a_on_the_soap_feed_is_three_messages_and_three_deliveries(tmp_path: Path) -> None:
    """Customer A, then B, then A again (versions 1, 2, 3): three messages, three calls at the sink, in order.

    Fails before change versions were read: the third state's identity was the first's (content hash), so
    record_chunk created no message and the sink saw two calls."""
    Recorders.clear()
    sim = ErpSimulator()
    clock = SimulatedClock(START + timedelta(hours=1))
    states = [("CUST-A", 1), ("CUST-B", 2), ("CUST-A", 3)]
    with sim, Runner(load_config(write_config(tmp_path, sim)), clock) as runner:
        for n, (customer, version) in enumerate(states):
            put(sim, order(customer, version, START + timedelta(minutes=n)))
            drain_poll(runner)
        with runner.ledger.engine.connect() as conn:
            messages = conn.execute(select(t.messages.c.identity, t.messages.c.version).order_by(t.messages.c.id)).all()
            statuses = conn.scalars(select(t.deliveries.c.status)).all()
    assert sorted(messages) == [("change:ORD-1:1", "1"), ("change:ORD-1:2", "2"), ("change:ORD-1:3", "3")]
    assert statuses == ["delivered"] * 3
    calls = Recorders.SINKS["soap-orders"].calls
    assert [c.business_key for c in calls] == ["ORD-1"] * 3
    assert [json.loads(c.payload.body)["customer_id"] for c in calls] == ["CUST-A", "CUST-B", "CUST-A"]
    assert len({c.message_id for c in calls}) == 3


def test_a_ledger_recorded_before_versions_upgrades_and_finishes_every_open_row_once(tmp_path: Path) -> None:
    """The upgrade path. Before: the feed recorded 5 orders under the hash identity (3 delivered, 2 still open).
    After (same ledger, the mapping now reads ``c:changeVersion``, and a wide overlap re-reads the whole feed):
    the re-read page makes no new message, the 2 open rows finish once each, and a later revert A -> B -> A of
    one order still makes two more messages. Every order reaches the recording sink exactly once per change.

    Fails without the upgrade rule (``adopt_hash_identities``): the re-read gives the 5 recorded changes new
    (version) ids, so they are recorded and delivered a second time."""
    Recorders.clear()
    before = unversioned_mapping(tmp_path)
    sim = ErpSimulator()
    clock = SimulatedClock(START + timedelta(hours=1))
    numbers = [f"ORD-{n}" for n in range(1, 6)]
    with sim:
        put(sim, *(order("CUST-A", 1, START + timedelta(seconds=n), number) for n, number in enumerate(numbers[:3])))
        with Runner(load_config(write_config(tmp_path, sim, before)), clock) as runner:
            drain_poll(runner)
            put(sim, *(order("CUST-A", 1, START + timedelta(seconds=n), o) for n, o in enumerate(numbers[3:], 3)))
            runner.poll_all()  # recorded and released, not delivered: open rows in the old ledger
            assert runner.ledger.open_work(list(runner.workers), include_held=False) == 2
        with runner.ledger.engine.connect() as conn:
            old = set(conn.scalars(select(t.messages.c.identity)))
        assert len(old) == 5 and all(":sha256:" in identity for identity in old)

        with Runner(load_config(write_config(tmp_path, sim, overlap=3600)), clock) as runner:
            stats = runner.poll_all()
            assert stats["orders"].records == 5 and stats["orders"].new_messages == 0
            runner.drain(max_wait=60)
            put(sim, order("CUST-B", 2, START + timedelta(minutes=1)))
            drain_poll(runner)
            put(sim, order("CUST-A", 3, START + timedelta(minutes=2)))
            drain_poll(runner)
            with runner.ledger.engine.connect() as conn:
                identities = set(conn.scalars(select(t.messages.c.identity)))
                statuses = conn.scalars(select(t.deliveries.c.status)).all()
    assert identities == old | {"change:ORD-1:2", "change:ORD-1:3"}
    assert statuses == ["delivered"] * 7
    calls = Recorders.SINKS["soap-orders"].calls
    assert len(calls) == 7 and len({c.message_id for c in calls}) == 7
    assert sorted(c.business_key for c in calls) == sorted([*numbers, "ORD-1", "ORD-1"])
