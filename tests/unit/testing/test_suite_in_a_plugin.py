"""A third party's view of the kit: a test module that only subclasses a suite and provides its fixture.

Run by a separate pytest (as a plugin's own test run would be): the inherited tests are collected from the
``Test...`` subclass, get the fixture, pass for a correct adapter and fail for a broken one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MODULE = """
from contextlib import AbstractContextManager, nullcontext

import pytest

from bridge.ports import Delivery, Outcome, TargetUnavailable
from bridge.testing import RecordingSink, SinkContract, SinkPeer, contract_delivery


class Peer(SinkPeer):
    def __init__(self, count_calls):
        self.sink = RecordingSink()
        self.count_calls = count_calls

    def open_sink(self, *, broken=False):
        if broken:
            self.sink.respond = lambda d: Outcome.failed(TargetUnavailable("down"))
        else:
            self.sink.respond = lambda d: Outcome.delivered()
        return nullcontext(self.sink)

    def delivery(self, n):
        return contract_delivery(str(n).encode(), "text/plain", business_key=f"K{n}")

    def effects(self, delivery):
        if self.count_calls:  # a target that acts on every call: a repeat is a second effect
            return self.sink.calls_for(delivery.message_id)
        return [self.sink.effects[delivery.message_id]] if delivery.message_id in self.sink.effects else []

    def attempts(self):
        return len(self.sink.calls)


class TestIdempotentTarget(SinkContract):
    @pytest.fixture
    def sink_peer(self):
        return Peer(count_calls=False)


class TestTargetThatActsTwice(SinkContract):
    @pytest.fixture
    def sink_peer(self):
        return Peer(count_calls=True)
"""


def test_a_subclass_runs_the_suite_with_its_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_plugin_sink.py").write_text(MODULE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 1, run.stdout + run.stderr
    assert lines[-1].startswith("1 failed, 5 passed"), run.stdout
    failed = [line for line in lines if line.startswith("FAILED")]
    assert len(failed) == 1 and "TestTargetThatActsTwice::test_repeat_is_delivered_without_a_second_effect" in failed[0]
    assert "a repeat changed the peer" in run.stdout
