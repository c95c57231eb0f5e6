"""Failpoints: named places where a test can make the process pause, to widen a crash window.

``ESB_BRIDGE_FAILPOINTS="before_ack=pause:30"`` makes :func:`failpoint` sleep 30 real seconds at the
``before_ack`` point, so a crash test watching the ledger can SIGKILL the process exactly there. Unset (the
default) it costs one dict lookup. Only ``pause`` exists: failpoints never change what the code does.
"""

from __future__ import annotations

import os
import time

__all__ = ["failpoint"]


def _parse(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, action = part.partition("=")
        kind, _, arg = action.partition(":")
        if kind == "pause":
            out[name] = float(arg or "1")
    return out


_POINTS = _parse(os.environ.get("ESB_BRIDGE_FAILPOINTS", ""))


def failpoint(name: str) -> None:
    pause = _POINTS.get(name)
    if pause:
        time.sleep(pause)
