"""The cutover section of an interface: flag rules (mode, rollout, shadow), readiness gate and guard.

The rule models are part of the config schema (:mod:`bridge.config.cutover`), validated once at load; this
module names them for the cutover layer, with the modes' order.
"""

from __future__ import annotations

from bridge.config.cutover import FlagRules, GateRule, GuardRule
from bridge.config.types import MODES, Mode, rank

__all__ = ["MODES", "FlagRules", "GateRule", "GuardRule", "Mode", "rank"]
