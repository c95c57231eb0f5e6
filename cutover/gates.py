"""Readiness gates: may an interface be promoted past ``legacy_primary``? Measured, not asserted.

All of these must hold over the gate's window (default: everything compared so far):

* at least ``min_compared`` compared messages (content compared at the payload or read-back level: two paths
  that merely both said "delivered" prove nothing about parity), spread over at least ``min_days`` (on the Clock);
* the **Wilson lower bound** of the match rate (at ``confidence``) is at least ``min_match``: a 100 % match
  of 30 messages is not 99 % with confidence;
* no open mismatch on a critical field;
* the cloud path's error rate is not above the legacy path's (plus ``error_margin``), measured on real
  deliveries only: with no real cloud delivery finished (a dry-run shadow sends nothing) there is no error
  rate to compare and the gate does not pass;
* the orphan rate (sides that never paired within the settle window) is at most ``max_orphan_rate``.

The returned :class:`Readiness` carries every figure; it is stored as the evidence of the flag change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

from bridge.store.ledger import Ledger
from bridge.store.records import ComparisonStatus, DeliveryStatus
from cutover.compare.paths import PathMatcher
from cutover.model import GateRule

__all__ = ["Readiness", "comparisons_needed", "evaluate", "wilson_lower_bound", "wilson_lower_bound_at"]

COMPARABLE = ("match", "mismatch", "accepted", "error")
CONTENT_LEVELS = ("outcome", "payload", "readback")


def wilson_lower_bound(successes: int, n: int, confidence: float = 0.95) -> float:
    """Lower end of the Wilson score interval for a binomial proportion (0 when ``n`` is 0)."""
    if n <= 0:
        return 0.0
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    if successes == 0:
        return 0.0
    return wilson_lower_bound_at(successes / n, n, confidence)


def wilson_lower_bound_at(rate: float, n: int, confidence: float = 0.95) -> float:
    """The Wilson lower bound of an observed ``rate`` over ``n`` trials: the same formula, with the rate given
    directly, so "what would the bound be with more evidence at this rate" can be asked."""
    if n <= 0 or rate <= 0:
        return 0.0
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    z2 = z * z
    centre = rate + z2 / (2 * n)
    margin = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


def comparisons_needed(matched: int, compared: int, min_match: float, confidence: float = 0.95) -> int | None:
    """How many more comparisons, at the current match rate, until the Wilson lower bound meets ``min_match``.

    The smallest ``n >= 0`` with ``wilson_lower_bound_at(matched / compared, compared + n) >= min_match``;
    ``None`` when no amount of evidence at this rate gets there (the rate itself is not above ``min_match``),
    or when nothing was compared yet (there is no rate to extrapolate). Example: 122/122 at 0.98 needs 67 more.
    """
    if compared <= 0:
        return None
    rate = matched / compared
    if wilson_lower_bound_at(rate, compared, confidence) >= min_match:
        return 0
    if rate <= min_match:
        return None
    # The bound grows with n at a fixed rate above min_match: double until it is met, then bisect.
    hi = compared
    while wilson_lower_bound_at(rate, compared + hi, confidence) < min_match:
        hi *= 2
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wilson_lower_bound_at(rate, compared + mid, confidence) >= min_match:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass
class Readiness:
    interface: str
    ready: bool
    reasons: list[str]
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"interface": self.interface, "ready": self.ready, "reasons": self.reasons, **self.figures}


def _counts(
    ledger: Ledger, interface: str, since: datetime | None, gate_critical: tuple[str, ...] = ()
) -> dict[str, Any]:
    per_message: dict[str, bool] = {}
    content: set[str] = set()
    first = last = None
    for row in ledger.comparisons(interface, since=since, levels=CONTENT_LEVELS, statuses=COMPARABLE):
        ok = row.status in ("match", "accepted")
        per_message[row.message_id] = per_message.get(row.message_id, True) and ok
        if row.level != "outcome":
            content.add(row.message_id)
        first = row.created_at if first is None or row.created_at < first else first
        last = row.created_at if last is None or row.created_at > last else last
    # Only messages whose content was compared count: outcome-only agreement proves no parity.
    per_message = {k: v for k, v in per_message.items() if k in content}
    critical = sum(ledger.comparison_counts(interface, since=since, statuses=("mismatch",), critical=True).values())
    if gate_critical:
        # The gate may name critical fields of its own, on top of those the compare rules mark.
        match = PathMatcher(gate_critical)
        for row in ledger.comparisons(interface, since=since, statuses=("mismatch",), critical=False):
            entries = (row.diff or {}).get("entries") or []
            critical += any(not e.get("accepted") and match.match_prefix(str(e["path"])) for e in entries)
    pairing = ledger.comparison_counts(interface, since=since, levels=("pairing",))
    errors: dict[str, list[int]] = {}
    for (path, status), n in ledger.finished_deliveries(interface, since=since, live_only=True).items():
        e = errors.setdefault(path, [0, 0])
        e[1] += n
        if status is DeliveryStatus.DEAD:
            e[0] += n
    compared = len(per_message)
    matched = sum(per_message.values())
    return {
        "compared": compared,
        "matched": matched,
        "first": first,
        "last": last,
        "critical_open": critical,
        "orphans": pairing.get(ComparisonStatus.ORPHAN, 0),
        "late": pairing.get(ComparisonStatus.LATE, 0),
        "paired_total": sum(pairing.values()),
        "errors": errors,
    }


def evaluate(ledger: Ledger, interface: str, rule: GateRule) -> Readiness:
    """Measure the gate's figures now (on the ledger's Clock) and say whether a promotion is allowed, and if not why."""
    clock = ledger.clock
    since = clock.now() - timedelta(seconds=rule.window) if rule.window else None
    k = _counts(ledger, interface, since, rule.critical)
    n, x = k["compared"], k["matched"]
    rate = x / n if n else 0.0
    lower = wilson_lower_bound(x, n, rule.confidence)
    days = (k["last"] - k["first"]).total_seconds() / 86400 if k["first"] and k["last"] else 0.0
    le, lt = k["errors"].get("legacy", [0, 0])
    ce, ct = k["errors"].get("cloud", [0, 0])
    legacy_err = le / lt if lt else 0.0
    cloud_err = ce / ct if ct else 0.0
    orphan_rate = k["orphans"] / k["paired_total"] if k["paired_total"] else 0.0
    reasons = []
    if n < rule.min_compared:
        reasons.append(f"compared {n} < {rule.min_compared}")
    if days < rule.min_days:
        reasons.append(f"evidence spans {days:.2f} days < {rule.min_days:g}")
    if lower < rule.min_match:
        reasons.append(f"match rate lower bound {lower:.4f} < {rule.min_match:g} ({x}/{n} matched)")
    if k["critical_open"]:
        reasons.append(f"{k['critical_open']} open mismatch(es) on critical fields")
    if ct == 0:
        reasons.append("no real cloud delivery finished in the window: a dry-run shadow proves no error rate")
    elif cloud_err > legacy_err + rule.error_margin:
        reasons.append(f"cloud error rate {cloud_err:.4f} > legacy {legacy_err:.4f}")
    if orphan_rate > rule.max_orphan_rate:
        reasons.append(f"orphan rate {orphan_rate:.4f} > {rule.max_orphan_rate:g}")
    figures = {
        "measured_at": clock.now().isoformat(),
        "compared": n,
        "matched": x,
        "match_rate": round(rate, 6),
        "match_rate_lower_bound": round(lower, 6),
        "confidence": rule.confidence,
        "span_days": round(days, 4),
        "critical_open": k["critical_open"],
        "legacy_error_rate": round(legacy_err, 6),
        "cloud_error_rate": round(cloud_err, 6),
        "cloud_deliveries": ct,
        "orphans": k["orphans"],
        "late": k["late"],
        "orphan_rate": round(orphan_rate, 6),
        "rule": rule.model_dump(mode="json"),
    }
    return Readiness(interface, not reasons, reasons, figures)
