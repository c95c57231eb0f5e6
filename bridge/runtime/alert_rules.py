"""An interface's alert rules applied to the ledger's figures: which rule fires, with what value. Pure.

Each configured rule gives one :class:`Finding` per evaluation, firing or not, so a rule that stops firing
resolves its alert. Ages are in seconds at ``now`` (the Clock's time, as the ledger's timestamps are).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bridge.config.observability import AlertRules
from bridge.store.alerts import InterfaceFigures
from bridge.store.records import ComparisonStatus

__all__ = ["Finding", "evaluate"]


@dataclass(frozen=True)
class Finding:
    """One rule of one interface at one evaluation."""

    interface: str
    rule: str
    firing: bool
    value: float | None
    threshold: float
    summary: str


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def evaluate(
    interface: str,
    rules: AlertRules,
    figures: InterfaceFigures,
    now: datetime,
    *,
    comparisons: dict[ComparisonStatus, int] | None = None,
    watched_since: datetime | None = None,
) -> list[Finding]:
    """The findings of every rule ``rules`` sets; ``comparisons`` are the match window's verdicts (needed when
    ``match_rate_below`` is set), ``watched_since`` when the silence rule started watching a source that never
    delivered a batch."""
    out: list[Finding] = []

    def add(rule: str, firing: bool, value: float | None, threshold: float, summary: str) -> None:
        out.append(Finding(interface, rule, firing, value, threshold, summary))

    def older(rule: str, then: datetime | None, limit: float | None, what: str) -> None:
        """An age rule: fires when ``then`` lies more than ``limit`` seconds back."""
        if limit is None:
            return
        age = _age(now, then)
        add(rule, age is not None and age > limit, age, limit, f"{what} {age or 0:.0f}s (limit {limit:.0f}s)")

    older("lag_above", figures.oldest_unfinished, rules.lag_above, "oldest unfinished delivery waits")
    if rules.dlq_depth_above is not None:
        depth = figures.dead_letters_open
        add(
            "dlq_depth_above",
            depth > rules.dlq_depth_above,
            float(depth),
            float(rules.dlq_depth_above),
            f"{depth} open dead letter(s) (limit {rules.dlq_depth_above})",
        )
    older(
        "dead_letter_older_than", figures.oldest_dead_letter, rules.dead_letter_older_than, "oldest open dead letter is"
    )
    if rules.match_rate_below is not None:
        counts = comparisons or {}
        matched = counts.get(ComparisonStatus.MATCH, 0) + counts.get(ComparisonStatus.ACCEPTED, 0)
        compared = matched + counts.get(ComparisonStatus.MISMATCH, 0)
        rate = matched / compared if compared else None
        enough = compared >= rules.match_min_compared
        add(
            "match_rate_below",
            enough and rate is not None and rate < rules.match_rate_below,
            rate,
            rules.match_rate_below,
            f"match rate {matched}/{compared} (limit {rules.match_rate_below:g}"
            + ("" if enough else f", needs {rules.match_min_compared} compared")
            + ")",
        )
    older("silent_for", figures.newest_batch or watched_since, rules.silent_for, "no new batch for")
    if rules.circuit_open_for is not None:
        limit = float(rules.circuit_open_for)
        ages = {target: _age(now, since) or 0.0 for target, since in figures.open_circuits.items()}
        over = sorted(target for target, age in ages.items() if age >= limit)
        longest = max(ages.values(), default=None)
        add(
            "circuit_open_for",
            bool(over),
            longest,
            limit,
            f"circuit open: {', '.join(over)} (longest {longest or 0:.0f}s, limit {limit:.0f}s)"
            if over
            else "every circuit closed" if not ages else f"circuit open {longest or 0:.0f}s (limit {limit:.0f}s)",
        )
    return out
