"""Summaries of bytes the outputs do not show: a plain hash only where no field is sensitive."""

from __future__ import annotations

import hashlib
import hmac

from bridge.web.masking import mask_dead_letter, mask_message, summary
from cutover.compare.paths import PathMatcher


def test_a_summary_hashes_plainly_keyed_or_not_at_all() -> None:
    """Not sensitive: SHA-256; sensitive with a hash key: HMAC under it; sensitive without: size only."""
    data = b'{"email": "ap1@example.com"}'
    assert summary(data, "application/json") == {
        "bytes": len(data),
        "media_type": "application/json",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    keyed = summary(data, sensitive=True, hash_key=b"k" * 32)
    assert keyed is not None and keyed["hmac_sha256"] == hmac.new(b"k" * 32, data, hashlib.sha256).hexdigest()
    assert summary(data, sensitive=True) == {"bytes": len(data), "media_type": None}
    assert summary(None) is None


def test_message_and_dead_letter_views_show_no_sensitive_value() -> None:
    """The record is masked field by field; sent bytes, responses, fragments are summaries."""
    detail = {
        "interface": "crm",
        "payload": '{"email": "ap1@example.com", "id": "C-1"}',
        "deliveries": [{"sent": "ap1@example.com", "response": "ap1@example.com", "media_type": "text/plain"}],
    }
    shown = mask_message(detail, PathMatcher(("email",)), None)
    assert "example.com" not in str(shown) and '"id":"C-1"' in shown["payload"]
    dead = mask_dead_letter({"interface": "crm", "fragment": "ap1@example.com", "response": None}, None)
    assert "example.com" not in str(dead) and dead["fragment"]["bytes"] == 15
