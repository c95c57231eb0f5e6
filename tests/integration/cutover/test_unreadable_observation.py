"""Issue 17, hole "unreadable observations are acknowledged with a log line only": kept and replayable.

An observation of the old ESB's output that the legacy projection cannot read is acknowledged at its
source; it used to leave nothing but a log line (no orphan, no dead letter, nothing to replay). Now it is an
``observation`` dead letter holding its bytes, and ``dlq replay`` projects it again with the current config.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.replay import replay
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from tests.integration.cutover.conftest import write_customers
from tests.integration.cutover.test_pairing import OBSERVED, _observe, _pairing


def test_an_unreadable_observation_is_dead_lettered_with_its_bytes_and_replayed(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """The legacy projection reads a field the old ESB's output lacks: a dead letter keeps the observation;
    after the projection is fixed, ``dlq replay`` pairs it with the bridge's message."""
    broken = tmp_path / "observed-broken.yaml"
    broken.write_text(
        "canonical: Customer\nformat: json\nfields:\n  customer_number: {path: number, required: true}\n"
        "  name: {path: name, required: true}\n",
        encoding="utf-8",
    )
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    _observe(tmp_path, 1)
    body = (tmp_path / "observed" / "cust-1.json").read_bytes()
    legacy = OBSERVED.replace("project: {kind: canonical-json}", f'project: {{kind: json, mapping: "{broken}"}}')
    with Runner(load_config(two_path_config(legacy=legacy, compare="{settle: 10m}")), clock) as runner:
        runner.run_once()
        assert _pairing(runner) == {}
        with runner.ledger.engine.connect() as conn:
            (dl,) = conn.execute(select(t.dead_letters)).all()
    assert dl.kind == "observation" and dl.status == "open"
    assert dl.fragment.encode() == body, "the observation's bytes are not kept"
    with Runner(load_config(two_path_config(legacy=OBSERVED, compare="{settle: 10m}")), clock) as runner:
        result = replay(runner, int(dl.id), "tester")
        runner.compare_round()
        paired = _pairing(runner)
        with runner.ledger.engine.connect() as conn:
            status = conn.scalar(select(t.dead_letters.c.status).where(t.dead_letters.c.id == dl.id))
    assert result["result"] == "paired" and status == "replayed"
    assert paired["C-00001"][0] == "paired"
