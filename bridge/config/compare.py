"""The ``compare:`` section of an interface's config: declarative comparison rules, validated once at load.

```yaml
compare:
  ignore: [cloud_id, "**.created_at"]
  tolerance: {"lines.*.tax_amount": 0.01, payable_amount: {abs: 0.01, rel: 0.0005}}
  normalise: {name: [case, whitespace], updated_at: [timezone], "lines.*.tax_category": ["code:tax"]}
  code_tables: {tax: {S: standard, VAT: standard}}
  keyed_lists: {lines: line_id}
  critical: [payable_amount, "lines.*.quantity"]
  scale: [payable_amount]            # decimals compare by value (100.00 == 100) unless listed here
  accepted: [{path: name, owner: crm-team, reason: "cloud truncates names to 35", expires: 2026-12-31}]
  sensitive: [tax_id, "**.email"]
  settle: 10m
  baseline: on                       # read the legacy side twice; fields that differ there are noise
```
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.config.types import Duration

__all__ = ["AcceptedDifference", "CompareRules", "NoiseRule", "Tolerance"]

Normaliser = str  # case | whitespace | timezone | code:<table>


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Tolerance(_Model):
    """Numbers within ``abs`` of each other, or within ``rel`` of the larger magnitude, are equal."""

    abs: float = Field(0.0, ge=0)
    """Largest absolute difference counted as equal."""
    rel: float = Field(0.0, ge=0)
    """Largest difference relative to the larger magnitude counted as equal."""

    def __str__(self) -> str:
        return "tolerance(" + ", ".join(f"{k}={v:g}" for k, v in (("abs", self.abs), ("rel", self.rel)) if v) + ")"


class AcceptedDifference(_Model):
    """A known, explained difference: counted apart from mismatches until it expires."""

    path: str
    """Field path (dotted, * for list items, ** for any depth) of the accepted difference."""
    owner: str
    """Who accepted it (team or person)."""
    reason: str
    """Why the difference is acceptable."""
    expires: date
    """Date after which the difference counts as a mismatch again."""
    legacy: Any = None
    """When given, only this legacy value is accepted."""
    cloud: Any = None
    """When given, the difference is accepted only for exactly these values."""


class NoiseRule(_Model):
    """A field differing in at least ``min_share`` of ``min_pairs``+ pairs with ``min_distinct``+ values on one
    side is probable noise (generated ids, timestamps)."""

    min_pairs: int = Field(20, ge=1)
    """Compared pairs needed before a field can be called noise."""
    min_share: float = Field(0.5, gt=0, le=1)
    """Share of pairs in which the field must differ."""
    min_distinct: int = Field(10, ge=2)
    """Distinct values needed on one side."""


class CompareRules(_Model):
    ignore: tuple[str, ...] = ()
    """Field paths left out of the comparison (dotted, * for list items, ** for any depth)."""
    tolerance: dict[str, Tolerance] = Field(default_factory=dict)
    """Numeric tolerance per field path: a number (absolute) or {abs, rel}."""
    normalise: dict[str, tuple[Normaliser, ...]] = Field(default_factory=dict)
    """Normalisers per field path applied before comparing: case, whitespace, timezone, code:<table>."""
    code_tables: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Code tables by name (value -> canonical value) used by code:<table> normalisers."""
    keyed_lists: dict[str, str] = Field(default_factory=dict)
    """Lists compared by a key field instead of by position (list path -> key field)."""
    critical: tuple[str, ...] = ()
    """Field paths whose difference is always a mismatch and blocks readiness."""
    scale: tuple[str, ...] = ()
    """Decimal field paths compared with their scale too (100.00 differs from 100); others compare by value."""
    accepted: tuple[AcceptedDifference, ...] = ()
    """Known, explained differences counted apart from mismatches until they expire."""
    sensitive: tuple[str, ...] = ()
    """Field paths whose values are masked in reports and the ledger."""
    noise: NoiseRule = NoiseRule()
    """When a frequently differing field is reported as probable noise."""
    settle: Duration = 600.0
    """How long to wait for the other side (or an observation) before a message is an orphan."""
    readback_source: Literal["readback", "response"] = "readback"
    """Read-back level bytes: the path's ReadBack plugin, or the target's response body to the delivery."""
    baseline: Literal["off", "on"] = "off"
    """on: the read-back level reads the legacy target twice (two read-backs of the same record, legacy vs
    legacy); fields that differ between the two are noise (generated ids, read timestamps), recorded with the
    comparison but not counted as mismatches. Needs a legacy ReadBack plugin; costs one more legacy read per
    compared record. Critical fields are never cancelled."""

    @field_validator("tolerance", mode="before")
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: {"abs": x} if isinstance(x, int | float) else x for k, x in v.items()}
        return v

    @field_validator("baseline", mode="before")
    @classmethod
    def _switch(cls, v: Any) -> Any:
        """YAML 1.1 reads a bare ``on``/``off`` as a boolean."""
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("normalise", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: [x] if isinstance(x, str) else x for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _known_normalisers(self) -> CompareRules:
        for path, names in self.normalise.items():
            for n in names:
                if n in ("case", "whitespace", "timezone"):
                    continue
                if n.startswith("code:") and n[5:] in self.code_tables:
                    continue
                raise ValueError(f"normalise.{path}: unknown normaliser {n!r} (case, whitespace, timezone, code:<t>)")
        if self.baseline == "on" and self.readback_source == "response":
            raise ValueError("baseline: on reads the legacy target twice; it needs readback_source: readback")
        return self
