"""Opening a ledger through the store API: migrated on request, engine disposed on exit; message kinds."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bridge.ports import PathName, Role, SimulatedClock
from bridge.store.engine import MIGRATIONS, make_engine
from bridge.store.ledger import open_ledger
from bridge.store.records import MessageKind
from tests.integration.store.conftest import message


def test_open_ledger_migrates_unless_told_not_to(store_url: str, clock: SimulatedClock) -> None:
    """migrate=False leaves an empty database empty; the default brings it to the newest schema."""
    with open_ledger(store_url, clock, migrate=False) as ledger:
        with ledger.engine.connect() as conn:
            tables = conn.dialect.get_table_names(conn)
        assert "flags" not in tables
    with open_ledger(store_url, clock, node="n1") as ledger:
        assert ledger.node == "n1"
        assert ledger.current_flags() == {}


def test_upgrade_gives_forwarded_rows_their_kind(store_url: str, clock: SimulatedClock) -> None:
    """A ledger at 0002 with a ``canonical='forward'`` message upgrades to kind ``forward``; others are records."""
    engine = make_engine(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        for mid, canonical in (("m-fwd", "forward"), ("m-rec", "Customer")):
            conn.execute(
                text(
                    "INSERT INTO messages (id, interface, ordinal, identity, canonical, business_key, content_hash,"
                    " payload, state, mode, flag_version, transaction_id, created_at) VALUES (:id, 'i', 0, :ident,"
                    " :c, 'k', 'h', '{}', 'accepted', 'dual_write', 0, 't', CURRENT_TIMESTAMP)"
                ),
                {"id": mid, "ident": mid, "c": canonical},
            )
    engine.dispose()
    with open_ledger(store_url, clock) as ledger, ledger.engine.connect() as conn:
        kinds = dict(conn.execute(text("SELECT id, kind FROM messages")).all())
    assert kinds == {"m-fwd": MessageKind.FORWARD, "m-rec": MessageKind.RECORD}


def test_a_claimed_delivery_carries_its_message_kind(store_url: str, clock: SimulatedClock) -> None:
    """What a message was recorded as (record or forwarded batch) comes back with its claimed delivery."""
    with open_ledger(store_url, clock) as ledger:
        b = ledger.open_batch("i", "b1", "o")
        ledger.record_chunk(
            "i", b, [message(1, "A"), message(2, "forward:i", kind=MessageKind.FORWARD, paths=("cloud",))], []
        )
        ledger.release_batch("i", b)
        claimed = ledger.claim("cloud-t", 10, timedelta(minutes=1))
    assert [(c.business_key, c.kind) for c in claimed] == [
        ("A", MessageKind.RECORD),
        ("forward:i", MessageKind.FORWARD),
    ]
    assert all(c.path is PathName.CLOUD and c.role is Role.SHADOW for c in claimed), "typed, not strings"
