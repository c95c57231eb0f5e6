"""A populated ledger served by the admin API on a real uvicorn server (127.0.0.1, ephemeral port).

The world: interface ``customers`` (folder -> jsonl -> a scripted legacy sink that rejects the first two
deliveries), one undecodable line (a record dead letter), ``contacts.*.email`` sensitive; one token per role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.runtime.runner import Runner
from bridge.web import ApiContext, ApiServer, Authenticator, create_app
from tests.integration.runtime.conftest import ScriptedSink, write_customers

ROLES = ("viewer", "operator", "migration_lead")


@dataclass
class World:
    runner: Runner
    server: ApiServer
    tokens: dict[str, str]
    ctx: ApiContext

    def client(self, role: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


def write_config(
    tmp: Path, store_url: str, extra: str = "", sink: str = "{kind: scripted, name: api-legacy}", cloud: str = ""
) -> Path:
    cfg = tmp / "bridge.yaml"
    cfg.write_text(
        f"""
store: "{store_url}"
spool_dir: spool
retry: {{initial: 1s, jitter: 0, max_attempts: 2}}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {sink}
{cloud}    cutover: {{mode: legacy_only}}
    compare: {{sensitive: ["contacts.*.email", "name"]}}
{extra}""",
        encoding="utf-8",
    )
    return cfg


@contextmanager
def served_world(tmp: Path, store_url: str, clock: SimulatedClock, extra: str = "", cloud: str = "") -> Iterator[World]:
    """Populate the ledger with one pass of the bridge, then serve the API over it until the block ends."""
    ScriptedSink.SCRIPTS["api-legacy"] = {"steps": ["reject", "reject"], "then": "ok"}
    ScriptedSink.CALLS.pop("api-legacy", None)
    write_customers(tmp / "drop" / "c.jsonl", 5, bad_lines={2: "{not json"})
    loaded = load_config(write_config(tmp, store_url, extra, cloud=cloud))
    with Runner(loaded, clock) as runner:
        runner.run_once(max_wait=0)
        tokens = {r: runner.ledger.create_token(f"t-{r}", r, created_by="test") for r in ROLES}
        ctx = ApiContext(
            loaded, runner.ledger, Authenticator(runner.ledger, loaded.config.api and loaded.config.api.oidc)
        )
        with ApiServer(create_app(ctx, metrics_cache=0.0), "127.0.0.1", 0) as server:
            yield World(runner, server, tokens, ctx)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One served world on SQLite for the read-only and permission tests of a module."""
    tmp = tmp_path_factory.mktemp("api")
    with served_world(tmp, f"sqlite:///{tmp / 'ledger.db'}", SimulatedClock()) as w:
        yield w
