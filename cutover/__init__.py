"""Cutover: ledger-backed flags, rollout, shadow comparison, readiness gates, audit and shadow reports.

Depends on ``bridge.canonical``, ``bridge.ports``, ``bridge.config`` (the YAML seed) and ``bridge.store``;
never on the runtime or an adapter. The runtime calls :class:`~cutover.router.FlagRouter` on the poll side
and :class:`~cutover.comparator.Comparator` after deliveries.
"""

from cutover.flags import MODES, Flag, FlagRules, FlagStore, flag_drift

__all__ = ["MODES", "Flag", "FlagRules", "FlagStore", "flag_drift"]
