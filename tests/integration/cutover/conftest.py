"""Fixtures for cutover tests: a `mangle` encoder (a fake of our Encoder port that changes chosen fields, as a
second mapping would) and a config writer for a two-path interface with canonical-json projections."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
from pydantic import Field

from bridge.plugins import registry
from bridge.ports import EncodeContext, Encoded, KindConfig, Outcome, Plugin, PluginContext, PluginRole, Record
from samples.demo_app.generate import customer


class MangleConfig(KindConfig):
    kind: Literal["mangle"]
    set: dict[str, Any] = Field(default_factory=dict)
    truncate: dict[str, int] = Field(default_factory=dict)
    only_keys: list[str] | None = None


class MangleEncoder:
    """Canonical JSON with fields overwritten/truncated (for `only_keys` business keys, else all)."""

    def __init__(self, config: MangleConfig, context: PluginContext) -> None:
        self.config = config

    def encode(self, record: Record, context: EncodeContext) -> Encoded:
        data = record.model_dump(mode="json")
        if self.config.only_keys is None or context.business_key in self.config.only_keys:
            for k, n in self.config.truncate.items():
                data[k] = str(data[k])[:n]
            data.update(self.config.set)
        return Encoded(orjson.dumps(data, option=orjson.OPT_SORT_KEYS), "application/json")


MANGLE = Plugin(PluginRole.ENCODER, "mangle", MangleConfig, MangleEncoder)
registry.register(MANGLE)


def write_customers(path: Path, numbers: list[int], **overrides: Any) -> Path:
    rng = random.Random(11)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({**customer(rng, n), **overrides}) for n in numbers]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tmp.rename(path)
    return path


@pytest.fixture
def two_path_config(tmp_path: Path, store_url: str) -> Callable[..., Path]:
    """bridge.yaml with interface `customers`: legacy json -> file, cloud `cloud_encoder` -> file, projections."""

    def make(
        mode: str = "legacy_primary",
        cloud_encoder: str = "{kind: json}",
        compare: str = "{}",
        cutover_extra: str = "",
        legacy: str | None = None,
        project: bool = True,
        every: str = "60s",
    ) -> Path:
        proj = "\n      project: {kind: canonical-json}" if project else ""
        legacy_block = (
            legacy
            or f"""
      encoder: {{kind: json}}
      sink: {{kind: file, path: out/legacy}}{proj}"""
        )
        text = f"""
store: "{store_url}"
spool_dir: spool
retry: {{initial: 1s, multiplier: 2, jitter: 0, max_attempts: 3, max_delay: 10s}}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    schedule: {{every: {every}}}
    legacy:{legacy_block}
    cloud:
      encoder: {cloud_encoder}
      sink: {{kind: file, path: out/cloud}}{proj}
    cutover: {{mode: {mode}, shadow: live{cutover_extra}}}
    compare: {compare}
"""
        cfg = tmp_path / "bridge.yaml"
        cfg.write_text(text, encoding="utf-8")
        return cfg

    return make


class FolderReadBackConfig(KindConfig):
    kind: Literal["folder-readback"]
    path: str


class FolderReadBack:
    """A fake of our ReadBack port: what a file target holds now, found by the outcome's target id."""

    def __init__(self, config: FolderReadBackConfig, context: PluginContext) -> None:
        self.dir = context.resolve(config.path)

    def read_back(self, business_key: str, outcome: Outcome) -> bytes | None:
        path = self.dir / str(outcome.target_id)
        return path.read_bytes() if outcome.target_id and path.exists() else None


registry.register(Plugin(PluginRole.READBACK, "folder-readback", FolderReadBackConfig, FolderReadBack))
