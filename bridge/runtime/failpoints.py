"""The runtime's name for :mod:`bridge.ports.failpoints` (kept for the callers that import it from here)."""

from __future__ import annotations

from bridge.ports.failpoints import failpoint

__all__ = ["failpoint"]
