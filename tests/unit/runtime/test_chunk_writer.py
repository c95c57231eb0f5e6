"""The chunk writer: in order, on one thread, bounded, and nothing written after a failure."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.runtime.chunk_writer import ChunkWriter


def test_chunks_are_written_in_order_on_one_other_thread() -> None:
    written: list[int] = []
    threads: set[str] = set()

    def write(n: int) -> None:
        time.sleep(0.001 * (n % 3))  # uneven work must not reorder anything
        threads.add(threading.current_thread().name)
        written.append(n)

    writer: ChunkWriter[int] = ChunkWriter(write, name="record-test")
    for n in range(50):
        writer.submit(n)
    writer.close()
    assert written == list(range(50))
    assert threads == {"record-test"}


def test_the_decoder_waits_when_depth_chunks_are_queued() -> None:
    gate = threading.Event()
    writer: ChunkWriter[int] = ChunkWriter(lambda n: gate.wait(5), name="record-test", depth=2)
    writer.submit(1)  # taken by the writer, which blocks on the gate
    time.sleep(0.05)
    writer.submit(2)
    writer.submit(3)  # the queue is full now
    blocked = threading.Thread(target=writer.submit, args=(4,))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive(), "a fourth chunk was accepted with two waiting and one being written"
    gate.set()
    blocked.join(5)
    writer.close()


def test_an_error_is_raised_in_the_caller_and_nothing_is_written_after_it() -> None:
    written: list[int] = []
    failed = threading.Event()

    def write(n: int) -> None:
        if n == 2:
            failed.set()
            raise ConnectionError("ledger unreachable")
        written.append(n)

    writer: ChunkWriter[int] = ChunkWriter(write, name="record-test", depth=10)
    for n in range(5):
        writer.submit(n)
    failed.wait(5)
    with pytest.raises(ConnectionError, match="ledger unreachable"):
        writer.close()
    assert written == [0, 1]


def test_close_without_raising_after_the_callers_own_error() -> None:
    writer: ChunkWriter[int] = ChunkWriter(lambda n: (_ for _ in ()).throw(OSError("disk full")), name="t")
    writer.submit(1)
    writer.close(raise_error=False)  # the caller's error (a DecodeError) is the one that matters then
    writer.close()  # nothing left to raise
