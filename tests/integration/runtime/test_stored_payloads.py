"""Where the delivery side spends its work: stored payloads are loaded without their business rules, and
encoding happens at delivery with the path's current encoder, so a replay after a mapping fix sends what the
fixed mapping makes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.replay import replay
from bridge.runtime.runner import Runner
from bridge.store.queries import dead_letters
from tests.integration.runtime.conftest import ScriptedSink, write_customers

MAPPING = """
canonical: Customer
format: json
fields:
  customer_number: id
  name: {field}
"""


def test_a_replay_after_a_mapping_fix_is_encoded_with_the_fixed_mapping(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """The target rejects bodies made by the wrong mapping; after the mapping is fixed (and the config loaded
    again), the replayed delivery carries the fixed mapping's body, not the one made at the first attempt."""
    mapping = tmp_path / "customer-out.yaml"
    mapping.write_text(MAPPING.format(field="title"), encoding="utf-8")
    scripted["legacy"] = {"then": "reject"}
    cfg = make_config("{kind: scripted, name: legacy}")
    cfg.write_text(
        cfg.read_text().replace("encoder: {kind: json}", f'encoder: {{kind: json-mapped, mapping: "{mapping}"}}'),
        encoding="utf-8",
    )
    write_customers(tmp_path / "drop" / "c.jsonl", 1)
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        [dl] = dead_letters(runner.ledger.engine)
    [first] = ScriptedSink.CALLS["legacy"]
    assert set(json.loads(first.payload.body)) == {"id", "title"}
    mapping.write_text(MAPPING.format(field="display_name"), encoding="utf-8")
    scripted["legacy"] = {"then": "ok"}
    with Runner(load_config(cfg), clock) as runner:
        replay(runner, dl["id"], "tester")
        runner.drain()
        assert dead_letters(runner.ledger.engine) == []
    _, again = ScriptedSink.CALLS["legacy"]
    assert json.loads(again.payload.body) == {"id": "C-00001", "display_name": json.loads(first.payload.body)["title"]}
