"""Error texts of failed attempts lose the record's sensitive values before they are stored or logged."""

from __future__ import annotations

import json

from bridge.runtime.redact import Redactor

PAYLOAD = json.dumps(
    {"tax_id": "DE123456789", "contacts": [{"email": "ap1@example.com", "name": "Ann"}], "country": "DE"}
)


def test_the_records_sensitive_values_are_masked_in_error_and_detail() -> None:
    """Values under the globs are replaced wherever they appear in the error dict or the detail text."""
    r = Redactor(("tax_id", "contacts.*.email"))
    error = {"message": "HTTP 422: ap1@example.com / DE123456789 refused", "detail": {"body": ["ap1@example.com"]}}
    scrubbed, detail = r.scrub(PAYLOAD, error, "422 for ap1@example.com (Ann, DE)")
    assert scrubbed == {
        "message": "HTTP 422: ***masked*** / ***masked*** refused",
        "detail": {"body": ["***masked***"]},
    }
    assert detail == "422 for ***masked*** (Ann, DE)"  # not sensitive: the name and country stay


def test_short_values_and_non_records_are_left_alone() -> None:
    """A value under three characters is not masked (it would mask unrelated text); no record: no change."""
    r = Redactor(("country",))
    assert r.scrub(PAYLOAD, None, "country DE") == (None, "country DE")
    assert Redactor(("**",)).scrub('{"forward": "ref"', {"m": "x"}, "d") == ({"m": "x"}, "d")
