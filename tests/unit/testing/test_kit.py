"""The test kit's own doubles: the in-memory source ledger (and its file mirror) and the dead peer."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from bridge.ports import SourceLedger
from bridge.testing import BatchMark, DeadPeer, MemorySourceLedger


def test_memory_ledger_is_a_source_ledger() -> None:
    """States and cursors per (interface, id), with the history of marks and the count of cursor writes."""
    ledger = MemorySourceLedger()
    assert isinstance(ledger, SourceLedger)
    ledger.mark_batch("a", "b1", "spooled", origin="o")
    ledger.mark_batch("a", "b1", "acknowledged")
    ledger.set_cursor("a", "k", "1")
    ledger.set_cursor("a", "k", "2")
    assert (ledger.batch_state("a", "b1"), ledger.batch_state("other", "b1")) == ("acknowledged", None)
    assert (ledger.get_cursor("a", "k"), ledger.get_cursor("other", "k")) == ("2", None)
    assert ledger.states("b1") == ["spooled", "acknowledged"]
    assert ledger.history[0] == BatchMark("a", "b1", "spooled", "o", "")
    assert ledger.cursor_writes == 2


def test_memory_ledger_file_survives_a_new_instance(tmp_path: Path) -> None:
    """With a path, what one instance wrote is what the next (another process, after a kill) reads."""
    path = tmp_path / "ledger.json"
    first = MemorySourceLedger(path)
    first.mark_batch("i", "b", "acknowledged")
    first.set_cursor("i", "k", "v")
    second = MemorySourceLedger(path)
    assert second.batch_state("i", "b") == "acknowledged" and second.get_cursor("i", "k") == "v"
    second.set_cursor("i", "k", "w")
    assert first.get_cursor("i", "k") == "w"  # re-read on every call
    assert [m.state for m in first.history] == ["acknowledged"] and first.cursor_writes == 2
    assert not path.with_name("ledger.json.tmp").exists()


def test_memory_ledger_is_thread_safe() -> None:
    ledger = MemorySourceLedger()

    def mark(n: int) -> None:
        for i in range(200):
            ledger.mark_batch("i", f"{n}-{i}", "spooled")

    threads = [threading.Thread(target=mark, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.history) == len(ledger.batches) == 800


def test_dead_peer_counts_each_connection() -> None:
    with DeadPeer() as dead:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", dead.port), timeout=2) as s:
                assert s.recv(1) == b""  # closed before any byte
    assert dead.accepted == 3
