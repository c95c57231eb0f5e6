"""The log pipeline: secrets masked at any depth, JSON one object per line, fields in a stable order."""

from __future__ import annotations

import json
import logging

from bridge.observability.logs import REDACTED, formatter


def _record(**extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("esb_bridge.test", logging.INFO, __file__, 1, "batch_committed", None, None)
    rec.__dict__.update(extra)
    return rec


def test_secret_fields_are_masked_at_any_depth() -> None:
    """A field named like a secret (token, password, Authorization) never reaches the line, nested or not."""
    line = formatter("json").format(
        _record(interface="x", api_token="t0k", headers={"Authorization": "Bearer abc", "Accept": "a/b"})
    )
    data = json.loads(line)
    assert data["api_token"] == REDACTED and data["headers"]["Authorization"] == REDACTED
    assert data["headers"]["Accept"] == "a/b"
    assert "t0k" not in line and "abc" not in line


def test_json_line_has_event_level_timestamp_and_ids_first() -> None:
    """One JSON object on one line; event, level, timestamp, logger, then the ids, then the rest."""
    line = formatter("json").format(_record(records=3, transaction_id="t", interface="x", batch_id=7))
    assert "\n" not in line
    assert list(json.loads(line)) == [
        "event",
        "level",
        "timestamp",
        "logger",
        "interface",
        "batch_id",
        "transaction_id",
        "records",
    ]


def test_text_line_quotes_values_with_spaces() -> None:
    """Text keeps ``key=value`` parseable: a value with a space is quoted."""
    line = formatter("text").format(_record(interface="x", reason="seeded from a.yaml"))
    assert line.endswith("INFO esb_bridge.test: batch_committed interface=x reason='seeded from a.yaml'")
