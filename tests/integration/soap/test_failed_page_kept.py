"""Issue 17, hole 1 on the SOAP change feed: a page that fails as a whole is kept and replayed from its bytes.

Through the runtime against the real ERP simulator: with a mapping whose record path matches nothing, the
page is a batch-level DecodeError. The batch dead letter keeps the page's bytes (it kept an empty fragment
before), the cursor moves past the page only because it is kept, and once the mapping is fixed
``dlq replay`` records and delivers the page's orders under the ids they always had (it refused with
"re-drop the input" before, impossible for a feed whose cursor moved on).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource
from bridge.config import load_config
from bridge.ports import DecodeError, SimulatedClock, SourceContext
from bridge.runtime.replay import replay
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.testing import MemorySourceLedger
from samples.legacy_erp.simulator import WSDL_PATH, ErpSimulator
from tests.integration.recorder import Recorders, drain_poll
from tests.integration.soap.test_soap_change_versions import MAPPING, START, order, put, write_config


def _broken_mapping(tmp_path: Path) -> Path:
    broken = tmp_path / "erp-orders-broken.yaml"
    broken.write_text(MAPPING.read_text().replace("m:orders/m:order", "m:orders/m:purchaseOrder"), encoding="utf-8")
    return broken


def test_failed_soap_page_is_kept_and_replayed_from_its_bytes(tmp_path: Path) -> None:
    """The failed page's bytes are in its dead letter, the cursor moved past it, and after the mapping fix
    ``dlq replay`` records its 3 orders (ids as on the first read) and delivers each once."""
    Recorders.clear()
    sim = ErpSimulator()
    clock = SimulatedClock(START + timedelta(hours=1))
    numbers = ["ORD-1", "ORD-2", "ORD-3"]
    with sim:
        put(sim, *(order("CUST-A", 1, START + timedelta(seconds=n), o) for n, o in enumerate(numbers)))
        with Runner(load_config(write_config(tmp_path, sim, _broken_mapping(tmp_path))), clock) as runner:
            stats = runner.poll_all()["orders"]
            assert stats.failed_batches == 1
            # Re-polls: the kept page is not read again; the re-read of its last order (the watermark is
            # inclusive) is a page of its own, which fails and is kept too.
            drain_poll(runner)
            drain_poll(runner)
            with runner.ledger.engine.connect() as conn:
                dls = conn.execute(select(t.dead_letters).order_by(t.dead_letters.c.id)).all()
                cursor = conn.scalar(select(t.poll_state.c.value).where(t.poll_state.c.key.like("soap:%")))
        dl = dls[0]
        assert len(dls) <= 2 and {d.kind for d in dls} == {"batch"}
        assert "ORD-2" in dl.fragment and "<" in dl.fragment, "the page bytes are not kept"
        assert dl.location["input"]["identity_rule"] == "change"
        assert cursor is not None and json.loads(cursor)["watermark"].startswith("2026-01-05T08:00:02")
        with Runner(load_config(write_config(tmp_path, sim)), clock) as runner:
            results = [replay(runner, int(d.id), "tester") for d in dls]
            runner.drain(max_wait=60)
            drain_poll(runner)  # the re-read of the last order: a no-op by identity
            with runner.ledger.engine.connect() as conn:
                identities = sorted(conn.scalars(select(t.messages.c.identity)))
                statuses = set(conn.scalars(select(t.dead_letters.c.status)))
    assert {r["kind"] for r in results} == {"batch"} and statuses == {"replayed"}
    assert identities == [f"change:{o}:1" for o in numbers]
    calls = Recorders.SINKS["soap-orders"].calls
    assert sorted(c.business_key for c in calls) == numbers, "each order of the kept page is delivered once"


def test_soap_fail_of_a_page_not_kept_keeps_the_cursor_and_stops_the_scan(tmp_path: Path) -> None:
    """``fail`` for a page whose batch is not ``failed`` (not kept) leaves the cursor and ends the scan, so the
    page and those after it are read again; kept, the cursor moves past it."""
    sim = ErpSimulator()
    with sim:
        put(sim, *(order("CUST-A", 1, START + timedelta(seconds=n), f"ORD-{n}") for n in range(4)))
        config = SoapPollConfig(
            wsdl=str(WSDL_PATH),
            endpoint=sim.url,
            operation="GetChangedOrders",
            records_path="orders/order",
            watermark_field="modifiedAt",
            page_size=2,
        )
        ledger = MemorySourceLedger()
        with SoapPollSource(config, base_dir=tmp_path) as source:
            source.open(SourceContext("orders", SimulatedClock(START), tmp_path, ledger))
            pages = source.poll()
            first = next(pages)
            source.fail(first, DecodeError("cannot read"))
            assert list(pages) == [], "the scan went on past a page that is not kept"
            assert ledger.get_cursor("orders", source.cursor_key) is None, "the cursor moved past a page not kept"
            again = next(source.poll())
            assert again.batch_id == first.batch_id
            ledger.mark_batch("orders", again.batch_id, "failed")  # kept, as the runtime does
            source.fail(again, DecodeError("cannot read"))
            assert source.cursor().page_token, "a kept page is moved past"
            assert source.cursor().watermark > datetime(2026, 1, 1, tzinfo=UTC)
