"""The change-feed identity rule: business key + declared version; content hash only for a feed without one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.ports import Envelope, IdentityRule, hash_identity, message_id, record_identity

PAGE = Envelope(
    interface="orders",
    batch_id="page-1",
    origin="soap://erp#GetChangedOrders",
    identity_rule=IdentityRule.CHANGE,
    identity="digest",
    received_at=datetime(2026, 1, 1, tzinfo=UTC),
    transaction_id="tx",
    body=b"<page/>",
)
A, B = "a" * 64, "b" * 64


def ids(states: list[tuple[str, str | None]]) -> list[str]:
    return [
        str(message_id("orders", record_identity(PAGE, ordinal=0, business_key="K", version=v, content_hash=h)))
        for h, v in states
    ]


def test_a_revert_with_versions_is_three_distinct_messages() -> None:
    """A -> B -> A with versions 1, 2, 3: three identities, three message ids."""
    first, second, third = ids([(A, "1"), (B, "2"), (A, "3")])
    assert len({first, second, third}) == 3


def test_without_versions_a_revert_comes_back_as_the_first_message() -> None:
    """The rule for a feed that declares no version: the third state is the first again (a re-read no-op)."""
    first, _, third = ids([(A, None), (B, None), (A, None)])
    assert first == third


def test_the_hash_identity_keeps_its_pre_version_spelling() -> None:
    """Messages recorded before versions were read carry this identity; the upgrade rule recognises it."""
    assert hash_identity("K", A) == f"change:K:sha256:{A}"
    assert record_identity(PAGE, ordinal=3, business_key="K", content_hash=A) == hash_identity("K", A)
    assert record_identity(PAGE, ordinal=3, business_key="K", version="7", content_hash=A) == "change:K:7"


def test_a_change_record_needs_a_key_and_a_version_or_hash() -> None:
    with pytest.raises(ValueError, match="business key"):
        record_identity(PAGE, ordinal=0, version="1")
    with pytest.raises(ValueError, match="version or a content hash"):
        record_identity(PAGE, ordinal=0, business_key="K")
