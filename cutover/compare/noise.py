"""Statistical noise: fields that differ in most pairs and take many distinct values on one side.

Generated ids and timestamps differ in nearly every pair and almost never repeat; real mapping errors
differ in some pairs with few distinct values. A field is flagged as *probable noise* with the figures that
made it so (pairs, share differing, distinct values per side); masked values count as one value, so a
sensitive field is never fingerprinted through its distinct count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.config.compare import NoiseRule

__all__ = ["NoiseFinding", "find_noise", "generalise"]

_INDEX = re.compile(r"(?<=\.)(?:\d+|key#\d+)(?=\.|$)")


def generalise(path: str) -> str:
    """``lines.3.amount`` -> ``lines.*.amount`` so all elements of a list count as one field."""
    return _INDEX.sub("*", path)


@dataclass(frozen=True)
class NoiseFinding:
    path: str
    pairs: int
    differing: int
    share: float
    distinct_legacy: int
    distinct_cloud: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def find_noise(pairs: int, entry_lists: Iterable[Iterable[Mapping[str, Any]]], rule: NoiseRule) -> list[NoiseFinding]:
    """``entry_lists``: the stored entries of each compared pair (``pairs`` = how many pairs were compared)."""
    if pairs < rule.min_pairs:
        return []
    differing: dict[str, int] = {}
    values: dict[str, tuple[set[str], set[str]]] = {}
    for entries in entry_lists:
        seen: set[str] = set()
        for e in entries:
            p = generalise(str(e["path"]))
            if p not in seen:
                differing[p] = differing.get(p, 0) + 1
                seen.add(p)
            la, cl = values.setdefault(p, (set(), set()))
            la.add(repr(e.get("legacy")))
            cl.add(repr(e.get("cloud")))
    out = []
    for p, n in sorted(differing.items()):
        share = n / pairs
        la, cl = values[p]
        if share >= rule.min_share and max(len(la), len(cl)) >= rule.min_distinct:
            out.append(NoiseFinding(p, pairs, n, round(share, 4), len(la), len(cl)))
    return out
