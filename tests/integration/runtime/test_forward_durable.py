"""Forwarded bytes are durable in the ledger before the source is acknowledged (issue 17).

The spool directory of the node that read the file can be lost: another working directory on the same
ledger (another node) delivers the forward byte for byte, and a kill between the commit and the acknowledge
records nothing twice. Old forwards whose bytes are still in a spool file are loaded into the ledger at start.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, update

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.engine import make_engine
from bridge.store.packing import PayloadPacking
from tests.integration.runtime.conftest import customers_config, write_customers

CLI = "tests.integration.runtime.calllog"  # the bridge CLI (with a test sink registered, unused here)


_CLOUD = "\n    cloud:\n      encoder: {kind: json}\n      sink: {kind: scripted, name: cloud}"


def forward_node(folder: Path, store_url: str, extra: str = "", sink: str = "", mode: str = "legacy_only") -> Path:
    """``folder/bridge.yaml``: the runtime tests' interface with a ``forward`` legacy path into ``folder/esb-inbox``."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = customers_config(
        folder,
        store_url,
        "{kind: scripted, name: unused}",
        "\n    cloud:\n      encoder: {kind: json}\n      sink: {kind: scripted, name: cloud}"
        if "cloud" in mode
        else "",
        extra=extra,
        mode=mode,
        head="retry: {initial: 1s, multiplier: 2, jitter: 0, max_attempts: 5, max_delay: 60s}",
    )
    inbox = f"{{kind: folder, path: '{folder / 'esb-inbox'}', name_template: '{{name}}'{sink}}}"
    text = cfg.read_text().replace(
        "    legacy:\n      encoder: {kind: json}\n      sink: {kind: scripted, name: unused}",
        f"    legacy:\n      kind: forward\n      sink: {inbox}",
    )
    cfg.write_text(text)
    return cfg


def binary_drop(path: Path, records: int = 20) -> bytes:
    """A JSON-lines drop that also holds bytes no text column could keep (padding lines of any whitespace)."""
    write_customers(path, records)
    pad = b"\t \x0b\x0c\r" * 50_000 + b"\n"
    data = path.read_bytes() + pad * 6  # ~1.5 MB: more than one blob chunk
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.rename(path)
    return data


def forwards(engine: Engine) -> list[tuple[str, str]]:
    """(message id, delivery status) of every forward delivery."""
    m, d = t.messages, t.deliveries
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.c.id, d.c.status).join(d, d.c.message_id == m.c.id).where(m.c.kind == "forward")
        ).all()
    return [(str(r[0]), str(r[1])) for r in rows]


def blob_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(i) for i in conn.scalars(select(t.blobs.c.id))]


def test_another_node_delivers_a_forward_after_the_first_lost_its_spool(
    tmp_path: Path, store_url: str, clock: SimulatedClock, scripted: dict[str, Any]
) -> None:
    """Node A records the file (its bytes in the ledger) and acknowledges it; its whole spool directory is
    deleted; node B, another working directory on the same ledger, delivers the bytes unchanged and the blob
    is dropped once recorded delivered."""
    a = forward_node(tmp_path / "a", store_url)
    b = forward_node(tmp_path / "b", store_url)
    (tmp_path / "b" / "drop").mkdir()
    original = binary_drop(tmp_path / "a" / "drop" / "customers.jsonl")
    with Runner(load_config(a), clock) as runner:
        stats = runner.poll("customers")
        assert stats.acknowledged == 1
        [(mid, status)] = forwards(runner.ledger.engine)
        info = runner.ledger.blob_info(mid)
        assert status == "pending" and info is not None and info.complete
        assert info.sha256 == hashlib.sha256(original).hexdigest()
    assert not (tmp_path / "a" / "drop" / "customers.jsonl").exists(), "the source was acknowledged"
    shutil.rmtree(tmp_path / "a" / "spool")
    with Runner(load_config(b), clock) as runner:
        runner.run_once()
        assert forwards(runner.ledger.engine) == [(mid, "delivered")]
        assert blob_ids(runner.ledger.engine) == [], "the blob goes with the delivered outcome"
        with runner.ledger.engine.connect() as conn:
            sent = conn.scalar(select(t.deliveries.c.sent).where(t.deliveries.c.message_id == mid))
        assert sent is None, "the forwarded bytes are not stored a second time as 'sent'"
    assert (tmp_path / "b" / "esb-inbox" / "customers.jsonl").read_bytes() == original
    assert list((tmp_path / "a" / "esb-inbox").iterdir()) == [], "node A delivered nothing"


def test_a_dry_run_forward_drops_its_bytes_once_recorded(
    tmp_path: Path, store_url: str, clock: SimulatedClock, scripted: dict[str, Any]
) -> None:
    """cloud_primary with ``legacy_feed: false``: the forward is a dry-run shadow, recorded as not sent, and
    its blob goes with that outcome (nothing would ever send it; kept, it would grow the ledger by every file)."""
    scripted["cloud"] = {"then": "ok"}
    cfg = forward_node(tmp_path, store_url, mode="cloud_primary, legacy_feed: false")
    binary_drop(tmp_path / "drop" / "customers.jsonl")
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        [(mid, status)] = forwards(runner.ledger.engine)
        with runner.ledger.engine.connect() as conn:
            dry = conn.scalar(select(t.deliveries.c.dry_run).where(t.deliveries.c.message_id == mid))
        assert (status, dry, blob_ids(runner.ledger.engine)) == ("delivered", True, [])
    assert list((tmp_path / "esb-inbox").iterdir()) == [], "a dry run writes nothing"


def test_a_dead_forward_keeps_its_bytes_for_replay(
    tmp_path: Path, store_url: str, clock: SimulatedClock, scripted: dict[str, Any]
) -> None:
    """A forward whose inbox refuses it (a file with other bytes, conflict: fail) is dead-lettered and keeps
    its blob; once the conflict is cleared, ``dlq replay`` delivers it from the ledger."""
    from bridge.runtime.replay import replay

    cfg = forward_node(tmp_path, store_url)
    original = binary_drop(tmp_path / "drop" / "customers.jsonl")
    inbox = tmp_path / "esb-inbox"
    inbox.mkdir()
    (inbox / "customers.jsonl").write_bytes(b"someone else's file")
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        [(mid, status)] = forwards(runner.ledger.engine)
        assert status == "dead" and blob_ids(runner.ledger.engine) == [mid]
        shutil.rmtree(tmp_path / "spool")
        (inbox / "customers.jsonl").unlink()
        with runner.ledger.engine.connect() as conn:
            dl = conn.scalar(select(t.dead_letters.c.id))
        replay(runner, int(dl), "test")
        runner.run_once()
        assert forwards(runner.ledger.engine) == [(mid, "delivered")]
        assert blob_ids(runner.ledger.engine) == []
    assert (inbox / "customers.jsonl").read_bytes() == original


def test_a_forward_spooled_before_the_upgrade_is_loaded_into_the_ledger_at_start(
    tmp_path: Path, store_url: str, clock: SimulatedClock, scripted: dict[str, Any]
) -> None:
    """A forward recorded the old way (its payload names a spool file, no blob) is loaded into the blob store
    when the runner starts (the spool file goes), then delivered from the ledger."""
    cfg = forward_node(tmp_path, store_url, extra="\n    schedule: {every: 3600}")
    inbox = tmp_path / "esb-inbox"
    (inbox / "customers.jsonl").parent.mkdir(parents=True)
    (inbox / "customers.jsonl").write_bytes(b"blocks delivery")  # conflict: the first run leaves it pending/dead
    original = binary_drop(tmp_path / "drop" / "customers.jsonl")
    with Runner(load_config(cfg), clock) as runner:
        runner.poll("customers")
        [(mid, _)] = forwards(runner.ledger.engine)
        # Turn it into what the old code left: the bytes in a spool file named by the payload, no blob.
        old = tmp_path / "spool" / "customers" / "forward" / mid
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_bytes(original)
        payload = orjson.dumps({"spool": str(old), "name": "customers.jsonl", "media_type": "application/jsonl"})
        runner.ledger.discard_blobs([mid])
        with runner.ledger.engine.begin() as conn:
            conn.execute(
                update(t.messages)
                .where(t.messages.c.id == mid)
                .values(payload=payload.decode(), payload_z=None, packing=PayloadPacking.TEXT)
            )
    (inbox / "customers.jsonl").unlink()
    with Runner(load_config(cfg), clock) as runner:
        assert runner.ledger.blob_info(mid) is not None, "loaded at start"
        assert not old.exists(), "the old spool file goes once its bytes are in the ledger"
        runner.run_once()
        assert forwards(runner.ledger.engine) == [(mid, "delivered")]
    assert (inbox / "customers.jsonl").read_bytes() == original


def _run(cfg: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with (cfg.parent / "bridge.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", CLI, "--config", str(cfg), "run", "--once", "--max-wait", "30"],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _kill_when(proc: subprocess.Popen[bytes], engine: Engine, ready: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"bridge exited ({proc.returncode}) before the kill point")
            try:
                if ready():
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(30)
                    return
            except Exception:  # the schema may not exist yet in the first instants
                pass
            time.sleep(0.02)
        pytest.fail("kill point not reached")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


@pytest.mark.parametrize(
    ("store_url", "delivered_first"),
    [
        ("sqlite", False),
        pytest.param("postgresql", False, marks=pytest.mark.postgres),
        ("sqlite", True),  # the blob is gone with the delivered outcome: the re-read must not store it again
    ],
    ids=["sqlite-before-delivery", "postgresql-before-delivery", "sqlite-after-delivery"],
    indirect=["store_url"],
)
def test_a_kill_between_commit_and_acknowledge_records_nothing_twice(
    tmp_path: Path, store_url: str, delivered_first: bool
) -> None:
    """SIGKILL while paused before the acknowledge (the forward and its blob committed; its delivery done or
    not); the rerun reads the file again: one forward message, one delivery, one blob written and dropped,
    one file in the inbox with the original bytes."""
    cfg = forward_node(tmp_path, store_url, sink=", conflict: replace")
    inbox = tmp_path / "esb-inbox"
    if not delivered_first:  # a folder where the file goes: every attempt fails (and is retried) until removed
        (inbox / "customers.jsonl").mkdir(parents=True)
    drop = tmp_path / "drop" / "customers.jsonl"
    original = binary_drop(drop)
    engine = make_engine(store_url)
    try:

        def ready() -> bool:
            found = forwards(engine)
            if not found:
                return False
            status = found[0][1]
            return status == "delivered" if delivered_first else bool(blob_ids(engine)) and status == "pending"

        _kill_when(_run(cfg, {"ESB_BRIDGE_FAILPOINTS": "before_ack=pause:120"}), engine, ready)
        assert drop.exists(), "killed before the acknowledge"
        assert len(blob_ids(engine)) == (0 if delivered_first else 1)
        if not delivered_first:
            (inbox / "customers.jsonl").rmdir()
        final = _run(cfg)
        assert final.wait(timeout=120) == 0, (cfg.parent / "bridge.log").read_text()[-3000:]
        [(mid, status)] = forwards(engine)
        assert status == "delivered" and blob_ids(engine) == []
        with engine.connect() as conn:
            messages = conn.scalar(select(func.count()).select_from(t.messages).where(t.messages.c.kind == "forward"))
            attempts = conn.scalar(
                select(func.count())
                .select_from(t.attempts)
                .join(t.deliveries)
                .where(t.deliveries.c.message_id == mid, t.attempts.c.status == "delivered")
            )
        assert (messages, attempts) == (1, 1)
    finally:
        engine.dispose()
    assert sorted(p.name for p in inbox.iterdir()) == ["customers.jsonl"]
    assert (inbox / "customers.jsonl").read_bytes() == original
    assert not drop.exists()


def test_a_forward_not_loaded_yet_is_read_from_its_old_spool_file(store_url: str, tmp_path: Path) -> None:
    """Without a blob, the bytes of a forward recorded before the upgrade stream from its old spool file; with
    neither, the delivery fails with an error naming both (never an empty file)."""
    from bridge.runtime.forward import forwarded_bytes
    from bridge.store.blobs import BlobMissing
    from bridge.store.ledger import open_ledger

    old = tmp_path / "old-spool"
    old.write_bytes(b"\x00\xffbytes of the old spool")
    payload = orjson.dumps({"spool": str(old), "name": "x.dat", "media_type": None}).decode()
    with open_ledger(store_url, SimulatedClock()) as ledger:
        body = forwarded_bytes(ledger, "00000000-0000-0000-0000-000000000001", payload)
        assert body.streamed and body.size == old.stat().st_size and body.media_type == "application/octet-stream"
        with body.open() as stream:
            assert stream.read() == old.read_bytes()
        old.unlink()
        with pytest.raises(BlobMissing, match="nor in its old spool file"):
            forwarded_bytes(ledger, "00000000-0000-0000-0000-000000000001", payload)
