"""Key rotation: a ring of the current key and old ones reads everything; ``ledger rekey`` moves every stored blob
to the current key and seals what a sensitive interface stored before it had a key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli.main import cli
from bridge.ports import SimulatedClock
from bridge.store import queries
from bridge.store import schema as t
from bridge.store.ledger import Ledger, open_ledger
from bridge.store.observations import NewObservation
from bridge.store.records import DeliveryStatus, NewDeadLetter
from bridge.store.rekey import rekey
from bridge.store.sealing import KeyRing, Protection, SealedDataUnavailable, is_sealed, key_id_of, new_key
from tests.integration.store.conftest import attempt, message

K1, K2 = new_key("k1"), new_key("k2")
BODY = '{"contacts": [{"email": "ap1@example.com"}], "pad": "' + "x" * 400 + '"}'


def _protection(ring: str | None) -> Protection:
    return Protection(KeyRing.parse(ring) if ring else None, ["customers"])


def _blobs(ledger: Ledger) -> list[bytes | None]:
    """Every stored blob of the tables rekey covers, raw."""
    with ledger.engine.connect() as conn:
        out: list[bytes | None] = list(conn.scalars(select(t.messages.c.payload_z)))
        out += [r for row in conn.execute(select(t.deliveries.c.sent, t.deliveries.c.response)) for r in row]
        out += list(conn.scalars(select(t.observations.c.body)))
        out += list(conn.scalars(select(t.dead_letters.c.response)))
    return [b for b in out if b]


def _key_ids(ledger: Ledger) -> set[str]:
    with ledger.engine.connect() as conn:
        fragments = list(conn.scalars(select(t.dead_letters.c.fragment)))
    ids = {key_id_of(b) if is_sealed(b) else "clear" for b in _blobs(ledger)}
    return ids | {"text:" + ("sealed" if f.startswith("esb-sealed:") else "clear") for f in fragments if f}


def _fill(ledger: Ledger, clock: SimulatedClock) -> str:
    """A message delivered with sent bytes and a response, a dead letter, an observation; the message id."""
    m = message(1, "C-1", paths=("legacy",), payload=BODY)
    batch = ledger.open_batch("customers", "b1", "file:///in")
    ledger.record_chunk("customers", batch, [m], [NewDeadLetter("dead-1", {"message": "bad"}, None, BODY)])
    ledger.release_batch("customers", batch)
    [c] = ledger.claim("legacy-t", 10, timedelta(seconds=60))
    sent = BODY.replace("ap1", "sent-ap1").encode()
    ledger.finish([attempt(c, clock.now(), DeliveryStatus.DELIVERED, sent=sent, response=BODY.encode())])
    ledger.record_observation(NewObservation("customers", "legacy", "o1", "C-1", None, BODY.encode(), None, "o"))
    return m.id


def test_rotation_reads_old_blobs_and_rekey_moves_everything_to_the_current_key(
    store_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    """k1 seals; the ring k2,k1 opens it and seals new blobs with k2; after rekey every blob is under k2, so the
    ring without k1 opens all; a ring with only k1 opens nothing new."""
    with open_ledger(store_url, clock, protection=_protection(K1)) as ledger:
        mid = _fill(ledger, clock)
        assert _key_ids(ledger) == {"k1", "text:sealed"}
    with open_ledger(store_url, clock, protection=_protection(f"{K2},{K1}")) as ledger:
        detail = queries.message_detail(ledger.engine, mid, ledger.protection)
        assert detail is not None and detail["payload"] == BODY
        assert detail["deliveries"][0]["sent"] == BODY.replace("ap1", "sent-ap1")
        stats = rekey(ledger)
        assert sum(stats.resealed.values()) >= 5 and not stats.sealed
        assert _key_ids(ledger) == {"k2", "text:sealed"}
        assert sum(rekey(ledger).resealed.values()) == 0  # idempotent: nothing left on an old key
    with open_ledger(store_url, clock, protection=_protection(K2)) as ledger:
        detail = queries.message_detail(ledger.engine, mid, ledger.protection)
        assert detail is not None and detail["payload"] == BODY
        assert queries.dead_letter(ledger.engine, 1, ledger.protection)["fragment"] == BODY  # type: ignore[index]
        assert ledger.delivery_sides([mid])[mid]["legacy"].response == BODY.encode()
    with open_ledger(store_url, clock, protection=_protection(K1)) as ledger, pytest.raises(SealedDataUnavailable):
        queries.message_detail(ledger.engine, mid, ledger.protection)


def test_rekey_seals_what_was_stored_before_a_key_was_set(store_url: str, clock: SimulatedClock) -> None:
    """Rows written in clear (no key yet) still read once a key is set; rekey seals them; they read the same."""
    with open_ledger(store_url, clock, protection=_protection(None)) as ledger:
        mid = _fill(ledger, clock)
        assert "clear" in _key_ids(ledger)
    with open_ledger(store_url, clock, protection=_protection(K1)) as ledger:
        before = queries.message_detail(ledger.engine, mid, ledger.protection)
        assert before is not None and before["payload"] == BODY  # clear rows read as before, key or not
        stats = rekey(ledger)
        assert set(stats.sealed) == {"messages", "deliveries", "dead_letters", "observations"}
        assert _key_ids(ledger) == {"k1", "text:sealed"}
        detail = queries.message_detail(ledger.engine, mid, ledger.protection)
        assert detail is not None and detail["payload"] == BODY
        assert detail["deliveries"][0]["response"] == BODY


def test_rekey_and_new_key_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ledger new-key`` prints a usable entry; ``ledger rekey`` without a key says what is missing."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(f'store: "sqlite:///{tmp_path / "l.db"}"\n', encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["--config", str(cfg), "ledger", "new-key", "2026-12"])
    assert out.exit_code == 0 and KeyRing.parse(out.output.strip()).current == "2026-12"
    monkeypatch.delenv("ESB_BRIDGE_DATA_KEY", raising=False)
    out = runner.invoke(cli, ["--config", str(cfg), "ledger", "rekey"])
    assert isinstance(out.exception, SealedDataUnavailable) and "ESB_BRIDGE_DATA_KEY" in str(out.exception)
    monkeypatch.setenv("ESB_BRIDGE_DATA_KEY", K1)
    out = runner.invoke(cli, ["--config", str(cfg), "ledger", "rekey", "--json"])
    assert out.exit_code == 0, out.output
