"""Noise you can act on: the legacy-vs-legacy baseline cancels fields that differ between two read-backs, and
a field accepted as noise in the ledger stops counting until its expiry (SQLite + PG)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import orjson
from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli.main import cli
from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import KindConfig, Outcome, Plugin, PluginContext, PluginRole, SimulatedClock
from bridge.runtime.runner import Runner
from bridge.store import schema as t
from cutover.reports import build_report
from tests.integration.cutover.conftest import write_customers


class StampingReadBackConfig(KindConfig):
    kind: Literal["stamping-readback"]
    path: str


class StampingReadBack:
    """A fake of our ReadBack port for a legacy system that reports a fresh ``updated_at`` on every read (as
    systems do that stamp the read time): what the file target holds, with a new timestamp per call."""

    def __init__(self, config: StampingReadBackConfig, context: PluginContext) -> None:
        self.dir = context.resolve(config.path)
        self.reads = itertools.count(1)

    def read_back(self, business_key: str, outcome: Outcome) -> bytes | None:
        path = self.dir / str(outcome.target_id)
        if not outcome.target_id or not path.exists():
            return None
        doc = orjson.loads(path.read_bytes())
        doc["updated_at"] = f"2026-01-05T09:{next(self.reads) % 60:02d}:00+00:00"
        return orjson.dumps(doc)


registry.register(Plugin(PluginRole.READBACK, "stamping-readback", StampingReadBackConfig, StampingReadBack))

LEGACY = """
      encoder: {kind: json}
      sink: {kind: file, path: out/legacy}
      project: {kind: canonical-json}
      readback: {kind: stamping-readback, path: out/legacy}"""


def _readback_config(two_path_config: Callable[..., Path], compare: str) -> Path:
    cfg = two_path_config(legacy=LEGACY, compare=compare)
    cfg.write_text(
        cfg.read_text().replace(
            "sink: {kind: file, path: out/cloud}",
            "sink: {kind: file, path: out/cloud}\n      readback: {kind: folder-readback, path: out/cloud}",
        )
    )
    return cfg


def _rows(runner: Runner, level: str) -> dict[str, tuple[str, Any]]:
    c = t.comparisons
    with runner.ledger.engine.connect() as conn:
        rows = conn.execute(select(c.c.business_key, c.c.status, c.c.diff).where(c.c.level == level)).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def _run(cfg: Path, clock: SimulatedClock, edit_cloud: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deliver, optionally edit one cloud record, compare; the read-back rows and the interface's report."""
    with Runner(load_config(cfg), clock) as runner:
        runner.poll_all()
        runner.deliver_round()
        if edit_cloud is not None:  # a real difference next to the noise: edited in the cloud after delivery
            held = next(p for p in (cfg.parent / "out" / "cloud").glob("*.json") if edit_cloud in p.read_text())
            held.write_bytes(orjson.dumps({**orjson.loads(held.read_bytes()), "name": "Edited In Cloud UI"}))
        runner.compare_round()
        return _rows(runner, "readback"), build_report(runner.ledger, runner.loaded)["interfaces"]["customers"]


def test_a_field_differing_between_two_legacy_readbacks_is_noise_not_a_mismatch(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """baseline: on reads legacy twice; updated_at differs there, so its legacy-vs-cloud difference is kept as
    noise and the pair matches, while a real edit of another field is still a mismatch (and not cancelled)."""
    cfg = _readback_config(two_path_config, "{baseline: on}")
    write_customers(tmp_path / "drop" / "a.jsonl", [1, 2])
    rows, report = _run(cfg, clock, edit_cloud="C-00002")
    status, diff = rows["C-00001"]
    assert status == "match"
    assert diff["baseline"] == {"paths": ["updated_at"]}
    [entry] = diff["entries"]
    assert entry["path"] == "updated_at" and entry["noise"] is True and entry["rule"] == "baseline noise"
    status2, diff2 = rows["C-00002"]
    assert status2 == "mismatch"
    assert {e["path"]: e.get("noise", False) for e in diff2["entries"]} == {"name": False, "updated_at": True}
    assert report["baseline_noise"] == [{"path": "updated_at", "count": 2}]
    assert report["top_fields"] == [{"path": "name", "count": 1, "critical": False}]


def test_with_the_baseline_off_the_same_field_is_a_mismatch(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """The same targets with baseline off (the default): the read timestamp counts as a mismatch."""
    cfg = _readback_config(two_path_config, "{baseline: off}")
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    rows, _ = _run(cfg, clock)
    status, diff = rows["C-00001"]
    assert status == "mismatch" and "baseline" not in diff
    assert [(e["path"], e.get("noise")) for e in diff["entries"]] == [("updated_at", None)]


def test_a_critical_field_is_never_cancelled_by_the_baseline(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """A critical field must match whatever its legacy side does: differing in the baseline does not cancel it."""
    cfg = _readback_config(two_path_config, "{baseline: on, critical: [updated_at]}")
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    rows, _ = _run(cfg, clock)
    status, diff = rows["C-00001"]
    assert status == "mismatch" and diff["entries"][0].get("noise") is None


def _cli(cfg: Path, *args: str) -> Any:
    res = CliRunner().invoke(cli, ["--config", str(cfg), *args], env={"ESB_BRIDGE_ACTOR": "ana"})
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout) if "--json" in args else res.stdout


def test_an_accepted_noise_rule_stops_counting_and_expires(
    tmp_path: Path, two_path_config: Callable[..., Path], clock: SimulatedClock
) -> None:
    """`shadow accept-noise` stores an audited rule; the field's differences are recorded accepted (who, why)
    until the expiry day, and count as mismatches again from the day after."""
    cfg = two_path_config(cloud_encoder="{kind: mangle, set: {legal_name: Generated-Legal-Name}}")
    write_customers(tmp_path / "drop" / "a.jsonl", [1])
    with Runner(load_config(cfg), clock) as runner:
        runner.run_once()
        assert _rows(runner, "payload")["C-00001"][0] == "mismatch"
        out = _cli(
            cfg, "shadow", "accept-noise", "customers", "legal_name", "--owner", "crm-team",
            "--reason", "cloud generates it", "--expires", "2027-01-31", "--json",
        )  # fmt: skip
        assert (out["path"], out["owner"], out["accepted_by"], out["expires"]) == (
            "legal_name",
            "crm-team",
            "ana",
            "2027-01-31",
        )
        write_customers(tmp_path / "drop" / "b.jsonl", [2])
        runner.run_once()
        status, diff = _rows(runner, "payload")["C-00002"]
        assert status == "accepted"
        assert diff["entries"][0]["accepted"] == {
            "owner": "crm-team",
            "reason": "accepted noise: cloud generates it",
            "expires": "2027-01-31",
        }
        clock.advance(timedelta(days=400))  # 2027-02-09: past the expiry
        write_customers(tmp_path / "drop" / "c.jsonl", [3])
        runner.run_once()
        status3, diff3 = _rows(runner, "payload")["C-00003"]
        assert status3 == "mismatch" and diff3["entries"][0]["rule"] == "accepted difference expired 2027-01-31"
        audit = [e for e in runner.ledger.audit_entries() if e["action"] == "shadow.accept_noise"]
    assert [(a["actor"], a["subject"], a["reason"]) for a in audit] == [
        ("ana", "interface:customers", "cloud generates it")
    ]
    listed = _cli(cfg, "shadow", "noise-rules", "--json")
    assert [(r["path"], r["expired"]) for r in listed] == [("legal_name", False)]  # the CLI reads the real clock


def test_accept_noise_refuses_a_past_expiry_and_an_unknown_interface(
    tmp_path: Path, two_path_config: Callable[..., Path]
) -> None:
    """An expiry before today or an interface the config does not know is a usage error; nothing is stored."""
    cfg = two_path_config()
    base = ["--config", str(cfg), "shadow", "accept-noise"]
    opts = ["--owner", "o", "--reason", "r"]
    past = CliRunner().invoke(cli, [*base, "customers", "name", *opts, "--expires", "2020-01-01"])
    assert past.exit_code == 2 and "before today" in past.output
    unknown = CliRunner().invoke(cli, [*base, "nope", "name", *opts, "--expires", "2099-01-01"])
    assert unknown.exit_code == 2 and "unknown interface" in unknown.output
    assert _cli(cfg, "shadow", "noise-rules", "--json") == []
