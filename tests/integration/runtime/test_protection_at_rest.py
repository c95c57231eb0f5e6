"""Issue 17, protection at rest: a sensitive field never lies in clear in the ledger, in logs or in any output.

The values looked for are e-mail addresses (``compare.sensitive: [contacts.*.email]``); every one of them ends
in ``@example.com``. The ledger is read raw, every column of every table (and the SQLite file's own bytes),
with compression switched off so zlib cannot hide a value from the scan; the same run without a key shows the
scan finds them (the check can fail).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, select

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import (
    Delivery,
    Envelope,
    IdentityRule,
    KindConfig,
    Outcome,
    Plugin,
    PluginContext,
    PluginRole,
    Rejected,
    SimulatedClock,
)
from bridge.ports.resource import Resource
from bridge.runtime.runner import Runner
from bridge.store import packing, queries
from bridge.store.dlq import load_open
from bridge.store.kept import kept_dead_letter, kept_envelope
from bridge.store.ledger import open_ledger
from bridge.store.observations import NewObservation
from bridge.store.sealing import OFF, SealedDataUnavailable, new_key
from tests.integration.runtime.conftest import write_customers

CLEAR = b"@example.com"
SENSITIVE = "    compare: {sensitive: ['contacts.*.email']}\n"
BAD_LINE = '{"customer_number": "C-9", "contacts": [{"email": "bad9@example.com"}], "name": '


class EchoingConfig(KindConfig):
    kind: Literal["echoing"]


class EchoingSink(Resource):
    """Answers with the very bytes it was sent (a target that echoes the record); rejects key C-00002, quoting
    its e-mail in the error text."""

    def __init__(self, config: EchoingConfig, context: PluginContext) -> None:
        self.target = context.target

    def deliver(self, delivery: Delivery) -> Outcome:
        body = delivery.payload.body
        if delivery.business_key == "C-00002":  # a rejection that quotes the value it refused, as targets do
            email = json.loads(body)["contacts"][0]["email"]
            return Outcome.rejected(Rejected(f"echoing 422: {email} is unknown"), response=body)
        return Outcome.delivered(target_id=f"id-{delivery.business_key}", response=body)


registry.register(Plugin(PluginRole.SINK, "echoing", EchoingConfig, EchoingSink))


def raw_values(url: str) -> Iterator[tuple[str, str, Any]]:
    """(table, column, value) of every stored value, read with plain SQL, not through the ledger."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    for column, value in row._mapping.items():
                        yield table.name, column, value
    finally:
        engine.dispose()


def clear_copies(url: str) -> list[str]:
    """Where a sensitive value is stored in clear: ``table.column`` (and SQLite files holding the bytes)."""
    found = set()
    for table, column, value in raw_values(url):
        data = value if isinstance(value, bytes) else json.dumps(value, default=str).encode()
        if CLEAR in data or CLEAR.decode().encode("unicode_escape") in data:
            found.add(f"{table}.{column}")
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        for f in db.parent.glob(db.name + "*"):
            if CLEAR in f.read_bytes():
                found.add(f.name)
    return sorted(found)


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys only where the ``keys`` fixture sets them (autouse fixtures run first)."""
    for name in ("ESB_BRIDGE_DATA_KEY", "ESB_BRIDGE_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A data key and a hash key in the environment only."""
    env = {"ESB_BRIDGE_DATA_KEY": new_key("k1"), "ESB_BRIDGE_HASH_KEY": new_key("h")[2:]}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _run_workload(cfg: Path, clock: SimulatedClock, tmp_path: Path) -> dict[str, Any]:
    """Records (one undecodable), echoed responses, a rejection, an observation and a kept feed page."""
    write_customers(tmp_path / "drop" / "c.jsonl", 3, bad_lines={1: BAD_LINE})
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        ledger = runner.ledger
        ledger.record_observation(
            NewObservation("customers", "legacy", "obs-1", "C-00001", None, b'{"email": "ap1@example.com"}', None, "o")
        )
        page = Envelope(
            interface="customers",
            batch_id="page-1",
            origin="feed",
            identity_rule=IdentityRule.CHANGE,
            identity="",
            received_at=clock.now(),
            transaction_id="t",
            body=b'[{"email": "page@example.com"}]',
        )
        batch = ledger.open_batch("customers", page.batch_id, page.origin)
        ledger.cancel_batch(
            batch, "page failed", interface="customers", dead=kept_dead_letter("m-page", {}, None, page)
        )
        messages = queries.search_messages(ledger.engine, queries.MessageQuery("customers"))
        dead = queries.dead_letters(ledger.engine, "customers", None)
    return {"messages": [m["id"] for m in messages], "dead": {d["kind"]: d["id"] for d in dead}}


@pytest.fixture
def workload(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], tuple[Path, dict[str, Any]]]:
    monkeypatch.setattr(packing, "COMPRESS_FROM", 10**9)  # compression off: zlib must not be what hides values

    def run() -> tuple[Path, dict[str, Any]]:
        cfg = make_config("{kind: echoing}", "{kind: echoing}", mode="dual_write", extra=SENSITIVE)
        return cfg, _run_workload(cfg, clock, tmp_path)

    return run


def test_without_a_key_the_scan_finds_the_values_in_clear(
    workload: Callable[[], tuple[Path, dict[str, Any]]], store_url: str
) -> None:
    """The control: with no key configured, every kind of stored copy holds the e-mails in clear."""
    workload()
    found = clear_copies(store_url)
    for where in ("messages.payload", "deliveries.response", "dead_letters.fragment", "observations.body"):
        assert where in found


def test_a_sensitive_field_is_never_stored_logged_or_shown_in_clear(
    workload: Callable[[], tuple[Path, dict[str, Any]]],
    store_url: str,
    keys: dict[str, str],
    clock: SimulatedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Payloads, sent bytes, responses, fragments, kept pages and observations are sealed; the CLI, the shadow
    report and the logs show no value; without the key nothing opens, with it everything round-trips."""
    caplog.set_level(logging.DEBUG)
    cfg, ids = workload()
    assert len(ids["messages"]) == 3 and {"record", "delivery", "batch"} <= set(ids["dead"])
    assert clear_copies(store_url) == []
    assert CLEAR.decode() not in caplog.text

    cli_runner = CliRunner()
    outputs = [
        cli_runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
        for args in (
            *(["messages", "show", "--json", mid] for mid in ids["messages"]),
            *(["dlq", "show", "--json", str(dl)] for dl in ids["dead"].values()),
            ["dlq", "list", "--status", "all", "--json"],
            ["shadow", "report", "--format", "json"],
            *(["shadow", "report", "--format", fmt] for fmt in ("html", "csv", "junit")),
            ["status", "--json"],
        )
    ]
    for out in outputs:
        assert out.exit_code == 0, out.output
        assert CLEAR.decode() not in out.output
    shown = json.loads(outputs[0].output)
    assert "***masked***" in shown["payload"] and shown["deliveries"][0]["response"]["bytes"] > 0

    with open_ledger(store_url, clock, protection=OFF) as withheld:
        with pytest.raises(SealedDataUnavailable, match="not set"):
            queries.message_detail(withheld.engine, ids["messages"][0], withheld.protection)
        with pytest.raises(SealedDataUnavailable):
            load_open(withheld, ids["dead"]["batch"])
        with pytest.raises(SealedDataUnavailable):
            withheld.delivery_sides(ids["messages"])

    with open_ledger(store_url, clock, protection=load_config(cfg).protection()) as keyed:
        detail = queries.message_detail(keyed.engine, ids["messages"][0], keyed.protection)
        assert detail is not None and CLEAR.decode() in detail["payload"]
        assert any(CLEAR.decode() in (d["response"] or "") for d in detail["deliveries"])
        page = kept_envelope(load_open(keyed, ids["dead"]["batch"]), received_at=clock.now())
        assert page is not None and page.body == b'[{"email": "page@example.com"}]'
        assert "bad9@example.com" in (load_open(keyed, ids["dead"]["record"])["fragment"] or "")
        [body] = [v for table, column, v in raw_values(store_url) if (table, column) == ("observations", "body")]
        assert CLEAR in (keyed.protection.open(bytes(body)) or b"")
