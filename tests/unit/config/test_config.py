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


COMPARED = (
    IFACE.replace(
        "customers:\n", "customers:\n  cutover: {mode: dual_write, rollout: {percent: 5, rules: ['region in [EU]']}}\n"
    )
    + """  cloud:
    encoder: {kind: json}
    sink: {kind: file, path: cloud}
  compare:
    ignore: [cloud_id]
    tolerance: {payable_amount: 0.01}
    normalise: {name: case, tax: ["code:tax"]}
    code_tables: {tax: {S: standard}}
    settle: 5m
"""
)


def test_compare_and_cutover_blocks_are_typed_models_after_load(tmp_path: Path) -> None:
    """The ``compare:`` and ``cutover:`` blocks load as validated models (shorthands expanded, durations in s)."""
    (tmp_path / "bridge.yaml").write_text("interfaces:\n" + "".join("  " + ln + "\n" for ln in COMPARED.splitlines()))
    iface = load_config(tmp_path / "bridge.yaml", env={"DROP_DIR": "d"}).config.interfaces["customers"]
    assert iface.compare.settle == 300.0
    assert iface.compare.tolerance["payable_amount"].abs == 0.01
    assert iface.compare.normalise["name"] == ("case",)
    assert iface.cutover.mode == "dual_write"
    assert iface.cutover.rollout is not None and str(iface.cutover.rollout.rules[0]) == "region in [EU]"


@pytest.mark.parametrize(
    ("bad", "wrong", "path", "line"),
    [
        ("    settle: 5m\n", "    settle: soon\n", "interfaces.customers.compare.settle", 17),
        (
            "    ignore: [cloud_id]\n",
            "    ignore: [cloud_id]\n    ignroe: [x]\n",
            "interfaces.customers.compare.ignroe",
            14,
        ),
        ("normalise: {name: case,", "normalise: {name: shout,", "interfaces.customers.compare", 12),
        ("percent: 5,", "percent: 500,", "interfaces.customers.cutover.rollout.percent", 2),
    ],
)
def test_an_invalid_compare_or_cutover_block_fails_at_load_with_its_line(
    tmp_path: Path, bad: str, wrong: str, path: str, line: int
) -> None:
    """A wrong value in ``compare:``/``cutover:`` is a config problem naming its YAML path, file and line."""
    inc = tmp_path / "interfaces" / "customers.yaml"
    inc.parent.mkdir()
    (tmp_path / "bridge.yaml").write_text(BASE)
    assert bad in COMPARED
    inc.write_text(COMPARED.replace(bad, wrong))
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "bridge.yaml", env={"DROP_DIR": "d"})
    assert [(p.path, p.file, p.line) for p in err.value.problems] == [(path, str(inc), line)]


def test_store_url_is_relative_to_the_config_file(tmp_path: Path) -> None:
    """A relative SQLite file lives next to the config; absolute files, memory and other URLs stay as they are."""
    cfg = tmp_path / "conf" / "bridge.yaml"
    cfg.parent.mkdir()
    for store, want in (
        ("sqlite:///data/x.db", f"sqlite:///{(cfg.parent / 'data' / 'x.db').resolve()}"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ):
        cfg.write_text(f"store: '{store}'\n")
        assert load_config(cfg, env={}).store_url() == want
