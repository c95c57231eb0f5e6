"""Failpoints: a no-op function when unset; ``kill:N`` SIGKILLs on the N-th hit after writing its hit marker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CHILD = """
from bridge.ports.failpoints import failpoint
print(failpoint.__name__, flush=True)
for i in range(3):
    failpoint("here")
    print("passed", i, flush=True)
"""


def _child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ESB_BRIDGE_")}
    return subprocess.run([sys.executable, "-c", CHILD], env={**clean, **env}, capture_output=True, text=True)


def test_unset_is_a_no_op_function() -> None:
    """With no failpoint set, ``failpoint`` is the function that returns at once (no lookup, no lock)."""
    done = _child({})
    assert done.returncode == 0 and done.stdout.split("\n")[0] == "_off"
    assert done.stdout.count("passed") == 3


def test_kill_on_the_nth_hit_writes_the_marker_first(tmp_path: Path) -> None:
    """``here=kill:2``: the first hit passes, the second writes ``markers/here`` (the pid) and SIGKILLs."""
    done = _child({"ESB_BRIDGE_FAILPOINTS": "here=kill:2", "ESB_BRIDGE_FAILPOINT_MARKERS": str(tmp_path / "m")})
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.count("passed") == 1
    assert (tmp_path / "m" / "here").read_text().isdigit()


def test_other_points_are_not_armed(tmp_path: Path) -> None:
    """A point that is not named runs through, and leaves no marker."""
    done = _child({"ESB_BRIDGE_FAILPOINTS": "elsewhere=kill", "ESB_BRIDGE_FAILPOINT_MARKERS": str(tmp_path / "m")})
    assert done.returncode == 0 and done.stdout.count("passed") == 3 and not (tmp_path / "m").exists()
