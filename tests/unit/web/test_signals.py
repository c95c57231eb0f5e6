"""Pure pieces of the API: sensitive-field masking, bounded metric labels, the audit hash chain."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.observability import BoundedLabels
from bridge.store.audit_chain import GENESIS, entry_hash, verify_chain
from bridge.web.masking import mask
from cutover.compare.paths import PathMatcher


def test_mask_hides_matching_fields_and_subtrees_only() -> None:
    """`**.email` masks e-mails at any depth, `bank` a whole subtree; other fields stay."""
    doc = {"name": "A", "contacts": [{"email": "a@x", "phone": "1"}], "bank": {"iban": "DE1", "bic": "X"}}
    out = mask(doc, PathMatcher(["**.email", "bank"]))
    assert out == {"name": "A", "contacts": [{"email": "***masked***", "phone": "1"}], "bank": "***masked***"}


def test_bounded_labels_cap_distinct_values() -> None:
    """Past the cap, new label values read `other`; known ones keep their value."""
    b = BoundedLabels(limit=2)
    assert [b("i", "a"), b("i", "b"), b("i", "c"), b("i", "a")] == ["a", "b", "other", "a"]


def _chain(n: int) -> list[dict[str, object]]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        e: dict[str, object] = {"id": i, "at": datetime(2026, 1, i, tzinfo=UTC), "actor": "a", "action": "x"}
        e.update(subject=f"s{i}", reason="", detail={"n": i}, prev_hash=prev)
        e["hash"] = prev = entry_hash(prev, e)
        out.append(e)
    return out


def test_the_chain_names_an_edited_and_a_removed_entry() -> None:
    """An intact chain verifies; an edit breaks that entry's hash; a removal breaks the next one's link."""
    chain = _chain(4)
    assert verify_chain(chain) == []
    edited = [dict(e) for e in chain]
    edited[1]["actor"] = "b"
    assert [b.id for b in verify_chain(edited)] == [2]
    removed = chain[:1] + chain[2:]
    assert [b.id for b in verify_chain(removed)] == [3]
