"""Field-level comparison of two canonical projections under an interface's declarative rules.

``rules`` holds the rule model, ``paths`` the glob matcher, ``diff`` the engine, ``noise`` the statistical
noise detector. Values of sensitive fields are masked when an entry is created, so nothing downstream (the
ledger, reports, logs) ever holds them.
"""

from bridge.config.compare import AcceptedDifference, CompareRules, Tolerance
from cutover.compare.diff import MASK, Differ, Entry, status_of
from cutover.compare.noise import NoiseFinding, find_noise

__all__ = [
    "MASK",
    "AcceptedDifference",
    "CompareRules",
    "Differ",
    "Entry",
    "NoiseFinding",
    "Tolerance",
    "find_noise",
    "status_of",
]
