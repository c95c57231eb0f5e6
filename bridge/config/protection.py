"""Protection at rest from the environment: which interfaces are sealed, the data key ring, the hash key.

Keys are never in the config file, in ``${VAR}`` substitutions of it, or in logs: they are read here from
the process environment only.

* ``ESB_BRIDGE_DATA_KEY``: the data key ring, ``id:base64key[,id:base64key...]``, the first entry the current
  key (seals new blobs), the others old keys (open only); ``esb-bridge ledger new-key ID`` makes an entry.
* ``ESB_BRIDGE_HASH_KEY``: the key of the equality hashes (content hashes) of records of sensitive
  interfaces (HMAC-SHA256), base64. Not rotated: a new one makes echo suppression miss once per key and
  change-feed records without versions recorded once more.

An interface is sealed when its ``compare.sensitive`` names fields. Without keys (``data_protection.require_key``
false, the default) such an interface runs with its stored bytes in clear and unkeyed hashes, and start-up
and ``validate`` warn; with ``require_key: true`` every command that opens the ledger stops with
:class:`DataKeyMissing` instead.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Mapping

from bridge.config.model import BridgeConfig
from bridge.ports import ConfigError
from bridge.store.sealing import KeyRing, Protection

__all__ = [
    "DATA_KEY_ENV",
    "HASH_KEY_ENV",
    "DataKeyMissing",
    "hash_key",
    "protection_for",
    "protection_warnings",
    "sensitive_interfaces",
]

log = logging.getLogger("esb_bridge.protection")

DATA_KEY_ENV = "ESB_BRIDGE_DATA_KEY"
HASH_KEY_ENV = "ESB_BRIDGE_HASH_KEY"


class DataKeyMissing(ConfigError):
    """Interfaces declare sensitive fields, ``data_protection.require_key`` is on and a key is not set."""


def sensitive_interfaces(config: BridgeConfig) -> list[str]:
    """The interfaces whose stored bytes are sealed (they declare ``compare.sensitive`` fields)."""
    return sorted(name for name, i in config.interfaces.items() if i.compare.sensitive)


def hash_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The HMAC key of content hashes of sensitive interfaces (None: not set)."""
    text = (os.environ if environ is None else environ).get(HASH_KEY_ENV, "").strip()
    if not text:
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{HASH_KEY_ENV} is not base64") from exc
    if len(key) < 16:
        raise ConfigError(f"{HASH_KEY_ENV} must be at least 16 bytes (32 recommended)")
    return key


def protection_warnings(config: BridgeConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """What is stored or hashed in clear although the config declares it sensitive (empty: nothing)."""
    env = os.environ if environ is None else environ
    names = sensitive_interfaces(config)
    if not names:
        return []
    out = []
    if not env.get(DATA_KEY_ENV, "").strip():
        out.append(f"{DATA_KEY_ENV} is not set: sensitive interfaces {', '.join(names)} are stored in clear")
    if not env.get(HASH_KEY_ENV, "").strip():
        out.append(f"{HASH_KEY_ENV} is not set: content hashes of {', '.join(names)} are not keyed")
    return out


def protection_for(config: BridgeConfig, environ: Mapping[str, str] | None = None) -> Protection:
    """The ledger's :class:`Protection` for ``config``; raises :class:`DataKeyMissing` under ``require_key``.

    A key ring is built whenever ``ESB_BRIDGE_DATA_KEY`` is set (so sealed rows open, also of an interface
    that no longer declares sensitive fields); new blobs are sealed for the sensitive interfaces.
    """
    env = os.environ if environ is None else environ
    text = env.get(DATA_KEY_ENV, "").strip()
    warnings = protection_warnings(config, env)
    if warnings and config.data_protection.require_key:
        missing = [k for k in (DATA_KEY_ENV, HASH_KEY_ENV) if not env.get(k, "").strip()]
        raise DataKeyMissing(
            f"data_protection.require_key is on and {' and '.join(missing)} not set, but interfaces "
            f"{', '.join(sensitive_interfaces(config))} declare sensitive fields: set the key(s) in the environment"
        )
    for w in warnings:
        log.warning("data protection: %s", w)
    return Protection(KeyRing.parse(text) if text else None, sensitive_interfaces(config), hash_key(env))
