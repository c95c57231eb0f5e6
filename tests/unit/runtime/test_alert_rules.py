"""Alert rules on the ledger's figures: each set rule gives one finding, firing only past its threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.config.observability import AlertRules
from bridge.runtime.alert_rules import evaluate
from bridge.store.alerts import InterfaceFigures
from bridge.store.records import ComparisonStatus

NOW = datetime(2026, 1, 5, 8, tzinfo=UTC)


def _figures(**kw: object) -> InterfaceFigures:
    base: dict[str, object] = {
        "oldest_unfinished": None,
        "dead_letters_open": 0,
        "oldest_dead_letter": None,
        "newest_batch": None,
    }
    return InterfaceFigures(**{**base, **kw})  # type: ignore[arg-type]


def test_only_set_rules_are_evaluated() -> None:
    """No rules, no findings; nothing in the ledger fires nothing (no lag, no dead letter)."""
    assert evaluate("i", AlertRules(), _figures(), NOW) == []
    found = evaluate("i", AlertRules(lag_above=60, dead_letter_older_than=60, dlq_depth_above=0), _figures(), NOW)
    assert [f.rule for f in found] == ["lag_above", "dlq_depth_above", "dead_letter_older_than"]
    assert not any(f.firing for f in found)


def test_lag_and_dead_letter_age_fire_past_their_limit() -> None:
    """An unfinished delivery or open dead letter older than the limit fires, with its age as value."""
    figures = _figures(oldest_unfinished=NOW - timedelta(seconds=90), oldest_dead_letter=NOW - timedelta(seconds=30))
    lag, age = evaluate("i", AlertRules(lag_above=60, dead_letter_older_than=60), figures, NOW)
    assert lag.firing and lag.value == 90 and not age.firing and age.value == 30


def test_match_rate_needs_enough_comparisons() -> None:
    """Accepted differences count as matches; below min_compared the rule does not fire."""
    rules = AlertRules(match_rate_below=0.9, match_min_compared=10)
    few = {ComparisonStatus.MATCH: 1, ComparisonStatus.MISMATCH: 4}
    [f] = evaluate("i", rules, _figures(), NOW, comparisons=few)
    assert not f.firing and "needs 10 compared" in f.summary
    many = {ComparisonStatus.MATCH: 6, ComparisonStatus.ACCEPTED: 2, ComparisonStatus.MISMATCH: 2}
    [f] = evaluate("i", rules, _figures(), NOW, comparisons=many)
    assert f.firing and f.value == 0.8


def test_silence_from_newest_batch_or_first_look() -> None:
    """Silence is measured from the newest batch, or from when the rule first looked at a source without one."""
    rules = AlertRules(silent_for=3600)
    [f] = evaluate("i", rules, _figures(newest_batch=NOW - timedelta(hours=2)), NOW)
    assert f.firing
    [f] = evaluate("i", rules, _figures(), NOW, watched_since=NOW - timedelta(minutes=5))
    assert not f.firing and f.value == 300


def test_circuit_open_fires_past_its_limit_and_resolves_when_closed() -> None:
    """A target whose circuit has not been closed for longer than the limit fires, naming it; all closed resolves."""
    rules = AlertRules(circuit_open_for=60)
    [f] = evaluate("i", rules, _figures(open_circuits={"i:cloud": NOW - timedelta(seconds=30)}), NOW)
    assert not f.firing and f.value == 30
    opened = {"i:cloud": NOW - timedelta(seconds=90), "i:legacy": NOW - timedelta(seconds=10)}
    [f] = evaluate("i", rules, _figures(open_circuits=opened), NOW)
    assert f.firing and f.value == 90 and "i:cloud" in f.summary and "i:legacy" not in f.summary
    [f] = evaluate("i", rules, _figures(), NOW)
    assert not f.firing and f.value is None and f.summary == "every circuit closed"
    [f] = evaluate("i", AlertRules(circuit_open_for=0), _figures(open_circuits={"i:cloud": NOW}), NOW)
    assert f.firing  # 0: as soon as it opens
