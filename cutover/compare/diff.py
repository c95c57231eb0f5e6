"""The diff engine: two canonical projections (JSON-like trees) -> a list of classified entries.

Equality first: canonical projections of matching documents are equal dicts, and every rule (ignore,
tolerance, normalisers, keyed lists) can only turn a difference into a non-difference, so ``a == b`` settles
the common case without walking. Decimals arrive as ``Decimal`` (:func:`bridge.canonical.value_tree`) and are
equal by value, ``100.00`` == ``100``; a ``scale`` rule is the one rule that adds differences (the scale of
the listed fields), so with scale rules the trees are walked. (Python's ``1 == True`` cannot bite here:
both sides are projected through the same canonical model, so a field has one JSON type on both sides.)
Only unequal pairs are walked, with per-path rule lookups cached.
Each entry: path, legacy value, cloud value, the rule that decided it, category
(value / missing / extra / type / order), whether the field is critical and, when an accepted difference
covers it, who accepted it and why. Sensitive values are masked here, at creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.canonical import value_text
from bridge.config.compare import AcceptedDifference, CompareRules, Tolerance
from cutover.compare.paths import PathMatcher, escape_segment

__all__ = ["MASK", "Differ", "Entry", "status_of"]

MASK = "***masked***"
_MISSING: Any = object()


@dataclass
class Entry:
    path: str
    legacy: Any
    cloud: Any
    category: str  # value | missing | extra | type | order
    rule: str | None = None
    critical: bool = False
    accepted: dict[str, str] | None = None
    noise: bool = False
    """The field differed between two read-backs of the same legacy record too (the baseline): kept for the
    record, not counted (:mod:`cutover.compare.baseline`)."""

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"noise": True} if self.noise else {}
        return {
            "path": self.path,
            "legacy": self.legacy,
            "cloud": self.cloud,
            "category": self.category,
            "rule": self.rule,
            "critical": self.critical,
            "accepted": self.accepted,
            **extra,
        }


def status_of(entries: list[Entry]) -> str:
    """``match`` (no entries but baseline noise), ``accepted`` (only accepted differences) or ``mismatch``."""
    counted = [e for e in entries if not e.noise]
    if not counted:
        return "match"
    return "accepted" if all(e.accepted for e in counted) else "mismatch"


def _number(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float | Decimal):
        return Decimal(str(v))
    if isinstance(v, str):
        try:
            return Decimal(v.strip())
        except InvalidOperation:
            return None
    return None


def _kind(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list | tuple):
        return "list"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float | Decimal):
        return "number"
    return "string" if isinstance(v, str) else type(v).__name__


class Differ:
    """Compiled rules of one interface; ``diff`` is pure and thread-safe apart from its path caches."""

    def __init__(self, rules: CompareRules, today: date) -> None:
        self.rules = rules
        self.today = today
        self._ignore = PathMatcher(rules.ignore)
        self._tol = PathMatcher(rules.tolerance)
        self._norm = PathMatcher(rules.normalise)
        self._keyed = PathMatcher(rules.keyed_lists)
        self._critical = PathMatcher(rules.critical)
        self._sensitive = PathMatcher(rules.sensitive)
        self._accepted = PathMatcher(a.path for a in rules.accepted)
        self._scale = PathMatcher(rules.scale)

    # ------------------------------------------------------------------ entry point

    def diff(self, legacy: Any, cloud: Any) -> list[Entry]:
        if legacy == cloud and not self._scale:
            return []
        out: list[Entry] = []
        self._walk("", legacy, cloud, out)
        return out

    # ------------------------------------------------------------------ walk

    def _walk(self, path: str, a: Any, b: Any, out: list[Entry]) -> None:
        if path and self._ignore.match(path) is not None:
            return
        if a is None:
            a = _MISSING
        if b is None:
            b = _MISSING
        if a is _MISSING and b is _MISSING:
            return
        if a is _MISSING or b is _MISSING:
            self._add(out, path, a, b, "missing" if b is _MISSING else "extra")
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                va, vb = a.get(k, _MISSING), b.get(k, _MISSING)
                if va is not vb and (va != vb or self._scale):
                    self._walk(f"{path}.{escape_segment(k)}" if path else escape_segment(k), va, vb, out)
            return
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            self._list(path, list(a), list(b), out)
            return
        self._scalar(path, a, b, out)

    def _list(self, path: str, a: list[Any], b: list[Any], out: list[Entry]) -> None:
        key = self.rules.keyed_lists.get(self._keyed.match(path) or "") if self._keyed else None
        if key is not None:
            ka = {escape_segment(x.get(key) if isinstance(x, dict) else x): x for x in a}
            kb = {escape_segment(x.get(key) if isinstance(x, dict) else x): x for x in b}
            keys = list(ka) + [k for k in kb if k not in ka]
            # A sensitive key (contacts keyed by e-mail) must not become a path segment: use its ordinal.
            hidden = bool(self._sensitive) and self._sensitive.match_prefix(f"{path}.0.{key}") is not None
            for n, k in enumerate(keys):
                va, vb = ka.get(k, _MISSING), kb.get(k, _MISSING)
                if va is not vb and (va != vb or self._scale):
                    self._walk(f"{path}.{f'key#{n}' if hidden else k}", va, vb, out)
            return
        if len(a) == len(b) and a != b and _same_multiset(a, b):
            self._add(out, path, f"{len(a)} items", f"{len(b)} items", "order", rule="unkeyed list")
            return
        for i in range(max(len(a), len(b))):
            va = a[i] if i < len(a) else _MISSING
            vb = b[i] if i < len(b) else _MISSING
            if va is not vb and (va != vb or self._scale):
                self._walk(f"{path}.{i}", va, vb, out)

    def _scalar(self, path: str, a: Any, b: Any, out: list[Entry]) -> None:
        if a == b:  # reached with equal values only when scale rules make the walk go everywhere
            scaled = isinstance(a, Decimal) and isinstance(b, Decimal) and self._scale.match(path) is not None
            if scaled and a.as_tuple().exponent != b.as_tuple().exponent:
                self._add(out, path, a, b, "value", rule="scale")
            return
        rule: str | None = None
        names = self.rules.normalise.get(self._norm.match(path) or "") if self._norm else None
        if names:
            na, nb = self._normalise(names, a), self._normalise(names, b)
            if na == nb:
                return
            rule = "normalise(" + ",".join(names) + ")"
        glob = self._tol.match(path) if self._tol else None
        if glob is not None:
            tol = self.rules.tolerance[glob]
            x, y = _number(a), _number(b)
            if x is not None and y is not None:
                if _within(x, y, tol):
                    return
                rule = str(tol)
        if _kind(a) != _kind(b) and not (_number(a) is not None and _number(b) is not None):
            self._add(out, path, a, b, "type", rule=rule)
            return
        self._add(out, path, a, b, "value", rule=rule)

    def _normalise(self, names: tuple[str, ...], v: Any) -> Any:
        if not isinstance(v, str):
            return v
        for n in names:
            if n == "case":
                v = v.casefold()
            elif n == "whitespace":
                v = " ".join(v.split())
            elif n == "timezone":
                try:
                    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
                except ValueError:
                    continue
                if dt.tzinfo is not None:
                    v = dt.astimezone(UTC).isoformat()
            elif n.startswith("code:"):
                v = self.rules.code_tables[n[5:]].get(v, v)
        return v

    # ------------------------------------------------------------------ entries

    def _add(self, out: list[Entry], path: str, a: Any, b: Any, category: str, *, rule: str | None = None) -> None:
        va = None if a is _MISSING else a
        vb = None if b is _MISSING else b
        entry = Entry(
            path, va, vb, category, rule, self._critical.match_prefix(path) is not None if self._critical else False
        )
        acc = self._accepted_for(path, va, vb)
        if acc is not None:
            if acc.expires >= self.today:
                entry.accepted = {"owner": acc.owner, "reason": acc.reason, "expires": acc.expires.isoformat()}
            else:
                entry.rule = f"accepted difference expired {acc.expires.isoformat()}"
        if self._sensitive and self._sensitive.match_prefix(path) is not None:
            entry.legacy = None if va is None else MASK
            entry.cloud = None if vb is None else MASK
        elif isinstance(va, dict | list) or isinstance(vb, dict | list):
            entry.legacy, entry.cloud = self._shallow(path, va), self._shallow(path, vb)
        entry.legacy, entry.cloud = _spelled(entry.legacy), _spelled(entry.cloud)
        out.append(entry)

    def _shallow(self, path: str, v: Any) -> Any:
        """A whole missing/extra subtree, with sensitive fields inside it masked."""
        if not self._sensitive:
            return v
        if isinstance(v, dict):
            return {
                k: MASK
                if self._sensitive.match_prefix(f"{path}.{escape_segment(k)}")
                else self._shallow(f"{path}.{escape_segment(k)}", x)
                for k, x in v.items()
            }
        if isinstance(v, list):
            return [self._shallow(f"{path}.{i}", x) for i, x in enumerate(v)]
        return v

    def _accepted_for(self, path: str, a: Any, b: Any) -> AcceptedDifference | None:
        if not self._accepted:
            return None
        glob = self._accepted.match(path)
        if glob is None:
            return None
        for acc in self.rules.accepted:
            if acc.path != glob:
                continue
            if acc.legacy is not None and str(acc.legacy) != str(a):
                continue
            if acc.cloud is not None and str(acc.cloud) != str(b):
                continue
            return acc
        return None


def _spelled(v: Any) -> Any:
    """An entry value as stored (JSON): Decimals as the text they were sent with (scale kept)."""
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, dict):
        return {k: _spelled(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_spelled(x) for x in v]
    return v


def _by_value(v: Any) -> str:
    if isinstance(v, Decimal):
        return value_text(v)
    raise TypeError(f"{type(v).__name__} is not JSON")


def _within(x: Decimal, y: Decimal, tol: Tolerance) -> bool:
    d = abs(x - y)
    if d <= Decimal(str(tol.abs)):
        return True
    return bool(tol.rel) and d <= Decimal(str(tol.rel)) * max(abs(x), abs(y))


def _same_multiset(a: list[Any], b: list[Any]) -> bool:
    try:
        import orjson

        ka = sorted(orjson.dumps(x, default=_by_value, option=orjson.OPT_SORT_KEYS) for x in a)
        kb = sorted(orjson.dumps(x, default=_by_value, option=orjson.OPT_SORT_KEYS) for x in b)
    except TypeError:
        return False
    return ka == kb
