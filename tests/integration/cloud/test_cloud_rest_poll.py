"""RestPollSource against the simulator: pagination styles, cursor only on acknowledge, overlap, SIGKILL resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.cloud.auth import AuthConfig, OAuth2Config
from adapters.cloud.rest_poll import CURSOR_KEY, RestPollSource, RestPollSourceConfig
from bridge.ports import IdentityRule, SourceContext, TargetUnavailable
from bridge.testing import MemorySourceLedger
from samples.cloud_sim import FaultRule, SimServer

ROOT = Path(__file__).resolve().parents[3]


def seed(sim: SimServer, n: int, prefix: str = "C") -> list[str]:
    keys = [f"{prefix}{i:03d}" for i in range(n)]
    for key in keys:
        sim.state.create("customers", {"external_id": key, "name": key}, None)
    return keys


@pytest.fixture
def poller(sim: SimServer, source_context: SourceContext) -> Iterator[Any]:
    opened: list[RestPollSource] = []

    def make(**kw: Any) -> RestPollSource:
        source = RestPollSource(RestPollSourceConfig(url=sim.url + "/v1/customers", **kw)).__enter__()
        source.open(source_context)
        opened.append(source)
        return source

    yield make
    for source in opened:
        source.__exit__(None, None, None)


def drain(source: RestPollSource, *, ack: bool = True) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for envelope in source.poll():
        assert envelope.identity_rule is IdentityRule.CHANGE
        items += json.loads(envelope.body or b"[]")
        if ack:
            source.acknowledge(envelope)
    return items


@pytest.mark.parametrize("style", ["cursor", "page", "offset", "link"])
def test_every_pagination_style_reads_everything_in_order(
    sim: SimServer, poller: Any, ledger: MemorySourceLedger, style: str
) -> None:
    """Each pagination style yields every changed record once, oldest first, and the cursor ends at the last."""
    keys = seed(sim, 23)
    source = poller(pagination=style, page_size=5)
    items = drain(source)
    assert [i["external_id"] for i in items] == keys
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) == items[-1]["updated_at"]
    assert len([r for r in sim.state.requests if r.method == "GET"]) == 5  # 5 pages, no extra empty-page request


def test_cursor_moves_only_on_acknowledge_and_in_order(sim: SimServer, poller: Any, ledger: MemorySourceLedger) -> None:
    """No acknowledge, no cursor; a later page acknowledged first does not move it past an earlier one."""
    seed(sim, 10)
    source = poller(page_size=5)
    first, second = list(source.poll())
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) is None
    source.acknowledge(second)
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) is None
    source.acknowledge(first)
    assert ledger.get_cursor("cloud-test", CURSOR_KEY) == second.metadata["watermark"]


def test_overlap_window_and_idle_repoll(sim: SimServer, poller: Any, ledger: MemorySourceLedger) -> None:
    """The next poll asks from cursor minus overlap; pages already acknowledged are not handed on again."""
    seed(sim, 6)
    source = poller(page_size=10, overlap=30)
    assert len(drain(source)) == 6
    cursor = ledger.get_cursor("cloud-test", CURSOR_KEY)
    assert cursor is not None
    assert drain(source) == []  # the same page re-read through the overlap: already acknowledged
    asked = parse_qs([r for r in sim.state.requests if r.method == "GET"][-1].query)["updated_since"][0]
    assert datetime.fromisoformat(asked) == datetime.fromisoformat(cursor) - timedelta(seconds=30)
    sim.state.touch("customers", "C002", name="renamed")
    changed = drain(source)
    assert [(i["external_id"], i["version"]) for i in changed][-1] == ("C002", 2)


def test_rate_limited_poll_raises_retryable(sim: SimServer, poller: Any) -> None:
    """A 429 while polling raises TargetUnavailable carrying the Retry-After."""
    seed(sim, 3)
    sim.state.add_fault(FaultRule(path_prefix="/v1/customers", method="GET", status=429, retry_after="4", count=1))
    source = poller()
    with pytest.raises(TargetUnavailable) as info:
        drain(source)
    assert info.value.retry_after == 4.0


def test_oauth2_poll(sim: SimServer, poller: Any) -> None:
    """Polling an API that needs OAuth2 fetches a token once and reuses it across pages."""
    seed(sim, 12)
    sim.state.config.auth_required = True
    auth = AuthConfig(
        oauth2=OAuth2Config(token_url=sim.url + "/oauth/token", client_id="bridge", client_secret="s3cret")
    )  # type: ignore[arg-type]
    assert len(drain(poller(auth=auth, page_size=5))) == 12
    assert sim.state.tokens_issued == 1


def _settled_request_count(sim: SimServer, quiet: float = 0.5) -> int:
    """The number of logged requests once no new one arrived for ``quiet`` seconds."""
    count, since = len(sim.state.requests), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        if len(sim.state.requests) != count:
            count, since = len(sim.state.requests), time.monotonic()
    return count


def test_cursor_resumes_after_sigkill(sim: SimServer, tmp_path: Path) -> None:
    """A poller killed with SIGKILL mid-feed resumes from its durable cursor: nothing lost, nothing twice."""
    keys = seed(sim, 40)
    sim.state.add_fault(FaultRule(path_prefix="/v1/customers", method="GET", latency=0.15))
    db, records = tmp_path / "ledger.json", tmp_path / "records.txt"
    cmd = [
        sys.executable,
        "-m",
        "tests.integration.cloud.cloud_poll_child",
        sim.url,
        str(db),
        str(tmp_path),
        str(records),
    ]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        for _ in range(3):
            assert child.stdout.readline().startswith("acked")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    ledger = MemorySourceLedger(db)
    cursor = ledger.get_cursor("poll-kill", CURSOR_KEY)
    last = sim.state.find("customers", keys[-1])
    assert cursor is not None and last is not None and cursor < last["updated_at"]
    first_run = _settled_request_count(sim)  # the killed child's last request may still be landing
    sim.state.clear_faults()
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True, cwd=ROOT)
    assert rerun.stdout.strip().endswith("done")
    assert rerun.stdout.count("acked") <= 6  # 40 records, 5 a page: the first 3 pages were not read again
    resumed = parse_qs(sim.state.requests[first_run].query)
    assert resumed["updated_since"] == [datetime.fromisoformat(cursor).isoformat()]
    committed = set(records.read_text().splitlines())  # one per record identity, as the runtime's ledger keeps
    assert sorted(k.split(":")[0] for k in committed) == keys  # each record exactly once
    last = sim.state.find("customers", keys[-1])
    assert last is not None and ledger.get_cursor("poll-kill", CURSOR_KEY) == last["updated_at"]
