"""Fixtures for runtime tests: a scripted sink plugin (a fake of our Sink port) and config writers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

import pytest

from bridge.plugins import registry
from bridge.ports import Delivery, KindConfig, Outcome, Plugin, PluginContext, PluginRole, Rejected, TargetUnavailable
from samples.demo_app.generate import customer


class ScriptedConfig(KindConfig):
    kind: Literal["scripted"]
    name: str


class ScriptedSink:
    """Plays a per-name script of outcomes ('fail', 'reject', 'ok'); after the script: SCRIPTS[name]['then']."""

    SCRIPTS: ClassVar[dict[str, dict[str, Any]]] = {}
    CALLS: ClassVar[dict[str, list[Delivery]]] = {}
    LOCK = threading.Lock()

    def __init__(self, config: ScriptedConfig, context: PluginContext) -> None:
        self.name = config.name
        self.target = context.target

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def deliver(self, delivery: Delivery) -> Outcome:
        with self.LOCK:
            calls = self.CALLS.setdefault(self.name, [])
            calls.append(delivery)
            script = self.SCRIPTS[self.name]
            steps: list[str] = script.setdefault("steps", [])
            step = steps.pop(0) if steps else script.get("then", "ok")
        if step == "fail":
            return Outcome.failed(TargetUnavailable("scripted 503"))
        if step == "reject":
            return Outcome.rejected(Rejected("scripted 422: customer unknown"), response=b'{"error":"unknown"}')
        return Outcome.delivered(target_id=f"id-{delivery.business_key}", response=b'{"ok":true}')


SCRIPTED = Plugin(PluginRole.SINK, "scripted", ScriptedConfig, ScriptedSink)
registry.register(SCRIPTED)


@pytest.fixture
def scripted() -> dict[str, dict[str, Any]]:
    ScriptedSink.SCRIPTS.clear()
    ScriptedSink.CALLS.clear()
    return ScriptedSink.SCRIPTS


def write_customers(path: Path, n: int, start: int = 1, bad_lines: dict[int, str] | None = None) -> Path:
    """A JSON-lines drop of ``n`` valid customers (seeded), with optional bad lines at given positions."""
    import random

    rng = random.Random(7)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps(customer(rng, i)) for i in range(start, start + n)]
    for pos, text in sorted((bad_lines or {}).items()):
        rows.insert(pos, text)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tmp.rename(path)
    return path


def customers_config(
    folder: Path,
    store: str,
    sink: str,
    extra_path: str = "",
    extra: str = "",
    *,
    mode: str = "legacy_only",
    head: str = "",
) -> Path:
    """``folder/bridge.yaml``: interface ``customers`` (drop/*.jsonl -> json -> ``sink``) on ``store``;
    ``extra_path`` follows the legacy sink line, ``extra`` the interface's block, ``head`` the top-level keys."""
    cfg = folder / "bridge.yaml"
    cfg.write_text(
        f"""
store: "{store}"
spool_dir: spool
{head}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {sink}{extra_path}
    cutover: {{mode: {mode}}}{extra}
""",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture
def make_config(tmp_path: Path, store_url: str) -> Callable[..., Path]:
    """Write a bridge.yaml with one interface ``customers`` (folder -> jsonl -> legacy/cloud sinks)."""

    def make(legacy_sink: str, cloud_sink: str | None = None, mode: str = "legacy_only", extra: str = "") -> Path:
        cloud = (
            f"""
    cloud:
      encoder: {{kind: json}}
      sink: {cloud_sink}
      xref: {{entity: customer, system: cloud-crm}}"""
            if cloud_sink
            else ""
        )
        retry = "retry: {initial: 1s, multiplier: 2, jitter: 0, max_attempts: 5, max_delay: 60s}"
        return customers_config(tmp_path, store_url, legacy_sink, cloud, "\n" + extra, mode=mode, head=retry)

    return make
