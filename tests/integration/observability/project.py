"""One interface ``customers`` (folder drop -> jsonl -> a legacy sink) as these tests' bridge.yaml."""

from __future__ import annotations

from pathlib import Path


def write_config(tmp_path: Path, legacy_sink: str, *, top: str = "", interface: str = "") -> Path:
    """``bridge.yaml`` in ``tmp_path`` (SQLite ledger there); ``top``/``interface`` are extra YAML lines of the
    file and of the interface, already indented."""
    cfg = tmp_path / "bridge.yaml"
    cfg.write_text(
        f"""
store: "sqlite:///{tmp_path / "ledger.db"}"
spool_dir: spool
{top}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy: {{encoder: {{kind: json}}, sink: {legacy_sink}}}
    cutover: {{mode: legacy_only}}
{interface}
""",
        encoding="utf-8",
    )
    return cfg
