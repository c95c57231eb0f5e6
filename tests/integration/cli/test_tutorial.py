"""docs/tutorial.md's own `sh` blocks, run in order from an empty folder: the tutorial cannot rot."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[3] / "docs" / "tutorial.md"


def shell_blocks(text: str) -> list[str]:
    """The body of every fenced block opened with exactly ```sh, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    """All shell blocks run under `set -eu` (any failing command fails the test) and do what the text says."""
    blocks = shell_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    script = "set -eu\n" + "\n".join(blocks)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("ESB_BRIDGE_CONFIG", None)
    res = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    shop = tmp_path / "shop"
    assert len(list((shop / "out" / "customers").glob("*.json"))) == 2  # part 1
    assert len(list((shop / "out" / "legacy").glob("*.json"))) == 5
    assert len(list((shop / "out" / "cloud").glob("*.json"))) == 5
    report = json.loads((shop / "report.json").read_text())
    assert report["interfaces"]["customers"]["compared"] == 5
    assert (shop / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "READY" in res.stdout and "customers: now dual_write" in res.stdout
    assert "by tutorial: five of five matched in the shadow" in res.stdout
    assert "nothing will be compared" not in res.stderr
