"""Noise cancellation by a baseline, as Twitter's Diffy does it: read the same record twice from the same target.

Two read-backs of one legacy record (legacy vs legacy) should be equal; a field that differs between them is
not something the migration can get right or wrong (a read timestamp, a generated id, a counter), so where the
same field differs between legacy and cloud that difference is noise, not a mismatch. The entries stay in the
stored comparison, flagged ``noise``, so the evidence is kept; :func:`cutover.compare.status_of` does not count
them. A critical field is never cancelled: it must match, however its legacy side behaves. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from cutover.compare.diff import Entry

__all__ = ["cancel_noise"]


def cancel_noise(entries: Iterable[Entry], baseline: Iterable[Entry]) -> list[str]:
    """Flag as noise every non-critical entry at or below a path that differs in ``baseline`` (the diff of two
    legacy read-backs); returns the baseline's paths (recorded with the comparison)."""
    paths = {e.path for e in baseline}
    if not paths:
        return []
    for e in entries:
        parts = e.path.split(".")
        if not e.critical and any(".".join(parts[:i]) in paths for i in range(1, len(parts) + 1)):
            e.noise = True
            e.rule = "baseline noise"
    return sorted(paths)
