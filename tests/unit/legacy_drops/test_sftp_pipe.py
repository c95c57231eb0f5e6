"""The SFTP channel's receive buffer keeps paramiko's BufferedPipe contract, at a cost per byte read."""

from __future__ import annotations

import threading
import time

import pytest
from paramiko.buffered_pipe import BufferedPipe, PipeTimeout

from adapters.legacy.sftp_pipe import ChunkedPipe, install


@pytest.mark.parametrize("pipe_type", [BufferedPipe, ChunkedPipe])
def test_reads_return_fed_bytes_in_order_across_packet_boundaries(pipe_type: type) -> None:
    """Reads of any size return exactly the fed bytes, in order, splitting and joining packets."""
    pipe = pipe_type()
    fed = [bytes([i]) * (1000 + i * 37) for i in range(50)]
    for packet in fed:
        pipe.feed(packet)
    expected = b"".join(fed)
    assert len(pipe) == len(expected)
    got = b""
    for size in [1, 999, 1000, 4096, 3, 65536] * 20:
        if not pipe.read_ready():
            break
        got += pipe.read(size)
    got += pipe.empty()
    assert got == expected
    assert len(pipe) == 0 and not pipe.read_ready()


@pytest.mark.parametrize("pipe_type", [BufferedPipe, ChunkedPipe])
def test_timeout_close_and_event_match_bufferedpipe(pipe_type: type) -> None:
    """An empty pipe times out; a reader blocked on it wakes with data; after close it drains, then gives b""."""
    pipe = pipe_type()
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.0)
    with pytest.raises(PipeTimeout):
        pipe.read(10, timeout=0.05)
    event = threading.Event()
    pipe.set_event(event)
    assert not event.is_set()
    threading.Timer(0.05, pipe.feed, args=(b"late",)).start()
    started = time.monotonic()
    assert pipe.read(10, timeout=5) == b"late"
    assert time.monotonic() - started < 4
    assert not event.is_set()  # drained
    pipe.feed(b"tail")
    assert event.is_set()
    pipe.close()
    assert pipe.read(2) == b"ta"
    assert pipe.read(10) == b"il"
    assert pipe.read(10) == b""
    assert event.is_set()


def test_close_wakes_a_blocked_reader() -> None:
    """A reader waiting without timeout returns b"" when the channel closes (no hang)."""
    pipe = ChunkedPipe()
    threading.Timer(0.05, pipe.close).start()
    assert pipe.read(10) == b""


def test_read_cost_does_not_grow_with_the_backlog() -> None:
    """Reading 256 KiB from 64 MiB of backlog costs about what it costs from 1 MiB of backlog.

    BufferedPipe moves the whole backlog on each read; this is the property the swap exists for.
    """

    def cost(backlog_mb: int) -> float:
        pipe = ChunkedPipe()
        packet = b"x" * 32768
        for _ in range(backlog_mb * 32):
            pipe.feed(packet)
        started = time.process_time()
        for _ in range(4):
            pipe.read(262144)
        return time.process_time() - started

    small = min(cost(1) for _ in range(3))
    large = min(cost(64) for _ in range(3))
    assert large < small * 10 + 0.003


def test_install_refuses_a_channel_that_already_has_data() -> None:
    """Swapping the buffer after data arrived would lose it: refused."""

    class Channel:
        def __init__(self) -> None:
            self.in_buffer = BufferedPipe()

    channel = Channel()
    install(channel)
    assert isinstance(channel.in_buffer, ChunkedPipe)
    channel.in_buffer.feed(b"data")
    with pytest.raises(RuntimeError, match="before the channel receives data"):
        install(channel)
