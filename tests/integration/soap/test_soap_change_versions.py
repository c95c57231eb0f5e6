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


def write_config(tmp_path: Path, sim: ErpSimulator) -> Path:
    source = (
        f'{{kind: soap, wsdl: "{WSDL_PATH}", endpoint: "{sim.url}", operation: GetChangedOrders, '
        "records_path: orders/order, watermark_field: modifiedAt, operation_timeout: 10}"
    )
    decoder = f'{{kind: xml, mapping: "{HERE / "erp-orders.yaml"}"}}'
    return feed_config(tmp_path, "orders", "SalesOrder", source, decoder, "soap-orders")


def order(customer: str, version: int, at: datetime) -> Order:
    line = InvoiceLine(1, "SKU-001", Decimal(2), Decimal("10.00"), Decimal("20.00"))
    return Order("ORD-1", customer, START.date(), "EUR", Decimal("20.00"), "OPEN", version, at, (line,))


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
            with sim.store._lock:
                sim.store.orders["ORD-1"] = order(customer, version, START + timedelta(minutes=n))
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
