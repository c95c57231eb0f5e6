"""Each comparison rule kind, with a pair that differs unless the rule is applied (so ignoring it fails)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.config.compare import NoiseRule
from cutover.compare import MASK, CompareRules, Differ, find_noise, status_of
from cutover.compare.baseline import cancel_noise

TODAY = date(2026, 3, 1)


def diff(rules: dict[str, Any], a: Any, b: Any) -> list[dict[str, Any]]:
    return [e.to_dict() for e in Differ(CompareRules.model_validate(rules), TODAY).diff(a, b)]


def test_equal_documents_have_no_entries() -> None:
    """Identical projections match without any rule."""
    assert diff({}, {"a": 1, "l": [1, 2]}, {"a": 1, "l": [1, 2]}) == []


def test_categories_value_missing_extra_type_order() -> None:
    """Without rules every kind of difference is reported with its category."""
    got = diff({}, {"v": "x", "m": 1, "t": 1, "o": [1, 2]}, {"v": "y", "e": 2, "t": "one", "o": [2, 1]})
    assert {(e["path"], e["category"]) for e in got} == {
        ("v", "value"),
        ("m", "missing"),
        ("e", "extra"),
        ("t", "type"),
        ("o", "order"),
    }
    assert next(e for e in got if e["path"] == "v")["legacy"] == "x"


def test_ignore_glob() -> None:
    """Ignored paths (globs, ** for any depth) produce no entry; others still do."""
    a = {"cloud_id": "1", "meta": {"x": {"created_at": "t1"}}, "n": 1}
    b = {"cloud_id": "2", "meta": {"x": {"created_at": "t2"}}, "n": 2}
    assert len(diff({}, a, b)) == 3
    assert [e["path"] for e in diff({"ignore": ["cloud_id", "**.created_at"]}, a, b)] == ["n"]


def test_absolute_tolerance() -> None:
    """Money within the absolute tolerance matches; beyond it the entry names the tolerance."""
    a, b = {"lines": [{"tax": "1.00"}]}, {"lines": [{"tax": "1.01"}]}
    assert diff({}, a, b)
    assert diff({"tolerance": {"lines.*.tax": 0.01}}, a, b) == []
    far = diff({"tolerance": {"lines.*.tax": 0.01}}, a, {"lines": [{"tax": "1.05"}]})
    assert far and far[0]["rule"] == "tolerance(abs=0.01)"


def test_relative_tolerance() -> None:
    """A relative tolerance scales with the magnitude."""
    rules = {"tolerance": {"total": {"rel": 0.001}}}
    assert diff(rules, {"total": "10000.00"}, {"total": "10005.00"}) == []
    assert diff(rules, {"total": "10.00"}, {"total": "10.05"})


def test_normalisers_case_whitespace_timezone_code_table() -> None:
    """Each normaliser removes exactly its kind of difference."""
    assert diff({"normalise": {"name": ["case", "whitespace"]}}, {"name": "ACME  GmbH"}, {"name": "acme gmbh"}) == []
    assert diff({"normalise": {"name": ["case"]}}, {"name": "ACME  GmbH"}, {"name": "acme gmbh"})
    ts = ({"at": "2026-01-05T09:00:00+01:00"}, {"at": "2026-01-05T08:00:00+00:00"})
    assert diff({}, *ts) and diff({"normalise": {"at": "timezone"}}, *ts) == []
    codes = {"normalise": {"tax": ["code:tax"]}, "code_tables": {"tax": {"S": "standard", "VAT19": "standard"}}}
    assert diff(codes, {"tax": "S"}, {"tax": "VAT19"}) == []
    assert diff(codes, {"tax": "S"}, {"tax": "Z"})


def test_keyed_lists_match_by_key_not_position() -> None:
    """Lines keyed by line_id compare per key (reordering is no difference; paths name the key)."""
    a = {"lines": [{"line_id": "1", "q": 1}, {"line_id": "2", "q": 2}]}
    b = {"lines": [{"line_id": "2", "q": 2}, {"line_id": "1", "q": 5}]}
    unkeyed = diff({}, a, b)
    assert len(unkeyed) > 1
    keyed = diff({"keyed_lists": {"lines": "line_id"}}, a, b)
    assert [(e["path"], e["legacy"], e["cloud"]) for e in keyed] == [("lines.1.q", 1, 5)]
    extra = diff({"keyed_lists": {"lines": "line_id"}}, a, {"lines": [*b["lines"], {"line_id": "3", "q": 1}]})
    assert ("lines.3", "extra") in {(e["path"], e["category"]) for e in extra}


def test_critical_fields_are_marked() -> None:
    """A difference on a critical path (or inside it) is flagged critical; others are not."""
    got = diff(
        {"critical": ["total", "lines.*.amount"]},
        {"total": 1, "name": "a", "lines": [{"amount": 1}]},
        {"total": 2, "name": "b", "lines": [{"amount": 3}]},
    )
    assert {e["path"]: e["critical"] for e in got} == {"total": True, "name": False, "lines.0.amount": True}


def test_accepted_difference_counts_apart_until_it_expires() -> None:
    """An accepted difference carries owner/reason and makes the status `accepted`; expired, it is a mismatch."""
    acc = {"path": "name", "owner": "crm-team", "reason": "truncated to 35", "expires": "2026-12-31"}
    d = Differ(CompareRules.model_validate({"accepted": [acc]}), TODAY)
    entries = d.diff({"name": "a" * 40}, {"name": "a" * 35})
    assert entries[0].accepted == {"owner": "crm-team", "reason": "truncated to 35", "expires": "2026-12-31"}
    assert status_of(entries) == "accepted"
    late = Differ(CompareRules.model_validate({"accepted": [acc]}), date(2027, 1, 1)).diff({"name": "a"}, {"name": "b"})
    assert late[0].accepted is None and "expired" in (late[0].rule or "")
    assert status_of(late) == "mismatch"
    only = {**acc, "legacy": "x", "cloud": "y"}
    assert (
        Differ(CompareRules.model_validate({"accepted": [only]}), TODAY).diff({"name": "x"}, {"name": "z"})[0].accepted
        is None
    )


def test_sensitive_values_are_masked_everywhere_in_the_entry() -> None:
    """Sensitive values never appear in entries: direct fields, subtrees and missing/extra subtrees."""
    rules = {"sensitive": ["tax_id", "**.iban", "bank"]}
    got = diff(
        rules,
        {"tax_id": "DE123", "pay": {"iban": "DE89"}, "bank": {"bic": "B1"}},
        {"tax_id": "DE999", "pay": {"iban": "DE00"}, "bank": {"bic": "B2"}, "more": {"iban": "FR76"}},
    )
    text = repr(got)
    for secret in ("DE123", "DE999", "DE89", "DE00", "B1", "B2", "FR76"):
        assert secret not in text
    assert {e["path"]: e["legacy"] for e in got}["tax_id"] == MASK
    assert diff({}, {"tax_id": "DE123"}, {"tax_id": "DE999"})[0]["legacy"] == "DE123"


def test_noise_is_detected_statistically_with_its_figures() -> None:
    """A field differing in most pairs with many distinct values is noise; a systematic error is not."""
    pairs = [[{"path": "meta.id", "legacy": f"L{i}", "cloud": f"C{i}"}] for i in range(30)]
    pairs += [[{"path": "tax", "legacy": "1", "cloud": "2"}] for _ in range(30)]
    rule = NoiseRule(min_pairs=20, min_share=0.4, min_distinct=10)
    found = find_noise(60, pairs, rule)
    assert [f.path for f in found] == ["meta.id"]
    assert found[0].differing == 30 and found[0].distinct_legacy == 30 and found[0].share == 0.5
    assert find_noise(10, pairs[:10], rule) == []


def test_a_sensitive_list_key_never_becomes_a_path_segment() -> None:
    """Contacts keyed by a sensitive e-mail are reported under an ordinal, not under the address."""
    a = {"contacts": [{"email": "ceo@secret.example", "name": "A"}]}
    b = {"contacts": [{"email": "ceo@secret.example", "name": "B"}]}
    rules = {"keyed_lists": {"contacts": "email"}, "sensitive": ["contacts.*.email"]}
    got = diff(rules, a, b)
    assert [e["path"] for e in got] == ["contacts.key#0.name"] and "secret" not in repr(got)
    assert diff({"keyed_lists": {"contacts": "email"}}, a, b)[0]["path"] == "contacts.ceo@secret%2Eexample.name"


def test_baseline_noise_cancels_fields_and_subtrees_but_not_critical_ones() -> None:
    """Entries at or below a path differing between two legacy reads are flagged noise and not counted;
    a critical field stays counted; a pair left with only noise matches."""
    differ = Differ(CompareRules.model_validate({"critical": ["total"]}), TODAY)
    legacy1 = {"meta": {"read_at": "t1", "seq": 1}, "total": 1, "name": "a"}
    legacy2 = {"meta": {"read_at": "t2", "seq": 2}, "total": 2, "name": "a"}
    cloud = {"meta": {"read_at": "c", "seq": 9}, "total": 3, "name": "a"}
    entries = differ.diff(legacy1, cloud)
    paths = cancel_noise(entries, differ.diff(legacy1, legacy2))
    assert paths == ["meta.read_at", "meta.seq", "total"]
    assert {e.path: e.noise for e in entries} == {"meta.read_at": True, "meta.seq": True, "total": False}
    assert status_of(entries) == "mismatch"
    only_noise = [e for e in entries if e.noise]
    assert status_of(only_noise) == "match" and only_noise[0].to_dict()["noise"] is True
    assert "noise" not in entries[-1].to_dict()


def test_baseline_switch_reads_yaml_booleans_and_needs_a_readback() -> None:
    """YAML's bare on/off arrive as booleans; baseline on with response bytes (readable once) is refused."""
    assert CompareRules.model_validate({"baseline": True}).baseline == "on"
    assert CompareRules.model_validate({"baseline": False}).baseline == "off"
    with pytest.raises(ValidationError, match="readback_source: readback"):
        CompareRules.model_validate({"baseline": "on", "readback_source": "response"})
