"""The ``cutover:`` section of an interface's config: flag rules (mode, rollout, shadow), readiness gate, guard.

The YAML block is only the seed: once the ledger holds a flag for an interface, the ledger's versioned rules
(the same model, stored as JSON) are what routes. The gate and guard travel with the flag, so a changed
threshold is itself an audited, versioned change. Validated once, when the config is loaded.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.config.rollout import Rollout
from bridge.config.types import Duration, Mode

__all__ = ["FlagRules", "GateRule", "GuardRule"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class GateRule(_Model):
    """Readiness for a promotion past ``legacy_primary`` (all must hold)."""

    min_compared: int = Field(100, ge=0)
    """Compared messages needed before a promotion past legacy_primary."""
    min_days: float = Field(1.0, ge=0)
    """Days of evidence needed."""
    min_match: float = Field(0.99, ge=0, le=1)
    """Lowest acceptable match rate, checked on the Wilson lower bound at `confidence`."""
    confidence: float = Field(0.95, gt=0, lt=1)
    """Confidence level of the match-rate lower bound."""
    critical: tuple[str, ...] = ()
    """Field paths that must never have differed."""
    max_orphan_rate: float = Field(0.01, ge=0, le=1)
    """Highest share of messages seen on one path only."""
    error_margin: float = Field(0.0, ge=0, le=1)
    """Cloud's error rate may exceed legacy's by at most this much (0: not above)."""
    window: Duration | None = None
    """Only evidence newer than this counts (None: since the interface was first compared)."""
    backtest: Literal["accept", "ignore"] = "ignore"
    """Whether a backtest's verdict (`esb-bridge backtest`) may open this gate when the live evidence does not:
    `accept` lets a promotion rest on a backtest that would be ready (its audit entry names it in
    `evidence_from`); `ignore` counts live shadow evidence only."""


class GuardRule(_Model):
    """Automatic demotion when the authoritative cloud path misbehaves after a promotion."""

    window: Duration = 3600.0
    """Period over which the authoritative cloud path is watched after a promotion."""
    min_samples: int = Field(20, ge=1)
    """Messages needed in the window before the guard may act."""
    max_mismatch_rate: float = Field(0.2, ge=0, le=1)
    """Mismatch rate above which the interface is demoted."""
    max_error_rate: float = Field(0.1, ge=0, le=1)
    """Delivery error rate above which the interface is demoted."""
    demote_to: Mode = "legacy_primary"
    """Mode the guard demotes to."""


class FlagRules(_Model):
    """One version of an interface's flag: mode plus everything that decides per message."""

    mode: Mode = "legacy_only"
    """Cutover mode: legacy_only, legacy_primary, dual_write, cloud_primary, cloud_only."""
    legacy_feed: bool = True
    """In ``cloud_primary``: keep delivering to the real legacy target (as a non-blocking shadow), so a
    rollback to ``legacy_primary`` loses nothing. ``false`` runs that shadow to its sandbox or dry, and a
    rollback then needs a catch-up of the legacy system (docs/operations.md, "Rollback")."""
    rollout: Rollout | None = None
    """In cloud_primary: which share of business keys really goes cloud-first."""
    shadow: Literal["sandbox", "dry_run", "live"] = "sandbox"
    """A shadow path goes to its ``shadow_sink``; without one: ``dry_run`` (encode, no send) unless ``live``
    (the path's own sink is a safe target, e.g. a file drop nobody reads)."""
    gate: GateRule = GateRule()
    """Readiness gate for promotions (defaults: 100 compared, 1 day, match 0.99)."""
    guard: GuardRule | None = None
    """Automatic demotion when the cloud path misbehaves after a promotion; none when unset."""

    def public(self) -> dict[str, Any]:
        """JSON-able form (stored in ``flags.rules``)."""
        return self.model_dump(mode="json", exclude_defaults=False)
