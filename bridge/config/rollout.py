"""Rollout inside ``cloud_primary``: a stable percentage bucket per business key plus attribute rules.

The bucket is ``sha256("interface:business_key")`` mapped onto [0, 100): a key is in the rollout when its
bucket is below the percentage, so raising the percentage only ever adds keys (monotone by construction)
and the same key always lands in the same bucket on every node and run. Attribute rules (``region in [EU]``,
``customer_id in [C-1, C-2]``, ``country not in [FR]``) restrict the rollout to matching records first.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AttributeRule", "Rollout", "RolloutDecision", "bucket", "parse_rule"]

_RULE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s+(in|not in)\s+\[(.*)\]\s*$")


def bucket(interface: str, business_key: str) -> float:
    """The key's stable position in [0, 100), with 1e-6 resolution (64 bits of SHA-256)."""
    digest = hashlib.sha256(f"{interface}:{business_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0


class AttributeRule(BaseModel):
    """``attribute in [values]`` / ``attribute not in [values]``; the attribute is a dotted record path."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    attribute: str
    """Dotted record path of the attribute tested."""
    negate: bool = False
    """True for 'not in'."""
    values: tuple[str, ...]
    """Values the attribute is tested against."""

    def matches(self, record: Any) -> bool:
        found = {str(v) for v in _values_at(record, self.attribute.split("."))}
        hit = bool(found & set(self.values))
        return hit != self.negate

    def __str__(self) -> str:
        return f"{self.attribute} {'not in' if self.negate else 'in'} [{', '.join(self.values)}]"


def parse_rule(text: str) -> AttributeRule:
    """``region in [EU, UK]`` -> :class:`AttributeRule`; raises ``ValueError`` naming the expected form."""
    m = _RULE.match(text)
    if not m:
        raise ValueError(f"rollout rule {text!r}: expected 'attribute in [a, b]' or 'attribute not in [a]'")
    values = tuple(v.strip().strip("'\"") for v in m.group(3).split(",") if v.strip())
    return AttributeRule(attribute=m.group(1), negate=m.group(2) == "not in", values=values)


def _values_at(node: Any, parts: list[str]) -> list[Any]:
    """Every value at a dotted path; lists fan out (``addresses.region`` looks at each address)."""
    if not parts:
        if isinstance(node, list | tuple):
            return list(node)
        return [] if node is None else [node]
    if isinstance(node, list | tuple):
        return [v for item in node for v in _values_at(item, parts)]
    head, rest = parts[0], parts[1:]
    child = node.get(head) if isinstance(node, Mapping) else getattr(node, head, None)
    return [] if child is None else _values_at(child, rest)


@dataclass(frozen=True)
class RolloutDecision:
    """Whether a key is in the rollout, and the figures that decided it (recorded with the message)."""

    included: bool
    bucket: float
    reason: str

    def __str__(self) -> str:
        return f"{'in' if self.included else 'out'}:{self.reason}"


class Rollout(BaseModel):
    """Which share of ``cloud_primary`` traffic really goes cloud-first; the rest stays ``legacy_primary``."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    percent: float = Field(100.0, ge=0.0, le=100.0)
    """Share (0..100) of business keys, by stable hash bucket, routed cloud-first."""
    rules: tuple[AttributeRule, ...] = ()
    """Attribute rules ('region in [EU]', 'country not in [FR]') a record must meet first."""

    @field_validator("rules", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):
            return tuple(parse_rule(x) if isinstance(x, str) else x for x in v)
        return v

    def decide(self, interface: str, business_key: str, record: Any) -> RolloutDecision:
        b = bucket(interface, business_key)
        for rule in self.rules:
            if not rule.matches(record):
                return RolloutDecision(False, b, f"rule '{rule}' not met")
        if b < self.percent:
            return RolloutDecision(True, b, f"bucket {b:.4f} < {self.percent:g}%")
        return RolloutDecision(False, b, f"bucket {b:.4f} >= {self.percent:g}%")
