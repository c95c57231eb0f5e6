"""``esb-bridge cloud check INTERFACE SAMPLE...``: decode with the interface's decoder, encode, validate; no I/O."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from samples.demo_app.generate import customer

SPEC = Path(__file__).resolve().parents[3] / "samples" / "cloud_sim" / "openapi.yaml"


def write(tmp_path: Path, operation: str) -> tuple[Path, Path]:
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: rest, url: "http://127.0.0.1:9/v1/customers", openapi: "{SPEC}", operation: {operation}}}
    cutover: {{mode: cloud_only}}
""",
        encoding="utf-8",
    )
    rng = random.Random(3)
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(customer(rng, n)) for n in (1, 2)) + "\n", encoding="utf-8")
    return cfg, sample


def run(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(cfg), "cloud", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_mapping_that_breaks_the_contract_is_reported_per_record(tmp_path: Path) -> None:
    """Canonical JSON sent to createCustomer breaks its schema: each record's violations are listed, exit 1."""
    cfg, sample = write(tmp_path, "createCustomer")
    result = run(cfg, "customers", str(sample), "--json")
    assert result.returncode == 1, result.stderr
    problems = json.loads(result.stdout)["results"][str(sample)]
    assert {p["record"] for p in problems} == {0, 1}
    assert {p["business_key"] for p in problems} == {"C-00001", "C-00002"}
    assert any(p["field"] == "(body)" and "external_id" in p["message"] for p in problems)


def test_mapping_that_fits_passes(tmp_path: Path) -> None:
    """The same records against an operation they fit: exit 0, and nothing is sent (the URL is a dead port)."""
    cfg, sample = write(tmp_path, "ingestDocument")
    result = run(cfg, "customers", str(sample))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{sample}: ok" in result.stdout
