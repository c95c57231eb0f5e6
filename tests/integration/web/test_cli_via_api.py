"""With ``api:`` configured, the CLI's write commands go through the admin API under a token (real server).

The audit log then names the token's identity, not a self-declared ``ESB_BRIDGE_ACTOR``; a role the API
refuses is refused at the CLI too; ``--direct`` writes to the ledger itself (full trust).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge.cli.main import cli
from bridge.ports import SimulatedClock
from tests.integration.web.conftest import World, served_world

CLOUD = "    cloud: {encoder: {kind: json}, sink: {kind: file, path: cloud-out}}\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("cli-api")
    with served_world(tmp, f"sqlite:///{tmp / 'ledger.db'}", SimulatedClock(), extra="api: {}\n", cloud=CLOUD) as w:
        yield w


def _cli(world: World, *args: str, role: str | None = None, url: str | None = None) -> Result:
    env = {"ESB_BRIDGE_ACTOR": "self-declared", "ESB_BRIDGE_API_URL": url or world.server.url}
    env["ESB_BRIDGE_API_TOKEN"] = world.tokens[role] if role else ""
    cfg = world.ctx.loaded.file
    return CliRunner().invoke(cli, ["--config", str(cfg), *args], env=env, catch_exceptions=False)


def _audit(world: World) -> list[dict[str, Any]]:
    with world.client("viewer") as c:
        return [json.loads(line) for line in c.get("/api/v1/audit").text.splitlines() if line.strip()]


def test_cutover_writes_go_through_the_api_under_the_tokens_identity(world: World) -> None:
    lead = "migration_lead"
    r = _cli(world, "cutover", "set", "customers", "--mode", "legacy_primary", "--reason", "start", "--json", role=lead)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["mode"] == "legacy_primary"
    last = _audit(world)[-1]
    assert last["actor"] == "token:t-migration_lead" and last["action"].startswith("cutover.")

    r = _cli(world, "cutover", "set", "customers", "--mode", "cloud_primary", "--json", role="migration_lead")
    assert r.exit_code == 3, r.output  # the gate is closed: refused with its readiness, as without the API
    assert json.loads(r.stdout)["ok"] is False and "readiness" in json.loads(r.stdout)

    r = _cli(world, "cutover", "rollback", "customers", "--reason", "back", role="viewer")
    assert r.exit_code == 1 and "refused" in r.output
    r = _cli(world, "cutover", "rollback", "customers", "--reason", "back", role="migration_lead")
    assert r.exit_code == 1 and "no promotion to roll back" in r.output  # the API's own refusal, passed on
    r = _cli(world, "cutover", "set", "customers", "--mode", "legacy_only", "--reason", "back", role=lead)
    assert r.exit_code == 0 and "now legacy_only" in r.output, r.output
    assert _audit(world)[-1]["actor"] == "token:t-migration_lead"


def test_dead_letter_writes_go_through_the_api(world: World) -> None:
    with world.client("viewer") as c:
        open_ids = [d["id"] for d in c.get("/api/v1/dead-letters").json()]
    assert open_ids
    dl = str(open_ids[0])
    r = _cli(world, "dlq", "assign", dl, "--owner", "finance-ops", role="operator")
    assert r.exit_code == 0, r.output
    assert _audit(world)[-1]["actor"] == "token:t-operator"
    r = _cli(world, "dlq", "discard", dl, "--reason", "duplicate upstream", role="viewer")
    assert r.exit_code == 1 and "refused" in r.output
    r = _cli(world, "dlq", "discard", dl, "--reason", "duplicate upstream", role="operator")
    assert r.exit_code == 0, r.output
    last = _audit(world)[-1]
    assert last["actor"] == "token:t-operator" and "discard" in last["action"]


def test_no_token_is_refused_with_the_way_out_and_direct_is_full_trust(world: World, tmp_path: Path) -> None:
    r = _cli(world, "cutover", "rollback", "customers", "--reason", "x")
    assert r.exit_code == 2
    assert "ESB_BRIDGE_API_TOKEN" in r.output and "--direct" in r.output

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    r = _cli(world, "dlq", "assign", "1", "--owner", "x", role="operator", url=dead)
    assert r.exit_code == 1 and "cannot reach the admin API" in r.output

    r = _cli(world, "--direct", "dlq", "assign", "1", "--owner", "me")
    assert r.exit_code == 0, r.output
    assert _audit(world)[-1]["actor"] == "self-declared"
