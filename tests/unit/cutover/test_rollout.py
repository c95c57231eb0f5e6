"""Rollout: stable buckets, monotone percentages, attribute rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.config.rollout import Rollout, bucket, parse_rule


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(min_size=1, max_size=40),
    iface=st.sampled_from(["invoices", "payments", "orders"]),
    p1=st.floats(min_value=0, max_value=100),
    p2=st.floats(min_value=0, max_value=100),
)
def test_raising_the_percentage_never_moves_a_key_back_to_legacy(key: str, iface: str, p1: float, p2: float) -> None:
    """A key in the rollout at p stays in at every p' >= p (and the decision is the same on every call)."""
    low, high = sorted((p1, p2))
    at_low = Rollout(percent=low).decide(iface, key, {})
    at_high = Rollout(percent=high).decide(iface, key, {})
    assert not at_low.included or at_high.included
    assert Rollout(percent=low).decide(iface, key, {}) == at_low


def test_bucket_is_stable_and_spreads_keys() -> None:
    """The bucket depends only on interface:key; about p % of many keys fall below p."""
    assert bucket("i", "K-1") == bucket("i", "K-1")
    assert bucket("i", "K-1") != bucket("j", "K-1")
    inside = sum(Rollout(percent=25).decide("i", f"K-{n}", {}).included for n in range(4000))
    assert 900 < inside < 1100


def test_attribute_rules_restrict_the_rollout() -> None:
    """`region in [EU]` admits only EU records; `not in` excludes; lists of sub-records fan out."""
    r = Rollout(percent=100, rules=["region in [EU, UK]"])
    assert r.decide("i", "a", {"region": "EU"}).included
    assert not r.decide("i", "a", {"region": "US"}).included
    assert "rule" in r.decide("i", "a", {"region": "US"}).reason
    nested = Rollout(percent=100, rules=["addresses.country not in [FR]"])
    assert nested.decide("i", "a", {"addresses": [{"country": "DE"}]}).included
    assert not nested.decide("i", "a", {"addresses": [{"country": "FR"}]}).included


def test_bad_rule_text_is_refused() -> None:
    """A rule that is not `attr in [..]` is a ValueError naming the expected form."""
    with pytest.raises(ValueError, match="expected"):
        parse_rule("region == EU")
