"""The composition root builds what the shadow comparison needs, with the paths, without opening anything."""

from __future__ import annotations

from pathlib import Path

from bridge.config import load_config
from bridge.ports import PathName, Projector, SimulatedClock, Source
from bridge.runtime.wiring import build_interfaces, compared_interfaces

CONFIG = """
store: "sqlite:///ledger.db"
interfaces:
  both:
    canonical: Customer
    source: {kind: folder, path: drop}
    decoder: {kind: jsonl}
    legacy:
      encoder: {kind: json}
      sink: {kind: file, path: out/legacy}
      project: {kind: canonical-json}
    cloud:
      encoder: {kind: json}
      sink: {kind: file, path: out/cloud}
    cutover: {mode: dual_write}
  forwarded:
    canonical: Customer
    source: {kind: folder, path: drop2}
    decoder: {kind: jsonl}
    legacy:
      kind: forward
      sink: {kind: file, path: out/esb}
      observe: {kind: folder, path: esb-out}
      project: {kind: canonical-json}
    cloud:
      encoder: {kind: json}
      sink: {kind: file, path: out/cloud2}
      project: {kind: canonical-json}
    cutover: {mode: dual_write}
  alone:
    canonical: Customer
    source: {kind: folder, path: drop3}
    decoder: {kind: jsonl}
    legacy:
      encoder: {kind: json}
      sink: {kind: file, path: out/alone}
      project: {kind: canonical-json}
      observe: {kind: folder, path: never}
"""


def test_compared_interfaces_carry_the_built_projectors_and_observer(tmp_path: Path) -> None:
    """Two-path interfaces get their projectors (None where not configured) and a forward path its observer."""
    (tmp_path / "bridge.yaml").write_text(CONFIG)
    interfaces = build_interfaces(load_config(tmp_path / "bridge.yaml", env={}), SimulatedClock())
    compared = compared_interfaces(interfaces)
    assert sorted(compared) == ["both", "forwarded"]
    both, fwd = compared["both"], compared["forwarded"]
    assert isinstance(both.projectors["legacy"], Projector) and both.projectors["cloud"] is None
    assert both.readbacks == {"legacy": None, "cloud": None}
    assert both.observe is None, "a run legacy path is not observed"
    assert all(isinstance(p, Projector) for p in fwd.projectors.values())
    assert isinstance(fwd.observe, Source)
    assert fwd.observe is interfaces["forwarded"].paths[PathName.LEGACY].observe
    assert both.config is interfaces["both"].config


def test_a_single_path_interface_builds_nothing_for_comparison(tmp_path: Path) -> None:
    """With one path there is nothing to compare: its project and observe blocks are not built."""
    (tmp_path / "bridge.yaml").write_text(CONFIG)
    path = build_interfaces(load_config(tmp_path / "bridge.yaml", env={}), SimulatedClock(), ["alone"])["alone"]
    legacy = path.paths[PathName.LEGACY]
    assert (legacy.projector, legacy.readback, legacy.observe) == (None, None, None)
