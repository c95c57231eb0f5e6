"""``esb-bridge ledger stats|prune`` against a real ledger on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli.main import cli
from bridge.ports import SimulatedClock
from bridge.store import schema as t
from bridge.store.ledger import open_ledger
from bridge.store.records import DeliveryStatus
from tests.integration.store.conftest import Deliver, message
from tests.integration.store.test_retention import BIG


def _run(cfg: Path, *args: str) -> dict[str, object]:
    res = CliRunner().invoke(cli, ["--config", str(cfg), "ledger", *args, "--json"])
    assert res.exit_code == 0, res.output
    data: dict[str, object] = json.loads(res.output)
    return data


def test_stats_and_prune_commands(store_url: str, tmp_path: Path, deliver: Deliver, clock: SimulatedClock) -> None:
    """``stats`` reports rows per table; ``prune --dry-run`` counts, ``prune`` drops and is audited."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(f"store: {store_url}\n")
    [mid] = deliver([message(1, "a", paths=("legacy",), payload=BIG)], {"legacy": DeliveryStatus.DELIVERED})
    tables = _run(cfg, "stats")["tables"]
    assert isinstance(tables, dict) and tables["messages"]["rows"] == 1
    assert tables["messages"]["interfaces"]["i"]["rows"] == 1
    assert _run(cfg, "prune", "--older-than", "30", "--dry-run")["messages"] == 1
    assert _run(cfg, "prune", "--older-than", "3650")["messages"] == 0, "nothing that old"
    with open_ledger(store_url, clock, migrate=False) as led:
        assert not led.is_pruned(mid)
    done = _run(cfg, "prune", "--older-than", "30")
    assert done["messages"] == 1 and done["dry_run"] is False
    with open_ledger(store_url, clock, migrate=False) as led, led.engine.connect() as conn:
        assert led.is_pruned(mid)
        actions = conn.scalars(select(t.audit_events.c.action)).all()
    assert actions == ["ledger.prune"]
    human = CliRunner().invoke(cli, ["--config", str(cfg), "ledger", "stats"])
    assert human.exit_code == 0 and "messages" in human.output and "total:" in human.output
