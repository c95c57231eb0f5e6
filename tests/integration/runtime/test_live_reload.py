"""Live reload under a real ``esb-bridge run`` (issue 16): an added interface is polled, a changed sink path is
used, a removed interface is reported with its open deliveries, an invalid config is refused while the
running one keeps working, and SIGTERM still stops the process cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.runtime.conftest import write_customers


def _config(cfg: Path, interfaces: dict[str, str]) -> None:
    """Write bridge.yaml with one folder -> jsonl -> file interface per (name, sink folder)."""
    body = "".join(
        f"""
  {name}:
    canonical: Customer
    schedule: {{every: 1s}}
    source: {{kind: folder, path: drop_{name}, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: file, path: {out}}}
    cutover: {{mode: legacy_only}}
"""
        for name, out in interfaces.items()
    )
    for name in interfaces:
        (cfg.parent / f"drop_{name}").mkdir(exist_ok=True)
    cfg.write_text(f"store: sqlite:///ledger.db\nspool_dir: spool\nshutdown_grace: 5s\ninterfaces:{body}", "utf-8")


class _Bridge:
    """A running ``esb-bridge run`` whose stderr is collected line by line."""

    def __init__(self, cfg: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "--config", str(cfg), "run"],
            cwd=cfg.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, what: Callable[[], bool], why: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert self.proc.poll() is None, f"the bridge exited ({self.proc.returncode}):\n{''.join(self.lines)}"
            assert time.monotonic() < deadline, f"timed out waiting for {why}:\n{''.join(self.lines[-40:])}"
            time.sleep(0.1)

    def said(self, text: str, times: int = 1) -> Callable[[], bool]:
        return lambda: sum(text in line for line in self.lines) >= times

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._reader.join(5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def _files(folder: Path) -> Callable[[], int]:
    return lambda: len(list(folder.glob("*.json"))) if folder.exists() else 0


def test_a_running_bridge_applies_valid_config_changes_and_refuses_invalid_ones(tmp_path: Path) -> None:
    cfg = tmp_path / "bridge.yaml"
    _config(cfg, {"a": "out/a"})
    bridge = _Bridge(cfg)
    try:
        bridge.wait_for(bridge.said("running 1 interface"), "the first start")
        write_customers(tmp_path / "drop_a" / "one.jsonl", 2)
        bridge.wait_for(lambda: _files(tmp_path / "out" / "a")() == 2, "2 files in out/a")

        # an interface is added: it is polled and delivers
        _config(cfg, {"a": "out/a", "b": "out/b"})
        bridge.wait_for(bridge.said("config change accepted: added b"), "the reload adding b")
        bridge.wait_for(bridge.said("running 2 interface"), "the second generation")
        write_customers(tmp_path / "drop_b" / "two.jsonl", 3)
        bridge.wait_for(lambda: _files(tmp_path / "out" / "b")() == 3, "3 files in out/b")

        # a sink path changes: the new path is used
        _config(cfg, {"a": "out/a2", "b": "out/b"})
        bridge.wait_for(bridge.said("changed a"), "the reload changing a")
        bridge.wait_for(bridge.said("running 2 interface", 2), "the third generation")
        write_customers(tmp_path / "drop_a" / "three.jsonl", 2, start=10)
        bridge.wait_for(lambda: _files(tmp_path / "out" / "a2")() == 2, "2 files in out/a2")
        assert _files(tmp_path / "out" / "a")() == 2, "the old sink path got records after the change"

        # an invalid config is refused; the running one keeps going
        cfg.write_text(cfg.read_text().replace("canonical: Customer", "canonical: Custommer", 1), "utf-8")
        bridge.wait_for(bridge.said("config change refused"), "the refusal")
        assert any("Custommer" in line for line in bridge.lines), "the refusal names the problem"
        write_customers(tmp_path / "drop_a" / "four.jsonl", 1, start=20)
        bridge.wait_for(lambda: _files(tmp_path / "out" / "a2")() == 3, "a third file in out/a2 after the refusal")

        # an interface is removed: reported with its open deliveries, the other one keeps running
        _config(cfg, {"a": "out/a2"})
        bridge.wait_for(bridge.said("removed from the config: 0 open"), "the removal report")
        bridge.wait_for(bridge.said("running 1 interface", 2), "the generation without b")
        write_customers(tmp_path / "drop_b" / "five.jsonl", 2, start=30)
        write_customers(tmp_path / "drop_a" / "six.jsonl", 1, start=40)
        bridge.wait_for(lambda: _files(tmp_path / "out" / "a2")() == 4, "a fourth file in out/a2")
        assert _files(tmp_path / "out" / "b")() == 3, "a removed interface was still polled"
    finally:
        code = bridge.stop()
    assert code == 0, "".join(bridge.lines[-30:])
