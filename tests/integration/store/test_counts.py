"""The status counts the database keeps (migration 0011) stay equal to counting the rows, on both backends.

The oracle is a GROUP BY over the tables themselves, read in the test: whatever write path changed the rows
(the batched ledger, discard, cancel, a statement no ledger method knows), the kept counts must agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from bridge.store import counts
from bridge.store.dlq import discard
from bridge.store.ledger import Ledger
from bridge.store.queries import metric_counts, status_counts
from bridge.store.records import DeliveryStatus, NewDeadLetter
from tests.integration.store.conftest import Deliver, message


def _truth(ledger: Ledger) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def slot(name: str) -> dict[str, Any]:
        return out.setdefault(name, {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}})

    with ledger.engine.connect() as conn:
        for i, s, n in conn.execute(text("SELECT interface, state, COUNT(*) FROM messages GROUP BY 1, 2")):
            slot(i)["messages"][s] = n
        q = "SELECT interface, path, role, status, COUNT(*) FROM deliveries GROUP BY 1, 2, 3, 4"
        for i, p, r, s, n in conn.execute(text(q)):
            slot(i)["deliveries"].setdefault(f"{p}/{r}", {})[s] = n
        q = "SELECT interface, COUNT(*) FROM dead_letters WHERE status = 'open' GROUP BY 1"
        for i, n in conn.execute(text(q)):
            slot(i)["dead_letters_open"] = n
        for i, s, n in conn.execute(text("SELECT interface, state, COUNT(*) FROM batches GROUP BY 1, 2")):
            slot(i)["batches"][s] = n
    return out


def _deltas(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM ledger_count_deltas")).scalar() or 0)


def test_kept_counts_follow_every_write_path(ledger: Ledger, deliver: Deliver) -> None:
    """Ingest, outcomes, a dead letter discarded, a cancelled batch and a raw UPDATE/DELETE: counts stay exact."""
    deliver([message(i, f"K{i}") for i in range(1, 6)], {"legacy": DeliveryStatus.DELIVERED})
    deliver([message(i, f"K{i}") for i in range(6, 9)], {"cloud": DeliveryStatus.DEAD}, batch="b2")
    assert status_counts(ledger.engine) == _truth(ledger)

    b = ledger.open_batch("i", "b3", "file:///in3")
    ledger.record_chunk("i", b, [message(20, "K20")], [NewDeadLetter("m1", {"message": "bad"}, {"line": 3}, "{x")])
    ledger.cancel_batch(b, "truncated")
    assert status_counts(ledger.engine) == _truth(ledger)
    assert status_counts(ledger.engine)["i"]["dead_letters_open"] >= 1

    with ledger.engine.connect() as conn:
        dl_id = conn.execute(text("SELECT MIN(id) FROM dead_letters WHERE status = 'open'")).scalar()
    discard(ledger, int(dl_id), "tester", "not needed")
    with ledger.engine.begin() as conn:  # a repair by hand, as an operator might in psql
        conn.execute(text("UPDATE messages SET state = 'settled' WHERE business_key = 'K1'"))
        conn.execute(text("UPDATE deliveries SET interface = 'j' WHERE business_key = 'K2'"))
        gone = "SELECT id FROM deliveries WHERE business_key = 'K3'"
        conn.execute(text(f"DELETE FROM attempts WHERE delivery_id IN ({gone})"))
        conn.execute(text("DELETE FROM deliveries WHERE business_key = 'K3'"))
    assert status_counts(ledger.engine) == _truth(ledger)
    assert status_counts(ledger.engine, "j") == {"j": _truth(ledger)["j"]}

    by_metric = {(r["metric"], r["interface"], r["a"], r["b"]): r["n"] for r in metric_counts(ledger.engine)}
    truth = _truth(ledger)["i"]
    assert by_metric[("messages", "i", "settled", "")] == truth["messages"]["settled"]
    assert by_metric[("deliveries", "i", "cloud/shadow", "dead")] == truth["deliveries"]["cloud/shadow"]["dead"]


def test_postgres_deltas_fold_and_recount_repairs_a_truncate(ledger: Ledger, deliver: Deliver) -> None:
    """Deltas (PostgreSQL) fold into the counts without changing a read; ``recount`` mends rows removed
    without their triggers."""
    deliver([message(i, f"K{i}") for i in range(1, 4)], {"legacy": DeliveryStatus.DELIVERED})
    sqlite = ledger.engine.dialect.name == "sqlite"
    assert (_deltas(ledger) == 0) is sqlite
    before = counts.current(ledger.engine)
    assert (counts.fold_deltas(ledger.engine) > 0) is not sqlite
    assert _deltas(ledger) == 0
    assert counts.current(ledger.engine) == before

    with ledger.engine.begin() as conn:  # what a trigger can't see: PG TRUNCATE; on SQLite, triggers dropped
        if sqlite:
            conn.execute(text("DROP TRIGGER trg_deliveries_count_upd"))
            conn.execute(text("UPDATE deliveries SET status = 'dead' WHERE business_key = 'K1'"))
        else:
            conn.execute(text("TRUNCATE attempts, deliveries"))
    assert status_counts(ledger.engine) != _truth(ledger)
    rows = counts.recount(ledger.engine)
    assert rows["messages"] == 3
    assert status_counts(ledger.engine) == _truth(ledger)
