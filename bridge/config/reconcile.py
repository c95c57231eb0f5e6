"""The ``reconcile:`` block of an interface: how its records are counted and summed per business date.

The ledger side reads both values from each delivered record's canonical payload (dotted paths such as
``issue_date`` and ``payable_amount``); the target side from the path's ``listing:`` block. Validated once
at load, with YAML line numbers, like every block.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.config.types import Duration

__all__ = ["ReconcileConfig"]


class ReconcileConfig(BaseModel):
    """Per business date: counts and amount sums of what each path delivered, against its target's listing."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    date: str | None = None
    """Dotted path of the record's business date in the canonical record (e.g. issue_date); unset: every record
    counts under one undated bucket."""
    amount: str | None = None
    """Dotted path of the amount summed per business date (e.g. payable_amount); unset: counts only."""
    every: Duration | None = None
    """Reconcile on this schedule from `esb-bridge run` (a duration such as 1h or 1d); unset: only on demand
    (`esb-bridge reconcile`)."""
    max_detail: int = Field(1000, ge=0, le=100_000)
    """Most per-key differences kept per path and run (the counts and sums always cover every record)."""

    @field_validator("date", "amount")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(not part for part in value.split("."))):
            raise ValueError(f"{value!r} is not a dotted path (e.g. issue_date or totals.payable)")
        return value
