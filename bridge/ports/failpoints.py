"""Failpoints: named places where a test can pause the process or SIGKILL it, to prove crash safety.

``ESB_BRIDGE_FAILPOINTS`` names the points and what happens there, comma-separated:

* ``before_ack=pause:30`` sleeps 30 real seconds at ``before_ack`` (a test watching the ledger kills then);
* ``after_send=kill`` SIGKILLs the process the first time ``after_send`` is reached, ``after_chunk=kill:3``
  the third time (a kill in the middle of a stream of chunks, claims, files).

``ESB_BRIDGE_FAILPOINT_MARKERS`` (a folder) makes every triggered point write a hit marker there (a file named
after the point, holding the pid) before it acts, so the fault suite can fail on a kill point never reached.

Tests only: nothing in a config file sets these. Unset (production), :func:`failpoint` is a function that
returns at once (no lookup, no lock). Failpoints never change what the code does, they only stop it. They live
in ``bridge.ports`` so that the store and the adapters, which may import nothing above the ports, can have them.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FAILPOINTS", "MARKERS", "failpoint"]

#: the environment variables (tests only)
FAILPOINTS = "ESB_BRIDGE_FAILPOINTS"
MARKERS = "ESB_BRIDGE_FAILPOINT_MARKERS"


@dataclass
class _Action:
    kind: str  # "pause" | "kill"
    arg: float
    hits: int = 0


def _parse(spec: str) -> dict[str, _Action]:
    out: dict[str, _Action] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, action = part.partition("=")
        kind, _, arg = action.partition(":")
        if kind in ("pause", "kill"):
            out[name] = _Action(kind, float(arg or "1"))
    return out


_POINTS = _parse(os.environ.get(FAILPOINTS, ""))
_MARKERS = os.environ.get(MARKERS, "")
_LOCK = threading.Lock()


def _mark(name: str) -> None:
    if not _MARKERS:
        return
    folder = Path(_MARKERS)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _armed(name: str) -> None:
    action = _POINTS.get(name)
    if action is None:
        return
    with _LOCK:
        action.hits += 1
        due = action.kind == "pause" or action.hits == int(action.arg)
        if due:
            _mark(name)
        if due and action.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)  # the signal is delivered at once; nothing after this point runs
    if action.kind == "pause":
        time.sleep(action.arg)


def _off(name: str) -> None:
    """No failpoint is set: nothing to do."""


#: ``failpoint(name)``: pause or kill here when a test asked for it; a no-op otherwise
failpoint = _armed if _POINTS else _off
