"""Config loading: durations, environment secrets, includes, and problems reported with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_config, parse_duration
from bridge.ports import ConfigError

BASE = """store: sqlite:///x.db
include: [interfaces/*.yaml]
"""
IFACE = """customers:
  canonical: Customer
  source: {kind: folder, path: "${DROP_DIR}"}
  decoder: {kind: jsonl}
  legacy:
    encoder: {kind: json}
    sink: {kind: file, path: out}
"""


def test_durations() -> None:
    """Durations accept units and plain seconds, and refuse nonsense."""
    assert [parse_duration(v) for v in ("500ms", "30s", "5m", "2h", "1d", 7)] == [0.5, 30, 300, 7200, 86400, 7.0]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_includes_and_env_substitution(tmp_path: Path) -> None:
    """Interfaces come from included files; ${VAR} is filled from the environment."""
    (tmp_path / "interfaces").mkdir()
    (tmp_path / "bridge.yaml").write_text(BASE)
    (tmp_path / "interfaces" / "customers.yaml").write_text(IFACE)
    loaded = load_config(tmp_path / "bridge.yaml", env={"DROP_DIR": "/data/drop"})
    source = loaded.plugin("customers", ("source",))
    assert source is not None and source.model_dump()["path"] == "/data/drop"


def test_missing_env_and_unknown_kind_are_both_reported_with_their_file_and_line(tmp_path: Path) -> None:
    """A missing environment variable and an unknown kind in an included file are reported together."""
    (tmp_path / "interfaces").mkdir()
    (tmp_path / "bridge.yaml").write_text(BASE)
    inc = tmp_path / "interfaces" / "customers.yaml"
    inc.write_text(IFACE.replace("kind: jsonl", "kind: jsnol"))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "bridge.yaml", env={})
    found = {(p.path, p.file, p.line) for p in err.value.problems}
    assert ("interfaces.customers.source.path", str(inc), 3) in found
    assert ("interfaces.customers.decoder.kind", str(inc), 4) in found
    assert "DROP_DIR" in str(err.value)


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    """A wrong value is named by its path, never echoed (it may be a secret)."""
    (tmp_path / "bridge.yaml").write_text("store: sqlite:///x.db\nlease: s3cr3t-token\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "bridge.yaml", env={})
    assert "lease" in str(err.value) and "s3cr3t-token" not in str(err.value)
