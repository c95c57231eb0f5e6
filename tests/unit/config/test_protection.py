"""Protection settings from the environment: which interfaces are sealed, and what happens without keys."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config.model import BridgeConfig
from bridge.config.protection import DataKeyMissing, protection_for, protection_warnings
from bridge.ports import ConfigError
from bridge.store.sealing import new_key

KEYS = {"ESB_BRIDGE_DATA_KEY": new_key("k1"), "ESB_BRIDGE_HASH_KEY": new_key("h")[2:]}


def _config(require_key: bool = False, sensitive: tuple[str, ...] = ("tax_id",)) -> BridgeConfig:
    iface: dict[str, Any] = {
        "canonical": "Customer",
        "source": {"kind": "folder", "path": "in"},
        "decoder": {"kind": "jsonl"},
        "legacy": {"encoder": {"kind": "json"}, "sink": {"kind": "folder", "path": "out"}},
        "compare": {"sensitive": list(sensitive)},
    }
    plain = {**iface, "compare": {}}
    return BridgeConfig.model_validate(
        {"interfaces": {"crm": iface, "plain": plain}, "data_protection": {"require_key": require_key}}
    )


def test_keys_seal_and_key_only_the_interfaces_with_sensitive_fields() -> None:
    """With both keys: ``crm`` is sealed and its hashes keyed; ``plain`` pays nothing; no warnings."""
    p = protection_for(_config(), KEYS)
    assert p.sealer("crm") is not None and p.sealer("plain") is None
    assert p.hash_key_for("crm") is not None and p.hash_key_for("plain") is None
    assert protection_warnings(_config(), KEYS) == []


def test_without_keys_the_default_warns_and_stores_in_clear(caplog: pytest.LogCaptureFixture) -> None:
    """No key: nothing is sealed or keyed, and each missing key is named in a warning (logged too)."""
    p = protection_for(_config(), {})
    assert p.sealer("crm") is None and p.hash_key_for("crm") is None
    warnings = protection_warnings(_config(), {})
    assert len(warnings) == 2 and "ESB_BRIDGE_DATA_KEY is not set" in warnings[0] and "crm" in warnings[0]
    assert "ESB_BRIDGE_HASH_KEY" in caplog.text
    assert protection_warnings(_config(sensitive=()), {}) == []  # nothing sensitive: nothing to say


def test_require_key_refuses_to_open_without_keys() -> None:
    """``data_protection.require_key``: a missing key is an error naming it, not a warning."""
    with pytest.raises(DataKeyMissing, match="ESB_BRIDGE_HASH_KEY"):
        protection_for(_config(require_key=True), {"ESB_BRIDGE_DATA_KEY": KEYS["ESB_BRIDGE_DATA_KEY"]})
    assert protection_for(_config(require_key=True), KEYS).sealer("crm") is not None


def test_a_malformed_hash_key_fails_at_start() -> None:
    """A hash key that is not base64 or too short is a config error before any record is hashed."""
    for bad in ("***", "c2hvcnQ"):
        with pytest.raises(ConfigError, match="ESB_BRIDGE_HASH_KEY"):
            protection_for(_config(), {**KEYS, "ESB_BRIDGE_HASH_KEY": bad})
