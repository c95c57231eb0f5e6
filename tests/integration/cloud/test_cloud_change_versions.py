"""A revert A -> B -> A on the REST change feed, through the runtime against the real cloud simulator.

The simulator's records declare their change version (``version``, bumped on every change); the mapping's
``version`` path hands it on, so the third state is a third message and a third delivery. Before versions
were read the third state had the first one's identity (business key + content hash) and was never
delivered.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from samples.cloud_sim import SimServer
from tests.integration.recorder import Recorders, drain_poll, feed_config

HERE = Path(__file__).parent


def write_config(tmp_path: Path, sim: SimServer) -> Path:
    source = f'{{kind: rest_poll, url: "{sim.url}/v1/customers", page_size: 5, overlap: 30}}'
    decoder = f'{{kind: json, mapping: "{HERE / "cloud-customers.yaml"}"}}'
    return feed_config(tmp_path, "customers", "Customer", source, decoder, "rest-customers")


def test_a_b_a_on_the_rest_feed_is_three_messages_and_three_deliveries(sim: SimServer, tmp_path: Path) -> None:
    """Name A, then B, then A again (versions 1, 2, 3): three messages, three calls at the sink, in order.

    Fails before change versions were read: the third state's identity was the first's (content hash), so
    record_chunk created no message and the sink saw two calls."""
    Recorders.clear()
    sim.state.create("customers", {"external_id": "C-1", "name": "Alpha"}, None)
    with Runner(load_config(write_config(tmp_path, sim)), SimulatedClock()) as runner:
        drain_poll(runner)
        sim.state.touch("customers", "C-1", name="Beta")
        drain_poll(runner)
        sim.state.touch("customers", "C-1", name="Alpha")
        drain_poll(runner)
        drain_poll(runner)  # the overlap re-reads the last page: a no-op
        with runner.ledger.engine.connect() as conn:
            messages = conn.execute(select(t.messages.c.identity, t.messages.c.version)).all()
            statuses = conn.scalars(select(t.deliveries.c.status)).all()
    assert sorted(messages) == [("change:C-1:1", "1"), ("change:C-1:2", "2"), ("change:C-1:3", "3")]
    assert statuses == ["delivered"] * 3
    calls = Recorders.SINKS["rest-customers"].calls
    assert [json.loads(c.payload.body)["name"] for c in calls] == ["Alpha", "Beta", "Alpha"]
    assert len({c.message_id for c in calls}) == 3
