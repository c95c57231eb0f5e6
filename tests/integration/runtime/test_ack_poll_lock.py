"""``acknowledge: on_delivery`` never uses a source while its poll runs (issue 17 hole).

The housekeeping thread acknowledged settled batches while a poll of the same interface was running on the
same source object (for SFTP: the same session, which is not thread-safe). The real folder source is watched
here: its second poll blocks mid-way; an acknowledgement attempted meanwhile must wait for the poll to end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bridge.config import load_config
from bridge.ports import Envelope, SimulatedClock
from bridge.runtime.runner import Runner
from tests.integration.runtime.conftest import write_customers


def test_an_acknowledgement_waits_for_the_running_poll(
    tmp_path: Path, make_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    cfg = make_config("{kind: file, path: out}")
    mode = "    cutover: {mode: legacy_only}"
    cfg.write_text(cfg.read_text().replace(mode, f"{mode}\n    acknowledge: on_delivery"))
    write_customers(tmp_path / "drop" / "c.jsonl", 3)
    polling = threading.Event()
    release = threading.Event()
    acks: list[bool] = []  # for each acknowledgement: was a poll running?
    with Runner(load_config(cfg), clock) as runner:
        source = runner.interfaces["customers"].source
        real_poll, real_ack = source.poll, source.acknowledge

        def slow_poll() -> Iterator[Envelope]:
            polling.set()
            release.wait(10)
            yield from real_poll()
            polling.clear()

        def watched_ack(envelope: Envelope) -> None:
            acks.append(polling.is_set())
            real_ack(envelope)

        source.acknowledge = watched_ack  # type: ignore[method-assign]
        runner.poll("customers")
        runner.deliver_round()
        source.poll = slow_poll  # type: ignore[method-assign]
        second = threading.Thread(target=runner.poll, args=("customers",))
        second.start()
        assert polling.wait(10)
        assert runner.acknowledge_settled() == 0, "acknowledged while the interface's poll was running"
        release.set()
        second.join(10)
        assert runner.acknowledge_settled() == 1
    assert acks == [False]
    assert not (tmp_path / "drop" / "c.jsonl").exists(), "the settled file was acknowledged (moved) in the end"
