"""`esb-bridge dlq replay` refuses to put an old version back over a newer one delivered since."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from bridge.store.dlq import StaleReplay
from bridge.store.queries import dead_letters
from samples.demo_app.generate import customer
from tests.integration.runtime.conftest import ScriptedSink


def test_dlq_replay_of_a_stale_version_is_refused_unless_forced_with_a_reason(
    tmp_path: Path, make_config: Callable[..., Path], scripted: dict[str, Any], clock: SimulatedClock
) -> None:
    """v1 of a key dies, v2 is delivered: replaying v1 is refused; --force --reason replays it, audited."""
    scripted["legacy"] = {"steps": ["reject"], "then": "ok"}
    cfg = make_config("{kind: scripted, name: legacy}")
    rows = []
    for v in (1, 2):
        row = customer(random.Random(7), 1)
        row["name"] = f"v{v}"
        rows.append(json.dumps(row))
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "c.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        [dl] = dead_letters(runner.ledger.engine)
    assert [d.business_key for d in ScriptedSink.CALLS["legacy"]] == ["C-00001", "C-00001"]
    env = {"ESB_BRIDGE_ACTOR": "ops"}
    refused = CliRunner().invoke(cli, ["--config", str(cfg), "dlq", "replay", str(dl["id"])], env=env)
    assert isinstance(refused.exception, StaleReplay), refused.output
    assert "--force --reason" in str(refused.exception)
    assert len(ScriptedSink.CALLS["legacy"]) == 2
    forced = CliRunner().invoke(
        cli,
        ["--config", str(cfg), "dlq", "replay", str(dl["id"]), "--force", "--reason", "v2 went to the wrong tenant"],
        env=env,
    )
    assert forced.exit_code == 0, forced.output
    assert [json.loads(d.payload.body)["name"] for d in ScriptedSink.CALLS["legacy"]][-1] == "v1"
    with Runner(load_config(cfg), clock) as runner, runner.ledger.engine.connect() as conn:
        [event] = conn.execute(select(t.audit_events)).all()
    assert (event.actor, event.action, event.reason) == ("ops", "dlq.replay", "v2 went to the wrong tenant")
    assert event.detail["forced"] is True
